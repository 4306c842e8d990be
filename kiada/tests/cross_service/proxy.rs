use kiada_testkit::suite::*;

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
        "/questions/abc".to_owned(),
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
async fn quiz_proxy_refuses_other_methods_big_bodies_and_escapes() {
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

    for path in [
        "/proxy/quiz/%2e%2e/secret",
        "/proxy/quiz/questions/%2E%2E/%2e%2e/x",
        "/proxy/quiz/a%2fb",
        "/proxy/quiz/a%5c..%5cb",
    ] {
        let (status, body) = raw_get(suite.kiada.port, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body.contains("must not contain dot segments or encoded slashes"),
            "{body}"
        );
    }
}

/// `POST /proxy/quiz/questions/<the test question>/answers`, body still to add.
fn post_answer_through_proxy(suite: &Suite) -> reqwest::RequestBuilder {
    suite.kiada.client.post(format!(
        "{}/proxy/quiz/questions/{QUESTION_ID}/answers",
        suite.kiada.address
    ))
}
