//! Bad input on every endpoint of kiada and quote (quiz's own tests cover quiz): wrong
//! methods, invalid UTF-8 in paths, queries and headers, huge path parameters,
//! negative and overflowing numbers, and malformed, deeply nested or oversized JSON on
//! the answer routes. Each gets an exact client error, and the service is still
//! serving after each one (a panicking handler would show as a dropped connection).

use std::time::Duration;

use serde_json::json;

use kiada_testkit::raw::{self, Exchange};
use kiada_testkit::suite::*;

use crate::proxy::not_forwarded;

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
const ANSWER_FORMAT: &str = r#"expected a JSON object like {"questionId": 1, "answerIndex": 0}"#;

/// Sends `method target` with extra header bytes (each line ending in CRLF) and a body.
pub(crate) async fn send(
    port: u16,
    method: &str,
    target: &str,
    headers: &[u8],
    body: &[u8],
) -> Exchange {
    let mut request = raw::request(method, target, "");
    request.truncate(request.len() - 2);
    request.extend_from_slice(headers);
    if !body.is_empty() {
        request.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    raw::exchange(port, request, Duration::from_secs(10)).await
}

/// The service answers a probe, so it survived what came before.
async fn assert_serving(port: u16, after: &str) {
    let answer = raw::get(port, "/healthz/live").await;
    assert_eq!(
        answer.status(),
        Some(200),
        "after {after}: {}",
        answer.describe()
    );
}

pub(crate) fn assert_json(answer: &Exchange, status: u16, body: serde_json::Value, what: &str) {
    assert_eq!(
        answer.status(),
        Some(status),
        "{what}: {}",
        answer.describe()
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    let got: serde_json::Value = serde_json::from_slice(answer.body())
        .unwrap_or_else(|e| panic!("{what}: {e}: {}", answer.describe()));
    assert_eq!(got, body, "{what}");
}

#[tokio::test]
async fn every_405_names_the_allowed_methods() {
    let suite = spawn_suite().await;
    let (kiada, quote) = (suite.kiada.port, suite.quote.port);
    // kiada's own routes answer with a text body; the rest are actix's (empty body).
    let own = |allow: &str| Some(format!("Method not allowed here; use {allow}.\n"));
    let mut routes = vec![
        (kiada, "/", "GET, HEAD", own("GET, HEAD")),
        (kiada, "/text", "GET, HEAD", own("GET, HEAD")),
        (kiada, "/json", "GET, HEAD", own("GET, HEAD")),
        (kiada, "/html", "GET, HEAD", own("GET, HEAD")),
        (kiada, "/question/7/answers/0", "POST", own("POST")),
        (kiada, "/proxy/quote", "GET, HEAD", own("GET, HEAD")),
        (
            kiada,
            "/proxy/quiz/questions/7",
            "GET, POST",
            own("GET, POST"),
        ),
        (quote, "/", "GET, HEAD", None),
        (quote, "/quote", "GET, HEAD", None),
    ];
    for asset in [
        "/static/style.css",
        "/static/app.js",
        "/static/favicon.svg",
        "/static/cover.svg",
        "/favicon.ico",
    ] {
        routes.push((kiada, asset, "GET, HEAD", None));
    }
    // service-kit's probe, metrics and admin routes, in both services.
    for port in [kiada, quote] {
        for path in [
            "/healthz/live",
            "/healthz/ready",
            "/healthz/startup",
            "/metrics",
            "/admin/status",
        ] {
            routes.push((port, path, "GET, HEAD", None));
        }
        routes.push((port, "/admin/probes/ready/fail", "POST, DELETE", None));
        routes.push((port, "/admin/faults", "GET, POST, DELETE", None));
    }

    let mut refused = 0;
    for (port, path, allow, body) in routes {
        let allowed: Vec<&str> = allow.split(", ").collect();
        for method in METHODS.iter().filter(|m| !allowed.contains(m)) {
            let what = format!("{method} {path} on port {port}");
            let answer = send(port, method, path, b"", b"").await;
            assert_eq!(answer.status(), Some(405), "{what}: {}", answer.describe());
            assert_eq!(answer.header("allow"), Some(allow), "{what}");
            let expected = match (*method, &body) {
                ("HEAD", _) | (_, None) => String::new(),
                (_, Some(body)) => body.clone(),
            };
            assert_eq!(answer.body_text(), expected, "{what}");
            refused += 1;
        }
    }
    assert_eq!(refused, 139);
    assert_serving(kiada, "the wrong methods").await;
    assert_serving(quote, "the wrong methods").await;
}

/// Port, method, target, extra header bytes, status, and the exact text body (if any).
type Case<'a> = (u16, &'a str, String, &'a [u8], u16, Option<String>);

#[tokio::test]
async fn malformed_paths_queries_numbers_and_headers_get_exact_client_errors() {
    let suite = spawn_suite().await;
    let (kiada, quote) = (suite.kiada.port, suite.quote.port);
    let nines = "9".repeat(5000);
    let ones = "1".repeat(5000);
    let question_id =
        |shown: &str| format!("ERROR: the question id must be a whole number, not \"{shown}\".\n");
    let answer_index = |shown: &str| {
        format!("ERROR: the answer index must be a whole number from 0, not \"{shown}\".\n")
    };
    let seed_error = "X-Kiada-Seed must be an unsigned integer (0 to 18446744073709551615)\n";
    let text_cases: Vec<Case> = vec![
        (
            kiada,
            "GET",
            "/%FF%FE".into(),
            b"",
            404,
            Some("Not found: /%FF%FE\nTry / (text), /html (browser) or /json.\n".into()),
        ),
        (kiada, "GET", "/text?x=%FF%FE".into(), b"", 200, None),
        (
            kiada,
            "POST",
            "/question/%FF%FE/answers/0".into(),
            b"",
            400,
            Some(question_id("\u{FFFD}\u{FFFD}")),
        ),
        (
            kiada,
            "POST",
            "/question/7/answers/%FF".into(),
            b"",
            400,
            Some(answer_index("\u{FFFD}")),
        ),
        (
            kiada,
            "POST",
            "/question/-1/answers/0".into(),
            b"",
            400,
            Some(question_id("-1")),
        ),
        (
            kiada,
            "POST",
            "/question/18446744073709551616/answers/0".into(),
            b"",
            400,
            Some(question_id("18446744073709551616")),
        ),
        (
            kiada,
            "POST",
            "/question/7/answers/18446744073709551616".into(),
            b"",
            400,
            Some(answer_index("18446744073709551616")),
        ),
        // A whole number beyond quiz's ids (u32): kiada refuses it and says the limit.
        (
            kiada,
            "POST",
            "/question/18446744073709551615/answers/0".into(),
            b"",
            400,
            Some(
                "ERROR: the question id must be at most 4294967295, not \
                 18446744073709551615.\n"
                    .into(),
            ),
        ),
        // Huge parameters are shown cut to 40 characters.
        (
            kiada,
            "POST",
            format!("/question/{nines}/answers/0"),
            b"",
            400,
            Some(question_id(&format!("{}…", &nines[..39]))),
        ),
        (
            kiada,
            "POST",
            format!("/question/7/answers/{ones}"),
            b"",
            400,
            Some(answer_index(&format!("{}…", &ones[..39]))),
        ),
        (
            kiada,
            "GET",
            "/".into(),
            b"X-Kiada-Seed: \xff\xfe\r\n",
            400,
            Some(seed_error.into()),
        ),
        (
            kiada,
            "GET",
            "/".into(),
            b"X-Kiada-Seed: 18446744073709551616\r\n",
            400,
            Some(seed_error.into()),
        ),
        (
            kiada,
            "GET",
            "/json".into(),
            b"X-Kiada-Seed: -5\r\n",
            400,
            Some(seed_error.into()),
        ),
        (
            quote,
            "GET",
            "/%FF%FE".into(),
            b"",
            404,
            Some(String::new()),
        ),
        (
            quote,
            "GET",
            "/quote/%FF".into(),
            b"",
            404,
            Some(String::new()),
        ),
        (quote, "GET", "/quote?x=%FF%FE".into(), b"", 200, None),
        (
            quote,
            "GET",
            "/quote".into(),
            b"X-Kiada-Seed: \xff\r\n",
            400,
            Some(seed_error.into()),
        ),
    ];
    for (port, method, target, headers, status, body) in text_cases {
        let what = format!("{method} {}", &target[..target.len().min(60)]);
        let answer = send(port, method, &target, headers, b"").await;
        assert_eq!(
            answer.status(),
            Some(status),
            "{what}: {}",
            answer.describe()
        );
        assert!(answer.is_complete(), "{what}");
        if let Some(body) = body {
            assert_eq!(answer.body_text(), body, "{what}");
        }
        assert_serving(port, &what).await;
    }

    // The quiz proxy passes quiz's verdict on an id of digits through; what is not one
    // it does not forward.
    let too_large = format!(
        "question id {} is too large: ids go up to 4294967295",
        &nines[..40]
    );
    for (target, status, body) in [
        (
            "/proxy/quiz/questions/%FF%FE".to_owned(),
            404,
            not_forwarded("GET", "questions/%FF%FE"),
        ),
        (
            format!("/proxy/quiz/questions/{nines}"),
            400,
            json!({ "error": too_large }),
        ),
        (
            "/proxy/quiz/questions/-1".to_owned(),
            404,
            not_forwarded("GET", "questions/-1"),
        ),
        (
            "/proxy/quiz/questions/7?x=%FF%FE".to_owned(),
            200,
            json!({"id": QUESTION_ID, "text": QUESTION_TEXT, "answers": ANSWERS}),
        ),
    ] {
        let answer = send(kiada, "GET", &target, b"", b"").await;
        assert_json(&answer, status, body, &target[..target.len().min(60)]);
        assert_serving(kiada, &target).await;
    }

    // A request id that is not text is replaced by a fresh one.
    let answer = send(
        kiada,
        "GET",
        "/healthz/live",
        b"X-Request-Id: \xff\xfe\r\n",
        b"",
    )
    .await;
    assert_eq!(answer.status(), Some(200));
    let id = answer.header("x-request-id").unwrap();
    assert!(
        id.len() == 36 && id.bytes().filter(|b| *b == b'-').count() == 4,
        "{id}"
    );
}

#[tokio::test]
async fn malformed_deep_and_oversized_answers_are_refused_and_quiz_stores_nothing() {
    let suite = spawn_suite().await;
    let kiada = suite.kiada.port;
    let path = format!("/proxy/quiz/questions/{QUESTION_ID}/answers");
    let not_json = |cause: &str| json!({ "error": format!("the body is not valid JSON: {cause}; {ANSWER_FORMAT}") });
    let too_large = json!({"error": "the request body must be at most 4096 bytes"});
    let nested = |open: &str, inner: &str, close: &str, depth: usize| {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth)).into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, u16, serde_json::Value)> = vec![
        (
            "malformed",
            b"{not json".to_vec(),
            400,
            not_json("key must be a string at line 1 column 2"),
        ),
        // Nested within the size limit: serde_json stops at 128 levels.
        (
            "2,000 nested arrays",
            nested("[", "", "]", 2000),
            400,
            not_json("recursion limit exceeded at line 1 column 128"),
        ),
        (
            "600 nested objects",
            nested(r#"{"a":"#, "1", "}", 600),
            400,
            not_json("recursion limit exceeded at line 1 column 636"),
        ),
        // Past the size limit kiada refuses it before quiz sees it.
        (
            "10,000 nested arrays",
            nested("[", "", "]", 10_000),
            413,
            too_large.clone(),
        ),
        (
            "oversized",
            format!(
                r#"{{"questionId": 7, "answerIndex": 2{}}}"#,
                " ".repeat(5000)
            )
            .into_bytes(),
            413,
            too_large,
        ),
        (
            "invalid UTF-8",
            b"{\"questionId\": 7, \"answerIndex\": \"\xff\xfe\"}".to_vec(),
            400,
            not_json("invalid unicode code point at line 1 column 35"),
        ),
        (
            "overflowing question id",
            br#"{"questionId": 18446744073709551616, "answerIndex": 2}"#.to_vec(),
            400,
            json!({"error": format!(
                "invalid answer: invalid type: floating point `1.8446744073709552e+19`, \
                 expected i64; {ANSWER_FORMAT}"
            )}),
        ),
        (
            "negative question id",
            br#"{"questionId": -7, "answerIndex": 2}"#.to_vec(),
            400,
            json!({"error": "questionId -7 in the body does not match question 7 in the URL"}),
        ),
        (
            "answer index out of range of any number",
            br#"{"questionId": 7, "answerIndex": 1e400}"#.to_vec(),
            400,
            not_json("number out of range at line 1 column 38"),
        ),
    ];
    for (what, body, status, expected) in cases {
        let answer = send(
            kiada,
            "POST",
            &path,
            b"Content-Type: application/json\r\n",
            &body,
        )
        .await;
        assert_json(&answer, status, expected, what);
        assert_serving(kiada, what).await;
    }

    // kiada's own answer route takes the answer from the path and never reads a body.
    let deep = nested("[", "", "]", 10_000);
    let target = format!("/question/{QUESTION_ID}/answers/{CORRECT_INDEX}");
    let answer = send(
        kiada,
        "POST",
        &target,
        b"Content-Type: application/json\r\n",
        &deep,
    )
    .await;
    assert_eq!(answer.status(), Some(200), "{}", answer.describe());
    assert!(answer.body_text().ends_with("Correct! Well done.\n"));

    let stats = quiz_stats(&suite.quiz).await;
    assert_eq!(stats["totals"], json!({"answers": 1, "correct": 1}));
}
