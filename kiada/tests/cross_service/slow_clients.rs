//! Slow and stalled clients against all three services, all at once (one wait of
//! CLIENT_REQUEST_TIMEOUT for all): each is cut off in bounded time, while normal
//! requests are served meanwhile.
//!
//! - A head that stalls (or never starts): actix answers 408 with an empty body after
//!   CLIENT_REQUEST_TIMEOUT (10 s) and closes.
//! - A TLS handshake that never starts: closed after actix's TLS handshake timeout (3 s).
//! - A body that stalls or trickles, on a route that reads it: service-kit's middleware
//!   answers 408 with a JSON error once the body has not arrived within
//!   CLIENT_REQUEST_TIMEOUT of the handler's first read that had to wait, then actix
//!   closes after its 2 s disconnect timeout.
//! - A body that stalls on kiada's answer route, which never reads one: answered at once,
//!   then closed after the disconnect timeout, chunked bodies too.

use std::time::Duration;

use service_kit::CLIENT_REQUEST_TIMEOUT;
use tokio::task::JoinHandle;

use kiada_testkit::raw::{self, End, Exchange};
use kiada_testkit::suite::*;

/// actix's client disconnect timeout (`http_server!`): how long it waits for the client
/// after answering a request whose body it did not read.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// actix-tls's default TLS handshake timeout.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// Slack for a loaded machine; actix's clock is also coarse (it may fire up to 0.5 s
/// early).
const MARGIN: Duration = Duration::from_secs(3);
/// How long any one exchange is watched.
const WATCH: Duration = Duration::from_secs(25);

const STALLED_HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
const ANSWER: &str = r#"{"questionId": 7, "answerIndex": 2}"#;

fn watch(port: u16, script: Vec<(Duration, Vec<u8>)>) -> JoinHandle<Exchange> {
    tokio::spawn(raw::exchange_script(port, script, WATCH))
}

fn at_once(bytes: &[u8]) -> Vec<(Duration, Vec<u8>)> {
    vec![(Duration::ZERO, bytes.to_vec())]
}

/// A POST head with `Content-Length: 40` and 16 of those bytes.
fn stalled_body(path: &str) -> Vec<(Duration, Vec<u8>)> {
    let mut bytes = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: 40\r\n\r\n"
    )
    .into_bytes();
    bytes.extend_from_slice(&ANSWER.as_bytes()[..16]);
    at_once(&bytes)
}

/// A chunked POST with one chunk that promises 16 bytes and sends 5.
fn stalled_chunk(path: &str) -> Vec<(Duration, Vec<u8>)> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n"
    );
    at_once(format!("{head}{}", &ANSWER[..5]).as_bytes())
}

/// The whole answer, one byte every half second: each read gets data, the whole takes
/// 17 s.
fn trickled_body(path: &str) -> Vec<(Duration, Vec<u8>)> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        ANSWER.len()
    );
    let mut script = at_once(head.as_bytes());
    script.extend(
        ANSWER
            .bytes()
            .map(|byte| (Duration::from_millis(500), vec![byte])),
    );
    script
}

fn assert_between(value: Duration, low: Duration, high: Duration, what: &str) {
    assert!(
        low <= value && value <= high,
        "{what}: {value:?} not within {low:?}..{high:?}"
    );
}

/// 408 with an empty body when the head times out, then closed at once.
fn assert_head_timeout(answer: &Exchange, what: &str) {
    let description = answer.describe();
    assert_eq!(answer.status(), Some(408), "{what}: {description}");
    assert_eq!(answer.header("content-length"), Some("0"), "{what}");
    assert_eq!(answer.end, End::Closed, "{what}: {description}");
    let first_byte = answer.first_byte.unwrap();
    let earliest = CLIENT_REQUEST_TIMEOUT - Duration::from_secs(1);
    assert_between(first_byte, earliest, CLIENT_REQUEST_TIMEOUT + MARGIN, what);
    assert!(
        answer.elapsed <= first_byte + MARGIN,
        "{what}: {description}"
    );
}

/// 408 with a JSON error when the body times out, then closed after the disconnect
/// timeout.
fn assert_body_timeout(answer: &Exchange, what: &str) {
    let description = answer.describe();
    assert_eq!(answer.status(), Some(408), "{what}: {description}");
    assert_eq!(
        answer.body_text(),
        r#"{"error":"the request body did not arrive within 10 seconds"}"#,
        "{what}"
    );
    assert_eq!(answer.end, End::Closed, "{what}: {description}");
    let first_byte = answer.first_byte.unwrap();
    let earliest = CLIENT_REQUEST_TIMEOUT - Duration::from_secs(1);
    assert_between(first_byte, earliest, CLIENT_REQUEST_TIMEOUT + MARGIN, what);
    let closed_by = first_byte + DISCONNECT_TIMEOUT + MARGIN;
    assert!(answer.elapsed <= closed_by, "{what}: {description}");
}

/// kiada's answer route answers at once (it reads no body), then closes after the
/// disconnect timeout.
fn assert_answered_then_closed(answer: &Exchange, what: &str) {
    let description = answer.describe();
    assert_eq!(answer.status(), Some(200), "{what}: {description}");
    assert_eq!(
        answer.body_text(),
        format!(
            "Question {QUESTION_ID}: {QUESTION_TEXT}\nYour answer: {CORRECT_INDEX}) {}\n\
             Correct! Well done.\n",
            ANSWERS[CORRECT_INDEX]
        ),
        "{what}"
    );
    assert_eq!(answer.end, End::Closed, "{what}: {description}");
    assert!(
        answer.first_byte.unwrap() <= MARGIN,
        "{what}: {description}"
    );
    let closed_by = DISCONNECT_TIMEOUT + MARGIN;
    assert!(answer.elapsed <= closed_by, "{what}: {description}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_while_others_are_served() {
    let suite = spawn_suite().await;
    let (kiada, quote, quiz) = (suite.kiada.port, suite.quote.port, suite.quiz.port);
    let answers = format!("/questions/{QUESTION_ID}/answers");
    let kiada_answer = format!("/question/{QUESTION_ID}/answers/{CORRECT_INDEX}");

    let head_stalls = [
        ("kiada: stalled head", watch(kiada, at_once(STALLED_HEAD))),
        ("quote: stalled head", watch(quote, at_once(STALLED_HEAD))),
        ("quiz: stalled head", watch(quiz, at_once(STALLED_HEAD))),
        ("kiada: nothing sent", watch(kiada, at_once(b""))),
    ];
    let silent_tls = watch(suite.kiada.tls_port, at_once(b""));
    let body_stalls = [
        ("quiz: stalled body", watch(quiz, stalled_body(&answers))),
        ("quiz: stalled chunk", watch(quiz, stalled_chunk(&answers))),
        ("quiz: trickled body", watch(quiz, trickled_body(&answers))),
        (
            "kiada: stalled body to the quiz proxy",
            watch(kiada, stalled_body(&format!("/proxy/quiz{answers}"))),
        ),
        (
            "kiada: stalled body to /admin/faults",
            watch(kiada, stalled_body("/admin/faults")),
        ),
    ];
    let ignored_bodies = [
        (
            "kiada: stalled body to the answer route",
            watch(kiada, stalled_body(&kiada_answer)),
        ),
        (
            "kiada: stalled chunk to the answer route",
            watch(kiada, stalled_chunk(&kiada_answer)),
        ),
    ];

    // Meanwhile every service answers at once, three times over the stalls.
    for round in 0..3 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        for (port, path) in [(kiada, "/text"), (quote, "/quote"), (quiz, "/questions/7")] {
            let answer = raw::get(port, path).await;
            let what = format!("GET {path} in round {round}");
            assert_eq!(answer.status(), Some(200), "{what}: {}", answer.describe());
            assert!(answer.is_complete(), "{what}");
            assert!(answer.elapsed < MARGIN, "{what}: {}", answer.describe());
        }
    }

    for (what, answer) in head_stalls {
        assert_head_timeout(&answer.await.unwrap(), what);
    }
    let answer = silent_tls.await.unwrap();
    assert_eq!((answer.bytes.len(), answer.end), (0, End::Closed), "TLS");
    let latest = TLS_HANDSHAKE_TIMEOUT + MARGIN;
    assert_between(answer.elapsed, Duration::from_secs(2), latest, "TLS");
    for (what, answer) in body_stalls {
        assert_body_timeout(&answer.await.unwrap(), what);
    }
    for (what, answer) in ignored_bodies {
        assert_answered_then_closed(&answer.await.unwrap(), what);
    }

    // quiz stored the two answers kiada's answer route posted, and nothing of the
    // bodies that timed out.
    let stats = quiz_stats(&suite.quiz).await;
    assert_eq!(
        stats["totals"],
        serde_json::json!({"answers": 2, "correct": 2})
    );
}
