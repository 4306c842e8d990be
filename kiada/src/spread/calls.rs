//! `GET /spread`'s calls: one backend called many times, to see which pods a Service
//! sends them to. Each call either opens a connection of its own (the Service picks a
//! pod per call) or rides one kept-alive connection (the Service picked once).
//!
//! Bounded so that the view cannot amplify load: at most [`MAX_SPREAD_CALLS`] calls,
//! [`CALLS_AT_ONCE`] at a time, all within [`SPREAD_BUDGET`], and at most
//! [`SPREADS_AT_ONCE`] views in the whole process at once.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use kiada_wire::{ErrorCalls, LatencySummary, PodCalls, Spread, SpreadMode};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::backends::{Backends, CallContext, Service};

/// Most calls one view makes.
pub const MAX_SPREAD_CALLS: u32 = 100;
/// Calls a view makes when not told.
pub const DEFAULT_SPREAD_CALLS: u32 = 20;
/// Calls of one view in flight at once (new-connection mode; reuse makes them one
/// after another, as one connection carries one HTTP/1.1 request at a time).
pub const CALLS_AT_ONCE: usize = 4;
/// Views the process runs at once; one more is refused with 429.
pub const SPREADS_AT_ONCE: usize = 2;
/// The whole view's time: calls not answered by then count as failed.
pub const SPREAD_BUDGET: Duration = Duration::from_secs(5);

/// Why a view was not made.
#[derive(Debug, thiserror::Error)]
pub enum SpreadError {
    #[error("{SPREADS_AT_ONCE} spread views are already running; try again in a second")]
    Busy,
}

/// The `/spread` views of the whole process, at most [`SPREADS_AT_ONCE`] at once.
/// Cheap to clone; clones (one per server worker) share the cap.
#[derive(Debug, Clone)]
pub struct Spreads(Arc<Semaphore>);

impl Default for Spreads {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(SPREADS_AT_ONCE)))
    }
}

/// What one call came to.
enum Outcome {
    Answered {
        pod: String,
        node: String,
        latency: Duration,
    },
    Failed(String),
}

impl Spreads {
    /// Calls `service` `calls` times (capped at [`MAX_SPREAD_CALLS`]) through
    /// `backends`, at the URL the page calls it at, and counts the answers per pod.
    pub async fn view(
        &self,
        backends: &Backends,
        service: Service,
        calls: u32,
        mode: SpreadMode,
        context: &CallContext,
    ) -> Result<Spread, SpreadError> {
        let _permit = self
            .0
            .clone()
            .try_acquire_owned()
            .map_err(|_| SpreadError::Busy)?;
        let calls = calls.clamp(1, MAX_SPREAD_CALLS);
        let started = Instant::now();
        let deadline = started + SPREAD_BUDGET;
        // Pool idle zero: a connection is closed after its one call. Otherwise a client
        // of this view's own, whose one connection is not shared with the page's calls.
        let (pool_idle, lanes) = match mode {
            SpreadMode::NewConnection => (Duration::ZERO, CALLS_AT_ONCE),
            SpreadMode::Reuse => (SPREAD_BUDGET, 1),
        };
        let caller = backends.with_own_client(pool_idle);
        let next = AtomicU32::new(0);
        let outcomes = RefCell::new(Vec::with_capacity(calls as usize));
        let lane =
            || async {
                while next.fetch_add(1, Ordering::Relaxed) < calls {
                    let outcome =
                        match tokio::time::timeout_at(deadline, call(&caller, service, context))
                            .await
                        {
                            Ok(outcome) => outcome,
                            Err(_) => Outcome::Failed(format!(
                                "not answered within the view's {}s budget",
                                SPREAD_BUDGET.as_secs()
                            )),
                        };
                    outcomes.borrow_mut().push(outcome);
                }
            };
        join_all((0..lanes.min(calls as usize)).map(|_| lane())).await;
        Ok(summarize(
            service,
            backends.page_endpoint(service).url().as_str(),
            mode,
            calls,
            outcomes.into_inner(),
            started.elapsed(),
        ))
    }
}

/// One timed call; any answer but a 2xx counts as failed, with the pod named.
async fn call(backends: &Backends, service: Service, context: &CallContext) -> Outcome {
    let started = Instant::now();
    match backends.who_answers(service, context).await {
        Ok(served_by) => Outcome::Answered {
            pod: served_by.pod,
            node: served_by.node,
            latency: started.elapsed(),
        },
        Err(error) => Outcome::Failed(error.cause.to_string()),
    }
}

/// The view: answers per pod (by name), failures per cause (most first), latencies.
fn summarize(
    service: Service,
    url: &str,
    mode: SpreadMode,
    calls: u32,
    outcomes: Vec<Outcome>,
    elapsed: Duration,
) -> Spread {
    let mut by_pod: BTreeMap<(String, String), Vec<Duration>> = BTreeMap::new();
    let mut by_cause: BTreeMap<String, u32> = BTreeMap::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Answered { pod, node, latency } => {
                by_pod.entry((pod, node)).or_default().push(latency)
            }
            Outcome::Failed(cause) => *by_cause.entry(cause).or_default() += 1,
        }
    }
    let all: Vec<Duration> = by_pod.values().flatten().copied().collect();
    let pods: Vec<PodCalls> = by_pod
        .into_iter()
        .map(|((pod, node), latencies)| PodCalls {
            pod,
            node,
            calls: latencies.len() as u32,
            latency_ms: latency_summary(latencies).expect("a pod in the map answered a call"),
        })
        .collect();
    let mut errors: Vec<ErrorCalls> = by_cause
        .into_iter()
        .map(|(cause, calls)| ErrorCalls { cause, calls })
        .collect();
    errors.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.cause.cmp(&b.cause)));
    Spread {
        service: service.name().to_owned(),
        url: url.to_owned(),
        mode,
        summary: mode_sentence(mode, calls),
        calls,
        answered: all.len() as u32,
        pods,
        errors,
        latency_ms: latency_summary(all),
        elapsed_ms: milliseconds(elapsed),
    }
}

/// What the mode shows, in one sentence.
fn mode_sentence(mode: SpreadMode, calls: u32) -> String {
    match mode {
        SpreadMode::NewConnection => format!(
            "Each of the {calls} calls opened a new connection, so the Service chose a pod for every call."
        ),
        SpreadMode::Reuse => format!(
            "All {calls} calls went over one kept-alive connection, so the Service chose a pod \
             only once: it balances connections, not requests."
        ),
    }
}

/// Min, median, 90th percentile (nearest rank) and max; `None` for no latencies.
fn latency_summary(mut latencies: Vec<Duration>) -> Option<LatencySummary> {
    latencies.sort_unstable();
    let rank = |fraction: f64| {
        let index = (fraction * latencies.len() as f64).ceil() as usize;
        milliseconds(latencies[index.clamp(1, latencies.len()) - 1])
    };
    Some(LatencySummary {
        min: milliseconds(*latencies.first()?),
        median: rank(0.5),
        p90: rank(0.9),
        max: milliseconds(*latencies.last()?),
    })
}

/// Milliseconds, to the microsecond.
fn milliseconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn latency_summary_uses_nearest_ranks() {
        let summary = latency_summary(ms(&[5, 1, 4, 2, 3, 10, 9, 8, 7, 6])).unwrap();
        assert_eq!(
            summary,
            LatencySummary {
                min: 1.0,
                median: 5.0,
                p90: 9.0,
                max: 10.0
            }
        );
        let one = latency_summary(ms(&[7])).unwrap();
        assert_eq!(
            (one.min, one.median, one.p90, one.max),
            (7.0, 7.0, 7.0, 7.0)
        );
        assert_eq!(latency_summary(Vec::new()), None);
    }

    #[test]
    fn outcomes_are_counted_per_pod_and_per_cause() {
        let answered = |pod: &str, latency: u64| Outcome::Answered {
            pod: pod.into(),
            node: "node-1".into(),
            latency: Duration::from_millis(latency),
        };
        let spread = summarize(
            Service::Quote,
            "http://quote/quote",
            SpreadMode::NewConnection,
            6,
            vec![
                answered("quote-b", 2),
                Outcome::Failed("could not be reached: refused".into()),
                answered("quote-a", 1),
                answered("quote-b", 4),
                Outcome::Failed("did not answer within 2s".into()),
                Outcome::Failed("did not answer within 2s".into()),
            ],
            Duration::from_micros(12_345_678),
        );
        let pods: Vec<(&str, u32)> = spread
            .pods
            .iter()
            .map(|p| (p.pod.as_str(), p.calls))
            .collect();
        assert_eq!(pods, [("quote-a", 1), ("quote-b", 2)]);
        assert_eq!(spread.pods[1].latency_ms.max, 4.0);
        let errors: Vec<(&str, u32)> = spread
            .errors
            .iter()
            .map(|e| (e.cause.as_str(), e.calls))
            .collect();
        assert_eq!(
            errors,
            [
                ("did not answer within 2s", 2),
                ("could not be reached: refused", 1)
            ]
        );
        assert_eq!((spread.calls, spread.answered), (6, 3));
        assert_eq!(spread.elapsed_ms, 12345.678);
        assert_eq!(
            spread.summary,
            "Each of the 6 calls opened a new connection, so the Service chose a pod for every call."
        );
    }
}
