//! Watching what a Service does, shared by the checks: request loops from the client
//! pod and the pods that answered them, and a pod's endpoint in the EndpointSlices.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::*;
use crate::endpoints::{self, EndpointState};
use crate::parse;
use crate::poll::{FailedInARow, Poller};
use crate::shell::{self, Tally};
use crate::summary::one_line;

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
pub(super) const MAX_ROUNDS: u32 = 15;

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

    /// Runs `script` in `pod` until `read` accepts what it printed (its `Err`: what
    /// the try saw instead), as long as `poller` allows.
    pub(super) async fn exec_until<T>(
        &self,
        pod: &str,
        script: &str,
        mut poller: Poller,
        read: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, String> {
        loop {
            match read(&self.exec(pod, script).await?) {
                Ok(value) => return Ok(value),
                Err(seen) => poller.again(seen).await?,
            }
        }
    }

    /// Sends single requests from the client pod until quiz's identity line comes back
    /// (a new Service or endpoint takes a moment to be programmed), bounded.
    pub(super) async fn quiz_answers(&self, url: &str) -> Result<String, String> {
        let what = format!("quiz's identity line from {url}");
        let mut poller = Poller::new(what, Duration::from_secs(2), self.short());
        loop {
            // An error is the exec itself failing (an API problem, not a Service one).
            let out = self.requests(CLIENT, url, 1).await?;
            if let Some(pod) = out.lines().find_map(parse::quiz_identity) {
                return Ok(pod);
            }
            poller.again(format!("answer: {:?}", out.trim())).await?;
        }
    }

    /// Sends single requests to `url` from the client pod until a quote pod answers (a
    /// new Service takes a moment to be programmed on the node), every 2 s, at most
    /// `short()` and `tries` requests.
    pub(super) async fn until_quote_answers(&self, url: &str, tries: u32) -> Result<(), String> {
        let what = format!("an answer from a quote pod at {url}");
        let mut poller = Poller::new(what, Duration::from_secs(2), self.short()).tries(tries);
        loop {
            let out = self.requests(CLIENT, url, 1).await?;
            if shell::tally_quote_lines(&out).answered() == 1 {
                return Ok(());
            }
            poller.again(one_line(&out)).await?;
        }
    }

    /// Sends rounds of 10 requests from the client pod until exactly the pods in
    /// `want` answer (a Service change takes a moment to reach every node), bounded.
    pub(super) async fn quiz_pods_answering(
        &self,
        url: &str,
        want: &BTreeSet<String>,
    ) -> Result<Tally, String> {
        let what = format!("{url}: answers from exactly {want:?}");
        let mut poller = Poller::new(what, Duration::from_secs(1), self.short());
        let mut combined = Tally::default();
        let mut last_bad = "none".to_owned();
        loop {
            let out = self.requests(CLIENT, url, 10).await?;
            let tally = shell::tally_quiz_lines(&out);
            if tally.is_clean() && tally.seen().is_subset(want) {
                combined.merge(tally);
                if combined.seen() == *want {
                    return Ok(combined);
                }
            } else {
                // Stale routing (or no answer yet): start counting afresh.
                last_bad = tally.describe();
                combined = Tally::default();
            }
            let seen = format!(
                "{} (last incomplete round: {last_bad})",
                combined.describe()
            );
            poller.again(seen).await?;
        }
    }

    /// Creates the pod `object` and waits until it is Ready and ready in the
    /// EndpointSlices of `service`; its endpoint there.
    pub(super) async fn ready_in_service(
        &self,
        object: &crate::manifest::Manifest,
        service: &str,
    ) -> Result<Option<EndpointState>, String> {
        let pod = object.name();
        self.start_pod(object).await?;
        let waiting_for = format!("waiting for the ready pod {pod} in the {service} Service");
        let (state, _) = self
            .wait_endpoint(service, pod, self.short(), &waiting_for, |state| {
                state.is_some_and(EndpointState::is_ready)
            })
            .await?;
        Ok(state)
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
        let mut poller = Poller::new(waiting_for, POLL, timeout);
        let mut failures = FailedInARow::new(MAX_FAILED_POLLS);
        let mut last = "no answer from the API server yet".to_owned();
        loop {
            let slices = failures
                .tolerate(self.cluster.endpoint_slices(service).await)
                .map_err(|error| format!("{waiting_for}: {error:#}"))?;
            if let Some(slices) = slices {
                let state = endpoints::pod_endpoint(&slices, pod);
                if done(state.as_ref()) {
                    return Ok((state, Instant::now()));
                }
                last = format!(
                    "the EndpointSlices of Service {service} show {}",
                    endpoints::describe_pod_endpoint(pod, state.as_ref())
                );
            }
            poller.again(last.clone()).await?;
        }
    }

    /// Rounds of [`ROUND`] requests to `url` from the client pod until `pod` answers
    /// one (at most [`MAX_ROUNDS`] rounds and `short()`); the tally of all rounds.
    pub(super) async fn until_pod_answers(&self, url: &str, pod: &str) -> Result<Tally, String> {
        let what = format!("{url} reaching {pod}");
        let mut poller = Poller::new(what, Duration::ZERO, self.short()).tries(MAX_ROUNDS);
        let mut combined = Tally::default();
        loop {
            combined.merge(shell::tally_quote_lines(
                &self.requests(CLIENT, url, ROUND).await?,
            ));
            if combined.pods.contains_key(pod) {
                return Ok(combined);
            }
            poller.again(combined.describe()).await?;
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
        let what = format!("{url} answering, none by {pod}, {ROUNDS_WITHOUT} rounds in a row");
        let mut poller = Poller::new(what, Duration::ZERO, self.short()).tries(MAX_ROUNDS);
        let mut before = 0;
        let mut streak: Vec<Tally> = Vec::new();
        let mut last_bad = String::from("none");
        loop {
            let tally = shell::tally_quote_lines(&self.requests(CLIENT, url, ROUND).await?);
            if tally.is_clean()
                && tally.answered() == ROUND as usize
                && !tally.pods.contains_key(pod)
            {
                streak.push(tally);
                if streak.len() == ROUNDS_WITHOUT {
                    let mut combined = Tally::default();
                    streak.into_iter().for_each(|round| combined.merge(round));
                    return Ok((before, combined));
                }
            } else {
                // Still reaching the pod (or not answering): the streak starts again.
                before += streak.iter().map(Tally::answered).sum::<usize>() + ROUND as usize;
                streak.clear();
                last_bad = tally.describe();
            }
            let seen =
                format!("{before} requests reached it or failed; last such round: {last_bad}");
            poller.again(seen).await?;
        }
    }
}
