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
//! The raw answer rows are bounded: each group's transaction also deletes the oldest
//! rows over [`StoreLimits::max_stored_answers`]. What `/stats` counts is kept apart, per
//! question in the `answer_totals` table, which the same transaction adds the group to,
//! so the counts include every answer ever recorded. They are mirrored in memory
//! (loaded at start-up, then given each commit's additions), so `/stats` never waits
//! for the disk.
//!
//! A full database or volume (SQLITE_FULL) fails the group with
//! [`WriteError::StoreFull`]; nothing of it is written, and reads go on.
//!
//! The parts: [`schema`] (the tables, the upgrade of older databases, start-up
//! pruning), [`writer`] (the writer thread and its group commit), [`counts`] (what
//! `/stats` shows) and [`check`] (the readiness check).

mod check;
mod counts;
mod error;
mod schema;
#[cfg(test)]
mod tests;
mod writer;

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::questions::QuestionSet;
use check::{FileId, file_id};
pub use counts::Counts;
use counts::load_counts;
pub use error::{StoreError, WriteError};
use schema::{SCHEMA_VERSION, prepare, prune_in_steps};
pub use writer::NewAnswer;
use writer::{Command, STATEMENTS, Writer};

/// Most answers committed in one transaction.
pub const MAX_BATCH: usize = 1024;
/// Answers that may wait for the writer before senders wait for room.
const CHANNEL_CAPACITY: usize = 8192;
/// How long a connection waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the readiness check may take before the store counts as unusable.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// How many raw answer rows are kept unless configured otherwise: 8 to 18 MiB of rows
/// (about 90 bytes each with the index; 180 with the longest request id).
pub const DEFAULT_MAX_STORED_ANSWERS: NonZeroU32 = NonZeroU32::new(100_000).unwrap();

/// How much the store may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Most raw answer rows kept (`QUIZ_MAX_STORED_ANSWERS`); older ones are deleted,
    /// and still counted in the totals.
    pub max_stored_answers: NonZeroU32,
    /// Most pages the database may have (SQLite's `max_page_count` on the write
    /// connection); `None` leaves SQLite's own limit. Not a setting: tests set it to
    /// fill the store on purpose, as a full volume would.
    pub max_database_pages: Option<NonZeroU32>,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_stored_answers: DEFAULT_MAX_STORED_ANSWERS,
            max_database_pages: None,
        }
    }
}

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
    /// The readiness check's connection; a check waits for it (see [`check`]).
    reader: Arc<tokio::sync::Mutex<Connection>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Store {
    /// Opens (creating when missing) the database at `path`; in one transaction creates
    /// or upgrades the schema and replaces the stored questions with `questions`; deletes
    /// the raw answers over the limit; loads the answer counts and starts the writer
    /// thread. Blocking: call it before serving or from `spawn_blocking`. A file that is
    /// not a usable database is reported, never changed.
    pub fn open(
        path: &Path,
        questions: &QuestionSet,
        limits: StoreLimits,
    ) -> Result<Self, StoreError> {
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
        prepare(&mut conn, version, questions).map_err(open_err)?;
        prune_in_steps(&conn, limits.max_stored_answers).map_err(open_err)?;
        if let Some(pages) = limits.max_database_pages {
            conn.pragma_update(None, "max_page_count", pages.get())
                .map_err(open_err)?;
        }
        let counts = load_counts(&conn).map_err(open_err)?;
        for statement in STATEMENTS {
            conn.prepare_cached(statement).map_err(open_err)?;
        }

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
        let file_id = file_id(&metadata);
        let counts = Arc::new(Mutex::new(counts));
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let writer = Writer {
            conn,
            rx,
            counts: counts.clone(),
            path: path.to_owned(),
            file_id,
            max_stored_answers: limits.max_stored_answers,
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
                reader: Arc::new(tokio::sync::Mutex::new(reader)),
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
            .map_err(|_| WriteError::WriterStopped)?;
        answered
            .await
            .map_err(|_| WriteError::WriterStoppedBeforeSaving)?
    }

    /// The answer counts (from memory).
    pub fn counts(&self) -> Counts {
        lock(&self.inner.counts).clone()
    }

    /// Whether the store is usable: the writer runs, the file is still the one that was
    /// opened, and a cheap query answers, all within [`CHECK_TIMEOUT`]. A check that
    /// overlaps another waits for it rather than failing because of it.
    pub async fn check(&self) -> Result<(), String> {
        if self.inner.tx.is_closed() {
            return Err("the database writer has stopped".into());
        }
        match tokio::time::timeout(CHECK_TIMEOUT, self.inner.check()).await {
            Ok(result) => result,
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
