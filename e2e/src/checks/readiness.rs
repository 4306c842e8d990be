//! Pods entering and leaving a Service by their readiness: a quote pod with probe
//! controls switched unready and ready again, watched in the EndpointSlices and in the
//! traffic, and a Service with `publishNotReadyAddresses: true` (`readiness.*`).

use std::time::{Duration, Instant};

use super::objects::http_port;
use super::*;
use crate::cluster::is_ready;
use crate::endpoints::{self, EndpointState};
use crate::http::Request;
use crate::shell;

/// How long the forced readiness failure lasts unless it is cleared first: longer
/// than the checks need, and it ends by itself if the run is interrupted.
const FORCED_FAILURE_SECONDS: u32 = 300;
/// The probe pod's control of its readiness: POST forces a failure, DELETE clears it.
const FAIL: &str = "/admin/probes/ready/fail";

impl Run<'_> {
    /// One HTTP request to the probe pod through a port-forward.
    async fn to_probe_pod(&self, request: &Request) -> Result<crate::http::Response, String> {
        let pod = &self.objects.probe_pod;
        let within = Duration::from_secs(20);
        let port = http_port(pod)?;
        self.cluster
            .http_via_portforward(pod.name(), port, request, None, within)
            .await
            .map_err(reason)
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
        let results = match self.probe_pod_serving().await {
            Err(error) => vec![Err(format!("not run: {error}")); NAMES.len()],
            Ok(before) => match self.readiness_off(&before).await {
                Ok(off) => vec![
                    Ok(off),
                    self.publish_not_ready().await,
                    self.readiness_on().await,
                ],
                off => {
                    let not_run = Err("not run: readiness.off failed".to_owned());
                    vec![off, not_run.clone(), not_run]
                }
            },
        };
        let objects = &self.objects;
        let (service, pod) = (objects.publish_not_ready.name(), objects.probe_pod.name());
        let cleanup = self.delete_service_and_pod(service, pod, 90).await;
        self.record_before_cleanup(&NAMES, results, cleanup);
    }

    /// `pod`'s endpoint in the EndpointSlices of `service`, as they are now.
    pub(super) async fn endpoint_now(
        &self,
        service: &str,
        pod: &str,
    ) -> Result<Option<EndpointState>, String> {
        let slices = self
            .cluster
            .endpoint_slices(service)
            .await
            .map_err(reason)?;
        Ok(endpoints::pod_endpoint(&slices, pod))
    }

    /// Waits until `service` (publishNotReadyAddresses: true) lists the unready `pod`
    /// as ready; its endpoint there and when it was seen.
    pub(super) async fn listed_ready_while_unready(
        &self,
        service: &str,
        pod: &str,
    ) -> Result<(Option<EndpointState>, Instant), String> {
        let waiting_for =
            format!("waiting for the unready {pod} listed ready in Service {service}");
        self.wait_endpoint(service, pod, self.short(), &waiting_for, |state| {
            state.is_some_and(|s| s.ready == Some(true))
        })
        .await
    }

    /// Creates the probe pod and waits until it is ready in quote's EndpointSlice and
    /// answers requests to the quote Service.
    async fn probe_pod_serving(&self) -> Result<String, String> {
        let probe = &self.objects.probe_pod;
        let pod = probe.name();
        let state = self.ready_in_service(probe, "quote").await?;
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
            (Request::delete(FAIL, "application/json"), 204, 200)
        } else {
            let path = format!("{FAIL}?seconds={FORCED_FAILURE_SECONDS}");
            (Request::post(&path, "application/json"), 200, 503)
        };
        let request = request.with_empty_json_body();
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
        let healthz = Request::get("/healthz/ready", "text/plain");
        let probe = self.to_probe_pod(&healthz).await?;
        if probe.status != probe_status {
            return Err(format!(
                "after {call}, /healthz/ready on {pod} answered {} ({})",
                probe.status,
                probe.body.trim()
            ));
        }
        let waiting_for =
            format!("waiting for {pod} to turn ready={ready} in quote's EndpointSlice");
        // In no slice at all is out of the ready set too.
        let turned =
            |state: Option<&EndpointState>| state.map_or(!ready, |s| s.ready == Some(ready));
        let (state, seen) = self
            .wait_endpoint("quote", pod, self.short(), &waiting_for, turned)
            .await?;
        let endpoint = endpoints::describe_pod_endpoint(pod, state.as_ref());
        self.ready_condition_agrees(pod, ready, &endpoint).await?;
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
        self.apply(&self.objects.publish_not_ready).await?;
        let created = Instant::now();
        let (state, seen) = self.listed_ready_while_unready(service, pod).await?;
        let unready = async |what: &str| -> Result<(), String> {
            if is_ready(&self.get_pod(pod).await?) {
                return Err(format!("{pod} is Ready {what}: the check needs it unready"));
            }
            Ok(())
        };
        unready("again").await?;
        // The quote Service, at the same time, still leaves it out.
        let in_quote = self.endpoint_now("quote", pod).await?;
        if in_quote.as_ref().is_some_and(EndpointState::is_ready) {
            return Err(format!(
                "the quote Service lists {} as ready again",
                endpoints::describe_pod_endpoint(pod, in_quote.as_ref())
            ));
        }
        let url = format!("http://{service}/");
        // A new Service takes a moment to be programmed on the node.
        self.until_quote_answers(&url, 30).await?;
        let tally = shell::tally_quote_lines(&self.requests(CLIENT, &url, 10).await?);
        if tally.answered() != 10 || tally.pods.get(pod) != Some(&10) {
            return Err(format!(
                "expected 10 answers from {pod}, got {}",
                tally.describe()
            ));
        }
        unready("after the requests").await?;
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

    /// The pod's Ready condition is `ready`, as its EndpointSlice entry (`endpoint`)
    /// says.
    pub(super) async fn ready_condition_agrees(
        &self,
        pod: &str,
        ready: bool,
        endpoint: &str,
    ) -> Result<(), String> {
        if is_ready(&self.get_pod(pod).await?) == ready {
            return Ok(());
        }
        Err(format!(
            "the EndpointSlice shows {endpoint} but the pod's Ready condition is {}",
            !ready
        ))
    }
}
