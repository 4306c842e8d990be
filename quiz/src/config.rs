//! Command line and environment: the common server settings plus where the database
//! and the questions live. Flags win over environment variables.

use std::path::PathBuf;

use serde::Deserialize;
use service_kit::{CommonArgs, ConfigError, PodInfo, ServerSettings};

/// Where the database lives when neither `--db-path` nor `QUIZ_DB_PATH` says otherwise
/// (relative to the working directory).
pub const DEFAULT_DB_PATH: &str = "data/quiz.db";

const AFTER_HELP: &str = "\
Environment variables (a flag wins over its variable; empty values count as unset):
  LISTEN_PORT               HTTP port on IPv6 and IPv4 (default 8080)
  LOG_FORMAT                text or json (default text)
  RUST_LOG                  log levels, e.g. info or quiz=debug (default info)
  QUIZ_DB_PATH              SQLite database file (default data/quiz.db); its directory is
                            created when missing
  QUIZ_QUESTIONS_FILE       JSON file whose questions replace the built-in ones
  SHUTDOWN_DRAIN_SECONDS    after SIGTERM, how long readiness fails before the server stops
                            accepting (default 0)
  SHUTDOWN_TIMEOUT_SECONDS  how long in-flight requests may take to finish (default 20)
  POD_NAME, NODE_NAME, POD_IP, NODE_IP
                            pod identity from the Downward API (unknown when unset)
  FAIL_AFTER_SECONDS, PROBE_CONTROLS_ENABLED, FAULTS_ENABLED, PROBE_FAIL_DIR, READY_FILE
                            teaching controls shared by every Kiada service (off by default)

Questions file: a JSON array of objects
  {\"id\": 1, \"text\": \"...\", \"answers\": [\"...\", \"...\", \"...\"], \"correctAnswerIndex\": 0}
with unique positive ids, non-empty text, 3 to 5 non-empty answers and a correct index
that points into the answers (counting from 0).

Endpoints: GET /, GET /questions/random, GET /questions/{id},
POST /questions/{id}/answers, GET /stats, GET /healthz/{live,ready,startup},
GET /metrics, GET /admin/status.";

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "quiz",
    version,
    about = "The Kiada quiz service: serves Kubernetes quiz questions, checks answers and records every answer durably in SQLite.",
    after_help = AFTER_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    /// SQLite database file [env: QUIZ_DB_PATH] [default: data/quiz.db]
    #[arg(long, value_name = "FILE")]
    pub db_path: Option<PathBuf>,
    /// JSON file with questions that replace the built-in ones [env: QUIZ_QUESTIONS_FILE]
    #[arg(long, value_name = "FILE")]
    pub questions_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct QuizEnv {
    quiz_db_path: Option<PathBuf>,
    quiz_questions_file: Option<PathBuf>,
}

/// Everything the quiz service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerSettings,
    pub pod: PodInfo,
    pub db_path: PathBuf,
    pub questions_file: Option<PathBuf>,
}

impl Config {
    /// Resolves flags over environment variables over defaults.
    pub fn load(args: Args, vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let server = ServerSettings::resolve(&args.common, vars)?;
        let env: QuizEnv = service_kit::config::from_vars(vars)?;
        let pod = PodInfo::from_vars(vars.iter().cloned());
        Ok(Self {
            server,
            pod,
            db_path: args
                .db_path
                .or(env.quiz_db_path)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DB_PATH)),
            questions_file: args.questions_file.or(env.quiz_questions_file),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let config = Config::load(Args::parse_from(["quiz"]), &[]).unwrap();
        assert_eq!(config.db_path, PathBuf::from("data/quiz.db"));
        assert_eq!(config.questions_file, None);
        assert_eq!(config.server.listen_port, 8080);
        assert_eq!(config.pod.pod_name(), "unknown");
    }

    #[test]
    fn environment_is_read() {
        let env = vars(&[
            ("QUIZ_DB_PATH", "/var/lib/quiz/quiz.db"),
            ("QUIZ_QUESTIONS_FILE", "/etc/quiz/questions.json"),
            ("LISTEN_PORT", "9090"),
            ("POD_NAME", "quiz"),
        ]);
        let config = Config::load(Args::parse_from(["quiz"]), &env).unwrap();
        assert_eq!(config.db_path, PathBuf::from("/var/lib/quiz/quiz.db"));
        assert_eq!(
            config.questions_file,
            Some(PathBuf::from("/etc/quiz/questions.json"))
        );
        assert_eq!(config.server.listen_port, 9090);
        assert_eq!(config.pod.pod_name(), "quiz");
    }

    #[test]
    fn flags_win_over_environment() {
        let env = vars(&[
            ("QUIZ_DB_PATH", "/env.db"),
            ("QUIZ_QUESTIONS_FILE", "/env.json"),
        ]);
        let args = Args::parse_from([
            "quiz",
            "--db-path",
            "/flag.db",
            "--questions-file",
            "/flag.json",
            "--listen-port",
            "1234",
        ]);
        let config = Config::load(args, &env).unwrap();
        assert_eq!(config.db_path, PathBuf::from("/flag.db"));
        assert_eq!(config.questions_file, Some(PathBuf::from("/flag.json")));
        assert_eq!(config.server.listen_port, 1234);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = vars(&[("QUIZ_DB_PATH", ""), ("QUIZ_QUESTIONS_FILE", "")]);
        let config = Config::load(Args::parse_from(["quiz"]), &env).unwrap();
        assert_eq!(config.db_path, PathBuf::from("data/quiz.db"));
        assert_eq!(config.questions_file, None);
    }
}
