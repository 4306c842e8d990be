//! What the other quiz tests leave out: invalid UTF-8 in paths, queries and bodies,
//! deeply nested JSON within and past the size limit, a byte-order mark and trailing
//! bytes. Each gets an exact client error, the service keeps serving, and nothing is
//! stored.

use crate::helpers::{assert_error, spawn_app};

const FORMAT: &str = r#"expected a JSON object like {"questionId": 1, "answerIndex": 0}"#;

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> Vec<u8> {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth)).into_bytes()
}

#[tokio::test]
async fn invalid_utf8_in_paths_and_queries() {
    let app = spawn_app().await;
    let message = "question id \"\u{FFFD}\u{FFFD}\" is not a number: ids are whole numbers from 1";
    assert_error(app.get("/questions/%FF%FE").await, 400, message).await;
    let body = r#"{"questionId": 1, "answerIndex": 0}"#;
    let response = app.post_raw("/questions/%FF%FE/answers", body).await;
    assert_error(response, 400, message).await;
    // A query nobody reads is ignored, whatever its bytes.
    let response = app.get("/questions/1?x=%FF%FE").await;
    assert_eq!(response.status(), 200);
    app.assert_no_answer_recorded().await;
}

#[tokio::test]
async fn nested_and_malformed_bodies_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let invalid = |cause: &str| format!("the body is not valid JSON: {cause}; {FORMAT}");
    let cases = [
        (
            nested("[", "", "]", 2000),
            400,
            invalid("recursion limit exceeded at line 1 column 128"),
        ),
        (
            nested(r#"{"a":"#, "1", "}", 600),
            400,
            invalid("recursion limit exceeded at line 1 column 636"),
        ),
        (
            nested("[", "", "]", 10_000),
            413,
            "request body too large: the limit is 4096 bytes".to_owned(),
        ),
        (
            b"{\"questionId\": 1, \"answerIndex\": \"\xff\xfe\"}".to_vec(),
            400,
            invalid("invalid unicode code point at line 1 column 35"),
        ),
        (
            b"\xef\xbb\xbf{\"questionId\": 1, \"answerIndex\": 0}".to_vec(),
            400,
            invalid("expected value at line 1 column 1"),
        ),
        (
            b"{\"questionId\": 1, \"answerIndex\": 0}\0".to_vec(),
            400,
            invalid("trailing characters at line 1 column 36"),
        ),
    ];
    for (body, status, message) in cases {
        assert_error(
            app.post_raw("/questions/1/answers", body).await,
            status,
            &message,
        )
        .await;
        assert_eq!(app.get("/healthz/live").await.status(), 200);
    }
    app.assert_no_answer_recorded().await;
}
