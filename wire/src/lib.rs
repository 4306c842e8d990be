//! The JSON bodies that quiz serves and kiada (and the e2e suite) reads, declared once.
//!
//! quote answers plain text, so nearly everything here is quiz's API:
//!
//! | route | body |
//! | --- | --- |
//! | `GET /questions/random`, `GET /questions/{id}` | [`Question`] |
//! | `POST /questions/{id}/answers` | [`AnswerRequest`] in, [`AnswerResponse`] out |
//! | `GET /stats` | [`Stats`] (of [`QuestionStats`] and [`Tally`]) |
//! | any error (4xx, 5xx) | [`ErrorBody`] |
//!
//! and two of kiada's own: `GET /json` (and `/` with `Accept: application/json`) is a
//! [`Page`], and `GET /spread` with `Accept: application/json` is a [`Spread`].
//!
//! The field names and the order of fields are the wire format (`camelCase`, as in the
//! original suite): the tests of quiz and kiada assert the exact JSON. Readers ignore
//! fields they do not know, except quiz reading an [`AnswerRequest`], which refuses them.
//! The crate needs only serde, so any client can depend on it.

use serde::{Deserialize, Serialize};

mod page;
mod spread;

pub use page::{Page, Part, RequestInfo, ServedBy, Tip};
pub use spread::{ErrorCalls, LatencySummary, PodCalls, Spread, SpreadMode};

/// A question as clients see it: never the correct answer.
///
/// `{"id": 1, "text": "...", "answers": ["...", "..."]}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// From 1 up to `u32::MAX`.
    pub id: u32,
    pub text: String,
    /// Numbered from 0 in [`AnswerRequest::answer_index`].
    pub answers: Vec<String>,
}

/// An answer posted to a question.
///
/// `{"questionId": 1, "answerIndex": 2}`
///
/// The numbers are `i64`, wider than any valid id or index, so that quiz can name a
/// negative or out-of-range number in its own words (and a `questionId` that differs
/// from the URL) instead of with a serde type error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnswerRequest {
    pub question_id: i64,
    pub answer_index: i64,
}

/// quiz's verdict on a recorded answer.
///
/// `{"timestamp": "...", "questionId": 1, "answerIndex": 2, "correctAnswerIndex": 0,
/// "correct": false}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerResponse {
    /// When the answer was recorded: RFC 3339, UTC, in milliseconds.
    pub timestamp: String,
    pub question_id: u32,
    /// Both indexes count from 0 in [`Question::answers`].
    pub answer_index: usize,
    pub correct_answer_index: usize,
    pub correct: bool,
}

/// How many answers were posted, and how many of them were correct.
///
/// `{"answers": 3, "correct": 1}`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub answers: u64,
    pub correct: u64,
}

/// One question's line in [`Stats`].
///
/// `{"id": 1, "answers": 3, "correct": 1}`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionStats {
    pub id: u32,
    pub answers: u64,
    pub correct: u64,
}

/// `GET /stats`: every active question in quiz's order, and the totals.
///
/// `{"questions": [{"id": 1, "answers": 3, "correct": 1}, ...],
/// "totals": {"answers": 5, "correct": 2}}`
///
/// The totals also count answers to questions that are no longer active, so they can
/// exceed the sum of the lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub questions: Vec<QuestionStats>,
    pub totals: Tally,
}

/// Every error answer of quiz: `{"error": "..."}`, a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn bodies_serialize_with_the_documented_names_and_order() {
        let question = Question {
            id: 7,
            text: "Why?".into(),
            answers: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            wire(&question),
            r#"{"id":7,"text":"Why?","answers":["a","b"]}"#
        );
        assert_eq!(
            wire(&AnswerRequest {
                question_id: 7,
                answer_index: 1
            }),
            r#"{"questionId":7,"answerIndex":1}"#
        );
        let response = AnswerResponse {
            timestamp: "2025-01-01T00:00:00.000Z".into(),
            question_id: 7,
            answer_index: 1,
            correct_answer_index: 0,
            correct: false,
        };
        assert_eq!(
            wire(&response),
            r#"{"timestamp":"2025-01-01T00:00:00.000Z","questionId":7,"answerIndex":1,"correctAnswerIndex":0,"correct":false}"#
        );
        let stats = Stats {
            questions: vec![QuestionStats {
                id: 7,
                answers: 3,
                correct: 1,
            }],
            totals: Tally {
                answers: 4,
                correct: 1,
            },
        };
        assert_eq!(
            wire(&stats),
            r#"{"questions":[{"id":7,"answers":3,"correct":1}],"totals":{"answers":4,"correct":1}}"#
        );
        assert_eq!(wire(&ErrorBody { error: "no".into() }), r#"{"error":"no"}"#);
    }

    #[test]
    fn readers_ignore_unknown_fields_but_an_answer_request_refuses_them() {
        let leaky = json!({"id": 1, "text": "t", "answers": ["a"], "correctAnswerIndex": 0});
        assert_eq!(serde_json::from_value::<Question>(leaky).unwrap().id, 1);
        let extra = json!({"questionId": 1, "answerIndex": 0, "extra": true});
        let error = serde_json::from_value::<AnswerRequest>(extra).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `extra`"),
            "{error}"
        );
    }

    #[test]
    fn question_ids_beyond_u32_are_refused() {
        let big = json!({"id": 4_294_967_296_u64, "text": "t", "answers": ["a"]});
        assert!(serde_json::from_value::<Question>(big).is_err());
    }
}
