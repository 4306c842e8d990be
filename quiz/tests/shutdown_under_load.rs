//! The real `quiz` binary stops gracefully while answers are being posted: see
//! testkit/src/shutdown.rs for what is measured and why. On top of that,
//! every acknowledged answer is in the database, and no other.

use std::sync::Arc;

use kiada_testkit::{raw, shutdown};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_accepted_answer() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("quiz.db");
    let service = shutdown::start(
        env!("CARGO_BIN_EXE_quiz"),
        &[],
        &[("QUIZ_DB_PATH", db.to_str().unwrap())],
    );
    let report = shutdown::assert_graceful_under_load(
        "quiz",
        service,
        Arc::new(|id: &str| {
            let body = r#"{"questionId": 1, "answerIndex": 0}"#;
            let headers = format!(
                "X-Request-Id: {id}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            );
            let mut request = raw::request("POST", "/questions/1/answers", &headers);
            request.extend_from_slice(body.as_bytes());
            request
        }),
    )
    .await;

    let stored: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM answers", [], |row| row.get(0))
        .unwrap();
    assert_eq!(stored as usize, report.ok(), "{}", report.summary());
}
