//! The readiness check: the file is still the one that was opened, and a cheap query
//! answers on the reader connection.
//!
//! Checks that overlap (the probe, a metrics scrape, a status call, one left running by a
//! caller that gave up) take turns on the connection: a busy connection is no reason
//! to call the store unusable. The caller bounds the wait (`CHECK_TIMEOUT`); waiting
//! for the connection is asynchronous, so checks that give up hold no thread.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;

use super::Inner;

/// (device, inode) of the database file, to notice it being removed or replaced.
pub(super) type FileId = (u64, u64);

pub(super) fn file_id(metadata: &std::fs::Metadata) -> FileId {
    (metadata.dev(), metadata.ino())
}

impl Inner {
    /// Waits for the reader connection, then checks on a blocking thread.
    pub(super) async fn check(self: &Arc<Self>) -> Result<(), String> {
        let reader = self.reader.clone().lock_owned().await;
        let inner = self.clone();
        tokio::task::spawn_blocking(move || inner.check_blocking(&reader))
            .await
            .unwrap_or_else(|error| Err(format!("the database check failed: {error}")))
    }

    fn check_blocking(&self, reader: &Connection) -> Result<(), String> {
        same_file(&self.path, self.file_id)?;
        reader
            .query_row("SELECT count(*) FROM questions", [], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(|error| format!("the database query failed: {error}"))?;
        Ok(())
    }
}

/// `Ok` when `path` is still the file that was opened.
pub(super) fn same_file(path: &Path, expected: FileId) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if file_id(&m) == expected => Ok(()),
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
