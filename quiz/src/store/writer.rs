//! The writer thread: the only write connection, committing answers in groups.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::check::{FileId, same_file};
use super::counts::Counts;
use super::{MAX_BATCH, WriteError, lock};

pub(super) const INSERT_ANSWER: &str = "INSERT INTO answers (question_id, answer_index, correct, answered_at, request_id) VALUES (?1, ?2, ?3, ?4, ?5)";

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

    fn insert(&mut self, batch: &[(NewAnswer, Reply)]) -> rusqlite::Result<()> {
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
