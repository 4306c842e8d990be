//! The checks: deploy the base the way the chapter builds it up, then assert every
//! observable, recording one result per check. [`table`] lists them; each topic of the
//! chapter has its module; [`traffic`] holds what several of them share (request loops
//! from the client pod, the EndpointSlices watched).
//!
//! The runner is this module's own loop over the table, not a test harness such as
//! libtest-mimic: the checks run in order against one deployment (later ones use what
//! earlier ones built, e.g. the quiz Service of `quiz-steps`), and the output is the
//! suite's own: `PASS name (detail)` / `FAIL name: reason` per check and the closing
//! `N passed, M failed` (see [`crate::summary`]), which libtest's format cannot give.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use k8s_openapi::api::core::v1::{Pod, Service};

use crate::cluster::{Cluster, api_error};
use crate::manifest::Manifest;
use crate::nodes::Placement;
use crate::shell;
use crate::summary::{CheckResult, Outcome, Summary};
use crate::tls;

mod balance;
mod chapter;
mod deploy;
mod dns;
mod env;
mod external;
mod external_traffic;
mod headless;
mod internal_traffic;
mod kiada;
mod multi_node;
mod network_policy;
mod node_tally;
mod nodeport;
mod objects;
mod pod_deleted;
mod quiz_pvc;
mod readiness;
mod readiness_file;
mod services;
mod spread;
mod table;
mod traffic;

pub use kiada::check_page;
pub use objects::{Objects, describe_objects, load_publish_not_ready};
pub use table::{Body, CHECKS, Check, Options, help, validate_only};

/// Shared state of a run, so results survive an interrupted run.
pub type SharedSummary = Arc<Mutex<Summary>>;

pub struct Run<'a> {
    cluster: &'a Cluster,
    options: &'a Options,
    objects: Objects,
    summary: SharedSummary,
    tls: tls::TlsMaterial,
    /// The cluster domain, from the client pod's resolv.conf (default cluster.local).
    domain: String,
    /// Set when the manifests' fixed node ports were taken and the API server picked.
    node_ports_reassigned: bool,
}

const CLIENT: &str = "client";
const QUOTE_PODS: &[&str] = &["quote-001", "quote-002", "quote-003", "quote-canary"];
const KIADA_POD: &str = "kiada-001";

/// Runs everything selected, in the order of [`CHECKS`], recording into `summary`.
pub async fn run(cluster: &Cluster, options: &Options, summary: SharedSummary) -> Result<()> {
    let objects = Objects::load(&options.manifests_dir, &cluster.namespace)?;
    let tls = tls::generate(&cluster.namespace, "cluster.local")?;
    let mut run = Run {
        cluster,
        options,
        objects,
        summary,
        tls,
        domain: "cluster.local".into(),
        node_ports_reassigned: false,
    };
    let started = Instant::now();
    match run.deploy().await {
        Ok(detail) => run.record(CheckResult::pass(
            "deploy",
            format!("{detail}; {} s", started.elapsed().as_secs()),
        )),
        Err(error) => {
            run.record(CheckResult::fail("deploy", format!("{error:#}")));
            run.not_run(&CHECKS[1..], "not run: the deployment failed");
            return Ok(());
        }
    }
    run.checks().await;
    Ok(())
}

impl Run<'_> {
    fn record(&self, result: CheckResult) {
        self.summary.lock().expect("summary lock").push(result);
    }

    fn check(&self, name: &str, result: Result<String, String>) {
        self.record(CheckResult::from_result(name, result));
    }

    /// Records each selected check of `names` with its result, in order; the last one
    /// recorded goes through [`after_cleanup`], so a failed cleanup is reported even when
    /// the group's last check is not selected.
    fn record_before_cleanup(
        &self,
        names: &[&str],
        results: Vec<Result<String, String>>,
        cleanup: Result<()>,
    ) {
        let selected = names.iter().zip(results);
        let mut selected: Vec<_> = selected
            .filter(|(name, _)| self.options.selected(name))
            .collect();
        let last = selected.pop();
        for (name, result) in selected {
            self.check(name, result);
        }
        if let Some((name, result)) = last {
            self.check(name, after_cleanup(result, cleanup));
        }
    }

    /// Applies the pod `object` and waits until it is ready; an error names the pod.
    async fn start_pod(&self, object: &Manifest) -> Result<(), String> {
        let pod = object.name();
        let started = async {
            self.cluster.apply(object).await?;
            self.cluster
                .wait_pods_ready(&[pod.to_owned()], self.options.timeout)
                .await
        };
        started.await.map_err(|e| format!("pod {pod}: {e:#}"))
    }

    /// Deletes the Service `service`, then the pod `pod`, waiting at most `seconds` for
    /// the pod to be gone.
    pub(super) async fn delete_service_and_pod(
        &self,
        service: &str,
        pod: &str,
        seconds: u64,
    ) -> anyhow::Result<()> {
        self.cluster.delete_service(service).await?;
        self.cluster
            .delete_pod(pod, Duration::from_secs(seconds))
            .await
    }

    /// Applies `object`; an error is the check's reason.
    pub(super) async fn apply(&self, object: &Manifest) -> Result<(), String> {
        self.cluster.apply(object).await.map_err(reason)
    }

    /// Records the same `outcome` for each selected check of `names`: a skip, or the
    /// failure that stops them all.
    fn record_all(&self, names: &[&str], outcome: Outcome) {
        for name in names.iter().filter(|name| self.options.selected(name)) {
            let outcome = outcome.clone();
            self.record(CheckResult {
                name: (*name).to_owned(),
                outcome,
            });
        }
    }

    /// Records `reason` for each selected row of `rows`.
    fn not_run(&self, rows: &[Check], reason: &str) {
        for row in rows.iter().filter(|row| self.options.selected(row.name)) {
            self.check(row.name, Err(reason.to_owned()));
        }
    }

    fn short(&self) -> Duration {
        Duration::from_secs(60).min(self.options.timeout.max(Duration::from_secs(20)))
    }

    /// Every selected row after `deploy`, in the table's order.
    async fn checks(&self) {
        for (index, row) in CHECKS.iter().enumerate().skip(1) {
            if !self.options.selected(row.name) {
                continue;
            }
            // Checks against an API server that went away would each wait out their
            // bounds: stop instead, and say so.
            if let Err(reason) = self.api_alive().await {
                self.not_run(&CHECKS[index..], &format!("not run: {reason}"));
                return;
            }
            match row.body {
                Body::One(check) => {
                    let result = check(self).await;
                    self.check(row.name, result);
                }
                Body::Cleaned(check, cleanup) => {
                    let result = check(self).await;
                    let cleanup = cleanup(self).await;
                    self.check(row.name, after_cleanup(result, cleanup));
                }
                Body::Group(group) => group(self).await,
                Body::Deploy => {
                    self.check(row.name, Err("internal error: deploy runs first".into()))
                }
            }
        }
    }

    async fn api_alive(&self) -> Result<(), String> {
        match tokio::time::timeout(
            Duration::from_secs(10),
            self.cluster.client.apiserver_version(),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(format!(
                "the API server stopped answering ({:#})",
                api_error(error)
            )),
            Err(_) => Err("the API server stopped answering (no answer within 10 s)".into()),
        }
    }

    async fn live_service(&self, name: &str) -> Result<Service, String> {
        get(self.cluster.services(), "Service", name).await
    }

    async fn get_pod(&self, name: &str) -> Result<Pod, String> {
        get(self.cluster.pods(), "pod", name).await
    }

    /// Where the API says each pod of the namespace runs.
    async fn placement(&self) -> Result<Placement, String> {
        let pods = self
            .cluster
            .pods()
            .list(&kube::api::ListParams::default())
            .await
            .map_err(|e| format!("listing the pods: {:#}", api_error(e)))?;
        Ok(Placement::of(&pods.items))
    }

    /// Runs `script` in `pod` (bounded by `short()`); its standard output.
    async fn exec(&self, pod: &str, script: &str) -> Result<String, String> {
        self.cluster
            .exec(pod, script, self.short())
            .await
            .map_err(reason)
    }

    /// Runs one check of a group when it is selected, and records it.
    async fn part(&self, name: &str, check: impl Future<Output = Result<String, String>>) {
        if self.options.selected(name) {
            let result = check.await;
            self.check(name, result);
        }
    }

    /// GET `url` from the client pod, as JSON; `what` names the document in errors.
    async fn json_from_client<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, String> {
        let out = self
            .exec(CLIENT, &shell::wget_get(url))
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        serde_json::from_str(out.trim())
            .map_err(|e| format!("{what} is not the expected JSON ({e}): {:?}", out.trim()))
    }

    /// How many answers quiz has recorded, from `/stats` read as the type quiz serves.
    async fn quiz_stats(&self) -> Result<u64, String> {
        let stats: kiada_wire::Stats = self
            .json_from_client("http://quiz/stats", "quiz /stats")
            .await?;
        Ok(stats.totals.answers)
    }
}

/// The items as `a, b, c`.
pub(super) fn comma_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let items = items.into_iter().map(|item| item.as_ref().to_owned());
    items.collect::<Vec<_>>().join(", ")
}

/// The pod's IP as the API reports it.
pub(super) fn pod_ip(pod: &Pod) -> Result<String, String> {
    let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
    let name = pod.metadata.name.as_deref().unwrap_or("");
    ip.ok_or_else(|| format!("pod {name} has no IP"))
}

/// One object of the run's namespace, by name.
async fn get<K>(api: kube::Api<K>, kind: &str, name: &str) -> Result<K, String>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get(name)
        .await
        .map_err(|e| format!("getting {kind} {name}: {:#}", api_error(e)))
}

/// A check's result once its cleanup ran: a failed cleanup fails the check too, and says
/// what the check itself found.
fn after_cleanup(result: Result<String, String>, cleanup: Result<()>) -> Result<String, String> {
    match (result, cleanup) {
        (result, Ok(())) => result,
        (Ok(detail), Err(error)) => Err(format!(
            "cleanup failed: {error:#} (the check passed: {detail})"
        )),
        (Err(reason), Err(error)) => Err(format!("{reason}; cleanup failed too: {error:#}")),
    }
}

/// Turns an error into the text of a failed check.
pub fn reason(error: anyhow::Error) -> String {
    format!("{error:#}")
}

/// A duration as `1.5 s`.
fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
