//! What the scenario of [`super`] observed, and every property of a graceful stop
//! asserted on it.

use std::collections::HashSet;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::{CLOSE_MARGIN, DRAIN, SHUTDOWN_TIMEOUT};
use crate::raw;

/// What became of one request of the load.
#[derive(Debug, Clone)]
pub(super) enum Outcome {
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

/// One request of the load: its id, when it started, what became of it.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) id: String,
    pub(super) started: Instant,
    pub(super) outcome: Outcome,
}

/// One readiness probe during the test.
#[derive(Debug, Clone)]
pub(super) struct Probe {
    pub(super) started: Instant,
    pub(super) status: Option<u16>,
    pub(super) body: String,
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

/// Sorts the load's records and probes around SIGTERM.
pub(super) fn report(
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
