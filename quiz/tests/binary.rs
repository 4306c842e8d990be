//! Tests of the real `quiz` binary: durability across `kill -9`, start-up failures and
//! `--help`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kiada_testkit::process::{assert_help_mentions, sigterm, version_line, wait_with_timeout};
use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_quiz");

/// A running `quiz` process (kiada_testkit's, which learns the port from the start-up
/// line `{"message": "listening on ...", "port": N}`), with a client.
struct Process {
    process: kiada_testkit::process::Process,
    client: reqwest::Client,
}

impl std::ops::Deref for Process {
    type Target = kiada_testkit::process::Process;

    fn deref(&self) -> &Self::Target {
        &self.process
    }
}

impl std::ops::DerefMut for Process {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.process
    }
}

fn command(db_path: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("LISTEN_PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("QUIZ_DB_PATH", db_path)
        .env("POD_NAME", "quiz-binary-test")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

impl Process {
    fn start(db_path: &Path) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            process: kiada_testkit::process::Process::start(command(db_path)),
            client,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn totals(&self) -> Value {
        let stats: Value = self
            .client
            .get(self.url("/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["totals"].clone()
    }

    /// SIGKILL, then reap.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// Posts `count` answers with `concurrency` in flight; returns (acknowledged, correct
/// among them). Answers cycle through indexes 0 to 2 of question 1. Stops starting new
/// requests at the first connection failure (the process is gone).
async fn post_answers(process: &Process, count: usize, concurrency: usize) -> (u64, u64) {
    post_answers_counting(process, count, concurrency, &AtomicU64::new(0)).await
}

/// Like [`post_answers`], also counting acknowledgements in `progress` as they come.
async fn post_answers_counting(
    process: &Process,
    count: usize,
    concurrency: usize,
    progress: &AtomicU64,
) -> (u64, u64) {
    let client = process.client.clone();
    let url = process.url("/questions/1/answers");
    let (mut acked, mut correct, mut started) = (0, 0, 0);
    let mut gone = false;
    let mut tasks = tokio::task::JoinSet::new();
    while (started < count && !gone) || !tasks.is_empty() {
        while started < count && !gone && tasks.len() < concurrency {
            let (client, url) = (client.clone(), url.clone());
            let index = started % 3;
            tasks.spawn(async move {
                // Err: no answer at all; Ok(None): an answer other than 200.
                let response = client
                    .post(url)
                    .body(json!({"questionId": 1, "answerIndex": index}).to_string())
                    .send()
                    .await
                    .map_err(|_| ())?;
                if response.status() != 200 {
                    return Ok(None);
                }
                let body: Value = response.json().await.map_err(|_| ())?;
                Ok(body["correct"].as_bool())
            });
            started += 1;
        }
        match tasks.join_next().await.map(Result::unwrap) {
            Some(Ok(Some(was_correct))) => {
                acked += 1;
                progress.fetch_add(1, Ordering::Relaxed);
                correct += u64::from(was_correct);
            }
            Some(Ok(None)) | None => {}
            Some(Err(())) => gone = true,
        }
    }
    (acked, correct)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_answers_survive_kill_9() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("data").join("quiz.db");
    let process = Process::start(&db);
    process.wait_until_ready().await;
    let (acked, correct) = post_answers(&process, 500, 16).await;
    assert_eq!(acked, 500, "every answer is acknowledged");
    // Killed right after the last acknowledgement: no graceful shutdown, no checkpoint.
    process.kill();

    let process = Process::start(&db);
    process.wait_until_ready().await;
    assert_eq!(
        process.totals().await,
        json!({"answers": acked, "correct": correct})
    );
    process.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_loses_no_acknowledged_answer() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("quiz.db");
    let process = Process::start(&db);
    process.wait_until_ready().await;
    let pid = process.child.id();
    // Kill while answers are in flight (once 200 have been acknowledged): every
    // acknowledged one must be on disk; some unacknowledged ones may be too (committed,
    // reply lost).
    let progress = Arc::new(AtomicU64::new(0));
    let killer = tokio::spawn({
        let progress = progress.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while progress.load(Ordering::Relaxed) < 200 {
                assert!(Instant::now() < deadline, "200 answers never acknowledged");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let status = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
    });
    let (acked, _) = post_answers_counting(&process, 100_000, 16, &progress).await;
    killer.await.unwrap();
    eprintln!("{acked} answers acknowledged before kill -9");
    assert!(acked >= 200, "the kill came after 200 acknowledgements");
    assert!(acked < 100_000, "the kill came before the end");
    process.kill();

    let process = Process::start(&db);
    process.wait_until_ready().await;
    let stored = process.totals().await["answers"].as_u64().unwrap();
    assert!(
        stored >= acked,
        "{acked} answers were acknowledged but only {stored} are stored"
    );
    // At most the 16 that were in flight can be stored without acknowledgement.
    assert!(
        stored <= acked + 16,
        "stored {stored}, acknowledged {acked}"
    );
    process.kill();
}

#[tokio::test]
async fn sigterm_stops_gracefully_and_keeps_the_answers() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("quiz.db");
    let mut process = Process::start(&db);
    process.wait_until_ready().await;
    let (acked, correct) = post_answers(&process, 20, 4).await;
    assert_eq!(acked, 20);
    sigterm(&process.child);
    let exit = wait_with_timeout(&mut process.child, Duration::from_secs(30));
    assert_eq!(exit.code(), Some(0));
    // A graceful stop leaves a self-contained file: the log was checkpointed and emptied.
    let wal = std::fs::metadata(dir.path().join("quiz.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let (count, right): (i64, i64) = conn
        .query_row("SELECT count(*), sum(correct) FROM answers", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((count as u64, right as u64), (acked, correct));
}

/// Runs the binary to completion (bounded) and returns (exit code, stderr).
fn run_to_exit(mut command: Command) -> (Option<i32>, String) {
    let mut child = command.spawn().unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

#[test]
fn a_corrupt_database_stops_start_up_and_is_left_untouched() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("quiz.db");
    let garbage: Vec<u8> = b"this is not an SQLite database\n".repeat(200);
    std::fs::write(&db, &garbage).unwrap();
    let (code, stderr) = run_to_exit(command(&db));
    assert_ne!(code, Some(0));
    assert!(code.is_some(), "exited by itself, not by a signal");
    assert!(
        stderr.contains(&format!(
            "cannot use the quiz database {}: file is not a database",
            db.display()
        )),
        "{stderr}"
    );
    kiada_testkit::assert_left_alone(dir.path(), &db, &garbage);
}

#[test]
fn a_bad_questions_file_stops_start_up() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("questions.json");
    std::fs::write(
        &file,
        r#"[{"id": 1, "text": "Q?", "answers": ["a", "b", "c"], "correctAnswerIndex": 7}]"#,
    )
    .unwrap();
    let mut command = command(&dir.path().join("quiz.db"));
    command.env("QUIZ_QUESTIONS_FILE", &file);
    let (code, stderr) = run_to_exit(command);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains(&format!(
            "questions file {}: question #0 (id 1): correctAnswerIndex 7 is out of range",
            file.display()
        )),
        "{stderr}"
    );
    // Nothing was created before the questions were found bad.
    assert!(!dir.path().join("quiz.db").exists());
}

#[test]
fn an_invalid_environment_variable_stops_start_up() {
    let dir = TempDir::new().unwrap();
    let mut command = command(&dir.path().join("quiz.db"));
    command.env("LISTEN_PORT", "eighty");
    let (code, stderr) = run_to_exit(command);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("LISTEN_PORT"), "{stderr}");
}

#[test]
fn help_documents_every_flag_and_variable() {
    assert_help_mentions(
        BIN,
        &[
            "--listen-port",
            "--log-format",
            "--db-path",
            "--questions-file",
            "--version",
            "LISTEN_PORT",
            "LOG_FORMAT",
            "RUST_LOG",
            "QUIZ_DB_PATH",
            "QUIZ_QUESTIONS_FILE",
            "--max-stored-answers",
            "QUIZ_MAX_STORED_ANSWERS",
            "[default: 100000]",
            "SHUTDOWN_DRAIN_SECONDS",
            "SHUTDOWN_TIMEOUT_SECONDS",
            "POD_NAME",
            "NODE_NAME",
            "correctAnswerIndex",
            "data/quiz.db",
        ],
    );
    assert_eq!(
        version_line(BIN),
        format!("quiz {}\n", env!("CARGO_PKG_VERSION"))
    );
}
