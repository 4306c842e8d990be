//! The answer counts `/stats` shows, kept in memory so that it never waits for the disk.

use std::collections::HashMap;

use kiada_wire::Tally;
use rusqlite::Connection;

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
    pub(super) fn add(&mut self, question_id: Option<u32>, answers: u64, correct: u64) {
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

pub(super) fn load_counts(conn: &Connection) -> rusqlite::Result<Counts> {
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
