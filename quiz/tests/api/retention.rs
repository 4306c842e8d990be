//! The raw answer rows are bounded (`QUIZ_MAX_STORED_ANSWERS`) while `/stats` goes on
//! counting every answer; a database an older version wrote is upgraded at start-up;
//! a full store refuses answers with 507 and goes on serving questions.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::Path;

use kiada_wire::Tally;
use quiz::{Config, QuestionSet};
use rusqlite::{Connection, params};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{QuizApp, assert_error, spawn_app_with, test_config};

/// The schema version 1 wrote (before the totals table), frozen here so that this
/// test keeps describing the databases already out there.
const SCHEMA_V1: &str = "
CREATE TABLE questions (id INTEGER PRIMARY KEY, text TEXT NOT NULL, answers TEXT NOT NULL, correct_answer_index INTEGER NOT NULL);
CREATE TABLE answers (id INTEGER PRIMARY KEY, question_id INTEGER NOT NULL, answer_index INTEGER NOT NULL, correct INTEGER NOT NULL CHECK (correct IN (0, 1)), answered_at TEXT NOT NULL, request_id TEXT NOT NULL);
CREATE INDEX answers_by_question ON answers (question_id);
PRAGMA user_version = 1;
";

/// Keeps at most `keep` raw answers.
fn keeping(keep: u32) -> impl FnOnce(&mut Config) {
    move |config| config.store_limits.max_stored_answers = NonZeroU32::new(keep).unwrap()
}

/// What `/stats` must say: every answer counted, per question id.
#[derive(Default)]
struct Expected(BTreeMap<u32, Tally>);

impl Expected {
    fn count(&mut self, question_id: u32, correct: bool) {
        let tally = self.0.entry(question_id).or_default();
        tally.answers += 1;
        tally.correct += u64::from(correct);
    }

    /// The whole `/stats` body: the active questions in order, and totals that also
    /// count answers to questions no longer active.
    fn stats(&self) -> Value {
        let questions: Vec<Value> = QuestionSet::built_in()
            .unwrap()
            .all()
            .iter()
            .map(|q| {
                let tally = self.0.get(&q.public.id).copied().unwrap_or_default();
                json!({"id": q.public.id, "answers": tally.answers, "correct": tally.correct})
            })
            .collect();
        let answers: u64 = self.0.values().map(|t| t.answers).sum();
        let correct: u64 = self.0.values().map(|t| t.correct).sum();
        json!({"questions": questions, "totals": {"answers": answers, "correct": correct}})
    }
}

fn is_correct(question_id: u32, answer_index: usize) -> bool {
    let set = QuestionSet::built_in().unwrap();
    set.get(question_id).unwrap().correct_answer_index == answer_index
}

/// Posts an answer with this request id.
async fn post(app: &QuizApp, question_id: u32, answer_index: usize, id: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/questions/{question_id}/answers")))
        .header("X-Request-Id", id)
        .json(&json!({"questionId": question_id, "answerIndex": answer_index}))
        .send()
        .await
        .unwrap()
}

/// The request ids of the raw answers in the database file, oldest first.
fn stored_request_ids(db_path: &Path) -> Vec<String> {
    let conn = Connection::open(db_path).unwrap();
    let mut rows = conn
        .prepare("SELECT request_id FROM answers ORDER BY id")
        .unwrap();
    rows.query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_answers_are_kept_and_every_answer_is_counted() {
    let app = spawn_app_with(TempDir::new().unwrap(), keeping(5)).await;
    let mut expected = Expected::default();
    // One at a time, each in a commit of its own.
    for i in 0..12 {
        let (question_id, answer_index) = (i % 3 + 1, i as usize % 3);
        let response = post(&app, question_id, answer_index, &format!("one-{i}")).await;
        assert_eq!(response.status(), 200);
        expected.count(question_id, is_correct(question_id, answer_index));
    }
    assert_eq!(
        stored_request_ids(&app.db_path),
        ["one-7", "one-8", "one-9", "one-10", "one-11"]
    );
    assert_eq!(app.stats().await, expected.stats());

    // Forty at once, in groups that each insert, count and prune together.
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (client, url) = (app.client.clone(), app.url("/questions/4/answers"));
        let answer_index = i % 3;
        posts.spawn(async move {
            let body = json!({"questionId": 4, "answerIndex": answer_index});
            let response = client.post(url).json(&body).send().await.unwrap();
            (response.status(), answer_index)
        });
    }
    for (status, answer_index) in posts.join_all().await {
        assert_eq!(status, 200);
        expected.count(4, is_correct(4, answer_index));
    }
    assert_eq!(stored_request_ids(&app.db_path).len(), 5);
    assert_eq!(app.stats().await, expected.stats());

    // The counts are on disk, not made up from the rows that are left.
    let dir = app.stop().await;
    let app = spawn_app_with(dir, keeping(5)).await;
    assert_eq!(app.stats().await, expected.stats());
}

#[tokio::test]
async fn a_version_1_database_is_upgraded_with_every_answer_counted() {
    const OLD_ANSWERS: i64 = 25_003;
    let dir = TempDir::new().unwrap();
    let db_path = test_config(dir.path()).db_path;
    std::fs::create_dir_all(db_path.parent().unwrap()).unwrap();
    let mut conn = Connection::open(&db_path).unwrap();
    conn.execute_batch(SCHEMA_V1).unwrap();
    let mut expected = Expected::default();
    let tx = conn.transaction().unwrap();
    for i in 1..=OLD_ANSWERS {
        // Question 999 is no longer in the set: it counts in the totals only.
        let question_id = [1, 2, 999][i as usize % 3];
        let correct = i % 4 == 0;
        tx.execute(
            "INSERT INTO answers (question_id, answer_index, correct, answered_at, request_id)
             VALUES (?1, 0, ?2, '2025-06-01T00:00:00.000Z', ?3)",
            params![question_id, correct, format!("old-{i}")],
        )
        .unwrap();
        expected.count(question_id, correct);
    }
    tx.commit().unwrap();
    drop(conn);

    let app = spawn_app_with(dir, keeping(3)).await;
    assert_eq!(app.stats().await, expected.stats());
    let kept = stored_request_ids(&app.db_path);
    assert_eq!(kept.len(), 3, "rows kept of {OLD_ANSWERS}");
    assert_eq!(kept, ["old-25001", "old-25002", "old-25003"]);
    let conn = Connection::open(&app.db_path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 2);

    assert_eq!(post(&app, 2, 1, "new-1").await.status(), 200);
    expected.count(2, is_correct(2, 1));
    assert_eq!(app.stats().await, expected.stats());
}

#[tokio::test]
async fn a_full_store_refuses_answers_with_507_and_still_serves_questions() {
    const MAX_POSTS: usize = 5_000;
    // The questions and the empty tables take 8 pages of 4 KiB: hundreds of short
    // answers fill the other 12.
    const PAGES: u32 = 20;
    let app = spawn_app_with(TempDir::new().unwrap(), |config| {
        config.store_limits.max_database_pages = NonZeroU32::new(PAGES);
    })
    .await;
    let mut expected = Expected::default();
    let mut acknowledged = 0;
    let refused = loop {
        assert!(acknowledged < MAX_POSTS, "the store never filled up");
        let response = post(&app, 1, 0, &format!("fill-{acknowledged}")).await;
        if response.status() != 200 {
            break response;
        }
        acknowledged += 1;
        expected.count(1, is_correct(1, 0));
    };
    eprintln!("{acknowledged} answers fitted into {PAGES} pages");
    assert!(
        acknowledged > 0,
        "the first answer already found the store full"
    );
    let full = "the answer store is full, so the answer was not saved: the database or its volume has no room left";
    assert_error(refused, 507, full).await;
    assert_error(post(&app, 2, 0, "after-full").await, 507, full).await;

    // Questions are still served, and the pod stays in its Service for them.
    assert_eq!(app.get("/questions/1").await.status(), 200);
    assert_eq!(
        app.get("/healthz/ready").await.text().await.unwrap(),
        "ready\n"
    );
    // Nothing was lost silently: what was acknowledged is stored and counted, no more.
    assert_eq!(stored_request_ids(&app.db_path).len(), acknowledged);
    assert_eq!(app.stats().await, expected.stats());
}
