//! The writer thread: the only write connection, committing answers in groups. Each
//! group's transaction inserts the answers, adds them to the totals, and deletes the
//! raw answers over the retention bound, so the three are on disk together or not at
//! all.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kiada_wire::Tally;
use rusqlite::{Connection, ErrorCode, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::check::{FileId, same_file};
use super::counts::{Counts, per_question};
use super::schema::PRUNE_ANSWERS;
use super::{MAX_BATCH, WriteError, lock};

const INSERT_ANSWER: &str = "INSERT INTO answers (question_id, answer_index, correct, answered_at, request_id) VALUES (?1, ?2, ?3, ?4, ?5)";

const ADD_TO_TOTALS: &str =
    "INSERT INTO answer_totals (question_id, answers, correct) VALUES (?1, ?2, ?3)
    ON CONFLICT (question_id) DO UPDATE SET
        answers = answers + excluded.answers, correct = correct + excluded.correct";

/// Every statement a commit runs, prepared at start-up so that a database whose tables
/// lack the columns this build writes is refused then, not at the first answer.
pub(super) const STATEMENTS: [&str; 3] = [INSERT_ANSWER, ADD_TO_TOTALS, PRUNE_ANSWERS];

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

pub(super) type Reply = oneshot::Sender<Result<(), WriteError>>;

pub(super) enum Command {
    Record(NewAnswer, Reply),
    Stop,
}

pub(super) struct Writer {
    pub(super) conn: Connection,
    pub(super) rx: mpsc::Receiver<Command>,
    pub(super) counts: Arc<Mutex<Counts>>,
    pub(super) path: PathBuf,
    pub(super) file_id: FileId,
    pub(super) max_stored_answers: NonZeroU32,
}

impl Writer {
    pub(super) fn run(mut self) {
        let mut batch: Vec<(NewAnswer, Reply)> = Vec::with_capacity(MAX_BATCH);
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
            let result = self.commit(&batch);
            for (_, reply) in batch.drain(..) {
                let _ = reply.send(result.clone());
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

    /// Writes `batch` in one transaction and, once it is on disk, counts it in memory.
    fn commit(&mut self, batch: &[(NewAnswer, Reply)]) -> Result<(), WriteError> {
        let tallies = per_question(batch.iter().map(|(a, _)| (a.question_id, a.correct)));
        let written = same_file(&self.path, self.file_id)
            .map_err(WriteError::NotSaved)
            .and_then(|()| self.write(batch, &tallies).map_err(not_saved));
        if let Err(error) = &written {
            tracing::error!(
                db_path = %self.path.display(),
                answers = batch.len(),
                %error,
                "could not record answers"
            );
            return written;
        }
        let mut counts = lock(&self.counts);
        for (question_id, tally) in tallies {
            counts.add(Some(question_id), tally);
        }
        Ok(())
    }

    fn write(
        &mut self,
        batch: &[(NewAnswer, Reply)],
        tallies: &BTreeMap<u32, Tally>,
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
            let mut add = tx.prepare_cached(ADD_TO_TOTALS)?;
            for (question_id, tally) in tallies {
                // At most MAX_BATCH each: they fit SQLite's signed integers.
                let (answers, correct) = (tally.answers as i64, tally.correct as i64);
                add.execute(params![question_id, answers, correct])?;
            }
            // After the insert, so that the newest rows kept include this group (and the
            // newest row is never deleted); the next group reuses the pages this frees.
            tx.prepare_cached(PRUNE_ANSWERS)?
                .execute([self.max_stored_answers.get()])?;
        }
        // With WAL and synchronous=FULL, COMMIT returns after the log is fsynced.
        tx.commit()
    }
}

/// A full database or volume is told apart: it will not pass by itself.
fn not_saved(error: rusqlite::Error) -> WriteError {
    match error.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => WriteError::StoreFull,
        _ => WriteError::NotSaved(error.to_string()),
    }
}
