//! The durable record: SQLite in WAL mode with `synchronous=FULL`, written by one thread
//! that commits answers in groups.
//!
//! Handlers never touch SQLite. To record an answer they send it with a one-shot reply
//! channel to the writer thread, which owns the only write connection. The writer takes
//! every answer waiting in the channel (up to [`MAX_BATCH`]), inserts them in one
//! transaction and commits; with WAL and `synchronous=FULL` the commit returns only after
//! the write-ahead log has been fsynced. Only then does it reply, so an answer that was
//! acknowledged with 200 is on disk, and one fsync is shared by all the answers that
//! arrived while the previous commit was flushing (group commit).
//!
//! The writer also runs SQLite's automatic checkpoints (every 1000 pages of log), which
//! keeps the log small under sustained load; while one runs, answers queue up and go into
//! the next, larger group.
//!
//! Statistics are kept in memory: loaded from the table at start-up, then updated by the
//! writer after each successful commit, so `/stats` never waits for the disk.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use kiada_wire::Tally;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use crate::questions::QuestionSet;

/// Most answers committed in one transaction.
pub const MAX_BATCH: usize = 1024;
/// Answers that may wait for the writer before senders wait for room.
const CHANNEL_CAPACITY: usize = 8192;
/// How long a connection waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the readiness check may take before the store counts as unusable.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// The schema this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    answers TEXT NOT NULL,
    correct_answer_index INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    question_id INTEGER NOT NULL,
    answer_index INTEGER NOT NULL,
    correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
    answered_at TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_by_question ON answers (question_id);
";

const INSERT_ANSWER: &str = "INSERT INTO answers (question_id, answer_index, correct, answered_at, request_id) VALUES (?1, ?2, ?3, ?4, ?5)";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the database directory {path}: {error}")]
    CreateDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "cannot use the quiz database {path}: {error} (the file was left untouched; move it away or fix QUIZ_DB_PATH)"
    )]
    Open {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error(
        "the quiz database {path} uses journal mode {mode:?}, not WAL (is it on a file system without shared memory support?)"
    )]
    NotWal { path: PathBuf, mode: String },
    #[error(
        "the quiz database {path} has schema version {found}, newer than this build's {SCHEMA_VERSION}; refusing to change it"
    )]
    NewerSchema { path: PathBuf, found: i64 },
    #[error("cannot inspect the quiz database file {path}: {error}")]
    Stat {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot start the database writer thread")]
    Thread(#[source] std::io::Error),
}

/// Why an answer could not be recorded (the client gets 503).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct WriteError(String);

/// An answer to record.
#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub question_id: u32,
    pub answer_index: u32,
    pub correct: bool,
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub request_id: String,
}

/// Every answer recorded so far, per question id and in total. The total includes
/// answers to questions that are no longer in the active set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub per_question: HashMap<u32, Tally>,
    pub total: Tally,
}

impl Counts {
    /// Counts `answers` answers, `correct` of them correct, in the total and (for an id
    /// that is one) for the question.
    fn add(&mut self, question_id: Option<u32>, answers: u64, correct: u64) {
        let add = |tally: &mut Tally| {
            tally.answers += answers;
            tally.correct += correct;
        };
        add(&mut self.total);
        if let Some(id) = question_id {
            add(self.per_question.entry(id).or_default());
        }
    }
}

enum Command {
    Record(NewAnswer, oneshot::Sender<Result<(), WriteError>>),
    Stop,
}

/// (device, inode) of the database file, to notice it being removed or replaced.
type FileId = (u64, u64);

/// Handle on the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    file_id: FileId,
    tx: mpsc::Sender<Command>,
    counts: Arc<Mutex<Counts>>,
    reader: Mutex<Connection>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Store {
    /// Opens (creating when missing) the database at `path`, creates the schema, replaces
    /// the stored questions with `questions` in one transaction, loads the answer counts
    /// and starts the writer thread. Blocking: call it before serving or from
    /// `spawn_blocking`. A file that is not a usable database is reported, never changed.
    pub fn open(path: &Path, questions: &QuestionSet) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::CreateDir {
                path: dir.to_owned(),
                error,
            })?;
        }
        let open_err = |error| StoreError::Open {
            path: path.to_owned(),
            error,
        };
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Reading the schema version is the first access to the file: a file that is not
        // a database fails here, before anything is written to it.
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(open_err)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_owned(),
                found: version,
            });
        }
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NotWal {
                path: path.to_owned(),
                mode,
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        seed(&mut conn, questions).map_err(open_err)?;
        let counts = load_counts(&conn).map_err(open_err)?;
        // Fails early if the table does not have the columns this build writes.
        conn.prepare_cached(INSERT_ANSWER).map_err(open_err)?;

        // Only reads, but opened read-write so that, if it is the last connection to
        // close, it may remove the (by then empty) log.
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        reader.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;

        let metadata = std::fs::metadata(path).map_err(|error| StoreError::Stat {
            path: path.to_owned(),
            error,
        })?;
        let file_id = (metadata.dev(), metadata.ino());
        let counts = Arc::new(Mutex::new(counts));
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let writer = Writer {
            conn,
            rx,
            counts: counts.clone(),
            path: path.to_owned(),
            file_id,
        };
        let handle = std::thread::Builder::new()
            .name("quiz-db-writer".into())
            .spawn(move || writer.run())
            .map_err(StoreError::Thread)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                file_id,
                tx,
                counts,
                reader: Mutex::new(reader),
                writer: Mutex::new(Some(handle)),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Records an answer; returns once it is committed and fsynced.
    pub async fn record(&self, answer: NewAnswer) -> Result<(), WriteError> {
        let (reply, answered) = oneshot::channel();
        self.inner
            .tx
            .send(Command::Record(answer, reply))
            .await
            .map_err(|_| WriteError("the database writer has stopped".into()))?;
        answered.await.map_err(|_| {
            WriteError("the database writer stopped before saving the answer".into())
        })?
    }

    /// The answer counts (from memory).
    pub fn counts(&self) -> Counts {
        lock(&self.inner.counts).clone()
    }

    /// Whether the store is usable: the writer runs, the file is still the one that was
    /// opened, and a cheap query answers within [`CHECK_TIMEOUT`].
    pub async fn check(&self) -> Result<(), String> {
        if self.inner.tx.is_closed() {
            return Err("the database writer has stopped".into());
        }
        let inner = self.inner.clone();
        let task = tokio::task::spawn_blocking(move || inner.check_blocking());
        match tokio::time::timeout(CHECK_TIMEOUT, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(error)) => Err(format!("the database check failed: {error}")),
            Err(_) => Err(format!(
                "the database did not answer within {} ms",
                CHECK_TIMEOUT.as_millis()
            )),
        }
    }

    /// Stops the writer after it has committed what it was sent, and waits for it.
    pub async fn close(&self) {
        let _ = self.inner.tx.send(Command::Stop).await;
        let handle = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }
}

impl Inner {
    fn check_blocking(&self) -> Result<(), String> {
        same_file(&self.path, self.file_id)?;
        let reader = self
            .reader
            .try_lock()
            .map_err(|_| "a previous database check is still running".to_owned())?;
        reader
            .query_row("SELECT count(*) FROM questions", [], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(|error| format!("the database query failed: {error}"))?;
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `Ok` when `path` is still the file that was opened.
fn same_file(path: &Path, expected: FileId) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if (m.dev(), m.ino()) == expected => Ok(()),
        Ok(_) => Err(format!(
            "the database file {} was replaced while the service ran",
            path.display()
        )),
        Err(error) => Err(format!(
            "the database file {} is not reachable: {error}",
            path.display()
        )),
    }
}

/// Creates the schema and replaces the stored questions, in one transaction. Answers
/// are never deleted.
fn seed(conn: &mut Connection, questions: &QuestionSet) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    tx.execute("DELETE FROM questions", [])?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO questions (id, text, answers, correct_answer_index) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for q in questions.all() {
            let answers = serde_json::to_string(&q.public.answers)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            insert.execute(params![
                q.public.id,
                q.public.text,
                answers,
                q.correct_answer_index as i64
            ])?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()
}

fn load_counts(conn: &Connection) -> rusqlite::Result<Counts> {
    let mut counts = Counts::default();
    let mut stmt = conn.prepare(
        "SELECT question_id, count(*), total(correct) FROM answers GROUP BY question_id",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, f64>(2)?,
        ))
    })?;
    for row in rows {
        let (id, answers, correct) = row?;
        let (answers, correct) = (answers as u64, correct as u64);
        counts.add(u32::try_from(id).ok(), answers, correct);
    }
    Ok(counts)
}

struct Writer {
    conn: Connection,
    rx: mpsc::Receiver<Command>,
    counts: Arc<Mutex<Counts>>,
    path: PathBuf,
    file_id: FileId,
}

impl Writer {
    fn run(mut self) {
        let mut batch: Vec<(NewAnswer, oneshot::Sender<Result<(), WriteError>>)> =
            Vec::with_capacity(MAX_BATCH);
        let mut stop = false;
        while !stop {
            match self.rx.blocking_recv() {
                Some(Command::Record(answer, reply)) => batch.push((answer, reply)),
                Some(Command::Stop) | None => stop = true,
            }
            // Everything that arrived meanwhile goes into the same transaction.
            while !stop && batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(Command::Record(answer, reply)) => batch.push((answer, reply)),
                    Ok(Command::Stop) => stop = true,
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                continue;
            }
            let result = same_file(&self.path, self.file_id)
                .and_then(|()| self.insert(&batch).map_err(|e| e.to_string()));
            match result {
                Ok(()) => {
                    {
                        let mut counts = lock(&self.counts);
                        for (answer, _) in &batch {
                            counts.add(Some(answer.question_id), 1, u64::from(answer.correct));
                        }
                    }
                    for (_, reply) in batch.drain(..) {
                        let _ = reply.send(Ok(()));
                    }
                }
                Err(reason) => {
                    tracing::error!(
                        db_path = %self.path.display(),
                        answers = batch.len(),
                        error = %reason,
                        "could not record answers"
                    );
                    let error = WriteError(format!("could not save the answer: {reason}"));
                    for (_, reply) in batch.drain(..) {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        }
        // Copy the whole log into the database file, so that after a graceful stop the
        // file alone holds every answer (the log is emptied; the last connection to
        // close removes it).
        if let Err(error) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::warn!(%error, "final checkpoint failed; the log keeps the answers");
        }
        tracing::debug!("database writer stopped");
    }

    fn insert(
        &mut self,
        batch: &[(NewAnswer, oneshot::Sender<Result<(), WriteError>>)],
    ) -> rusqlite::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(INSERT_ANSWER)?;
            for (a, _) in batch {
                insert.execute(params![
                    a.question_id,
                    a.answer_index,
                    a.correct,
                    a.timestamp,
                    a.request_id
                ])?;
            }
        }
        // With WAL and synchronous=FULL, COMMIT returns after the log is fsynced.
        tx.commit()
    }
}

#[cfg(test)]
mod tests {
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
        let store = Store::open(&path, &questions).unwrap();
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

        let store = Store::open(&path, &questions).unwrap();
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
        Store::open(path, &QuestionSet::built_in().unwrap())
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
                "the quiz database {} has schema version 7, newer than this build's 1; refusing to change it",
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
}
