//! SIGTERM under a steady load, against a service's real binary.
//!
//! The load generator runs [`TASKS`] tasks, each sending one request after another, each
//! on a fresh connection with `Connection: close`. Fresh connections make "accepted"
//! unambiguous: with keep-alive, a request written onto an idle pooled connection just
//! as the server closes it is lost through no fault of the server (HTTP lets a client
//! retry it), which would blur what this test measures.
//!
//! A request counts as accepted once its connection was established and the request
//! written; a refused connection (the listener has closed; connecting may also end in
//! a reset when it closes during the handshake) is not accepted. The load runs from
//! before SIGTERM, through the drain, into the closed listener. Every accepted request
//! must get a complete 200, with one exception that TCP and actix make unavoidable: when
//! the server stops accepting, connections the kernel or actix had queued but the
//! service had not read yet are reset or closed without a byte (actix's graceful stop
//! also closes connections whose request it has not started to parse). Such a request
//! is "lost at the close", and not a failure, only when all of this holds: not one byte
//! of answer came, the service never logged its request id (every request the service
//! reads gets an access log line before its answer), and it started within
//! [`CLOSE_MARGIN`] of the drain's end or later. Anything else fails the test: a request
//! the service read and did not answer, and any loss inside the drain. In a cluster the
//! drain keeps clients away from that instant: readiness fails at SIGTERM, the
//! endpoints are updated, and only then does the listener close.

use std::collections::HashSet;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::process::Process;
use crate::raw;

/// Concurrent request loops.
pub const TASKS: usize = 8;
/// The drain delay the binary is started with (`SHUTDOWN_DRAIN_SECONDS`).
pub const DRAIN: Duration = Duration::from_secs(1);
/// How long in-flight requests may take after the drain (`SHUTDOWN_TIMEOUT_SECONDS`).
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests that start this long before the drain's end (or later) may be lost unread
/// at the close: the server may stop before it has parsed them.
pub const CLOSE_MARGIN: Duration = Duration::from_millis(300);
/// Requests answered before SIGTERM is sent: the load is steady by then.
const WARM_UP_ANSWERS: usize = 100;
/// Upper bounds of the load, whatever happens.
const MAX_REQUESTS: usize = 50_000;
const MAX_LOAD_TIME: Duration = Duration::from_secs(60);
/// How long the load goes on after the process has exited (every connection refused).
const AFTER_EXIT: Duration = Duration::from_millis(200);

/// A request of the load, given its request id.
pub type MakeRequest = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

/// The shortest `terminationGracePeriodSeconds` of the base's pods of one service
/// (`kiada`, `quote`, `quiz`): the files of `manifests/` whose name starts with `prefix`,
/// and those of `manifests/SETUP/<prefix>/` (the book's layout for quote and quiz).
pub fn grace_period(prefix: &str) -> Duration {
    let manifests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests");
    let setup = manifests.join("SETUP").join(prefix);
    let mut files = Vec::new();
    for dir in [&manifests, &setup] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".yaml") && (dir == &setup || name.starts_with(prefix)) {
                files.push(path);
            }
        }
    }
    let mut periods = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        periods.extend(text.lines().filter_map(|line| {
            let value = line.trim().strip_prefix("terminationGracePeriodSeconds:")?;
            value.trim().parse::<u64>().ok()
        }));
    }
    let shortest = periods
        .into_iter()
        .min()
        .unwrap_or_else(|| panic!("no terminationGracePeriodSeconds for {prefix} pods"));
    Duration::from_secs(shortest)
}

/// Starts `binary` with `args` and a clean environment plus `env`: JSON logs on a free
/// port, a [`DRAIN`] and a [`SHUTDOWN_TIMEOUT`]. Killed if the test ends before it exits.
pub fn start(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Process {
    let drain = DRAIN.as_secs().to_string();
    let timeout = SHUTDOWN_TIMEOUT.as_secs().to_string();
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_clear()
        .envs([
            ("LISTEN_PORT", "0"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
            ("SHUTDOWN_DRAIN_SECONDS", drain.as_str()),
            ("SHUTDOWN_TIMEOUT_SECONDS", timeout.as_str()),
        ])
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    Process::start(command)
}

/// The request ids of the access log.
fn logged_request_ids(service: &Process) -> HashSet<String> {
    service
        .lines()
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["target"] == "access")
        .filter_map(|event| event["request_id"].as_str().map(str::to_owned))
        .collect()
}

/// What became of one request of the load.
#[derive(Debug, Clone)]
enum Outcome {
    /// Connection refused (or reset before it was established): the listener was
    /// closed. Not accepted.
    Refused,
    /// Connected, but the request could not be written (reset at once). Not accepted.
    NotWritten,
    /// Connecting failed otherwise. Not accepted, and never expected.
    ConnectFailed(String),
    /// A complete 200.
    Ok,
    /// Accepted, but no complete 200.
    Failed(raw::Exchange),
}

#[derive(Debug, Clone)]
struct Record {
    id: String,
    started: Instant,
    outcome: Outcome,
}

/// One readiness probe during the test.
#[derive(Debug, Clone)]
struct Probe {
    started: Instant,
    status: Option<u16>,
    body: String,
}

/// What the scenario observed.
#[derive(Debug)]
pub struct Report {
    exit: Option<ExitStatus>,
    /// From SIGTERM (sent) to the exit.
    exit_after: Duration,
    grace_period: Duration,
    /// Complete 200s, before and after SIGTERM was sent.
    ok_before: usize,
    ok_after: usize,
    refused: usize,
    not_written: usize,
    connect_failed: Vec<String>,
    /// Accepted requests that failed although the service had read them, or inside the
    /// drain: each one fails the test.
    failed: Vec<String>,
    /// Accepted requests the service never read, reset or closed as it stopped.
    lost_at_close: Vec<String>,
    /// Readiness before SIGTERM, and after it (status and body, in order).
    ready_before: Vec<Option<u16>>,
    ready_after: Vec<(Option<u16>, String)>,
}

impl Report {
    /// The number of accepted requests that got a complete 200.
    pub fn ok(&self) -> usize {
        self.ok_before + self.ok_after
    }

    /// The lost requests, one per line.
    pub fn lost(&self) -> String {
        self.lost_at_close.join("\n")
    }

    pub fn summary(&self) -> String {
        format!(
            "exit {:?} {:.2} s after SIGTERM (grace {} s); 200s: {} before SIGTERM, {} after; \
             failed among accepted: {}; lost unread at the listener's close: {}; \
             not written: {}; refused: {}; readiness after SIGTERM: {:?}",
            self.exit.and_then(|exit| exit.code()),
            self.exit_after.as_secs_f64(),
            self.grace_period.as_secs(),
            self.ok_before,
            self.ok_after,
            self.failed.len(),
            self.lost_at_close.len(),
            self.not_written,
            self.refused,
            self.ready_after
                .iter()
                .map(|(status, _)| *status)
                .collect::<Vec<_>>()
        )
    }

    /// Every property of a graceful stop under load.
    pub fn assert_graceful(&self) {
        let summary = self.summary();
        assert_eq!(
            self.exit.and_then(|exit| exit.code()),
            Some(0),
            "exit code: {summary}"
        );
        assert!(self.exit_after <= self.grace_period, "{summary}");
        // It served through the drain, and stopped without running into the shutdown
        // timeout (which would cut in-flight requests off).
        assert!(self.exit_after >= DRAIN, "{summary}");
        assert!(self.exit_after < DRAIN + SHUTDOWN_TIMEOUT, "{summary}");
        assert!(self.failed.is_empty(), "{summary}: {:#?}", self.failed);
        assert!(
            self.connect_failed.is_empty(),
            "{summary}: {:?}",
            self.connect_failed
        );
        // The load went on through the drain and ran into the closed listener.
        assert!(
            self.ok_after > 0,
            "nothing accepted after SIGTERM: {summary}"
        );
        assert!(self.refused > 0, "{summary}");
        assert!(
            self.ready_before.contains(&Some(200)),
            "never ready: {summary}"
        );
        let draining = (Some(503), "not ready: service is draining\n".to_owned());
        assert!(
            self.ready_after.contains(&draining),
            "readiness never said draining: {summary}"
        );
        // Once failing, readiness stays failing (the first probes after SIGTERM may
        // still pass: the service handles the signal a moment after it is sent).
        let first_failure = self
            .ready_after
            .iter()
            .position(|(status, _)| *status != Some(200))
            .unwrap_or(self.ready_after.len());
        assert!(
            !self.ready_after[first_failure..]
                .iter()
                .any(|(status, _)| *status == Some(200)),
            "ready again after SIGTERM: {summary}"
        );
    }
}

/// The test every service runs: the load on `service`, SIGTERM, and every property of
/// a graceful stop asserted, within the grace period of the pods whose manifests start
/// with `name`. The report, for what a service checks on top (quiz: its database).
pub async fn assert_graceful_under_load(
    name: &str,
    service: Process,
    make_request: MakeRequest,
) -> Report {
    let report = sigterm_under_load(service, grace_period(name), make_request).await;
    eprintln!("{name}: {}\n{}", report.summary(), report.lost());
    report.assert_graceful();
    report
}

/// A load of `GET path`, each request with its own `X-Request-Id`.
pub fn get_with_request_id(path: &'static str) -> MakeRequest {
    Arc::new(move |id: &str| raw::request("GET", path, &format!("X-Request-Id: {id}\r\n")))
}

/// Starts the load on `service`, sends SIGTERM once it is steady, waits for the exit
/// (at most the `grace_period`), and reports.
pub async fn sigterm_under_load(
    mut service: Process,
    grace_period: Duration,
    make_request: MakeRequest,
) -> Report {
    service.wait_until_ready().await;
    let port = service.port;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let load_deadline = Instant::now() + MAX_LOAD_TIME;
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (stop, started, answered) = (stop.clone(), started.clone(), answered.clone());
            let make_request = make_request.clone();
            tokio::spawn(async move {
                let mut records = Vec::new();
                while !stop.load(Ordering::Relaxed)
                    && Instant::now() < load_deadline
                    && started.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
                {
                    let id = format!("load-{task}-{}", records.len());
                    let request = make_request(&id);
                    let (began, outcome) = one_request(port, request).await;
                    match outcome {
                        Outcome::Ok => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        // Do not spin on a closed port.
                        Outcome::Refused => tokio::time::sleep(Duration::from_millis(5)).await,
                        _ => {}
                    }
                    records.push(Record {
                        id,
                        started: began,
                        outcome,
                    });
                }
                records
            })
        })
        .collect();
    let prober = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut probes = Vec::new();
            while !stop.load(Ordering::Relaxed) && Instant::now() < load_deadline {
                let started = Instant::now();
                let request = raw::request("GET", "/healthz/ready", "");
                let script = vec![(Duration::ZERO, request)];
                let (status, body) =
                    match raw::try_exchange_script(port, script, Duration::from_secs(10)).await {
                        Ok(answer) => (answer.status(), answer.body_text()),
                        Err(error) => (None, error.to_string()),
                    };
                probes.push(Probe {
                    started,
                    status,
                    body,
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            probes
        })
    };

    let warm_up = Instant::now() + Duration::from_secs(20);
    while answered.load(Ordering::Relaxed) < WARM_UP_ANSWERS {
        assert!(Instant::now() < warm_up, "the load never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    service.sigterm();
    let sigterm_at = Instant::now();
    let exit = service.wait_for_exit(grace_period).await;
    let exit_after = sigterm_at.elapsed();
    tokio::time::sleep(AFTER_EXIT).await;
    stop.store(true, Ordering::Relaxed);

    let mut records = Vec::new();
    for task in tasks {
        records.extend(task.await.unwrap());
    }
    let probes = prober.await.unwrap();
    let logged = logged_request_ids(&service);
    report(
        &records,
        &probes,
        &logged,
        sigterm_at,
        exit,
        exit_after,
        grace_period,
    )
}

async fn one_request(port: u16, request: Vec<u8>) -> (Instant, Outcome) {
    let began = Instant::now();
    let mut stream = match tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    {
        Ok(Ok(stream)) => stream,
        // Refused, or reset during the handshake when the listener closed meanwhile.
        Ok(Err(error))
            if matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            return (began, Outcome::Refused);
        }
        Ok(Err(error)) => return (began, Outcome::ConnectFailed(error.to_string())),
        Err(_) => return (began, Outcome::ConnectFailed("timed out".into())),
    };
    if stream.write_all(&request).await.is_err() {
        return (began, Outcome::NotWritten);
    }
    let answer = raw::read_answer(&mut stream, began, Duration::from_secs(15)).await;
    let outcome = if answer.status() == Some(200) && answer.is_complete() {
        Outcome::Ok
    } else {
        Outcome::Failed(answer)
    };
    (began, outcome)
}

fn report(
    records: &[Record],
    probes: &[Probe],
    logged: &HashSet<String>,
    sigterm_at: Instant,
    exit: Option<ExitStatus>,
    exit_after: Duration,
    grace_period: Duration,
) -> Report {
    let closing = sigterm_at + DRAIN - CLOSE_MARGIN;
    let mut report = Report {
        exit,
        exit_after,
        grace_period,
        ok_before: 0,
        ok_after: 0,
        refused: 0,
        not_written: 0,
        connect_failed: Vec::new(),
        failed: Vec::new(),
        lost_at_close: Vec::new(),
        ready_before: Vec::new(),
        ready_after: Vec::new(),
    };
    for record in records {
        match &record.outcome {
            Outcome::Ok if record.started < sigterm_at => report.ok_before += 1,
            Outcome::Ok => report.ok_after += 1,
            Outcome::Refused => report.refused += 1,
            Outcome::NotWritten => report.not_written += 1,
            Outcome::ConnectFailed(error) => report.connect_failed.push(error.clone()),
            Outcome::Failed(answer) => {
                let unread = answer.bytes.is_empty() && !logged.contains(&record.id);
                let line = format!(
                    "{} ({:?} after SIGTERM): {}",
                    record.id,
                    record.started.checked_duration_since(sigterm_at),
                    answer.describe()
                );
                if unread && record.started >= closing {
                    report.lost_at_close.push(line);
                } else {
                    report.failed.push(line);
                }
            }
        }
    }
    for probe in probes {
        if probe.started < sigterm_at {
            report.ready_before.push(probe.status);
        } else {
            report.ready_after.push((probe.status, probe.body.clone()));
        }
    }
    report
}
