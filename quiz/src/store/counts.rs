//! The answer counts `/stats` shows: the `answer_totals` table, mirrored in memory so
//! that `/stats` never waits for the disk. The mirror is loaded at start-up and, after
//! each commit, given the same additions the commit wrote to the table.

use std::collections::{BTreeMap, HashMap};

use kiada_wire::Tally;
use rusqlite::Connection;

/// Every answer recorded so far, per question id and in total, including answers whose
/// raw rows were pruned and answers to questions that are no longer in the active set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub per_question: HashMap<u32, Tally>,
    pub total: Tally,
}

impl Counts {
    /// Adds `tally` to the total and (for an id that is one) to the question.
    pub(super) fn add(&mut self, question_id: Option<u32>, tally: Tally) {
        let add = |sum: &mut Tally| {
            sum.answers += tally.answers;
            sum.correct += tally.correct;
        };
        add(&mut self.total);
        if let Some(id) = question_id {
            add(self.per_question.entry(id).or_default());
        }
    }
}

/// The answers of a group, counted per question.
pub(super) fn per_question(answers: impl IntoIterator<Item = (u32, bool)>) -> BTreeMap<u32, Tally> {
    let mut tallies = BTreeMap::<u32, Tally>::new();
    for (question_id, correct) in answers {
        let tally = tallies.entry(question_id).or_default();
        tally.answers += 1;
        tally.correct += u64::from(correct);
    }
    tallies
}

pub(super) fn load_counts(conn: &Connection) -> rusqlite::Result<Counts> {
    let mut counts = Counts::default();
    let mut stmt = conn.prepare("SELECT question_id, answers, correct FROM answer_totals")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, i64>(0)?, count(row, 1)?, count(row, 2)?))
    })?;
    for row in rows {
        let (id, answers, correct) = row?;
        counts.add(u32::try_from(id).ok(), Tally { answers, correct });
    }
    Ok(counts)
}

/// A count stored as SQLite's integer, which is signed.
fn count(row: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(column)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(column, value))
}
