//! The real `quote` binary stops gracefully under a steady load: see
//! testkit/src/shutdown.rs for what is measured and why.

use kiada_testkit::shutdown;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_accepted_request() {
    let service = shutdown::start(env!("CARGO_BIN_EXE_quote"), &[], &[]);
    shutdown::assert_graceful_under_load("quote", service, shutdown::get_with_request_id("/quote"))
        .await;
}
