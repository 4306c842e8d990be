use std::path::Path;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{assert_error, build_error, spawn_app, spawn_app_with};

const CUSTOM: &str = r#"[
  {"id": 100, "text": "Which port does HTTP use by default?", "answers": ["21", "80", "443"], "correctAnswerIndex": 1},
  {"id": 101, "text": "Which command lists pods?", "answers": ["kubectl get pods", "kubectl pods", "kubectl ls"], "correctAnswerIndex": 0},
  {"id": 102, "text": "How many answers may a question have?", "answers": ["1 or 2", "3 to 5", "any number", "exactly 4"], "correctAnswerIndex": 1}
]"#;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_questions_file_replaces_the_built_in_questions() {
    let files = TempDir::new().unwrap();
    let file = write(files.path(), "questions.json", CUSTOM);
    let app = spawn_app_with(TempDir::new().unwrap(), |config| {
        config.questions_file = Some(file);
    })
    .await;
    let body: Value = app.get("/questions/101").await.json().await.unwrap();
    assert_eq!(
        body,
        json!({"id": 101, "text": "Which command lists pods?", "answers": ["kubectl get pods", "kubectl pods", "kubectl ls"]})
    );
    assert_error(
        app.get("/questions/1").await,
        404,
        "there is no question with id 1",
    )
    .await;
    for _ in 0..10 {
        let body: Value = app.get("/questions/random").await.json().await.unwrap();
        assert!(
            (100..=102).contains(&body["id"].as_u64().unwrap()),
            "{body}"
        );
    }
    let answer: Value = app.answer(100, 1).await.json().await.unwrap();
    assert_eq!(answer["correct"], true);
    let stats = app.stats().await;
    assert_eq!(
        stats["questions"],
        json!([
            {"id": 100, "answers": 1, "correct": 1},
            {"id": 101, "answers": 0, "correct": 0},
            {"id": 102, "answers": 0, "correct": 0}
        ])
    );
}

#[tokio::test]
async fn replacing_the_questions_keeps_recorded_answers() {
    let app = spawn_app().await;
    assert_eq!(app.answer(1, 0).await.status(), 200);
    assert_eq!(app.answer(2, 0).await.status(), 200);
    let db_path = app.db_path.clone();
    let dir = app.stop().await;

    let file = write(dir.path(), "questions.json", CUSTOM);
    let app = spawn_app_with(dir, |config| config.questions_file = Some(file)).await;
    let stats = app.stats().await;
    // The totals cover every answer ever recorded, also to retired questions.
    assert_eq!(stats["totals"]["answers"], 2);
    assert_eq!(stats["questions"].as_array().unwrap().len(), 3);

    let conn = rusqlite::Connection::open(&db_path).unwrap();
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM questions ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids, [100, 101, 102]);
    let answers: i64 = conn
        .query_row("SELECT count(*) FROM answers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(answers, 2);
}

/// The start-up error for a questions file with `text`.
async fn file_error(text: &str) -> (String, String) {
    let files = TempDir::new().unwrap();
    let file = write(files.path(), "q.json", text);
    let shown = file.display().to_string();
    let error = build_error(|config| config.questions_file = Some(file)).await;
    (error, shown)
}

fn q(id: u32, text: &str, answers: &[&str], correct: usize) -> Value {
    json!({"id": id, "text": text, "answers": answers, "correctAnswerIndex": correct})
}

#[tokio::test]
async fn each_invalid_questions_file_is_named_and_explained() {
    let good = q(1, "A question?", &["a", "b", "c"], 0);
    let cases: Vec<(String, String)> = vec![
        ("".into(), "is empty: it must hold a JSON array of questions".into()),
        ("[]".into(), "holds no questions: the JSON array is empty".into()),
        ("[".into(), "are not valid JSON in the expected format: EOF while parsing a list at line 1 column 1".into()),
        ("{\"id\": 1}".into(), "are not valid JSON in the expected format: invalid type: map, expected a sequence at line 1 column 0".into()),
        (
            json!([good, q(2, "  ", &["a", "b", "c"], 0)]).to_string(),
            "question #1 (id 2): text is empty".into(),
        ),
        (
            json!([q(3, "Two answers?", &["a", "b"], 0)]).to_string(),
            "question #0 (id 3): has 2 answers; a question needs 3 to 5".into(),
        ),
        (
            json!([q(3, "Six answers?", &["a", "b", "c", "d", "e", "f"], 0)]).to_string(),
            "question #0 (id 3): has 6 answers; a question needs 3 to 5".into(),
        ),
        (
            json!([good, good, q(4, "Blank?", &["a", " ", "c"], 0)]).to_string(),
            "question #1 (id 1): duplicate id: question #0 already has id 1".into(),
        ),
        (
            json!([q(4, "Blank?", &["a", " ", "c"], 0)]).to_string(),
            "question #0 (id 4): answer 1 is empty".into(),
        ),
        (
            json!([q(5, "Index?", &["a", "b", "c"], 3)]).to_string(),
            "question #0 (id 5): correctAnswerIndex 3 is out of range: answers are numbered 0 to 2".into(),
        ),
        (
            json!([{"id": 6, "text": "No answers field"}]).to_string(),
            "are not valid JSON in the expected format: missing field `answers`".into(),
        ),
    ];
    for (text, expected) in cases {
        let (error, file) = file_error(&text).await;
        assert!(error.contains(&file), "{error} should name {file}");
        assert!(
            error.contains(&expected),
            "{error}\nshould contain\n{expected}"
        );
    }
}

#[tokio::test]
async fn a_missing_questions_file_is_a_start_up_error() {
    let error = build_error(|config| {
        config.questions_file = Some("/nonexistent/questions.json".into());
    })
    .await;
    assert_eq!(
        error,
        "cannot read the questions file /nonexistent/questions.json: No such file or directory (os error 2)"
    );
}

#[tokio::test]
async fn a_corrupt_database_is_reported_and_left_untouched() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("quiz.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    let error = build_error(|config| config.db_path = db.clone()).await;
    assert!(
        error.starts_with(&format!(
            "cannot use the quiz database {}: file is not a database",
            db.display()
        )),
        "{error}"
    );
    kiada_testkit::assert_left_alone(dir.path(), &db, &garbage);
}

#[tokio::test]
async fn a_database_path_that_cannot_be_a_directory_is_reported() {
    // The parent "directory" is a file.
    let dir = TempDir::new().unwrap();
    let blocker = write(dir.path(), "blocker", "x");
    let error = build_error(|config| config.db_path = blocker.join("quiz.db")).await;
    assert!(
        error.starts_with(&format!(
            "cannot create the database directory {}",
            blocker.display()
        )),
        "{error}"
    );
}
