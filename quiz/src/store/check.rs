//! The readiness check: the file is still the one that was opened, and a cheap query
//! answers.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::Inner;

/// (device, inode) of the database file, to notice it being removed or replaced.
pub(super) type FileId = (u64, u64);

pub(super) fn file_id(metadata: &std::fs::Metadata) -> FileId {
    (metadata.dev(), metadata.ino())
}

impl Inner {
    pub(super) fn check_blocking(&self) -> Result<(), String> {
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
