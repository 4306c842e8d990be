//! Why the store cannot open, and why an answer was not recorded.

use std::path::PathBuf;

use super::schema::SCHEMA_VERSION;

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

/// Why an answer was not recorded. Cloned to every answer of the group that failed;
/// the reasons are text because SQLite's errors cannot be cloned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the database writer has stopped")]
    WriterStopped,
    #[error("the database writer stopped before saving the answer")]
    WriterStoppedBeforeSaving,
    /// SQLITE_FULL: the database reached its page limit or its volume has no room left.
    #[error(
        "the answer store is full, so the answer was not saved: the database or its volume has no room left"
    )]
    StoreFull,
    #[error("could not save the answer: {0}")]
    NotSaved(String),
}
