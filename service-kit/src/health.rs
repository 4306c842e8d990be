//! Lifecycle phase and the probe endpoints `/healthz/live`, `/healthz/ready` and
//! `/healthz/startup`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use actix_web::{HttpResponse, web};
use serde::Serialize;

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

/// The future a readiness check returns: `Err` carries the reason shown to the prober.
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

type ReadinessCheck = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// Shared lifecycle state of one service; cheap to clone.
#[derive(Clone)]
pub struct Health {
    phase: Arc<AtomicU8>,
    readiness: Option<ReadinessCheck>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    pub fn new() -> Self {
        Self {
            phase: Arc::new(AtomicU8::new(Phase::Starting as u8)),
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
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Release);
    }

    /// `Ok` when the service should receive traffic, else the reason it should not.
    pub async fn ready(&self) -> Result<(), String> {
        match self.phase() {
            Phase::Ready => match &self.readiness {
                Some(check) => check().await,
                None => Ok(()),
            },
            other => Err(format!("service is {}", other.as_str())),
        }
    }
}

/// Registers the probe endpoints; needs `web::Data<Health>` in the app.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz/live").get(live))
        .service(web::resource("/healthz/ready").get(ready))
        .service(web::resource("/healthz/startup").get(startup));
}

async fn live() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("live\n")
}

async fn ready(health: web::Data<Health>) -> HttpResponse {
    match health.ready().await {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ready\n"),
        Err(reason) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(format!("not ready: {reason}\n")),
    }
}

async fn startup(health: web::Data<Health>) -> HttpResponse {
    match health.phase() {
        Phase::Starting => HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body("starting\n"),
        _ => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("started\n"),
    }
}
