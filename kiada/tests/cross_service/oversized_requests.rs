//! Oversized request heads against all three services. actix bounds the head, not each
//! header: the whole head may take 128 KiB (131,072 bytes, actix-http's buffer) and 96
//! header lines; past either it answers 431 with an empty body and closes. A request
//! target longer than the `http` crate's 65,534-byte limit is a 400. Each service keeps
//! serving afterwards.

use std::time::Duration;

use kiada_testkit::raw::{self, End, Exchange};
use kiada_testkit::suite::*;

async fn send(port: u16, target: &str, headers: &str) -> Exchange {
    raw::exchange(
        port,
        raw::request("GET", target, headers),
        Duration::from_secs(10),
    )
    .await
}

fn header_lines(count: usize) -> String {
    (0..count)
        .map(|i| format!("X-Header-{i}: {i}\r\n"))
        .collect()
}

fn big_header(bytes: usize) -> String {
    format!("X-Big: {}\r\n", "a".repeat(bytes))
}

/// 431, empty, and the connection closed (reset where unread bytes remain).
fn assert_431(answer: &Exchange, what: &str) {
    assert_eq!(answer.status(), Some(431), "{what}: {}", answer.describe());
    assert_eq!(answer.header("content-length"), Some("0"), "{what}");
    assert_eq!(answer.header("connection"), Some("close"), "{what}");
    assert!(
        matches!(answer.end, End::Closed | End::Reset),
        "{what}: {}",
        answer.describe()
    );
}

#[tokio::test]
async fn oversized_heads_are_refused_and_every_service_keeps_serving() {
    let suite = spawn_suite().await;
    for (service, port, page) in [
        ("kiada", suite.kiada.port, "/text"),
        ("quote", suite.quote.port, "/quote"),
        ("quiz", suite.quiz.port, "/questions/7"),
    ] {
        let served = |answer: &Exchange, what: &str| {
            assert_eq!(
                answer.status(),
                Some(200),
                "{service} {what}: {}",
                answer.describe()
            );
            assert!(answer.is_complete(), "{service} {what}");
        };
        // Below the limits: served.
        served(
            &send(port, page, &big_header(64 * 1024)).await,
            "64 KiB header",
        );
        // Host and Connection, plus 94: 96 lines.
        served(
            &send(port, page, &header_lines(94)).await,
            "96 header lines",
        );

        let what = format!("{service}: one 130 KiB header");
        assert_431(&send(port, page, &big_header(130 * 1024)).await, &what);
        let what = format!("{service}: 97 header lines");
        assert_431(&send(port, page, &header_lines(95)).await, &what);
        let what = format!("{service}: 1,000 header lines");
        assert_431(&send(port, page, &header_lines(998)).await, &what);

        let long_path = format!("/{}", "a".repeat(100 * 1024));
        let answer = send(port, &long_path, "").await;
        assert_eq!(
            answer.status(),
            Some(400),
            "{service}: {}",
            answer.describe()
        );
        assert_eq!(answer.header("content-length"), Some("0"), "{service}");
        assert_eq!(answer.end, End::Closed, "{service}");
        // Just under the URI limit, the service's own 404.
        let answer = send(port, &format!("/{}", "a".repeat(65_000)), "").await;
        assert_eq!(
            answer.status(),
            Some(404),
            "{service}: {}",
            answer.describe()
        );
        assert!(answer.is_complete(), "{service}");

        served(&send(port, page, "").await, "after the oversized requests");
    }
}
