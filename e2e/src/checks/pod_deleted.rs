//! Pods leaving a Service by deletion: the quote Service keeps answering after a quote
//! pod is deleted (`quote-pod-deleted`), and a kiada pod deleted with its default grace
//! period under load loses no request (`kiada-pod-deleted`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::api::DeleteParams;

use super::objects::env_value;
use super::traffic::*;
use super::*;
use crate::endpoints::{self, EndpointState};
use crate::manifest::{self, Manifest};
use crate::poll::{FailedInARow, Poller};
use crate::shell::{self, LoadLine, LoadTally};

/// The temporary kiada pod that is deleted under load.
pub(super) const DOOMED_KIADA: &str = "kiada-drain";
/// The load: at most this long and this many requests, in rounds of one curl process
/// that sends [`LOAD_BATCH`] requests one after the other, with a pause after each.
const LOAD_SECONDS: u32 = 30;
const LOAD_MAX_REQUESTS: u32 = 6000;
const LOAD_BATCH: u32 = 10;
const LOAD_PAUSE_MS: u32 = 20;
/// Answers the doomed pod must have given in the load before it is deleted, and how
/// long the load may take to get them.
const SERVED_BEFORE_DELETE: usize = 3;
const SERVED_WAIT: Duration = Duration::from_secs(20);
/// Answers that must arrive after the pod is gone: proof that the load outlasted the
/// whole deletion.
const ANSWERS_AFTER_GONE: usize = 5;

/// When a deletion happened, seen from the suite.
struct Deletion {
    delete_at: Instant,
    /// When the pod's endpoint first was out of the ready set, and how it looked.
    unready: Option<(Instant, Option<EndpointState>)>,
    gone_at: Instant,
}

impl Run<'_> {
    pub(super) async fn quote_pod_deleted(&self) -> Result<String, String> {
        let victim = "quote-002";
        self.cluster
            .delete_pod(victim, Duration::from_secs(90))
            .await
            .map_err(reason)?;
        let what = format!("20 of 20 answers from the other quote pods after deleting {victim}");
        let mut poller = Poller::new(what, Duration::from_secs(2), self.short());
        // Every pod that answers must be one of the other quote pods.
        let others = |pod: &String| pod != victim && QUOTE_PODS.contains(&pod.as_str());
        loop {
            let out = self.requests(CLIENT, "http://quote/", 20).await?;
            let tally = shell::tally_quote_lines(&out);
            if tally.is_clean() && tally.answered() == 20 && tally.pods.keys().all(others) {
                return Ok(format!(
                    "{victim} deleted; 20/20 answered: {}",
                    tally.describe()
                ));
            }
            poller.again(tally.describe()).await?;
        }
    }

    /// The `kiada-pod-deleted` check: a temporary kiada pod is deleted with its
    /// default grace period while a load runs through the kiada Service. The table's
    /// cleanup deletes the pod afterwards, whatever happened.
    pub(super) async fn kiada_pod_deleted(&self) -> Result<String, String> {
        let template = self.objects.get("Pod", KIADA_POD).map_err(reason)?;
        let doomed = manifest::renamed_pod(template, DOOMED_KIADA).map_err(reason)?;
        self.delete_under_load(&doomed).await
    }

    async fn delete_under_load(&self, doomed: &Manifest) -> Result<String, String> {
        let name = doomed.name();
        let spec = doomed.as_pod().map_err(reason)?.spec.unwrap_or_default();
        let grace = spec.termination_grace_period_seconds.unwrap_or(30);
        let drain = env_value(doomed, "SHUTDOWN_DRAIN_SECONDS")
            .map_err(reason)?
            .unwrap_or_else(|| "0".into());
        self.ready_in_service(doomed, "kiada").await?;

        let url = "http://kiada/text";
        let script = shell::load_loop(
            url,
            LOAD_SECONDS,
            LOAD_MAX_REQUESTS,
            LOAD_BATCH,
            LOAD_PAUSE_MS,
        );
        let lines = Mutex::new(Vec::new());
        let load_started = Instant::now();
        let load_bound = Duration::from_secs(u64::from(LOAD_SECONDS) + 30);
        let (load, deletion) = tokio::join!(
            self.cluster.exec_lines(CLIENT, &script, load_bound, &lines),
            self.delete_while_loaded(name, grace, &lines)
        );
        let load_took = load_started.elapsed();
        let deletion = deletion?;
        load.map_err(|e| format!("the load in the client pod: {e:#}"))?;

        let lines = lines.into_inner().unwrap_or_default();
        let [mut all, mut before, mut during, mut after]: [LoadTally; 4] = Default::default();
        let mut reported = None;
        let mut other = Vec::new();
        for (at, line) in &lines {
            match shell::load_line(line) {
                LoadLine::Answer(answer) => {
                    all.add(&answer);
                    if *at < deletion.delete_at {
                        before.add(&answer);
                    } else if *at <= deletion.gone_at {
                        during.add(&answer);
                    } else {
                        after.add(&answer);
                    }
                }
                LoadLine::End(count) => reported = Some(count),
                LoadLine::Other(line) if line.trim().is_empty() => {}
                LoadLine::Other(line) => other.push(line),
            }
        }
        if !other.is_empty() {
            return Err(format!(
                "the load printed {} unexpected lines, first: {:?}",
                other.len(),
                other[0]
            ));
        }
        if reported != Some(all.requests) {
            return Err(format!(
                "the load reports {reported:?} requests but printed {} answers",
                all.requests
            ));
        }
        let unready = match &deletion.unready {
            Some((at, state)) => format!(
                "its endpoint out of the ready set {} after the delete ({})",
                seconds(*at - deletion.delete_at),
                match state {
                    Some(state) => format!(
                        "ready={} serving={} terminating={}",
                        state.ready.unwrap_or(true),
                        state.serving.unwrap_or(true),
                        state.terminating.unwrap_or(false)
                    ),
                    None => "in no slice".to_owned(),
                }
            ),
            None => "its endpoint never seen out of the ready set".to_owned(),
        };
        let timeline = format!(
            "deleted {} into a {} load, {unready}, pod gone {} after the delete",
            seconds(deletion.delete_at - load_started),
            seconds(load_took),
            seconds(deletion.gone_at - deletion.delete_at)
        );
        if all.failed() > 0 {
            return Err(format!(
                "{} of {} requests to {url} failed; before the delete: {}; from the delete until the pod was gone: {}; after: {}; {timeline}",
                all.failed(),
                all.requests,
                before.describe(),
                during.describe(),
                after.describe()
            ));
        }
        if before.served_by(name) == 0 {
            return Err(format!(
                "{name} served none of the requests before it was deleted: the deletion proves nothing ({})",
                before.describe()
            ));
        }
        if after.requests < ANSWERS_AFTER_GONE {
            return Err(format!(
                "only {} requests came after the pod was gone (want {ANSWERS_AFTER_GONE}): the load did not outlast the deletion; {timeline}",
                after.requests
            ));
        }
        Ok(format!(
            "GET {url} through the kiada Service: {} requests, {} failed, {} from the delete until the pod was gone; {name} (grace period {grace} s, SHUTDOWN_DRAIN_SECONDS {drain}) {timeline}; it served {} before the delete and {} after; {}",
            all.requests,
            all.failed(),
            during.requests,
            before.served_by(name),
            during.served_by(name) + after.served_by(name),
            all.describe()
        ))
    }

    /// Waits until the doomed pod has answered some of the load, deletes it (default
    /// grace period), and waits until it is gone, noting when its endpoint left the
    /// ready set.
    async fn delete_while_loaded(
        &self,
        name: &str,
        grace: i64,
        lines: &Mutex<Vec<(Instant, String)>>,
    ) -> Result<Deletion, String> {
        let what = format!(
            "{name} answering {SERVED_BEFORE_DELETE} of the load's requests (else it is not getting traffic through the kiada Service)"
        );
        let mut poller = Poller::new(what, Duration::from_millis(100), SERVED_WAIT);
        loop {
            // The load's answers so far.
            let mut tally = LoadTally::default();
            for (_, line) in lines.lock().iter().flat_map(|lines| lines.iter()) {
                if let LoadLine::Answer(answer) = shell::load_line(line) {
                    tally.add(&answer);
                }
            }
            let (by_pod, total) = (tally.served_by(name), tally.requests);
            if by_pod >= SERVED_BEFORE_DELETE {
                break;
            }
            let seen = format!("{by_pod} of the load's first {total} requests");
            poller.again(seen).await?;
        }
        let delete_at = Instant::now();
        self.cluster
            .pods()
            .delete(name, &DeleteParams::default())
            .await
            .map_err(|e| format!("deleting pod {name}: {:#}", api_error(e)))?;
        let bound = Duration::from_secs(u64::try_from(grace).unwrap_or(30) + 30);
        let mut poller = Poller::new(format!("pod {name} gone after the delete"), POLL, bound);
        let mut failures = FailedInARow::new(MAX_FAILED_POLLS);
        let mut unready = None;
        loop {
            if unready.is_none()
                && let Ok(slices) = self.cluster.endpoint_slices("kiada").await
            {
                let state = endpoints::pod_endpoint(&slices, name);
                if !state.as_ref().is_some_and(EndpointState::is_ready) {
                    unready = Some((Instant::now(), state));
                }
            }
            let pod = failures
                .tolerate(self.cluster.pods().get_opt(name).await)
                .map_err(|e| format!("waiting for {name} to go: {:#}", api_error(e)))?;
            if let Some(None) = pod {
                return Ok(Deletion {
                    delete_at,
                    unready,
                    gone_at: Instant::now(),
                });
            }
            poller.again("still there").await?;
        }
    }
}
