use kiada_testkit::server::client;
use quiz::QuestionSet;
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn a_question_by_id_has_text_and_answers_but_no_solution() {
    let app = spawn_app().await;
    let set = QuestionSet::built_in().unwrap();
    for question in set.all().iter().take(5) {
        let response = app.get(&format!("/questions/{}", question.public.id)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"id": question.public.id, "text": question.public.text, "answers": question.public.answers})
        );
    }
}

#[tokio::test]
async fn a_random_question_is_one_of_the_set_without_solution() {
    let app = spawn_app().await;
    let set = QuestionSet::built_in().unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..40 {
        let response = app.get("/questions/random").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let object = body.as_object().unwrap();
        let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["answers", "id", "text"]);
        let id = u32::try_from(body["id"].as_u64().unwrap()).unwrap();
        let question = set.get(id).expect("a known question");
        assert_eq!(body["text"], question.public.text.as_str());
        assert_eq!(body["answers"], json!(question.public.answers));
        seen.insert(id);
    }
    // 40 draws from 42 questions: the chance of drawing one question only is negligible.
    assert!(seen.len() > 1, "random always returned {seen:?}");
}

#[tokio::test]
async fn an_unknown_id_is_404() {
    let app = spawn_app().await;
    for id in ["0", "9999", "4294967295"] {
        assert_error(
            app.get(&format!("/questions/{id}")).await,
            404,
            &format!("there is no question with id {id}"),
        )
        .await;
    }
}

#[tokio::test]
async fn an_id_that_is_not_a_number_is_400() {
    let app = spawn_app().await;
    let cases = [
        (
            "abc",
            "question id \"abc\" is not a number: ids are whole numbers from 1",
        ),
        (
            "1.5",
            "question id \"1.5\" is not a number: ids are whole numbers from 1",
        ),
        (
            "-1",
            "question id -1 is negative: ids are whole numbers from 1",
        ),
        (
            "4294967296",
            "question id 4294967296 is too large: ids go up to 4294967295",
        ),
        (
            "99999999999999999999999",
            "question id 99999999999999999999999 is too large: ids go up to 4294967295",
        ),
    ];
    for (id, message) in cases {
        assert_error(app.get(&format!("/questions/{id}")).await, 400, message).await;
        // The answer endpoint parses ids the same way.
        let response = app
            .post_raw(
                &format!("/questions/{id}/answers"),
                r#"{"questionId": 1, "answerIndex": 0}"#,
            )
            .await;
        assert_error(response, 400, message).await;
    }
}

#[tokio::test]
async fn a_seed_picks_the_same_question_on_every_instance() {
    let first = spawn_app().await;
    let second = spawn_app().await;
    let questions = quiz::QuestionSet::built_in().unwrap();
    let mut seen = std::collections::HashSet::new();
    for seed in 0..20u64 {
        let mut bodies = Vec::new();
        for app in [&first, &second] {
            let response = client()
                .get(app.url("/questions/random"))
                .header("x-kiada-seed", seed.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            bodies.push(response.json::<serde_json::Value>().await.unwrap());
        }
        assert_eq!(bodies[0], bodies[1], "seed {seed}");
        let expected = questions.for_seed(seed);
        assert_eq!(bodies[0]["id"], expected.public.id);
        assert_eq!(bodies[0]["text"], expected.public.text.as_str());
        seen.insert(expected.public.id);
    }
    assert!(seen.len() > 5, "seeds should spread over the questions");

    let response = client()
        .get(first.url("/questions/random"))
        .header("x-kiada-seed", "not-a-number")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
