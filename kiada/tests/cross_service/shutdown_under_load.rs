//! The real `kiada` binary stops gracefully under a steady load of full pages (each one
//! fetched from the real quote and quiz): see testkit/src/shutdown.rs for
//! what is measured and why.

use kiada_testkit::shutdown;
use kiada_testkit::suite::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_accepted_request() {
    let (quote, quiz) = spawn_backends().await;
    let service = shutdown::start(
        env!("CARGO_BIN_EXE_kiada"),
        &["--no-stdin"],
        &[
            ("TLS_LISTEN_PORT", "0"),
            ("QUOTE_URL", quote.url.as_str()),
            ("QUIZ_URL", quiz.url.as_str()),
        ],
    );
    shutdown::assert_graceful_under_load("kiada", service, shutdown::get_with_request_id("/"))
        .await;
}
