//! The operational state of one service (lifecycle phase, probes, their controls,
//! faults, metrics) and the endpoints that show and steer it: `/healthz/{live,ready,startup}`,
//! `/metrics`, and `/admin/...`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::config::ControlSettings;
use crate::faults::{FaultRequest, Faults};
use crate::http::get_or_head;
use crate::metrics::Metrics;

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
    const ALL: [Probe; 3] = [Probe::Live, Probe::Ready, Probe::Startup];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Ready => "ready",
            Self::Startup => "startup",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|probe| probe.as_str() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How many probe results `/admin/status` shows.
pub const PROBE_HISTORY_LEN: usize = 20;
/// Longest a forced probe failure or a fault may last: a forgotten toggle heals itself.
pub const MAX_CONTROL_DURATION: Duration = Duration::from_secs(3600);
const DEFAULT_FORCED_FAILURE: Duration = Duration::from_secs(60);

/// The future a readiness check returns: `Err` carries the reason shown to the prober.
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

type ReadinessCheck = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

#[derive(Debug, Clone, Serialize)]
struct ProbeResult {
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
    faults: Faults,
    metrics: Metrics,
}

/// Shared operational state of one service; cheap to clone.
#[derive(Clone)]
pub struct Health {
    shared: Arc<Shared>,
    readiness: Option<ReadinessCheck>,
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
                faults: Faults::default(),
                metrics: Metrics::new(),
            }),
            readiness: None,
        }
    }

    /// Adds a check that must pass for the service to be ready (for example, that a
    /// database answers).
    pub fn with_readiness_check<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.readiness = Some(Arc::new(move || Box::pin(check())));
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

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    pub(crate) fn faults(&self) -> &Faults {
        &self.shared.faults
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
                        Some(check) => check().await,
                        None => Ok(()),
                    },
                    other => Err(format!("service is {}", other.as_str())),
                }
            }
        }
    }

    fn record(&self, probe: Probe, result: &Result<(), String>) {
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

    fn force_failure(&self, probe: Probe, duration: Option<Duration>) {
        lock(&self.shared.forced_failures)[probe.index()] =
            duration.map(|duration| Instant::now() + duration);
    }

    async fn status(&self) -> Status {
        let now = Instant::now();
        let forced = *lock(&self.shared.forced_failures);
        let forced_failures = Probe::ALL
            .into_iter()
            .filter_map(|probe| {
                forced[probe.index()]
                    .filter(|until| *until > now)
                    .map(|until| ForcedFailure {
                        probe,
                        seconds_left: (until - now).as_secs_f64(),
                    })
            })
            .collect();
        Status {
            version: crate::VERSION,
            phase: self.phase(),
            ready: self.evaluate(Probe::Ready).await.is_ok(),
            uptime_seconds: self.shared.started.elapsed().as_secs_f64(),
            in_flight: self.shared.metrics.in_flight_now(),
            seconds_since_termination_requested: lock(&self.shared.termination_requested)
                .map(|at| at.elapsed().as_secs_f64()),
            fail_after_seconds: self.shared.controls.fail_after.map(|d| d.as_secs_f64()),
            failing_on_purpose: self.failing_on_purpose(),
            probe_controls_enabled: self.shared.controls.probe_controls_enabled,
            faults_enabled: self.shared.controls.faults_enabled,
            forced_failures,
            faults: self.shared.faults.active(),
            probe_history: lock(&self.shared.history).iter().cloned().collect(),
        }
    }
}

#[derive(Serialize)]
struct ForcedFailure {
    probe: Probe,
    seconds_left: f64,
}

#[derive(Serialize)]
struct Status {
    version: &'static str,
    phase: Phase,
    ready: bool,
    uptime_seconds: f64,
    in_flight: i64,
    seconds_since_termination_requested: Option<f64>,
    fail_after_seconds: Option<f64>,
    failing_on_purpose: bool,
    probe_controls_enabled: bool,
    faults_enabled: bool,
    forced_failures: Vec<ForcedFailure>,
    faults: Option<FaultRequest>,
    probe_history: Vec<ProbeResult>,
}

/// Registers the probe, metrics and admin endpoints; needs `web::Data<Health>` in the
/// app. Probe and fault controls exist only when enabled in the settings.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for probe in Probe::ALL {
        let answer =
            move |health: web::Data<Health>| async move { probe_answer(&health, probe).await };
        cfg.service(
            web::resource(format!("/healthz/{}", probe.as_str())).route(get_or_head().to(answer)),
        );
    }
    cfg.service(web::resource("/metrics").route(get_or_head().to(metrics)))
        .service(web::resource("/admin/status").route(get_or_head().to(status)))
        .service(
            web::resource("/admin/probes/{probe}/fail")
                .post(force_probe_failure)
                .delete(clear_probe_failure),
        )
        .service(
            web::resource("/admin/faults")
                .get(show_faults)
                .post(set_faults)
                .delete(clear_faults),
        );
}

async fn probe_answer(health: &Health, probe: Probe) -> HttpResponse {
    let result = health.evaluate(probe).await;
    health.record(probe, &result);
    let mut response = match &result {
        Ok(()) => HttpResponse::Ok(),
        Err(_) => HttpResponse::ServiceUnavailable(),
    };
    let body = match (probe, result) {
        (Probe::Live, Ok(())) => "live\n".to_owned(),
        (Probe::Ready, Ok(())) => "ready\n".to_owned(),
        (Probe::Startup, Ok(())) => "started\n".to_owned(),
        (Probe::Live, Err(reason)) => format!("not live: {reason}\n"),
        (Probe::Ready, Err(reason)) => format!("not ready: {reason}\n"),
        (Probe::Startup, Err(reason)) => format!("not started: {reason}\n"),
    };
    response
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

async fn metrics(health: web::Data<Health>) -> HttpResponse {
    let ready = health.evaluate(Probe::Ready).await.is_ok();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(health.metrics().encode(ready, health.phase().as_str()))
}

async fn status(health: web::Data<Health>) -> HttpResponse {
    HttpResponse::Ok().json(health.status().await)
}

fn disabled(what: &str, variable: &str) -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": format!("{what} are disabled; set {variable}=true to enable them")
    }))
}

fn bad_request(message: String) -> HttpResponse {
    HttpResponse::BadRequest().json(serde_json::json!({ "error": message }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForceQuery {
    seconds: Option<f64>,
}

fn probe_from_path(name: &str) -> Result<Probe, String> {
    Probe::parse(name).ok_or_else(|| format!("unknown probe {name:?}; use live, ready or startup"))
}

async fn force_probe_failure(
    health: web::Data<Health>,
    path: web::Path<String>,
    query: Result<web::Query<ForceQuery>, actix_web::Error>,
) -> HttpResponse {
    if !health.shared.controls.probe_controls_enabled {
        return disabled("probe controls", "PROBE_CONTROLS_ENABLED");
    }
    let probe = match probe_from_path(&path) {
        Ok(probe) => probe,
        Err(message) => return bad_request(message),
    };
    let seconds = match query {
        Ok(query) => query.seconds,
        Err(error) => return bad_request(format!("bad query: {error}")),
    };
    let duration = match seconds.map(Duration::try_from_secs_f64) {
        None => DEFAULT_FORCED_FAILURE,
        Some(Ok(duration)) if !duration.is_zero() && duration <= MAX_CONTROL_DURATION => duration,
        Some(_) => {
            return bad_request(format!(
                "seconds must be more than 0 and at most {}",
                MAX_CONTROL_DURATION.as_secs()
            ));
        }
    };
    health.force_failure(probe, Some(duration));
    tracing::warn!(
        probe = probe.as_str(),
        seconds = duration.as_secs_f64(),
        "probe forced to fail"
    );
    HttpResponse::Ok().json(serde_json::json!({
        "probe": probe,
        "failing_for_seconds": duration.as_secs_f64(),
    }))
}

async fn clear_probe_failure(health: web::Data<Health>, path: web::Path<String>) -> HttpResponse {
    if !health.shared.controls.probe_controls_enabled {
        return disabled("probe controls", "PROBE_CONTROLS_ENABLED");
    }
    match probe_from_path(&path) {
        Ok(probe) => {
            health.force_failure(probe, None);
            tracing::info!(probe = probe.as_str(), "forced probe failure cleared");
            HttpResponse::NoContent().finish()
        }
        Err(message) => bad_request(message),
    }
}

async fn show_faults(health: web::Data<Health>) -> HttpResponse {
    if !health.shared.controls.faults_enabled {
        return disabled("faults", "FAULTS_ENABLED");
    }
    HttpResponse::Ok().json(health.faults().active())
}

async fn set_faults(health: web::Data<Health>, body: web::Bytes) -> HttpResponse {
    if !health.shared.controls.faults_enabled {
        return disabled("faults", "FAULTS_ENABLED");
    }
    match health.faults().set_from_json(&body) {
        Ok(active) => {
            tracing::warn!(faults = ?active, "faults injected");
            HttpResponse::Ok().json(active)
        }
        Err(message) => bad_request(message),
    }
}

async fn clear_faults(health: web::Data<Health>) -> HttpResponse {
    if !health.shared.controls.faults_enabled {
        return disabled("faults", "FAULTS_ENABLED");
    }
    health.faults().clear();
    tracing::info!("faults cleared");
    HttpResponse::NoContent().finish()
}
