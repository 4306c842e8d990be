//! kiada's `GET /spread` in JSON: how the calls of one view spread over the pods
//! behind a Service.

use serde::{Deserialize, Serialize};

/// How the calls of one view reach the Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpreadMode {
    /// Each call opens a connection of its own, so the Service picks a pod per call.
    NewConnection,
    /// Every call goes over one kept-alive connection, so the Service picks a pod once.
    Reuse,
}

/// Latencies of a set of calls, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub min: f64,
    pub median: f64,
    pub p90: f64,
    pub max: f64,
}

/// The calls one pod answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodCalls {
    /// From the backend's `X-Pod-Name` header ("unknown" without one).
    pub pod: String,
    /// From `X-Node-Name`.
    pub node: String,
    pub calls: u32,
    #[serde(rename = "latencyMs")]
    pub latency_ms: LatencySummary,
}

/// The calls that failed for one cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCalls {
    /// What went wrong, as the page prints it ("could not be reached: ...").
    pub cause: String,
    pub calls: u32,
}

/// One `GET /spread` view.
///
/// `{"service": "quote", "url": "http://quote/quote", "mode": "new-connection",
/// "summary": "...", "calls": 20, "answered": 20, "pods": [...], "errors": [],
/// "latencyMs": {...}, "elapsedMs": 31.2}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spread {
    /// `quote` or `quiz`.
    pub service: String,
    /// The URL called: the configured Service URL (quiz's random-question endpoint).
    pub url: String,
    pub mode: SpreadMode,
    /// One sentence saying what the mode shows.
    pub summary: String,
    /// Calls asked for.
    pub calls: u32,
    /// Calls a pod answered with a 2xx status.
    pub answered: u32,
    /// By pod name.
    pub pods: Vec<PodCalls>,
    /// By cause, the most frequent first.
    pub errors: Vec<ErrorCalls>,
    /// Of the answered calls; absent when none was answered.
    pub latency_ms: Option<LatencySummary>,
    /// How long the whole view took.
    pub elapsed_ms: f64,
}
