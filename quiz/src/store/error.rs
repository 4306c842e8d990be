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

/// Why an answer could not be recorded (the client gets 503).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct WriteError(pub(super) String);
