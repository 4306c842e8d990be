//! The endpoints that show and steer a service's operational state, the same in every
//! service: `/healthz/{live,ready,startup}`, `/metrics`, `/admin/status`,
//! `/admin/probes/{probe}/fail` and `/admin/faults`. The state itself lives in
//! `probes`, `faults` and `metrics`.
//!
//! Every control that changes state (`POST` and `DELETE` of both) takes only
//! `Content-Type: application/json` and answers anything else with 415. A page on any
//! other site can send a browser's "simple" requests to a student's
//! `kubectl port-forward` without asking: a plain HTML form or `fetch(..., {mode:
//! "no-cors"})` sends `text/plain`, a urlencoded form or multipart. For
//! `application/json` the browser must first ask with a CORS preflight, which no service
//! grants, so such a page can no longer fail a probe or inject faults.

use std::time::Duration;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::faults::{FaultRequest, Faults};
use crate::limits::{DEFAULT_FORCED_FAILURE, MAX_CONTROL_DURATION};
use crate::metrics::Metrics;
use crate::probes::{ForcedFailure, Health, Phase, Probe, ProbeResult};
use crate::routing::get_or_head;
use crate::text::clean_line;

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

/// Registers the probe, metrics and admin endpoints; needs `web::Data<Health>`,
/// `web::Data<Faults>` and `web::Data<Metrics>` in the app (the service's `App` builder
/// adds them). Probe and fault controls answer only when enabled in the settings.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
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

async fn metrics(health: web::Data<Health>, metrics: web::Data<Metrics>) -> HttpResponse {
    let ready = health.evaluate(Probe::Ready).await.is_ok();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(metrics.encode(ready, health.phase().as_str()))
}

async fn status(
    health: web::Data<Health>,
    faults: web::Data<Faults>,
    metrics: web::Data<Metrics>,
) -> HttpResponse {
    let controls = health.controls();
    HttpResponse::Ok().json(Status {
        version: crate::VERSION,
        phase: health.phase(),
        ready: health.evaluate(Probe::Ready).await.is_ok(),
        uptime_seconds: health.uptime().as_secs_f64(),
        in_flight: metrics.in_flight_now(),
        seconds_since_termination_requested: health
            .since_termination_requested()
            .map(|since| since.as_secs_f64()),
        fail_after_seconds: controls.fail_after.map(|after| after.as_secs_f64()),
        failing_on_purpose: health.failing_on_purpose(),
        probe_controls_enabled: controls.probe_controls_enabled,
        faults_enabled: controls.faults_enabled,
        forced_failures: health.forced_failures(),
        faults: faults.active(),
        probe_history: health.probe_history(),
    })
}

/// A group of controls and the variable that switches it on.
struct Switch {
    what: &'static str,
    variable: &'static str,
}

const PROBE_CONTROLS: Switch = Switch {
    what: "probe controls",
    variable: "PROBE_CONTROLS_ENABLED",
};
const FAULTS: Switch = Switch {
    what: "faults",
    variable: "FAULTS_ENABLED",
};

impl Switch {
    /// While the group is switched off, the 404 that refuses a request (as if the route
    /// did not exist).
    fn refusal(&self, enabled: bool) -> Option<HttpResponse> {
        (!enabled).then(|| {
            HttpResponse::NotFound().json(serde_json::json!({
                "error": format!("{} are disabled; set {}=true to enable them", self.what, self.variable)
            }))
        })
    }

    /// What refuses a request that changes something: the group is off, or the body is
    /// not JSON.
    fn change_refusal(&self, enabled: bool, req: &HttpRequest) -> Option<HttpResponse> {
        self.refusal(enabled)
            .or_else(|| require_json(req).err().map(|refused| refused.response()))
    }
}

fn bad_request(message: String) -> HttpResponse {
    HttpResponse::BadRequest().json(serde_json::json!({ "error": message }))
}

/// Why a control refused a request before changing anything.
#[derive(Debug, thiserror::Error)]
enum Refused {
    /// Anything but `application/json` (see the module's documentation for why); holds
    /// the content type the request had, cut to a readable length, or `none`.
    #[error(
        "send this control with Content-Type: application/json (this request had {0}); \
         other types are refused so that a page on another site cannot send it"
    )]
    NotJson(String),
    /// A probe-failure body other than nothing or `{}`: its duration is the `seconds`
    /// query parameter, and a body that seems to say more is refused, not ignored.
    #[error("the body must be empty or {{}}; give the duration as ?seconds=")]
    NotAnEmptyObject,
}

impl Refused {
    fn response(&self) -> HttpResponse {
        let mut response = match self {
            Self::NotJson(_) => HttpResponse::UnsupportedMediaType(),
            Self::NotAnEmptyObject => HttpResponse::BadRequest(),
        };
        response.json(serde_json::json!({ "error": self.to_string() }))
    }
}

/// `Ok` when `req` says its body is JSON (`application/json`, parameters allowed).
fn require_json(req: &HttpRequest) -> Result<(), Refused> {
    let is_json = req
        .mime_type()
        .ok()
        .flatten()
        .is_some_and(|mime| mime.essence_str() == "application/json");
    if is_json {
        return Ok(());
    }
    let sent = match req.headers().get(actix_web::http::header::CONTENT_TYPE) {
        Some(value) => clean_line(&String::from_utf8_lossy(value.as_bytes()), 100),
        None => "none".to_owned(),
    };
    Err(Refused::NotJson(sent))
}

/// `Ok` for an empty body (white space at most) or an empty JSON object.
fn require_empty_object(body: &[u8]) -> Result<(), Refused> {
    let empty = body.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
            .is_ok_and(|object| object.is_empty());
    empty.then_some(()).ok_or(Refused::NotAnEmptyObject)
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
    req: HttpRequest,
    health: web::Data<Health>,
    path: web::Path<String>,
    query: Result<web::Query<ForceQuery>, actix_web::Error>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(refused) =
        PROBE_CONTROLS.change_refusal(health.controls().probe_controls_enabled, &req)
    {
        return refused;
    }
    if let Err(refused) = require_empty_object(&body) {
        return refused.response();
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

async fn clear_probe_failure(
    req: HttpRequest,
    health: web::Data<Health>,
    path: web::Path<String>,
) -> HttpResponse {
    if let Some(refused) =
        PROBE_CONTROLS.change_refusal(health.controls().probe_controls_enabled, &req)
    {
        return refused;
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

async fn show_faults(health: web::Data<Health>, faults: web::Data<Faults>) -> HttpResponse {
    if let Some(refused) = FAULTS.refusal(health.controls().faults_enabled) {
        return refused;
    }
    HttpResponse::Ok().json(faults.active())
}

async fn set_faults(
    req: HttpRequest,
    health: web::Data<Health>,
    faults: web::Data<Faults>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(refused) = FAULTS.change_refusal(health.controls().faults_enabled, &req) {
        return refused;
    }
    match faults.set_from_json(&body) {
        Ok(active) => {
            tracing::warn!(faults = ?active, "faults injected");
            HttpResponse::Ok().json(active)
        }
        Err(message) => bad_request(message),
    }
}

async fn clear_faults(
    req: HttpRequest,
    health: web::Data<Health>,
    faults: web::Data<Faults>,
) -> HttpResponse {
    if let Some(refused) = FAULTS.change_refusal(health.controls().faults_enabled, &req) {
        return refused;
    }
    faults.clear();
    tracing::info!("faults cleared");
    HttpResponse::NoContent().finish()
}
