//! Watching what a Service does, shared by the checks: request loops from the client
//! pod and the pods that answered them, and a pod's endpoint in the EndpointSlices.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::*;
use crate::endpoints::{self, EndpointState};
use crate::parse::{self};
use crate::shell::{self, Tally};

/// Between two looks at the EndpointSlices or the pods.
pub(super) const POLL: Duration = Duration::from_millis(250);
/// Consecutive failed API calls after which a poll gives up.
pub(super) const MAX_FAILED_POLLS: u32 = 3;
/// Requests per round when watching where a Service sends traffic.
pub(super) const ROUND: u32 = 20;
/// Rounds in a row (of [`ROUND`] requests) that must miss a pod before it counts as
/// out of the Service's traffic: with five pods, a pod still in the rotation is missed
/// by 60 requests with a chance of 0.8^60, about 1.5 in a million.
pub(super) const ROUNDS_WITHOUT: usize = 3;
/// At most this many rounds in a wait for a pod to get or to lose traffic.
pub(super) const MAX_ROUNDS: usize = 15;

impl Run<'_> {
    /// Runs a request loop in the client pod (one line per request).
    pub(super) async fn requests(
        &self,
        pod: &str,
        url: &str,
        count: u32,
    ) -> Result<String, String> {
        let timeout = Duration::from_secs(u64::from(count) * 6 + 20);
        self.cluster
            .exec(pod, &shell::request_loop(url, count), timeout)
            .await
            .map_err(|e| format!("{e:#}"))
    }

    /// Sends single requests from the client pod until quiz's identity line comes back
    /// (a new Service or endpoint takes a moment to be programmed), bounded.
    pub(super) async fn quiz_answers(&self, url: &str) -> Result<String, String> {
        let deadline = Instant::now() + self.short();
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.requests(CLIENT, url, 1).await {
                Ok(out) => {
                    if let Some(pod) = out.lines().find_map(parse::quiz_identity) {
                        return Ok(pod);
                    }
                    last = format!("answer: {:?}", out.trim());
                }
                // The exec itself failed (an API problem, not a Service one).
                Err(error) => return Err(error),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        Err(format!(
            "{url} gave no quiz identity line within {} s ({last})",
            self.short().as_secs()
        ))
    }

    /// Sends rounds of 10 requests from the client pod until exactly the pods in
    /// `want` answer (a Service change takes a moment to reach every node), bounded.
    pub(super) async fn quiz_pods_answering(
        &self,
        url: &str,
        want: &BTreeSet<String>,
    ) -> Result<shell::Tally, String> {
        let deadline = Instant::now() + self.short();
        let mut combined = shell::Tally::default();
        let mut last_bad = "none".to_owned();
        loop {
            let out = self.requests(CLIENT, url, 10).await?;
            let tally = shell::tally_quiz_lines(&out);
            let seen: BTreeSet<String> = tally.pods.keys().cloned().collect();
            if tally.no_answer == 0 && tally.unexpected.is_empty() && seen.is_subset(want) {
                for (pod, n) in tally.pods {
                    *combined.pods.entry(pod).or_default() += n;
                }
                let seen: BTreeSet<String> = combined.pods.keys().cloned().collect();
                if seen == *want {
                    return Ok(combined);
                }
            } else {
                // Stale routing (or no answer yet): start counting afresh.
                last_bad = tally.describe();
                combined = shell::Tally::default();
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{url}: expected answers from exactly {want:?}, got {} (last incomplete round: {last_bad})",
                    combined.describe()
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Polls the Service's EndpointSlices every [`POLL`] until `done` holds for the
    /// pod's endpoint (`None`: no slice lists it), at most `timeout`. Returns the
    /// endpoint and when `done` was first seen to hold.
    pub(super) async fn wait_endpoint(
        &self,
        service: &str,
        pod: &str,
        timeout: Duration,
        waiting_for: &str,
        done: impl Fn(Option<&EndpointState>) -> bool,
    ) -> Result<(Option<EndpointState>, Instant), String> {
        let started = Instant::now();
        let max_polls = timeout.as_millis() / POLL.as_millis() + 1;
        let mut failed_polls = 0;
        let mut last = None;
        for _ in 0..max_polls {
            match self.cluster.endpoint_slices(service).await {
                Ok(slices) => {
                    failed_polls = 0;
                    let state = endpoints::pod_endpoint(&slices, pod);
                    if done(state.as_ref()) {
                        return Ok((state, Instant::now()));
                    }
                    last = state;
                }
                Err(error) => {
                    failed_polls += 1;
                    if failed_polls >= MAX_FAILED_POLLS {
                        return Err(format!("{waiting_for}: {error:#}"));
                    }
                }
            }
            if started.elapsed() >= timeout {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!(
            "{waiting_for}: after {} the EndpointSlices of Service {service} still show {}",
            seconds(started.elapsed()),
            endpoints::describe_pod_endpoint(pod, last.as_ref())
        ))
    }

    /// Rounds of [`ROUND`] requests to `url` from the client pod until `pod` answers
    /// one (at most [`MAX_ROUNDS`] rounds and `short()`); the tally of all rounds.
    pub(super) async fn until_pod_answers(&self, url: &str, pod: &str) -> Result<Tally, String> {
        let deadline = Instant::now() + self.short();
        let mut combined = Tally::default();
        for _ in 0..MAX_ROUNDS {
            let tally = shell::tally_quote_lines(&self.requests(CLIENT, url, ROUND).await?);
            for (name, n) in tally.pods {
                *combined.pods.entry(name).or_default() += n;
            }
            combined.no_answer += tally.no_answer;
            combined.unexpected.extend(tally.unexpected);
            if combined.pods.contains_key(pod) || Instant::now() >= deadline {
                break;
            }
        }
        if combined.pods.contains_key(pod) {
            Ok(combined)
        } else {
            Err(format!(
                "{url} never reached {pod}: {}",
                combined.describe()
            ))
        }
    }

    /// Rounds of [`ROUND`] requests to `url` until [`ROUNDS_WITHOUT`] rounds in a row
    /// were all answered and none by `pod` (at most [`MAX_ROUNDS`] rounds and
    /// `short()`). Returns how many requests went before that streak, and its tally.
    pub(super) async fn until_pod_left(
        &self,
        url: &str,
        pod: &str,
    ) -> Result<(usize, Tally), String> {
        let deadline = Instant::now() + self.short();
        let mut before = 0;
        let mut streak: Vec<Tally> = Vec::new();
        let mut last_bad = String::from("none");
        for _ in 0..MAX_ROUNDS {
            let tally = shell::tally_quote_lines(&self.requests(CLIENT, url, ROUND).await?);
            let clean = tally.answered() == ROUND as usize
                && tally.no_answer == 0
                && tally.unexpected.is_empty()
                && !tally.pods.contains_key(pod);
            if clean {
                streak.push(tally);
                if streak.len() == ROUNDS_WITHOUT {
                    let mut combined = Tally::default();
                    for round in streak {
                        for (name, n) in round.pods {
                            *combined.pods.entry(name).or_default() += n;
                        }
                    }
                    return Ok((before, combined));
                }
            } else {
                // Still reaching the pod (or not answering): the streak starts again.
                before += streak.iter().map(Tally::answered).sum::<usize>() + ROUND as usize;
                streak.clear();
                last_bad = tally.describe();
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        Err(format!(
            "{url} still reached {pod} (or failed) after {before} requests; last such round: {last_bad}"
        ))
    }
}
