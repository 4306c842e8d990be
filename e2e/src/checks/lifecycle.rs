//! Pods entering and leaving a Service on the real cluster: readiness switched off and
//! on through quote's probe controls (the EndpointSlices and the traffic watched), a
//! Service with `publishNotReadyAddresses: true`, and a kiada pod deleted while a load
//! runs through the kiada Service.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use kube::api::DeleteParams;

use super::{CLIENT, KIADA_POD, Run};
use crate::cluster::is_ready;
use crate::endpoints::{self, EndpointState};
use crate::http::Request;
use crate::manifest::{self, Manifest};
use crate::shell::{self, LoadLine, LoadTally, Tally};

/// The variant with the quote pod that has probe controls and the Service that
/// publishes it whether ready or not.
pub(super) const PUBLISH_NOT_READY_FILE: &str = "variants/svc-quote-publish-not-ready.yaml";

/// How long the forced readiness failure lasts unless it is cleared first: longer
/// than the checks need, and it ends by itself if the run is interrupted.
const FORCED_FAILURE_SECONDS: u32 = 300;

/// Between two looks at the EndpointSlices or the pods.
const POLL: Duration = Duration::from_millis(250);
/// Consecutive failed API calls after which a poll gives up.
const MAX_FAILED_POLLS: u32 = 3;
/// Requests per round when watching where a Service sends traffic.
const ROUND: u32 = 20;
/// Rounds in a row (of [`ROUND`] requests) that must miss a pod before it counts as
/// out of the Service's traffic: with five pods, a pod still in the rotation is missed
/// by 60 requests with a chance of 0.8^60, about 1.5 in a million.
const ROUNDS_WITHOUT: usize = 3;
/// At most this many rounds in a wait for a pod to get or to lose traffic.
const MAX_ROUNDS: usize = 15;

/// The temporary kiada pod that is deleted under load.
const DOOMED_KIADA: &str = "kiada-drain";
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

/// Reads the variant file: exactly one Pod with `PROBE_CONTROLS_ENABLED=true` and one
/// Service with `publishNotReadyAddresses: true` whose selector picks that pod.
pub(super) fn load_publish_not_ready(path: &Path) -> Result<(Manifest, Manifest)> {
    let objects = manifest::load_file(path)?;
    let ids: Vec<String> = objects.iter().map(Manifest::id).collect();
    let pods: Vec<&Manifest> = objects.iter().filter(|m| m.kind() == "Pod").collect();
    let services: Vec<&Manifest> = objects.iter().filter(|m| m.kind() == "Service").collect();
    let (&[pod], &[service]) = (pods.as_slice(), services.as_slice()) else {
        bail!(
            "{} should hold one Pod and one Service, holds {ids:?}",
            path.display()
        );
    };
    if objects.len() != 2 {
        bail!(
            "{} should hold one Pod and one Service, holds {ids:?}",
            path.display()
        );
    }
    if env_value(pod, "PROBE_CONTROLS_ENABLED")?.as_deref() != Some("true") {
        bail!(
            "{} in {} does not set PROBE_CONTROLS_ENABLED=true",
            pod.id(),
            path.display()
        );
    }
    let spec = service.as_service()?.spec.unwrap_or_default();
    if spec.publish_not_ready_addresses != Some(true) {
        bail!(
            "{} in {} does not set publishNotReadyAddresses: true",
            service.id(),
            path.display()
        );
    }
    let labels = pod.object.metadata.labels.clone().unwrap_or_default();
    let selector = spec.selector.unwrap_or_default();
    if selector.is_empty() || !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        bail!(
            "the selector of {} ({selector:?}) does not pick {} in {}",
            service.id(),
            pod.id(),
            path.display()
        );
    }
    Ok((pod.clone(), service.clone()))
}

/// The value of a plain environment variable of the pod's first container.
fn env_value(pod: &Manifest, name: &str) -> Result<Option<String>> {
    let spec = pod.as_pod()?.spec.unwrap_or_default();
    Ok(spec
        .containers
        .first()
        .and_then(|c| c.env.as_ref())
        .and_then(|env| env.iter().find(|e| e.name == name))
        .and_then(|e| e.value.clone()))
}

/// The number of the pod's container port named `http`.
fn http_port(pod: &Manifest) -> Result<u16, String> {
    let spec = pod
        .as_pod()
        .map_err(super::reason)?
        .spec
        .unwrap_or_default();
    spec.containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some("http"))
        .and_then(|p| u16::try_from(p.container_port).ok())
        .ok_or_else(|| format!("{} has no container port named http", pod.id()))
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

/// When a deletion happened, seen from the suite.
struct Deletion {
    delete_at: Instant,
    /// When the pod's endpoint first was out of the ready set, and how it looked.
    unready: Option<(Instant, Option<EndpointState>)>,
    gone_at: Instant,
}

impl Run<'_> {
    /// Polls the Service's EndpointSlices every [`POLL`] until `done` holds for the
    /// pod's endpoint (`None`: no slice lists it), at most `timeout`. Returns the
    /// endpoint and when `done` was first seen to hold.
    async fn wait_endpoint(
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
    async fn until_pod_answers(&self, url: &str, pod: &str) -> Result<Tally, String> {
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
    async fn until_pod_left(&self, url: &str, pod: &str) -> Result<(usize, Tally), String> {
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

    /// One HTTP request to the probe pod through a port-forward.
    async fn to_probe_pod(&self, request: &Request) -> Result<crate::http::Response, String> {
        let pod = &self.objects.probe_pod;
        self.cluster
            .http_via_portforward(
                pod.name(),
                http_port(pod)?,
                request,
                None,
                Duration::from_secs(20),
            )
            .await
            .map_err(super::reason)
    }

    /// The `readiness` group: the probe pod joins quote, is switched unready, is seen
    /// through a publishNotReadyAddresses Service, and is switched ready again. Always
    /// removes the pod and the Service afterwards.
    pub(super) async fn readiness(&self) {
        const NAMES: [&str; 3] = [
            "readiness.off",
            "readiness.publish-not-ready",
            "readiness.on",
        ];
        let mut results: Vec<Result<String, String>> = Vec::new();
        match self.probe_pod_serving().await {
            Err(error) => {
                for _ in NAMES {
                    results.push(Err(format!("not run: {error}")));
                }
            }
            Ok(before) => {
                let off = self.readiness_off(&before).await;
                let off_passed = off.is_ok();
                results.push(off);
                if off_passed {
                    results.push(self.publish_not_ready().await);
                    results.push(self.readiness_on().await);
                } else {
                    for _ in 1..NAMES.len() {
                        results.push(Err("not run: readiness.off failed".into()));
                    }
                }
            }
        }
        let cleanup = async {
            self.cluster
                .delete_service(self.objects.publish_not_ready.name())
                .await?;
            self.cluster
                .delete_pod(self.objects.probe_pod.name(), Duration::from_secs(90))
                .await
        }
        .await;
        if let Err(error) = cleanup
            && let Some(last) = results.pop()
        {
            results.push(Err(match last {
                Ok(detail) => format!("cleanup failed: {error:#} (the check passed: {detail})"),
                Err(reason) => format!("{reason}; cleanup failed too: {error:#}"),
            }));
        }
        for (name, result) in NAMES.into_iter().zip(results) {
            if self.options.selected(name) {
                self.check(name, result);
            }
        }
    }

    /// Creates the probe pod and waits until it is ready in quote's EndpointSlice and
    /// answers requests to the quote Service.
    async fn probe_pod_serving(&self) -> Result<String, String> {
        let pod = self.objects.probe_pod.name();
        self.cluster
            .apply(&self.objects.probe_pod)
            .await
            .map_err(super::reason)?;
        self.cluster
            .wait_pods_ready(&[pod.to_owned()], self.options.timeout)
            .await
            .map_err(|e| format!("pod {pod}: {e:#}"))?;
        let (state, _) = self
            .wait_endpoint(
                "quote",
                pod,
                self.short(),
                &format!("waiting for the ready pod {pod} in the quote Service"),
                |state| state.is_some_and(EndpointState::is_ready),
            )
            .await?;
        let tally = self.until_pod_answers("http://quote/", pod).await?;
        Ok(format!(
            "before: {}, {} of {} requests to http://quote/ reached it",
            endpoints::describe_pod_endpoint(pod, state.as_ref()),
            tally.pods.get(pod).copied().unwrap_or(0),
            tally.answered()
        ))
    }

    /// Switches the probe pod's readiness off (a forced failure) or on (the failure
    /// cleared) through its admin endpoint, then sees the pod's own readiness answer,
    /// its endpoint in the quote Service's EndpointSlices and its Ready condition
    /// follow. Says what it saw and how long the EndpointSlice took.
    async fn switch_readiness(&self, ready: bool) -> Result<String, String> {
        let pod = self.objects.probe_pod.name();
        let (request, control_status, probe_status) = if ready {
            (
                Request::delete("/admin/probes/ready/fail", "application/json"),
                204,
                200,
            )
        } else {
            let path = format!("/admin/probes/ready/fail?seconds={FORCED_FAILURE_SECONDS}");
            (Request::post(&path, "application/json"), 200, 503)
        };
        let call = format!("{} {}", request.method, request.path);
        let response = self.to_probe_pod(&request).await?;
        if response.status != control_status {
            return Err(format!(
                "{call} on {pod} answered {}: {}",
                response.status,
                crate::summary::one_line(&response.body)
            ));
        }
        let switched = Instant::now();
        let probe = self
            .to_probe_pod(&Request::get("/healthz/ready", "text/plain"))
            .await?;
        if probe.status != probe_status {
            return Err(format!(
                "after {call}, /healthz/ready on {pod} answered {} ({})",
                probe.status,
                probe.body.trim()
            ));
        }
        let (state, seen) = self
            .wait_endpoint(
                "quote",
                pod,
                self.short(),
                &format!("waiting for {pod} to turn ready={ready} in quote's EndpointSlice"),
                |state| match state {
                    Some(state) => state.ready == Some(ready),
                    // In no slice at all is out of the ready set too.
                    None => !ready,
                },
            )
            .await?;
        let endpoint = endpoints::describe_pod_endpoint(pod, state.as_ref());
        if is_ready(&self.get_pod(pod).await?) != ready {
            return Err(format!(
                "the EndpointSlice shows {endpoint} but the pod's Ready condition is {}",
                !ready
            ));
        }
        Ok(format!(
            "{call}: /healthz/ready answers {probe_status}; {endpoint} after {} (pod Ready={})",
            seconds(seen - switched),
            if ready { "True" } else { "False" }
        ))
    }

    async fn readiness_off(&self, before: &str) -> Result<String, String> {
        let pod = self.objects.probe_pod.name();
        let switched = self.switch_readiness(false).await?;
        let (settling, streak) = self.until_pod_left("http://quote/", pod).await?;
        Ok(format!(
            "{switched}; http://quote/: {} requests in a row all answered, none by {pod} ({}; {settling} sent before that); {before}",
            streak.answered(),
            streak.describe(),
        ))
    }

    async fn publish_not_ready(&self) -> Result<String, String> {
        let pod = self.objects.probe_pod.name();
        let service = self.objects.publish_not_ready.name();
        self.cluster
            .apply(&self.objects.publish_not_ready)
            .await
            .map_err(super::reason)?;
        let created = Instant::now();
        let (state, seen) = self
            .wait_endpoint(
                service,
                pod,
                self.short(),
                &format!("waiting for the unready {pod} in Service {service}"),
                |state| state.is_some_and(|s| s.ready == Some(true)),
            )
            .await?;
        let unready = |what: &str, pod_object: &k8s_openapi::api::core::v1::Pod| {
            if is_ready(pod_object) {
                Err(format!("{pod} is Ready {what}: the check needs it unready"))
            } else {
                Ok(())
            }
        };
        unready("again", &self.get_pod(pod).await?)?;
        // The quote Service, at the same time, still leaves it out.
        let quote = self
            .cluster
            .endpoint_slices("quote")
            .await
            .map_err(super::reason)?;
        let in_quote = endpoints::pod_endpoint(&quote, pod);
        if in_quote.as_ref().is_some_and(EndpointState::is_ready) {
            return Err(format!(
                "the quote Service lists {} as ready again",
                endpoints::describe_pod_endpoint(pod, in_quote.as_ref())
            ));
        }
        let url = format!("http://{service}/");
        // A new Service takes a moment to be programmed on the node.
        let deadline = Instant::now() + self.short();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let out = self.requests(CLIENT, &url, 1).await?;
            if shell::tally_quote_lines(&out).answered() == 1 {
                break;
            }
            if Instant::now() >= deadline || attempts >= 30 {
                return Err(format!(
                    "{url} did not answer within {} ({attempts} attempts): {}",
                    seconds(self.short()),
                    crate::summary::one_line(&out)
                ));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let tally = shell::tally_quote_lines(&self.requests(CLIENT, &url, 10).await?);
        if tally.answered() != 10 || tally.pods.get(pod) != Some(&10) {
            return Err(format!(
                "expected 10 answers from {pod}, got {}",
                tally.describe()
            ));
        }
        unready("after the requests", &self.get_pod(pod).await?)?;
        Ok(format!(
            "Service {service} (publishNotReadyAddresses: true) lists {} {} after it was created, while the pod's Ready condition is False and quote lists it as {}; {url}: {}",
            endpoints::describe_pod_endpoint(pod, state.as_ref()),
            seconds(seen - created),
            match &in_quote {
                Some(state) => format!("ready={:?}", state.ready.unwrap_or(true)),
                None => "absent".to_owned(),
            },
            tally.describe()
        ))
    }

    async fn readiness_on(&self) -> Result<String, String> {
        let pod = self.objects.probe_pod.name();
        let switched = self.switch_readiness(true).await?;
        let tally = self.until_pod_answers("http://quote/", pod).await?;
        Ok(format!(
            "{switched}; http://quote/ reached it again: {}",
            tally.describe()
        ))
    }

    /// The `kiada-pod-deleted` check: a temporary kiada pod is deleted with its
    /// default grace period while a load runs through the kiada Service. The pod is
    /// gone afterwards, whatever happened.
    pub(super) async fn kiada_pod_deleted(&self) -> Result<String, String> {
        let template = self.objects.get("Pod", KIADA_POD).map_err(super::reason)?;
        let doomed = manifest::renamed_pod(template, DOOMED_KIADA).map_err(super::reason)?;
        let result = self.delete_under_load(&doomed).await;
        let cleanup = self
            .cluster
            .delete_pod(DOOMED_KIADA, Duration::from_secs(90))
            .await;
        match (result, cleanup) {
            (Ok(detail), Ok(())) => Ok(detail),
            (Ok(detail), Err(error)) => Err(format!(
                "cleanup failed: {error:#} (the check passed: {detail})"
            )),
            (Err(reason), _) => Err(reason),
        }
    }

    async fn delete_under_load(&self, doomed: &Manifest) -> Result<String, String> {
        let name = doomed.name();
        let spec = doomed
            .as_pod()
            .map_err(super::reason)?
            .spec
            .unwrap_or_default();
        let grace = spec.termination_grace_period_seconds.unwrap_or(30);
        let drain = env_value(doomed, "SHUTDOWN_DRAIN_SECONDS")
            .map_err(super::reason)?
            .unwrap_or_else(|| "0".into());
        self.cluster.apply(doomed).await.map_err(super::reason)?;
        self.cluster
            .wait_pods_ready(&[name.to_owned()], self.options.timeout)
            .await
            .map_err(|e| format!("pod {name}: {e:#}"))?;
        self.wait_endpoint(
            "kiada",
            name,
            self.short(),
            &format!("waiting for the ready pod {name} in the kiada Service"),
            |state| state.is_some_and(EndpointState::is_ready),
        )
        .await?;

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
        let (load, deletion) = tokio::join!(
            self.cluster.exec_lines(
                CLIENT,
                &script,
                Duration::from_secs(u64::from(LOAD_SECONDS) + 30),
                &lines
            ),
            self.delete_while_loaded(name, grace, &lines)
        );
        let load_took = load_started.elapsed();
        let deletion = deletion?;
        load.map_err(|e| format!("the load in the client pod: {e:#}"))?;

        let lines = lines.into_inner().unwrap_or_default();
        let (mut all, mut before, mut during, mut after) = (
            LoadTally::default(),
            LoadTally::default(),
            LoadTally::default(),
            LoadTally::default(),
        );
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
        // (answers by the pod, answers) so far.
        let served = |lines: &Mutex<Vec<(Instant, String)>>| -> (usize, usize) {
            let mut tally = LoadTally::default();
            if let Ok(lines) = lines.lock() {
                for (_, line) in lines.iter() {
                    if let LoadLine::Answer(answer) = shell::load_line(line) {
                        tally.add(&answer);
                    }
                }
            }
            (tally.served_by(name), tally.requests)
        };
        let started = Instant::now();
        let max_polls = SERVED_WAIT.as_millis() / 100 + 1;
        for _ in 0..max_polls {
            if served(lines).0 >= SERVED_BEFORE_DELETE || started.elapsed() >= SERVED_WAIT {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (by_pod, total) = served(lines);
        if by_pod < SERVED_BEFORE_DELETE {
            return Err(format!(
                "{name} answered {by_pod} of the load's first {total} requests within {}: it is not getting traffic through the kiada Service",
                seconds(SERVED_WAIT)
            ));
        }
        let delete_at = Instant::now();
        self.cluster
            .pods()
            .delete(name, &DeleteParams::default())
            .await
            .map_err(|e| format!("deleting pod {name}: {e}"))?;
        let bound = Duration::from_secs(u64::try_from(grace).unwrap_or(30) + 30);
        let max_polls = bound.as_millis() / POLL.as_millis() + 1;
        let mut unready = None;
        let mut failed_polls = 0;
        for _ in 0..max_polls {
            if unready.is_none()
                && let Ok(slices) = self.cluster.endpoint_slices("kiada").await
            {
                let state = endpoints::pod_endpoint(&slices, name);
                if !state.as_ref().is_some_and(EndpointState::is_ready) {
                    unready = Some((Instant::now(), state));
                }
            }
            match self.cluster.pods().get_opt(name).await {
                Ok(None) => {
                    return Ok(Deletion {
                        delete_at,
                        unready,
                        gone_at: Instant::now(),
                    });
                }
                Ok(Some(_)) => failed_polls = 0,
                Err(error) => {
                    failed_polls += 1;
                    if failed_polls >= MAX_FAILED_POLLS {
                        return Err(format!("waiting for {name} to go: {error}"));
                    }
                }
            }
            if delete_at.elapsed() >= bound {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!(
            "pod {name} still there {} after the delete",
            seconds(delete_at.elapsed())
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The names of the `pods` that a selector picks.
    fn selected_by<'a>(
        selector: &BTreeMap<String, String>,
        pods: impl IntoIterator<Item = &'a Manifest>,
    ) -> Vec<String> {
        pods.into_iter()
            .filter(|pod| {
                let labels = pod.object.metadata.labels.clone().unwrap_or_default();
                selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .map(|pod| pod.name().to_owned())
            .collect()
    }

    fn manifests_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests")
    }

    #[test]
    fn the_variant_holds_the_probe_pod_and_its_service() {
        let dir = manifests_dir();
        let (pod, service) = load_publish_not_ready(&dir.join(PUBLISH_NOT_READY_FILE)).unwrap();
        assert_eq!(pod.name(), "quote-probe-controls");
        assert_eq!(service.name(), "quote-publish-not-ready");
        assert_eq!(http_port(&pod), Ok(80));
        // The quote Service takes the pod in; the variant's Service takes only it.
        let base = manifest::load_kustomization(&dir).unwrap();
        let quote = manifest::find(&base, "Service", "quote")
            .unwrap()
            .as_service()
            .unwrap();
        let all_pods: Vec<&Manifest> = base
            .iter()
            .filter(|m| m.kind() == "Pod")
            .chain([&pod])
            .collect();
        let quote_selector = quote.spec.unwrap().selector.unwrap();
        assert!(selected_by(&quote_selector, all_pods.clone()).contains(&pod.name().to_owned()));
        let selector = service
            .as_service()
            .unwrap()
            .spec
            .unwrap()
            .selector
            .unwrap();
        assert_eq!(selected_by(&selector, all_pods), ["quote-probe-controls"]);
    }

    #[test]
    fn the_probe_pod_is_quote_001_with_probe_controls() {
        // Everything but the name, the instance label and PROBE_CONTROLS_ENABLED is
        // the stable quote pod's, so what the checks see of it holds for those.
        let dir = manifests_dir();
        let (pod, _) = load_publish_not_ready(&dir.join(PUBLISH_NOT_READY_FILE)).unwrap();
        let base = manifest::load_kustomization(&dir).unwrap();
        let quote = manifest::find(&base, "Pod", "quote-001").unwrap();
        let expected = manifest::renamed_pod(quote, pod.name()).unwrap();
        let mut actual = serde_json::to_value(&pod.object).unwrap();
        let env = actual
            .pointer_mut("/spec/containers/0/env")
            .and_then(|e| e.as_array_mut())
            .unwrap();
        let index = env
            .iter()
            .position(|e| e["name"] == "PROBE_CONTROLS_ENABLED")
            .unwrap();
        assert_eq!(env.remove(index)["value"], "true");
        let labels = actual
            .pointer_mut("/metadata/labels")
            .and_then(|l| l.as_object_mut())
            .unwrap();
        assert_eq!(
            labels.remove("app.kubernetes.io/instance"),
            Some("quote-probe-controls".into())
        );
        assert_eq!(actual, serde_json::to_value(&expected.object).unwrap());
    }

    #[test]
    fn refuses_variants_that_prove_nothing() {
        let dir =
            std::env::temp_dir().join(format!("kiada-e2e-lifecycle-{}", manifest::random_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = std::fs::read_to_string(manifests_dir().join(PUBLISH_NOT_READY_FILE)).unwrap();
        let cases = [
            (
                text.replace(
                    "publishNotReadyAddresses: true",
                    "publishNotReadyAddresses: false",
                ),
                "publishNotReadyAddresses",
            ),
            (
                text.replace(
                    "name: PROBE_CONTROLS_ENABLED\n      value: \"true\"",
                    "name: PROBE_CONTROLS_ENABLED\n      value: \"false\"",
                ),
                "PROBE_CONTROLS_ENABLED",
            ),
            (
                text.replace(
                    "    app.kubernetes.io/instance: quote-probe-controls\n  ports:",
                    "    app.kubernetes.io/instance: quote-001\n  ports:",
                ),
                "does not pick",
            ),
            (
                text.replace("kind: Service", "kind: ConfigMap"),
                "one Pod and one Service",
            ),
        ];
        for (index, (changed, expected)) in cases.iter().enumerate() {
            assert_ne!(changed, &text, "case {index} changed nothing");
            let file = dir.join(format!("{index}.yaml"));
            std::fs::write(&file, changed).unwrap();
            let error = format!("{:#}", load_publish_not_ready(&file).unwrap_err());
            assert!(error.contains(expected), "case {index}: {error}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
