use std::time::{Duration, SystemTime};

use quiz::QuestionSet;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{assert_error, spawn_app};

const FORMAT: &str = r#"expected a JSON object like {"questionId": 1, "answerIndex": 0}"#;

fn question(id: u32) -> quiz::Question {
    QuestionSet::built_in().unwrap().get(id).unwrap().clone()
}

/// Checks the timestamp is RFC 3339 UTC with milliseconds and close to now.
fn assert_recent_timestamp(value: &Value) {
    let text = value.as_str().expect("a timestamp string");
    assert_eq!(text.len(), "2026-01-01T00:00:00.000Z".len(), "{text}");
    assert!(text.ends_with('Z'), "{text}");
    assert_eq!(&text[19..20], ".", "{text}");
    let at = humantime::parse_rfc3339(text).unwrap();
    let age = SystemTime::now()
        .duration_since(at)
        .unwrap_or(Duration::ZERO);
    assert!(age < Duration::from_secs(60), "{text} is not recent");
}

#[tokio::test]
async fn a_correct_answer() {
    let app = spawn_app().await;
    let q = question(3);
    let right = q.correct_answer_index;
    let response = app.answer(q.public.id, right as i64).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_recent_timestamp(&body["timestamp"]);
    let mut rest = body.clone();
    rest.as_object_mut().unwrap().remove("timestamp");
    assert_eq!(
        rest,
        json!({"questionId": 3, "answerIndex": right, "correctAnswerIndex": right, "correct": true})
    );
}

#[tokio::test]
async fn an_incorrect_answer() {
    let app = spawn_app().await;
    let q = question(1);
    let wrong = (q.correct_answer_index + 1) % q.public.answers.len();
    let body: Value = app.answer(1, wrong as i64).await.json().await.unwrap();
    assert_recent_timestamp(&body["timestamp"]);
    assert_eq!(body["questionId"], 1);
    assert_eq!(body["answerIndex"], wrong);
    assert_eq!(body["correctAnswerIndex"], q.correct_answer_index);
    assert_eq!(body["correct"], false);
    assert_eq!(body.as_object().unwrap().len(), 5);
}

#[tokio::test]
async fn the_body_is_json_whatever_the_content_type() {
    let app = spawn_app().await;
    let q = question(2);
    // What `curl -d '{...}'` sends.
    let response = app
        .client
        .post(app.url("/questions/2/answers"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            r#"{{"questionId": 2, "answerIndex": {}}}"#,
            q.correct_answer_index
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["correct"], true);
    // And none at all.
    let response = app
        .post_raw(
            "/questions/2/answers",
            r#"{"questionId":2,"answerIndex":0}"#,
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn bad_bodies_are_400_with_a_clear_message() {
    let app = spawn_app().await;
    let path = "/questions/1/answers";
    let cases = [
        ("", format!("the request body is empty; {FORMAT}")),
        ("  \n", format!("the request body is empty; {FORMAT}")),
        (
            "{",
            format!(
                "the body is not valid JSON: EOF while parsing an object at line 1 column 1; {FORMAT}"
            ),
        ),
        (
            "questionId=1&answerIndex=0",
            format!("the body is not valid JSON: expected value at line 1 column 1; {FORMAT}"),
        ),
        (
            r#"{"questionId": 1}"#,
            format!("invalid answer: missing field `answerIndex`; {FORMAT}"),
        ),
        (
            r#"{"questionId": 1, "answerIndex": "2"}"#,
            format!("invalid answer: invalid type: string \"2\", expected i64; {FORMAT}"),
        ),
        (
            r#"{"questionId": 1, "answerIndex": 1.5}"#,
            format!("invalid answer: invalid type: floating point `1.5`, expected i64; {FORMAT}"),
        ),
        (
            r#"{"questionId": 1, "answerIndex": 0, "extra": true}"#,
            format!(
                "invalid answer: unknown field `extra`, expected `questionId` or `answerIndex`; {FORMAT}"
            ),
        ),
        (
            "[1, 0]",
            format!("the body must be a JSON object; {FORMAT}"),
        ),
        ("42", format!("the body must be a JSON object; {FORMAT}")),
        ("null", format!("the body must be a JSON object; {FORMAT}")),
        (
            r#"{"questionId": 1, "answerIndex": 99999999999999999999}"#,
            format!("invalid answer: invalid type: floating point `1e+20`, expected i64; {FORMAT}"),
        ),
        // Well-formed, but about another question than the URL's.
        (
            r#"{"questionId": 2, "answerIndex": 0}"#,
            "questionId 2 in the body does not match question 1 in the URL".to_owned(),
        ),
    ];
    for (body, message) in cases {
        let response = app.post_raw(path, body).await;
        assert_eq!(response.status(), 400, "{body:?}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{body:?}"
        );
        let json: Value = response.json().await.unwrap();
        assert_eq!(json, json!({ "error": message }), "{body:?}");
    }
}

#[tokio::test]
async fn an_answer_index_out_of_range_or_negative_is_400() {
    let app = spawn_app().await;
    let q = question(4);
    let last = q.public.answers.len() - 1;
    for index in [q.public.answers.len() as i64, 99, -1, i64::MIN, i64::MAX] {
        assert_error(
            app.answer(4, index).await,
            400,
            &format!("answerIndex {index} is out of range: question 4 has answers 0 to {last}"),
        )
        .await;
    }
    // Nothing was recorded.
    app.assert_no_answer_recorded().await;
}

#[tokio::test]
async fn an_unknown_question_is_404() {
    let app = spawn_app().await;
    assert_error(
        app.answer(777, 0).await,
        404,
        "there is no question with id 777",
    )
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = spawn_app().await;
    let padding = " ".repeat(5000);
    let body = format!(r#"{{"questionId": 1, "answerIndex": 0{padding}}}"#);
    assert_error(
        app.post_raw("/questions/1/answers", body).await,
        413,
        "request body too large: the limit is 4096 bytes",
    )
    .await;
    // Just under the limit is fine.
    let padding = " ".repeat(4000);
    let body = format!(r#"{{"questionId": 1, "answerIndex": 0{padding}}}"#);
    assert_eq!(
        app.post_raw("/questions/1/answers", body).await.status(),
        200
    );
}

#[tokio::test]
async fn an_oversized_chunked_body_is_413() {
    // Without Content-Length the limit applies while reading.
    let app = spawn_app().await;
    let port = app.address.rsplit(':').next().unwrap();
    let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let chunk = " ".repeat(3000);
    let request = format!(
        "POST /questions/1/answers HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len(),
        chunk.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("an answer in time")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "{}",
        response.lines().next().unwrap_or_default()
    );
    assert!(
        response.contains(r#"{"error":"request body too large: the limit is 4096 bytes"}"#),
        "{response}"
    );
}

#[tokio::test]
async fn answers_are_stored_with_their_request_id() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/questions/5/answers"))
        .header("X-Request-Id", "answer-req-1")
        .body(r#"{"questionId": 5, "answerIndex": 3}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "answer-req-1");
    let body: Value = response.json().await.unwrap();
    let conn = rusqlite::Connection::open(&app.db_path).unwrap();
    let row: (i64, i64, bool, String, String) = conn
        .query_row(
            "SELECT question_id, answer_index, correct, answered_at, request_id FROM answers",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        row,
        (
            5,
            3,
            body["correct"].as_bool().unwrap(),
            body["timestamp"].as_str().unwrap().to_owned(),
            "answer-req-1".to_owned()
        )
    );
}
