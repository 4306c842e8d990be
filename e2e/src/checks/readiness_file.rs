//! The book's readiness probe that looks for a file (section 11.6, `readiness-file.*`):
//! `kiada-mock-readiness` is not ready until `/var/ready` exists, and unready again
//! once it is gone, as the kiada Service's EndpointSlice shows; meanwhile
//! `kiada-publish-not-ready-addresses` lists it as ready and sends it traffic.

use std::time::{Duration, Instant};

use super::traffic::ROUND;
use super::*;
use crate::cluster::is_ready;
use crate::endpoints::{self, EndpointState};
use crate::poll::Poller;
use crate::shell::{self, LoadLine, LoadTally};

const INITIAL: &str = "readiness-file.initial";
const PUBLISH: &str = "readiness-file.publish-not-ready";
const TOUCH: &str = "readiness-file.touch";
const RM: &str = "readiness-file.rm";
/// How long after the container started the pod must still be unready: the probe's
/// first run (initialDelaySeconds 10) and a second one 5 s later would have made a
/// probe that always passes ready by then.
const UNREADY_FOR: Duration = Duration::from_secs(20);
/// Bound of each wait for the endpoint to turn (success 2 or failure 3 at period 5).
const SWITCH_WITHIN: Duration = Duration::from_secs(45);
/// The least time a switch can take: ready after two successes 5 s apart, unready
/// after three failures 5 s apart (less a margin for the exec's return).
const FASTEST_READY: Duration = Duration::from_secs(4);
const FASTEST_UNREADY: Duration = Duration::from_secs(9);
/// Rounds at most, of [`ROUND`] requests through each Service.
const ROUNDS: u32 = 3;

impl Run<'_> {
    pub(super) async fn readiness_file(&self) {
        let results = match self.mock_initial().await {
            Err(error) => {
                let not_run = Err(format!("not run: {INITIAL} failed"));
                vec![Err(error), not_run.clone(), not_run.clone(), not_run]
            }
            Ok(initial) => {
                let publish = self.kiada_publish_not_ready().await;
                let touch = self.mock_switch(true).await;
                let rm = match touch {
                    Ok(_) => self.mock_switch(false).await,
                    Err(_) => Err(format!("not run: {TOUCH} failed")),
                };
                vec![Ok(initial), publish, touch, rm]
            }
        };
        let book = &self.objects.book;
        let (service, pod) = (
            book.kiada_publish_not_ready.name(),
            book.mock_readiness.name(),
        );
        let cleanup = self.delete_service_and_pod(service, pod, 90).await;
        self.record_before_cleanup(&[INITIAL, PUBLISH, TOUCH, RM], results, cleanup);
    }

    /// Creates the pod and the publishNotReadyAddresses Service; the pod's container
    /// runs, and 20 s later the pod is still not Ready and `ready=false` in the kiada
    /// Service's EndpointSlice.
    async fn mock_initial(&self) -> Result<String, String> {
        let book = &self.objects.book;
        let pod = book.mock_readiness.name();
        self.apply(&book.kiada_publish_not_ready).await?;
        self.apply(&book.mock_readiness).await?;
        let what = format!("pod {pod}'s container running");
        let mut poller = Poller::new(what, Duration::from_secs(1), self.options.timeout);
        let running = loop {
            let live = self.get_pod(pod).await?;
            if let Some(problem) = crate::cluster::fatal_problem(&live) {
                return Err(format!("pod {pod} cannot start: {problem}"));
            }
            let started = live
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first())
                .is_some_and(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
            if started {
                break Instant::now();
            }
            poller.again(crate::cluster::pod_state(&live)).await?;
        };
        tokio::time::sleep(UNREADY_FOR).await;
        let waiting_for = format!("waiting for {pod} in the kiada Service's EndpointSlice");
        let (state, _) = self
            .wait_endpoint("kiada", pod, self.short(), &waiting_for, |s| s.is_some())
            .await?;
        let ready = is_ready(&self.get_pod(pod).await?);
        let after = running.elapsed().as_secs();
        let endpoint = endpoints::describe_pod_endpoint(pod, state.as_ref());
        if ready || state.as_ref().is_some_and(EndpointState::is_ready) {
            return Err(format!(
                "{after} s after its container started, without /var/ready, the pod is Ready={ready}: {endpoint}"
            ));
        }
        Ok(format!(
            "{after} s after its container started, without /var/ready: pod Ready=False, kiada's slice lists {endpoint}"
        ))
    }

    /// While the pod is unready, kiada-publish-not-ready-addresses lists it as ready
    /// and sends it requests, and the kiada Service sends it none.
    async fn kiada_publish_not_ready(&self) -> Result<String, String> {
        let pod = self.objects.book.mock_readiness.name();
        let service = self.objects.book.kiada_publish_not_ready.name();
        let (state, _) = self.listed_ready_while_unready(service, pod).await?;
        let through_publish = self.pod_in_load(&format!("http://{service}/"), pod).await?;
        if through_publish.served_by(pod) == 0 {
            return Err(format!(
                "{} requests to http://{service}/ never reached {pod}: {}",
                through_publish.requests,
                through_publish.describe()
            ));
        }
        let through_kiada = self.load("http://kiada/", LoadTally::default()).await?;
        if through_kiada.served_by(pod) != 0 {
            return Err(format!(
                "the kiada Service sent the unready {pod} requests: {}",
                through_kiada.describe()
            ));
        }
        let in_kiada = self.endpoint_now("kiada", pod).await?;
        if is_ready(&self.get_pod(pod).await?)
            || in_kiada.as_ref().is_none_or(EndpointState::is_ready)
        {
            return Err(format!(
                "{pod} should still be unready: {}",
                endpoints::describe_pod_endpoint(pod, in_kiada.as_ref())
            ));
        }
        Ok(format!(
            "{service} lists {}; http://{service}/: {}; http://kiada/: {} (none by {pod}, ready=false there)",
            endpoints::describe_pod_endpoint(pod, state.as_ref()),
            through_publish.describe(),
            through_kiada.describe()
        ))
    }

    /// Rounds of [`ROUND`] requests to `url` (at most [`ROUNDS`]) until `pod` served
    /// one; every request must be answered 200.
    async fn pod_in_load(&self, url: &str, pod: &str) -> Result<LoadTally, String> {
        let mut combined = LoadTally::default();
        for _ in 0..ROUNDS {
            combined = self.load(url, combined).await?;
            if combined.served_by(pod) > 0 {
                break;
            }
        }
        Ok(combined)
    }

    /// [`ROUND`] requests to `url` from the client pod, each on a new connection, added
    /// to `tally`: all must be answered 200.
    async fn load(&self, url: &str, mut tally: LoadTally) -> Result<LoadTally, String> {
        let script = shell::load_loop(url, 60, ROUND, 10, 0);
        let out = self
            .cluster
            .exec(CLIENT, &script, Duration::from_secs(90))
            .await
            .map_err(reason)?;
        let mut round = LoadTally::default();
        for line in out.lines() {
            if let LoadLine::Answer(answer) = shell::load_line(line) {
                round.add(&answer);
                tally.add(&answer);
            }
        }
        if round.requests != ROUND as usize || round.failed() != 0 {
            let got = round.describe();
            return Err(format!("{url}: {got} (expected {ROUND} × 200)"));
        }
        Ok(tally)
    }

    /// `touch /var/ready` (ready) or `rm /var/ready` in the pod, then its endpoint in
    /// the kiada Service's EndpointSlice turns ready=`ready` no sooner than the probe's
    /// thresholds allow and within [`SWITCH_WITHIN`], and the pod's Ready condition
    /// follows.
    async fn mock_switch(&self, ready: bool) -> Result<String, String> {
        let pod = self.objects.book.mock_readiness.name();
        let (command, fastest) = if ready {
            ("touch /var/ready", FASTEST_READY)
        } else {
            ("rm /var/ready", FASTEST_UNREADY)
        };
        self.exec(pod, command).await?;
        let switched = Instant::now();
        let waiting_for = format!(
            "waiting for {pod} to turn ready={ready} in kiada's EndpointSlice after {command}"
        );
        let (state, seen) = self
            .wait_endpoint("kiada", pod, SWITCH_WITHIN, &waiting_for, |state| {
                state.is_some_and(|s| s.ready == Some(ready))
            })
            .await?;
        let took = seen - switched;
        let endpoint = endpoints::describe_pod_endpoint(pod, state.as_ref());
        if took < fastest {
            return Err(format!(
                "{command}: {endpoint} after only {}: faster than the probe's thresholds allow (at least {})",
                seconds(took),
                seconds(fastest)
            ));
        }
        self.ready_condition_agrees(pod, ready, &endpoint)
            .await
            .map_err(|e| format!("{command}: {e}"))?;
        Ok(format!(
            "kubectl exec {pod} -c kiada -- {command}: {endpoint} after {} (pod Ready={})",
            seconds(took),
            if ready { "True" } else { "False" }
        ))
    }
}
