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
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::process::Process;
use crate::raw;

mod report;

pub use report::Report;
use report::{Outcome, Probe, Record, report};

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
