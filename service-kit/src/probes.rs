//! Probe and lifecycle state of one service: its phase, what each Kubernetes probe
//! answers and why, the probe controls (forced failures, failure files, the ready file,
//! `FAIL_AFTER_SECONDS`) and the last probe results. The endpoints that show and steer
//! it are in `admin`.

mod readiness;

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::config::ControlSettings;
use crate::limits::PROBE_HISTORY_LEN;
use readiness::SharedCheck;

/// Where a service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Phase {
    /// Built, not yet serving.
    Starting = 0,
    /// Serving; ready unless the readiness check says otherwise.
    Ready = 1,
    /// Termination requested: still serving, but readiness fails so that the pod leaves
    /// the Service's endpoints before the server stops accepting.
    Draining = 2,
    /// No longer accepting; finishing in-flight requests.
    Stopping = 3,
}

impl Phase {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Starting,
            1 => Self::Ready,
            2 => Self::Draining,
            _ => Self::Stopping,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::Draining => "draining",
            Self::Stopping => "stopping",
        }
    }
}

/// The three Kubernetes probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    Live,
    Ready,
    Startup,
}

impl Probe {
    pub(crate) const ALL: [Probe; 3] = [Probe::Live, Probe::Ready, Probe::Startup];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Ready => "ready",
            Self::Startup => "startup",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|probe| probe.as_str() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProbeResult {
    at: String,
    probe: Probe,
    passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

struct Shared {
    phase: AtomicU8,
    started: Instant,
    termination_requested: Mutex<Option<Instant>>,
    controls: ControlSettings,
    forced_failures: Mutex<[Option<Instant>; 3]>,
    history: Mutex<VecDeque<ProbeResult>>,
}

/// Probe and lifecycle state of one service; cheap to clone.
#[derive(Clone)]
pub struct Health {
    shared: Arc<Shared>,
    readiness: Option<Arc<SharedCheck>>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data behind these locks stays consistent even if a holder panicked.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Health {
    /// State with every control off.
    pub fn new() -> Self {
        Self::with_controls(ControlSettings::default())
    }

    pub fn with_controls(controls: ControlSettings) -> Self {
        Self {
            shared: Arc::new(Shared {
                phase: AtomicU8::new(Phase::Starting as u8),
                started: Instant::now(),
                termination_requested: Mutex::new(None),
                controls,
                forced_failures: Mutex::new([None; 3]),
                history: Mutex::new(VecDeque::with_capacity(PROBE_HISTORY_LEN)),
            }),
            readiness: None,
        }
    }

    /// Adds a check that must pass for the service to be ready (for example, that a
    /// database answers). Evaluations that overlap share one run of it: a caller that
    /// comes while it runs gets that run's result. Bound its time inside the check: a
    /// check that never ends holds every evaluation until it does.
    pub fn with_readiness_check<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.readiness = Some(Arc::new(SharedCheck::new(check)));
        self
    }

    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.shared.phase.load(Ordering::Acquire))
    }

    pub fn set_phase(&self, phase: Phase) {
        if phase == Phase::Draining {
            lock(&self.shared.termination_requested).get_or_insert_with(Instant::now);
        }
        self.shared.phase.store(phase as u8, Ordering::Release);
    }

    /// The controls this service was started with.
    pub(crate) fn controls(&self) -> &ControlSettings {
        &self.shared.controls
    }

    /// Whether `FAIL_AFTER_SECONDS` has passed, so requests fail on purpose.
    pub fn failing_on_purpose(&self) -> bool {
        self.shared
            .controls
            .fail_after
            .is_some_and(|after| self.shared.started.elapsed() >= after)
    }

    /// `Ok` when the service should receive traffic, else the reason it should not.
    pub async fn ready(&self) -> Result<(), String> {
        self.evaluate(Probe::Ready).await
    }

    /// What a probe answers now, from the strongest reason down: a forced failure, a
    /// failure file, then the probe's own logic.
    pub async fn evaluate(&self, probe: Probe) -> Result<(), String> {
        if let Some(until) = lock(&self.shared.forced_failures)[probe.index()] {
            let now = Instant::now();
            if until > now {
                return Err(format!(
                    "forced to fail for {} more seconds",
                    (until - now).as_secs() + 1
                ));
            }
        }
        if let Some(dir) = &self.shared.controls.probe_fail_dir {
            let file = dir.join(format!("fail-{}", probe.as_str()));
            if file.exists() {
                return Err(format!("{} exists", file.display()));
            }
        }
        match probe {
            Probe::Live => Ok(()),
            Probe::Startup => match self.phase() {
                Phase::Starting => Err("service is starting".into()),
                _ => Ok(()),
            },
            Probe::Ready => {
                if let Some(file) = &self.shared.controls.ready_file
                    && !file.exists()
                {
                    return Err(format!("{} does not exist yet", file.display()));
                }
                if self.failing_on_purpose() {
                    return Err("FAIL_AFTER_SECONDS has passed".into());
                }
                match self.phase() {
                    Phase::Ready => match &self.readiness {
                        Some(check) => check.run().await,
                        None => Ok(()),
                    },
                    other => Err(format!("service is {}", other.as_str())),
                }
            }
        }
    }

    /// Remembers a probe's result for `/admin/status`.
    pub(crate) fn record(&self, probe: Probe, result: &Result<(), String>) {
        let mut history = lock(&self.shared.history);
        if history.len() == PROBE_HISTORY_LEN {
            history.pop_front();
        }
        history.push_back(ProbeResult {
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            probe,
            passed: result.is_ok(),
            reason: result.as_ref().err().cloned(),
        });
    }

    /// Makes `probe` fail for `duration` from now; `None` ends a forced failure.
    pub(crate) fn force_failure(&self, probe: Probe, duration: Option<Duration>) {
        lock(&self.shared.forced_failures)[probe.index()] =
            duration.map(|duration| Instant::now() + duration);
    }

    /// The forced failures still running, with the seconds left.
    pub(crate) fn forced_failures(&self) -> Vec<ForcedFailure> {
        let now = Instant::now();
        let forced = *lock(&self.shared.forced_failures);
        Probe::ALL
            .into_iter()
            .filter_map(|probe| {
                forced[probe.index()]
                    .filter(|until| *until > now)
                    .map(|until| ForcedFailure {
                        probe,
                        seconds_left: (until - now).as_secs_f64(),
                    })
            })
            .collect()
    }

    pub(crate) fn uptime(&self) -> Duration {
        self.shared.started.elapsed()
    }

    /// How long ago termination was requested (the drain began), if it was.
    pub(crate) fn since_termination_requested(&self) -> Option<Duration> {
        lock(&self.shared.termination_requested).map(|at| at.elapsed())
    }

    /// The last [`PROBE_HISTORY_LEN`] probe results, oldest first.
    pub(crate) fn probe_history(&self) -> Vec<ProbeResult> {
        lock(&self.shared.history).iter().cloned().collect()
    }
}

#[derive(Serialize)]
pub(crate) struct ForcedFailure {
    probe: Probe,
    seconds_left: f64,
}
