//! The real `quote` binary stops gracefully under a steady load: see
//! testkit/src/shutdown.rs for what is measured and why.

use std::sync::Arc;

use kiada_testkit::{raw, shutdown};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_accepted_request() {
    let service = shutdown::start(env!("CARGO_BIN_EXE_quote"), &[], &[]);
    let report = shutdown::sigterm_under_load(
        service,
        shutdown::grace_period("quote"),
        Arc::new(|id: &str| raw::request("GET", "/quote", &format!("X-Request-Id: {id}\r\n"))),
    )
    .await;
    eprintln!("quote: {}\n{}", report.summary(), report.lost());
    report.assert_graceful();
}
