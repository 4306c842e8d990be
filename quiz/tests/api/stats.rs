use quiz::QuestionSet;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn entry(stats: &Value, id: u32) -> Value {
    stats["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no stats for question {id}"))
}

#[tokio::test]
async fn stats_start_at_zero_for_every_question() {
    let app = spawn_app().await;
    let stats = app.stats().await;
    let set = QuestionSet::built_in().unwrap();
    let entries = stats["questions"].as_array().unwrap();
    assert_eq!(entries.len(), set.len());
    for (entry, question) in entries.iter().zip(set.all()) {
        assert_eq!(
            entry,
            &json!({"id": question.public.id, "answers": 0, "correct": 0})
        );
    }
    assert_eq!(stats["totals"], json!({"answers": 0, "correct": 0}));
}

#[tokio::test]
async fn stats_count_every_answer_exactly() {
    let app = spawn_app().await;
    let set = QuestionSet::built_in().unwrap();
    let (q1, q2) = (set.get(1).unwrap(), set.get(2).unwrap());
    let wrong = |q: &quiz::Question| ((q.correct_answer_index + 1) % q.public.answers.len()) as i64;
    for _ in 0..3 {
        assert_eq!(
            app.answer(1, q1.correct_answer_index as i64).await.status(),
            200
        );
    }
    assert_eq!(app.answer(1, wrong(q1)).await.status(), 200);
    assert_eq!(app.answer(2, wrong(q2)).await.status(), 200);
    // Rejected answers are not counted.
    assert_eq!(app.answer(2, 9).await.status(), 400);
    assert_eq!(app.answer(999, 0).await.status(), 404);

    let stats = app.stats().await;
    assert_eq!(
        entry(&stats, 1),
        json!({"id": 1, "answers": 4, "correct": 3})
    );
    assert_eq!(
        entry(&stats, 2),
        json!({"id": 2, "answers": 1, "correct": 0})
    );
    assert_eq!(
        entry(&stats, 3),
        json!({"id": 3, "answers": 0, "correct": 0})
    );
    assert_eq!(stats["totals"], json!({"answers": 5, "correct": 3}));
}

#[tokio::test]
async fn concurrent_answers_are_all_counted() {
    let app = spawn_app().await;
    let set = QuestionSet::built_in().unwrap();
    let q = set.get(7).unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let client = app.client.clone();
        let url = app.url("/questions/7/answers");
        let index = i % q.public.answers.len();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&json!({"questionId": 7, "answerIndex": index}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let correct = (0..200)
        .filter(|i| i % q.public.answers.len() == q.correct_answer_index)
        .count();
    let stats = app.stats().await;
    assert_eq!(
        entry(&stats, 7),
        json!({"id": 7, "answers": 200, "correct": correct})
    );
    assert_eq!(stats["totals"], json!({"answers": 200, "correct": correct}));
}

#[tokio::test]
async fn answers_survive_a_restart() {
    let app = spawn_app().await;
    let q = QuestionSet::built_in().unwrap().get(3).unwrap().clone();
    assert_eq!(
        app.answer(3, q.correct_answer_index as i64).await.status(),
        200
    );
    assert_eq!(app.answer(3, 0).await.status(), 200);
    let before = app.stats().await;
    let dir = app.stop().await;
    let app = crate::helpers::spawn_app_with(dir, |_| {}).await;
    assert_eq!(app.stats().await, before);
}
