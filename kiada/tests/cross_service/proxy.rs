use kiada_testkit::raw;
use kiada_testkit::suite::*;

use crate::bad_input::{assert_json, send};

#[tokio::test]
async fn quote_proxy_answers_the_tip_as_a_json_string() {
    let suite = spawn_suite().await;
    let response = suite.kiada.get_ok("/proxy/quote", "application/json").await;
    assert_eq!(response.headers()["x-upstream-pod-name"], QUOTE_POD);
    assert_eq!(response.headers()["x-upstream-node-name"], QUOTE_NODE);
    // kiada's own identity stays on the answer.
    assert_eq!(response.headers()["x-pod-name"], KIADA_POD);
    let tip: serde_json::Value = response.json().await.unwrap();
    assert_eq!(tip, serde_json::Value::String(TIP.into()));
    let direct = reqwest::get(&suite.quote.url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(direct.trim_end(), TIP);
    let response = suite.kiada.post("/proxy/quote").await;
    assert_eq!(response.status().as_u16(), 405);
}

#[tokio::test]
async fn quiz_proxy_preserves_status_and_body() {
    let suite = spawn_suite().await;
    let direct = reqwest::Client::new();
    for path in [
        format!("/questions/{QUESTION_ID}"),
        "/questions/random".to_owned(),
        "/questions/999".to_owned(),
        "/stats".to_owned(),
    ] {
        let via_kiada = suite.kiada.get(&format!("/proxy/quiz{path}")).await;
        let from_quiz = direct
            .get(format!("{}{path}", suite.quiz.url))
            .send()
            .await
            .unwrap();
        assert_eq!(via_kiada.status(), from_quiz.status(), "{path}");
        assert_eq!(
            via_kiada.headers()["content-type"],
            from_quiz.headers()["content-type"],
            "{path}"
        );
        assert_eq!(via_kiada.headers()["x-upstream-pod-name"], QUIZ_POD);
        assert_eq!(
            via_kiada.text().await.unwrap(),
            from_quiz.text().await.unwrap(),
            "{path}"
        );
    }
    let question: serde_json::Value = suite
        .kiada
        .get(&format!("/proxy/quiz/questions/{QUESTION_ID}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        question,
        serde_json::json!({"id": QUESTION_ID, "text": QUESTION_TEXT, "answers": ANSWERS})
    );
}

#[tokio::test]
async fn quiz_proxy_forwards_posted_answers() {
    let suite = spawn_suite().await;
    let response = post_answer_through_proxy(&suite)
        .json(&serde_json::json!({"questionId": QUESTION_ID, "answerIndex": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let verdict: serde_json::Value = response.json().await.unwrap();
    assert_eq!(verdict["questionId"], QUESTION_ID);
    assert_eq!(verdict["answerIndex"], 1);
    assert_eq!(verdict["correctAnswerIndex"], CORRECT_INDEX);
    assert_eq!(verdict["correct"], false);

    // quiz's own 400, passed through.
    let response = post_answer_through_proxy(&suite)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let error: serde_json::Value = response.json().await.unwrap();
    assert!(error["error"].is_string(), "{error}");

    // The quiz service counted exactly the one valid answer.
    let stats: serde_json::Value = suite
        .kiada
        .get("/proxy/quiz/stats")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["totals"]["answers"], 1, "{stats}");
}

#[tokio::test]
async fn quiz_proxy_refuses_other_methods_and_big_bodies() {
    let suite = spawn_suite().await;
    let url = format!("{}/proxy/quiz/questions/{QUESTION_ID}", suite.kiada.address);
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = suite
            .kiada
            .client
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "GET, POST");
    }

    let response = suite
        .kiada
        .client
        .post(format!("{url}/answers"))
        .header("content-type", "application/json")
        .body(vec![b' '; 4097])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        error["error"],
        "the request body must be at most 4096 bytes"
    );
}

#[tokio::test]
async fn quiz_proxy_forwards_only_the_page_s_calls_and_the_stats() {
    let suite = spawn_suite().await;
    let kiada = suite.kiada.port;
    let json = b"Content-Type: application/json\r\n";
    let answer = format!(r#"{{"questionId": {QUESTION_ID}, "answerIndex": 0}}"#);
    let answers_path = format!("questions/{QUESTION_ID}/answers");
    let cases: [(&str, &str, &[u8]); 16] = [
        ("GET", "admin/status", b""),
        ("GET", "metrics", b""),
        ("GET", "healthz/ready", b""),
        ("GET", "healthz/live", b""),
        ("GET", "%61dmin/status", b""),
        // Decoded once, as it is checked: `%61dmin`, which is not `admin` either.
        ("GET", "%2561dmin/status", b""),
        ("GET", "questions%2frandom", b""),
        ("POST", "admin/faults", br#"{"status": 500}"#),
        ("POST", "admin/probes/ready/fail", b"{}"),
        ("GET", &answers_path, b""),
        ("POST", "questions/random", answer.as_bytes()),
        // Dot segments and encoded slashes or backslashes match no allowed path.
        ("GET", "%2e%2e/secret", b""),
        ("GET", "questions/%2E%2E/%2e%2e/admin/status", b""),
        ("GET", "questions/7/../../metrics", b""),
        ("GET", "a%2fb", b""),
        ("GET", "a%5c..%5cb", b""),
    ];
    for (method, tail, body) in cases {
        let what = format!("{method} /proxy/quiz/{tail}");
        let answer = send(kiada, method, &format!("/proxy/quiz/{tail}"), json, body).await;
        assert_json(&answer, 404, not_forwarded(method, tail), &what);
        // kiada answered itself: quiz's pod would be named.
        assert_eq!(answer.header("x-upstream-pod-name"), None, "{what}");
    }
    // Nothing was answered on quiz's behalf.
    assert_eq!(quiz_stats(&suite.quiz).await["totals"]["answers"], 0);

    // An allowed path percent-encoded is the same call; a query does not change that.
    let encoded_id: String = QUESTION_ID
        .to_string()
        .bytes()
        .map(|digit| format!("%{digit:02X}"))
        .collect();
    for path in [
        format!("/proxy/quiz/questions/{QUESTION_ID}?lang=en"),
        format!("/proxy/quiz/%71uestions/{encoded_id}"),
    ] {
        let answer = raw::get(kiada, &path).await;
        assert_eq!(answer.status(), Some(200), "{path}: {}", answer.describe());
        assert_eq!(
            answer.header("x-upstream-pod-name"),
            Some(QUIZ_POD),
            "{path}"
        );
    }
}

/// kiada's answer to a `/proxy/quiz/<tail>` it does not forward.
pub(crate) fn not_forwarded(method: &str, tail: &str) -> serde_json::Value {
    serde_json::json!({ "error": format!(
        "{method} /proxy/quiz/{tail} is not forwarded to quiz: the proxy forwards only \
         GET questions/random, GET questions/<id>, POST questions/<id>/answers and \
         GET stats (<id> in decimal digits)"
    )})
}

/// `POST /proxy/quiz/questions/<the test question>/answers`, body still to add.
fn post_answer_through_proxy(suite: &Suite) -> reqwest::RequestBuilder {
    suite.kiada.client.post(format!(
        "{}/proxy/quiz/questions/{QUESTION_ID}/answers",
        suite.kiada.address
    ))
}
