//! Prometheus metrics of one service, exposed at `/metrics` in the text format.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendErrorLabels {
    backend: String,
    cause: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: &'static str,
}

/// Latency buckets from 0.5 ms to about 8 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The metrics every service records; cheap to clone (every clone records into the
/// same registry).
#[derive(Clone)]
pub struct Metrics(Arc<Families>);

struct Families {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge<i64, AtomicI64>,
    ready: Gauge<i64, AtomicI64>,
    phase: Family<PhaseLabels, Gauge<i64, AtomicI64>>,
    backend_latency: Family<BackendLabels, Histogram, fn() -> Histogram>,
    backend_errors: Family<BackendErrorLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let in_flight = Gauge::<i64, AtomicI64>::default();
        let ready = Gauge::<i64, AtomicI64>::default();
        let phase = Family::<PhaseLabels, Gauge<i64, AtomicI64>>::default();
        let backend_latency: Family<BackendLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let backend_errors = Family::<BackendErrorLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route pattern and method",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being answered now",
            in_flight.clone(),
        );
        registry.register(
            "service_ready",
            "1 when the readiness probe would pass, else 0",
            ready.clone(),
        );
        registry.register(
            "service_lifecycle_phase",
            "1 for the current lifecycle phase (starting, ready, draining, stopping)",
            phase.clone(),
        );
        registry.register(
            "backend_request_duration_seconds",
            "Time of calls to other services, by backend",
            backend_latency.clone(),
        );
        registry.register(
            "backend_errors",
            "Failed calls to other services, by backend and cause",
            backend_errors.clone(),
        );
        Self(Arc::new(Families {
            registry,
            requests,
            latency,
            in_flight,
            ready,
            phase,
            backend_latency,
            backend_errors,
        }))
    }

    /// Records one answered request. `route` is the matched route pattern (never the raw
    /// path, which would let clients create unbounded label values).
    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.0
            .requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.0
            .latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Records one call to another service; `error` names the cause when it failed.
    pub fn observe_backend(&self, backend: &str, elapsed: Duration, error: Option<&str>) {
        self.0
            .backend_latency
            .get_or_create(&BackendLabels {
                backend: backend.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
        if let Some(cause) = error {
            self.0
                .backend_errors
                .get_or_create(&BackendErrorLabels {
                    backend: backend.to_owned(),
                    cause: cause.to_owned(),
                })
                .inc();
        }
    }

    pub(crate) fn in_flight(&self) -> &Gauge<i64, AtomicI64> {
        &self.0.in_flight
    }

    /// The text exposition, with readiness and phase as of now.
    pub(crate) fn encode(&self, ready: bool, phase: &'static str) -> String {
        self.0.ready.set(i64::from(ready));
        for name in ["starting", "ready", "draining", "stopping"] {
            self.0
                .phase
                .get_or_create(&PhaseLabels { phase: name })
                .set(i64::from(name == phase));
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.0.registry);
        text
    }

    pub(crate) fn in_flight_now(&self) -> i64 {
        self.0.in_flight.get()
    }
}

/// Keeps the in-flight gauge right even when a request's future is dropped.
pub(crate) struct InFlight<'a>(&'a Gauge<i64, AtomicI64>);

impl<'a> InFlight<'a> {
    pub(crate) fn start(gauge: &'a Gauge<i64, AtomicI64>) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
