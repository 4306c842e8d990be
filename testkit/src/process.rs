//! A service's real binary, started on a free port: its port learnt from the start-up
//! log, readiness waited for, its output collected, and killed if the test ends first.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::{lock, raw};

/// How long a binary may take to log its port, and then to become ready.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A running binary. Killed (and reaped) on drop if it has not exited.
pub struct Process {
    pub child: Child,
    /// Its HTTP port.
    pub port: u16,
    /// Every line it wrote on stdout and stderr so far.
    logs: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Spawns `command` with stdout and stderr piped (its stdin as the command says),
    /// and learns the HTTP port from the first JSON log line on stdout with `http_port`
    /// (or `port`): the command should set `LISTEN_PORT=0` and `LOG_FORMAT=json`.
    pub fn start(mut command: Command) -> Self {
        let name = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (lines, received) = mpsc::channel();
        collect_lines(child.stdout.take().unwrap(), &logs, Some(lines));
        collect_lines(child.stderr.take().unwrap(), &logs, None);
        let deadline = Instant::now() + START_LIMIT;
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line: String = received
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{name} logged no port within {START_LIMIT:?}"));
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if let Some(port) = event["http_port"].as_u64().or(event["port"].as_u64()) {
                break u16::try_from(port).unwrap();
            }
        };
        Self { child, port, logs }
    }

    /// Every line it wrote on stdout and stderr so far.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.logs).clone()
    }

    /// Waits until `/healthz/ready` answers 200, at most 20 s.
    pub async fn wait_until_ready(&self) {
        let deadline = Instant::now() + START_LIMIT;
        while raw::get(self.port, "/healthz/ready").await.status() != Some(200) {
            assert!(
                Instant::now() < deadline,
                "not ready within {START_LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        sigterm(&self.child);
    }

    /// Waits (polling) until the process exits, at most `limit`.
    pub async fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends SIGTERM to `child` (the standard library can only kill).
pub fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits until `child` exits, polling and blocking the thread (for plain `#[test]`s),
/// and fails the test if it still runs after `limit`.
pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "process {} still runs after {limit:?}",
            child.id()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What `binary --version` prints.
pub fn version_line(binary: &str) -> String {
    let output = Command::new(binary).arg("--version").output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

/// Checks that `binary --help` succeeds and mentions every one of `needles` (flags,
/// variables, defaults), and returns the help text.
pub fn assert_help_mentions(binary: &str, needles: &[&str]) -> String {
    let output = Command::new(binary).arg("--help").output().unwrap();
    assert!(output.status.success(), "{binary} --help: {output:?}");
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in needles {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    help
}

/// Keeps reading a pipe's lines into `logs` (and `lines`, while someone listens) from a
/// thread, so that the service never blocks on a full pipe.
fn collect_lines(
    pipe: impl std::io::Read + Send + 'static,
    logs: &Arc<Mutex<Vec<String>>>,
    lines: Option<mpsc::Sender<String>>,
) {
    let logs = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(lines) = &lines {
                let _ = lines.send(line.clone());
            }
            lock(&logs).push(line);
        }
    });
}
