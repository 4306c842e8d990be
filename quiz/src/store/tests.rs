//! The store on its own: counts across reopening, and databases it must refuse.

use kiada_wire::Tally;

use super::*;

fn answer(question_id: u32, correct: bool) -> NewAnswer {
    NewAnswer {
        question_id,
        answer_index: 0,
        correct,
        timestamp: "2026-01-01T00:00:00.000Z".into(),
        request_id: "test".into(),
    }
}

#[tokio::test]
async fn records_count_and_survive_reopening() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("nested").join("quiz.db");
    let questions = QuestionSet::built_in().unwrap();
    let store = Store::open(&path, &questions, StoreLimits::default()).unwrap();
    store.record(answer(1, true)).await.unwrap();
    store.record(answer(1, false)).await.unwrap();
    store.record(answer(2, true)).await.unwrap();
    let counts = store.counts();
    assert_eq!(
        counts.total,
        Tally {
            answers: 3,
            correct: 2
        }
    );
    assert_eq!(
        counts.per_question[&1],
        Tally {
            answers: 2,
            correct: 1
        }
    );
    assert_eq!(store.check().await, Ok(()));
    store.close().await;
    assert_eq!(
        store.check().await,
        Err("the database writer has stopped".to_owned())
    );
    assert!(store.record(answer(1, true)).await.is_err());
    drop(store);

    let store = Store::open(&path, &questions, StoreLimits::default()).unwrap();
    assert_eq!(store.counts(), counts);
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    store.close().await;
}

/// A database file that another program made with `sql`.
fn database_made_with(sql: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("quiz.db");
    Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    (dir, path)
}

/// Why `Store::open` refuses the database at `path`.
fn open_error(path: &Path) -> String {
    Store::open(
        path,
        &QuestionSet::built_in().unwrap(),
        StoreLimits::default(),
    )
    .err()
    .expect("the database is refused")
    .to_string()
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let (_dir, path) = database_made_with("CREATE TABLE future (x); PRAGMA user_version = 7;");
    let before = std::fs::read(&path).unwrap();
    let error = open_error(&path);
    assert_eq!(
        error,
        format!(
            "the quiz database {} has schema version 7, newer than this build's 2; refusing to change it",
            path.display()
        )
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_foreign_answers_table_is_refused() {
    let (_dir, path) = database_made_with("CREATE TABLE answers (something_else TEXT);");
    let error = open_error(&path);
    assert!(
        error.starts_with(&format!(
            "cannot use the quiz database {}: ",
            path.display()
        )),
        "{error}"
    );
}

/// A store on a new database in a temporary directory (kept alive with it).
fn temporary_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::TempDir::new().unwrap();
    let questions = QuestionSet::built_in().unwrap();
    let store = Store::open(
        &dir.path().join("quiz.db"),
        &questions,
        StoreLimits::default(),
    );
    (dir, store.unwrap())
}

/// The probe, a metrics scrape and a status call may all check at once: none of them
/// fails because another one is using the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_checks_all_pass() {
    let (_dir, store) = temporary_store();
    for _ in 0..100 {
        let checks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.check().await })
            })
            .collect();
        for check in checks {
            assert_eq!(check.await.unwrap(), Ok(()));
        }
    }
    store.close().await;
}

#[tokio::test]
async fn a_check_waits_for_the_busy_connection_up_to_its_limit() {
    let (_dir, store) = temporary_store();
    let busy = store.inner.reader.clone().lock_owned().await;
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.check().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(busy);
    assert_eq!(waiting.await.unwrap(), Ok(()));

    // A connection busy for longer than the limit (a query that hangs) fails the check
    // once the limit has passed, and the next check passes once it is free.
    let busy = store.inner.reader.clone().lock_owned().await;
    let started = std::time::Instant::now();
    assert_eq!(
        store.check().await,
        Err("the database did not answer within 1000 ms".to_owned())
    );
    assert!(
        started.elapsed() >= CHECK_TIMEOUT,
        "{:?}",
        started.elapsed()
    );
    drop(busy);
    assert_eq!(store.check().await, Ok(()));
    store.close().await;
}
