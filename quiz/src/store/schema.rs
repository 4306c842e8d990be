//! The tables, and filling the questions table with the active set at start-up.

use rusqlite::{Connection, TransactionBehavior, params};

use crate::questions::QuestionSet;

/// The schema this build writes (`PRAGMA user_version`).
pub(super) const SCHEMA_VERSION: i64 = 1;

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

/// Creates the schema and replaces the stored questions, in one transaction. Answers
/// are never deleted.
pub(super) fn seed(conn: &mut Connection, questions: &QuestionSet) -> rusqlite::Result<()> {
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
