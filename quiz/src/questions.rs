//! The question set: the built-in questions (embedded at compile time) or a file that
//! replaces them, validated before the service starts.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The questions shipped in the binary.
pub const BUILT_IN_JSON: &str = include_str!("../questions.json");

/// Fewest and most answers a question may offer.
pub const MIN_ANSWERS: usize = 3;
pub const MAX_ANSWERS: usize = 5;

/// One quiz question: what clients see, and the correct answer, which they never see.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "Entry")]
pub struct Question {
    /// What `GET /questions/...` answers.
    pub public: kiada_wire::Question,
    pub correct_answer_index: usize,
}

/// One question as written in the questions file.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    id: u32,
    text: String,
    answers: Vec<String>,
    correct_answer_index: usize,
}

impl From<Entry> for Question {
    fn from(entry: Entry) -> Self {
        Self {
            public: kiada_wire::Question {
                id: entry.id,
                text: entry.text,
                answers: entry.answers,
            },
            correct_answer_index: entry.correct_answer_index,
        }
    }
}

/// Where the active questions came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    BuiltIn,
    File(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BuiltIn => f.write_str("built-in"),
            Self::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuestionsError {
    #[error("cannot read the questions file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the questions in {source_name} are not valid JSON in the expected format: {error}")]
    Json {
        source_name: String,
        error: serde_json::Error,
    },
    #[error("{source_name} is empty: it must hold a JSON array of questions")]
    EmptyFile { source_name: String },
    #[error("{source_name} holds no questions: the JSON array is empty")]
    NoQuestions { source_name: String },
    #[error("{source_name}: question #{index} (id {id}): {reason}")]
    Invalid {
        source_name: String,
        /// Position in the array, counting from 0.
        index: usize,
        id: u32,
        reason: String,
    },
}

/// The validated, active questions, in file order, with a lookup by id.
#[derive(Debug, Clone)]
pub struct QuestionSet {
    questions: Vec<Question>,
    by_id: HashMap<u32, usize>,
    source: Source,
}

impl QuestionSet {
    /// The questions shipped in the binary.
    pub fn built_in() -> Result<Self, QuestionsError> {
        Self::from_json(BUILT_IN_JSON, Source::BuiltIn)
    }

    /// Reads and validates a questions file.
    pub fn from_file(path: &Path) -> Result<Self, QuestionsError> {
        let text = std::fs::read_to_string(path).map_err(|error| QuestionsError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::from_json(&text, Source::File(path.to_owned()))
    }

    /// Loads the file when one is given, else the built-in questions.
    pub fn load(file: Option<&Path>) -> Result<Self, QuestionsError> {
        match file {
            Some(path) => Self::from_file(path),
            None => Self::built_in(),
        }
    }

    /// Parses and validates questions in the file format.
    pub fn from_json(text: &str, source: Source) -> Result<Self, QuestionsError> {
        let source_name = match &source {
            Source::BuiltIn => "the built-in questions".to_owned(),
            Source::File(path) => format!("questions file {}", path.display()),
        };
        if text.trim().is_empty() {
            return Err(QuestionsError::EmptyFile { source_name });
        }
        let questions: Vec<Question> =
            serde_json::from_str(text).map_err(|error| QuestionsError::Json {
                source_name: source_name.clone(),
                error,
            })?;
        if questions.is_empty() {
            return Err(QuestionsError::NoQuestions { source_name });
        }
        let mut by_id = HashMap::with_capacity(questions.len());
        for (index, question) in questions.iter().enumerate() {
            let invalid = |reason: String| QuestionsError::Invalid {
                source_name: source_name.clone(),
                index,
                id: question.public.id,
                reason,
            };
            if let Some(reason) = problem(question) {
                return Err(invalid(reason));
            }
            if let Some(first) = by_id.insert(question.public.id, index) {
                return Err(invalid(format!(
                    "duplicate id: question #{first} already has id {}",
                    question.public.id
                )));
            }
        }
        Ok(Self {
            questions,
            by_id,
            source,
        })
    }

    pub fn get(&self, id: u32) -> Option<&Question> {
        self.by_id.get(&id).map(|&index| &self.questions[index])
    }

    pub fn random(&self) -> &Question {
        use rand::seq::IndexedRandom;
        // Never empty: validation rejects an empty set.
        self.questions
            .choose(&mut rand::rng())
            .expect("a validated question set is never empty")
    }

    /// The question `seed` picks, the same in every process (deterministic mode).
    pub fn for_seed(&self, seed: u64) -> &Question {
        &self.questions[service_kit::index_for_seed(seed, self.questions.len())]
    }

    pub fn all(&self) -> &[Question] {
        &self.questions
    }

    pub fn len(&self) -> usize {
        self.questions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.questions.is_empty()
    }

    pub fn source(&self) -> &Source {
        &self.source
    }
}

/// Why a question is unusable, if it is.
fn problem(question: &Question) -> Option<String> {
    let Question {
        public: kiada_wire::Question { id, text, answers },
        correct_answer_index,
    } = question;
    if *id == 0 {
        return Some("id must be 1 or more".to_owned());
    }
    if text.trim().is_empty() {
        return Some("text is empty".to_owned());
    }
    let count = answers.len();
    if !(MIN_ANSWERS..=MAX_ANSWERS).contains(&count) {
        return Some(format!(
            "has {count} answers; a question needs {MIN_ANSWERS} to {MAX_ANSWERS}"
        ));
    }
    if let Some(blank) = answers.iter().position(|a| a.trim().is_empty()) {
        return Some(format!("answer {blank} is empty"));
    }
    if *correct_answer_index >= count {
        return Some(format!(
            "correctAnswerIndex {correct_answer_index} is out of range: answers are numbered 0 to {}",
            count - 1
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        QuestionSet::from_json(json, Source::File("q.json".into()))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn built_in_questions_are_valid() {
        let set = QuestionSet::built_in().expect("built-in questions must validate");
        assert!(set.len() >= 30, "only {} built-in questions", set.len());
        assert_eq!(set.source(), &Source::BuiltIn);
    }

    #[test]
    fn built_in_answers_are_distinct_and_correct_positions_vary() {
        let set = QuestionSet::built_in().unwrap();
        let mut positions = std::collections::BTreeMap::new();
        for q in set.all() {
            let mut seen = std::collections::HashSet::new();
            for a in &q.public.answers {
                assert!(
                    seen.insert(a.trim()),
                    "question {} repeats answer {a:?}",
                    q.public.id
                );
            }
            *positions.entry(q.correct_answer_index).or_insert(0) += 1;
        }
        // The correct answer must not sit in the same place every time.
        for index in 0..4 {
            assert!(
                positions.get(&index).copied().unwrap_or(0) >= 3,
                "correct answer at position {index} too rarely: {positions:?}"
            );
        }
    }

    #[test]
    fn lookup_and_random() {
        let set = QuestionSet::built_in().unwrap();
        let first = &set.all()[0];
        assert_eq!(set.get(first.public.id), Some(first));
        assert_eq!(set.get(u32::MAX), None);
        let random = set.random();
        assert_eq!(set.get(random.public.id), Some(random));
    }

    #[test]
    fn each_problem_is_named() {
        let ok = r#"{"id": 1, "text": "t", "answers": ["a", "b", "c"], "correctAnswerIndex": 0}"#;
        assert!(err("").contains("is empty"));
        assert!(err("  \n").contains("is empty"));
        assert!(err("[]").contains("holds no questions"));
        assert!(err("{").contains("not valid JSON"));
        assert!(err(r#"[{"id": 1}]"#).contains("missing field `text`"));
        let e = err(&format!(
            r#"[{ok}, {{"id": 2, "text": " ", "answers": ["a","b","c"], "correctAnswerIndex": 0}}]"#
        ));
        assert!(e.contains("question #1 (id 2): text is empty"), "{e}");
        let e = err(r#"[{"id": 3, "text": "t", "answers": ["a","b"], "correctAnswerIndex": 0}]"#);
        assert!(e.contains("question #0 (id 3): has 2 answers"), "{e}");
        let e = err(
            r#"[{"id": 3, "text": "t", "answers": ["a","b","c","d","e","f"], "correctAnswerIndex": 0}]"#,
        );
        assert!(e.contains("has 6 answers"), "{e}");
        let e =
            err(r#"[{"id": 4, "text": "t", "answers": ["a","","c"], "correctAnswerIndex": 0}]"#);
        assert!(e.contains("(id 4): answer 1 is empty"), "{e}");
        let e =
            err(r#"[{"id": 5, "text": "t", "answers": ["a","b","c"], "correctAnswerIndex": 3}]"#);
        assert!(
            e.contains("(id 5): correctAnswerIndex 3 is out of range"),
            "{e}"
        );
        let e = err(&format!("[{ok}, {ok}]"));
        assert!(e.contains("question #1 (id 1): duplicate id"), "{e}");
        let e =
            err(r#"[{"id": 0, "text": "t", "answers": ["a","b","c"], "correctAnswerIndex": 0}]"#);
        assert!(e.contains("id must be 1 or more"), "{e}");
        let e = err(
            r#"[{"id": 1, "text": "t", "answers": ["a","b","c"], "correctAnswerIndex": 0, "extra": 1}]"#,
        );
        assert!(e.contains("unknown field `extra`"), "{e}");
        assert!(e.contains("q.json"), "{e}");
    }
}
