//! Command line and environment: the common server settings plus where the database
//! and the questions live, and how many answers it keeps. Flags win over environment
//! variables.

use std::num::NonZeroU32;
use std::path::PathBuf;

use service_kit::{CommandLine, ConfigError, PodInfo, ServerSettings};

use crate::store::{DEFAULT_MAX_STORED_ANSWERS, StoreLimits};

const AFTER_HELP: &str = "\
Questions file: a JSON array of objects
  {\"id\": 1, \"text\": \"...\", \"answers\": [\"...\", \"...\", \"...\"], \"correctAnswerIndex\": 0}
with unique positive ids, non-empty text, 3 to 5 non-empty answers and a correct index
that points into the answers (counting from 0).

Endpoints: GET /, GET /questions/random, GET /questions/{id},
POST /questions/{id}/answers, GET /stats, GET /healthz/{live,ready,startup},
GET /metrics, GET /admin/status.";

/// The quiz service's own settings, each declared once: its variable (the field's name
/// in upper case), flag, default and help line; the shared ones come from service-kit.
#[derive(Debug, Clone, clap::Parser, serde::Deserialize)]
#[command(
    name = "quiz",
    version = service_kit::VERSION,
    about = "The Kiada quiz service: serves Kubernetes quiz questions, checks answers and records them durably in SQLite.",
    after_help = AFTER_HELP
)]
pub struct QuizSettings {
    /// SQLite database file, relative to the working directory; its directory is created
    #[arg(long = "db-path", value_name = "FILE", default_value = "data/quiz.db")]
    pub quiz_db_path: PathBuf,
    /// JSON file with questions that replace the built-in ones
    #[arg(long = "questions-file", value_name = "FILE")]
    pub quiz_questions_file: Option<PathBuf>,
    /// Most answers kept as rows (at least 1); the oldest are deleted, /stats still counts them
    #[arg(long = "max-stored-answers", value_name = "COUNT", default_value_t = DEFAULT_MAX_STORED_ANSWERS)]
    pub quiz_max_stored_answers: NonZeroU32,
}

/// The quiz service's command line: its settings and the shared ones.
pub type Args = CommandLine<QuizSettings>;

/// Everything the quiz service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerSettings,
    pub pod: PodInfo,
    pub db_path: PathBuf,
    pub questions_file: Option<PathBuf>,
    pub store_limits: StoreLimits,
}

impl Config {
    /// Resolves flags over environment variables over defaults.
    pub fn load(args: Args, vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let settings = args.load(vars)?;
        Ok(Self {
            server: settings.server,
            pod: settings.pod,
            db_path: settings.own.quiz_db_path,
            questions_file: settings.own.quiz_questions_file,
            store_limits: StoreLimits {
                max_stored_answers: settings.own.quiz_max_stored_answers,
                ..StoreLimits::default()
            },
        })
    }
}

impl service_kit::ServiceConfig for Config {
    fn from_process(vars: &[(String, String)]) -> Result<Self, ConfigError> {
        Self::load(clap::Parser::parse(), vars)
    }

    fn log_format(&self) -> service_kit::LogFormat {
        self.server.log_format
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn load(args: &[&str], env: &[(&str, &str)]) -> Config {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|&(name, value)| (name.into(), value.into()))
            .collect();
        Config::load(Args::parse_from([&["quiz"], args].concat()), &env).unwrap()
    }

    #[test]
    fn defaults() {
        let config = load(&[], &[]);
        assert_eq!(config.db_path, PathBuf::from("data/quiz.db"));
        assert_eq!(config.questions_file, None);
        assert_eq!(config.store_limits.max_stored_answers.get(), 100_000);
        assert_eq!(config.store_limits.max_database_pages, None);
        assert_eq!(config.server.listen_port, 8080);
        assert_eq!(config.pod.pod_name(), "unknown");
    }

    #[test]
    fn environment_is_read() {
        let config = load(
            &[],
            &[
                ("QUIZ_DB_PATH", "/var/lib/quiz/quiz.db"),
                ("QUIZ_QUESTIONS_FILE", "/etc/quiz/questions.json"),
                ("QUIZ_MAX_STORED_ANSWERS", "5000"),
                ("LISTEN_PORT", "9090"),
                ("POD_NAME", "quiz"),
            ],
        );
        assert_eq!(config.db_path, PathBuf::from("/var/lib/quiz/quiz.db"));
        assert_eq!(
            config.questions_file,
            Some(PathBuf::from("/etc/quiz/questions.json"))
        );
        assert_eq!(config.store_limits.max_stored_answers.get(), 5000);
        assert_eq!(config.server.listen_port, 9090);
        assert_eq!(config.pod.pod_name(), "quiz");
    }

    #[test]
    fn flags_win_over_environment() {
        let flags = [
            "--db-path",
            "/flag.db",
            "--questions-file",
            "/flag.json",
            "--listen-port",
            "1234",
            "--max-stored-answers",
            "7",
        ];
        let env = [
            ("QUIZ_DB_PATH", "/env.db"),
            ("QUIZ_QUESTIONS_FILE", "/env.json"),
            ("QUIZ_MAX_STORED_ANSWERS", "9"),
        ];
        let config = load(&flags, &env);
        assert_eq!(config.db_path, PathBuf::from("/flag.db"));
        assert_eq!(config.questions_file, Some(PathBuf::from("/flag.json")));
        assert_eq!(config.store_limits.max_stored_answers.get(), 7);
        assert_eq!(config.server.listen_port, 1234);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config = load(&[], &[("QUIZ_DB_PATH", ""), ("QUIZ_QUESTIONS_FILE", "")]);
        assert_eq!(config.db_path, PathBuf::from("data/quiz.db"));
        assert_eq!(config.questions_file, None);
    }

    #[test]
    fn keeping_no_answers_at_all_is_refused() {
        let env = [("QUIZ_MAX_STORED_ANSWERS".to_owned(), "0".to_owned())];
        let error = Config::load(Args::parse_from(["quiz"]), &env).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"invalid environment variable QUIZ_MAX_STORED_ANSWERS="0": invalid value: integer `0`, expected a nonzero u32"#
        );
    }
}
