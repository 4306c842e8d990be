//! The tables, the upgrade of a database that an older build wrote, and what start-up
//! writes: the active questions, and the raw answers over the retention bound removed.

use std::num::NonZeroU32;

use rusqlite::{Connection, TransactionBehavior, params};

use crate::questions::QuestionSet;

/// The schema this build writes (`PRAGMA user_version`). Version 1 had no
/// `answer_totals`: its counts came from the raw rows, which were never deleted.
pub(super) const SCHEMA_VERSION: i64 = 2;

const TABLES: &str = "
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
-- Every answer ever recorded, per question: the raw rows above are pruned, these never.
CREATE TABLE IF NOT EXISTS answer_totals (
    question_id INTEGER PRIMARY KEY,
    answers INTEGER NOT NULL,
    correct INTEGER NOT NULL
);
";

/// A version-1 database's totals, counted from its rows (all of them: it never pruned).
const BACKFILL_TOTALS: &str = "INSERT INTO answer_totals (question_id, answers, correct)
    SELECT question_id, count(*), sum(correct) FROM answers GROUP BY question_id";

/// Deletes the raw answers older than the newest `?1`. Ids only grow (the newest row is
/// never deleted, so SQLite never hands out a smaller one), so the newest rows are those
/// with the highest ids, and the oldest go in one cheap range delete.
pub(super) const PRUNE_ANSWERS: &str =
    "DELETE FROM answers WHERE id <= (SELECT max(id) FROM answers) - ?1";

/// Rows deleted per transaction when start-up prunes: a database that grew past the
/// bound (written before it existed, or with a larger one) shrinks in steps, each
/// with a small log, rather than in one transaction whose log could need as much room
/// as a third of the file on a volume that is already full.
const PRUNE_STEP: u32 = 10_000;

/// In one transaction: creates the tables, upgrades an older database (its totals
/// counted from its rows) and replaces the stored questions with `questions`. Answers
/// are not touched. `found` is the version the file had.
pub(super) fn prepare(
    conn: &mut Connection,
    found: i64,
    questions: &QuestionSet,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(TABLES)?;
    if found < SCHEMA_VERSION {
        let counted = tx.execute(BACKFILL_TOTALS, [])?;
        if found > 0 {
            tracing::info!(
                from = found,
                to = SCHEMA_VERSION,
                questions = counted,
                "database upgraded: answer totals counted from the stored answers"
            );
        }
    }
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

/// Deletes the raw answers older than the newest `keep`, [`PRUNE_STEP`] rows per
/// transaction; the totals already count them. Returns how many went.
pub(super) fn prune_in_steps(conn: &Connection, keep: NonZeroU32) -> rusqlite::Result<u64> {
    let newest_to_delete: i64 = conn.query_row(
        "SELECT coalesce(max(id), 0) - ?1 FROM answers",
        [keep.get()],
        |row| row.get(0),
    )?;
    let mut step = conn.prepare(
        "DELETE FROM answers WHERE id IN (SELECT id FROM answers WHERE id <= ?1 ORDER BY id LIMIT ?2)",
    )?;
    let mut deleted = 0;
    loop {
        let count = step.execute(params![newest_to_delete, PRUNE_STEP])?;
        if count == 0 {
            break;
        }
        deleted += count as u64;
    }
    if deleted > 0 {
        tracing::info!(
            deleted,
            kept = keep.get(),
            "oldest stored answers deleted (QUIZ_MAX_STORED_ANSWERS); the totals still count them"
        );
    }
    Ok(deleted)
}
