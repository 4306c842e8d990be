//! The checks: deploy the base the way the chapter builds it up, then assert every
//! observable, recording one result per check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::ListParams;

use crate::cluster::Cluster;
use crate::http::{self, Request};
use crate::manifest::{self, Manifest};
use crate::parse::{self, EnvPort, ResolvConf, TextPage};
use crate::service::{
    cluster_ip, compare_service, first_port, ports_text, selector_text, url_host,
};
use crate::shell;
use crate::summary::{CheckResult, Summary};
use crate::tls;

mod chapter;
mod lifecycle;

/// Every check group, in the order they run, with what it proves. `--only` takes these
/// names (or a full check name such as `kiada.https`).
pub const CHECKS: &[(&str, &str)] = &[
    (
        "deploy",
        "the base deploys into a fresh restricted namespace and every pod gets ready (always runs)",
    ),
    (
        "quiz-steps",
        "the quiz Service as `kubectl expose` makes it, with the selector set to app=quiz, then port 80 -> 8080, each verified by traffic",
    ),
    (
        "services",
        "each Service has a cluster IP and its type, selector and ports match the manifests",
    ),
    (
        "quiz-ip",
        "the quiz Service's cluster IP answers with quiz's identity line from inside a pod",
    ),
    (
        "quote-balance",
        "repeated requests to the quote Service reach every quote pod",
    ),
    (
        "session-affinity",
        "with sessionAffinity: ClientIP every request from one pod reaches the same pod",
    ),
    (
        "dns",
        "resolv.conf has the search line; quiz, quiz.<ns>, quiz.<ns>.svc and the FQDN resolve to the cluster IP and answer",
    ),
    (
        "env",
        "a pod created after the Services has the QUIZ_* service variables; one with enableServiceLinks: false has none",
    ),
    (
        "chapter",
        "the quote pods answer on port 80 as user 65532, ping quiz from quote-001 and the client resolves the cluster IP and loses every packet, every pod carries exactly app and rel",
    ),
    (
        "kiada",
        "through an API port-forward: the text page (tip, question, request info equal to the API's), the HTML page, HTTPS with the Secret's certificate, an answer counted by quiz",
    ),
    (
        "nodeport",
        "kiada answers on its NodePort at the node's InternalIP",
    ),
    (
        "readiness",
        "a quote pod whose readiness is forced off turns not ready in the quote Service's EndpointSlice and gets no traffic, a publishNotReadyAddresses Service still sends it traffic, and back on it is ready and gets traffic again",
    ),
    (
        "quote-pod-deleted",
        "after a quote pod is deleted the Service keeps answering from the others",
    ),
    (
        "kiada-pod-deleted",
        "a kiada pod deleted (default grace period) while a load runs through the kiada Service: every request answered 200",
    ),
    (
        "quiz-pvc",
        "after the quiz pod is deleted and recreated, the posted answers are still there",
    ),
];

/// What the run was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub manifests_dir: PathBuf,
    /// Bound for each readiness wait.
    pub timeout: Duration,
    /// Check groups or names to run (empty: all).
    pub only: Vec<String>,
    /// Where to reach the node ports instead of the node's InternalIP (e.g. 127.0.0.1
    /// for kind with extraPortMappings on a machine that cannot reach the node).
    pub node_address: Option<String>,
}

impl Options {
    pub fn selected(&self, name: &str) -> bool {
        if name == "deploy" || self.only.is_empty() {
            return true;
        }
        let group = name.split('.').next().unwrap_or(name);
        // A check runs when it, its group or one of its own checks is named.
        self.only.iter().any(|o| {
            o == name
                || o == group
                || name.starts_with(&format!("{o}."))
                || o.starts_with(&format!("{name}."))
        })
    }
}

/// Whether every name in `only` is a known group or a check inside one.
pub fn validate_only(only: &[String]) -> Result<(), String> {
    for name in only {
        let group = name.split('.').next().unwrap_or(name);
        if !CHECKS.iter().any(|(known, _)| *known == group) {
            let known: Vec<&str> = CHECKS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown check {name:?}; known: {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// The objects of the run: the base, the chapter's steps and variants, all moved into
/// the run's namespace.
pub struct Objects {
    pub base: Vec<Manifest>,
    pub quiz_exposed: Manifest,
    pub quiz_selector: Manifest,
    pub quote_sticky: Manifest,
    pub no_service_links: Manifest,
    /// The quote pod with probe controls and the publishNotReadyAddresses Service
    /// that selects only it (`variants/svc-quote-publish-not-ready.yaml`).
    pub probe_pod: Manifest,
    pub publish_not_ready: Manifest,
}

impl Objects {
    pub fn load(dir: &std::path::Path, namespace: &str) -> Result<Self> {
        let mut base = manifest::load_kustomization(dir)?;
        manifest::all_into_namespace(&mut base, namespace)?;
        let one = |path: &str| -> Result<Manifest> {
            let mut list = manifest::load_file(&dir.join(path))?;
            if list.len() != 1 {
                return Err(anyhow!(
                    "{path} should hold one object, holds {}",
                    list.len()
                ));
            }
            let mut object = list.remove(0);
            manifest::into_namespace(&mut object, namespace)?;
            Ok(object)
        };
        let (mut probe_pod, mut publish_not_ready) =
            lifecycle::load_publish_not_ready(&dir.join(lifecycle::PUBLISH_NOT_READY_FILE))?;
        manifest::into_namespace(&mut probe_pod, namespace)?;
        manifest::into_namespace(&mut publish_not_ready, namespace)?;
        Ok(Self {
            probe_pod,
            publish_not_ready,
            quiz_exposed: one("steps/quiz-svc-1-exposed.yaml")?,
            quiz_selector: one("steps/quiz-svc-2-selector.yaml")?,
            quote_sticky: one("variants/svc-quote-session-affinity.yaml")?,
            no_service_links: one("variants/pod-without-service-links.yaml")?,
            base,
        })
    }

    fn get(&self, kind: &str, name: &str) -> Result<&Manifest> {
        manifest::find(&self.base, kind, name)
    }
}

/// Shared state of a run, so results survive an interrupted run.
pub type SharedSummary = Arc<Mutex<Summary>>;

struct Run<'a> {
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
const QUIZ_CANARY: &str = "quiz-canary";

fn record(summary: &SharedSummary, result: CheckResult) {
    summary.lock().expect("summary lock").push(result);
}

/// Runs everything selected. Returns whether the diagnostics should be printed
/// (something failed).
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
            for (name, _) in CHECKS.iter().skip(1) {
                if options.selected(name) {
                    run.record(CheckResult::fail(*name, "not run: the deployment failed"));
                }
            }
            return Ok(());
        }
    }
    run.checks().await;
    Ok(())
}

impl Run<'_> {
    fn record(&self, result: CheckResult) {
        record(&self.summary, result);
    }

    fn check(&self, name: &str, result: Result<String, String>) {
        self.record(CheckResult::from_result(name, result));
    }

    fn short(&self) -> Duration {
        Duration::from_secs(60).min(self.options.timeout.max(Duration::from_secs(20)))
    }

    /// Namespace, Secret, everything but the quiz Service; all pods ready.
    async fn deploy(&mut self) -> Result<String> {
        self.cluster.create_namespace().await?;
        eprintln!(
            "[e2e] namespace {} created (pod-security enforce=restricted) on {}",
            self.cluster.namespace, self.cluster.server
        );
        self.cluster
            .create_tls_secret(&self.tls.cert_pem, &self.tls.key_pem)
            .await?;
        let mut pods = Vec::new();
        let base = self.objects.base.clone();
        for object in &base {
            // The quiz Service comes after the pods: step by step as in the chapter
            // (quiz-steps), or at once.
            if object.kind() == "Service" && object.name() == "quiz" {
                continue;
            }
            match self.cluster.apply(object).await {
                Ok(()) => {}
                Err(error)
                    if object.kind() == "Service"
                        && format!("{error:#}").contains("already allocated") =>
                {
                    // The fixed node ports are taken on this cluster (another run or
                    // app): let the API server pick free ones and say so.
                    let mut copy = object.clone();
                    if !manifest::strip_node_ports(&mut copy) {
                        return Err(error);
                    }
                    eprintln!(
                        "[e2e] {}: fixed node ports taken on this cluster ({error:#}); using ports the API server assigns",
                        object.id()
                    );
                    self.cluster.apply(&copy).await?;
                    self.node_ports_reassigned = true;
                    if let Some(slot) = self
                        .objects
                        .base
                        .iter_mut()
                        .find(|m| m.kind() == "Service" && m.name() == object.name())
                    {
                        *slot = copy;
                    }
                }
                Err(error) => return Err(error),
            }
            if object.kind() == "Pod" {
                pods.push(object.name().to_owned());
            }
        }
        eprintln!(
            "[e2e] applied {} objects; waiting up to {} s for {} pods",
            base.len(),
            self.options.timeout.as_secs(),
            pods.len()
        );
        self.cluster
            .wait_pods_ready(&pods, self.options.timeout)
            .await?;
        if !self.options.selected("quiz-steps") {
            self.cluster
                .apply(self.objects.get("Service", "quiz")?)
                .await?;
        }
        // The cluster domain, as the pods see it.
        if let Ok(text) = self
            .cluster
            .exec(CLIENT, "cat /etc/resolv.conf", self.short())
            .await
            && let Some(domain) = ResolvConf::parse(&text).cluster_domain(&self.cluster.namespace)
        {
            self.domain = domain;
        }
        Ok(format!(
            "namespace {} (Pod Security restricted enforced), {} pods ready, cluster domain {}",
            self.cluster.namespace,
            pods.len(),
            self.domain
        ))
    }

    async fn checks(&mut self) {
        let opts = self.options;
        for (group, _) in CHECKS.iter().skip(1) {
            if !opts.selected(group) {
                continue;
            }
            // Checks against an API server that went away would each wait out their
            // bounds: stop instead, and say so.
            if let Err(reason) = self.api_alive().await {
                for (rest, _) in CHECKS.iter().skip_while(|(g, _)| g != group) {
                    if opts.selected(rest) {
                        self.check(rest, Err(format!("not run: {reason}")));
                    }
                }
                return;
            }
            match *group {
                "chapter" => self.chapter().await,
                "quiz-steps" => self.quiz_steps().await,
                "services" => {
                    for name in ["quote", "quiz", "kiada"] {
                        let check = format!("services.{name}");
                        if opts.selected(&check) {
                            let result = self.service_matches(name).await;
                            self.check(&check, result);
                        }
                    }
                }
                "quiz-ip" => {
                    let result = self.quiz_ip().await;
                    self.check(group, result);
                }
                "quote-balance" => {
                    let result = self.quote_balance().await;
                    self.check(group, result);
                }
                "session-affinity" => {
                    let result = self.session_affinity().await;
                    self.check(group, result);
                }
                "dns" => self.dns().await,
                "env" => {
                    if opts.selected("env.service-links") {
                        let result = self.env_service_links().await;
                        self.check("env.service-links", result);
                    }
                    if opts.selected("env.no-service-links") {
                        let result = self.env_no_service_links().await;
                        self.check("env.no-service-links", result);
                    }
                }
                "kiada" => self.kiada().await,
                "nodeport" => {
                    let result = self.nodeport().await;
                    self.check(group, result);
                }
                "readiness" => self.readiness().await,
                "quote-pod-deleted" => {
                    let result = self.quote_pod_deleted().await;
                    self.check(group, result);
                }
                "kiada-pod-deleted" => {
                    let result = self.kiada_pod_deleted().await;
                    self.check(group, result);
                }
                "quiz-pvc" => {
                    let result = self.quiz_pvc().await;
                    self.check(group, result);
                }
                other => self.check(other, Err("internal error: no such check".into())),
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
            Ok(Err(error)) => Err(format!("the API server stopped answering ({error})")),
            Err(_) => Err("the API server stopped answering (no answer within 10 s)".into()),
        }
    }

    // ---------------------------------------------------------------- helpers --

    async fn live_service(&self, name: &str) -> Result<Service, String> {
        self.cluster
            .services()
            .get(name)
            .await
            .map_err(|e| format!("getting Service {name}: {e}"))
    }

    /// Runs a request loop in the client pod (one line per request).
    async fn requests(&self, pod: &str, url: &str, count: u32) -> Result<String, String> {
        let timeout = Duration::from_secs(u64::from(count) * 6 + 20);
        self.cluster
            .exec(pod, &shell::request_loop(url, count), timeout)
            .await
            .map_err(|e| format!("{e:#}"))
    }

    /// Sends single requests from the client pod until quiz's identity line comes back
    /// (a new Service or endpoint takes a moment to be programmed), bounded.
    async fn quiz_answers(&self, url: &str) -> Result<String, String> {
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
    async fn quiz_pods_answering(
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

    async fn quiz_stats(&self) -> Result<u64, String> {
        let out = self
            .cluster
            .exec(
                CLIENT,
                "timeout 5 wget -qO- http://quiz/stats",
                self.short(),
            )
            .await
            .map_err(|e| format!("GET http://quiz/stats: {e:#}"))?;
        let json: serde_json::Value = serde_json::from_str(out.trim())
            .map_err(|e| format!("quiz /stats is not JSON ({e}): {:?}", out.trim()))?;
        parse::stats_total_answers(&json)
            .ok_or_else(|| format!("no total answer count in quiz /stats: {}", out.trim()))
    }

    async fn get_pod(&self, name: &str) -> Result<Pod, String> {
        self.cluster
            .pods()
            .get(name)
            .await
            .map_err(|e| format!("getting pod {name}: {e}"))
    }

    // ----------------------------------------------------------------- checks --

    async fn quiz_steps(&mut self) {
        let steps: [(&str, Manifest, u16); 3] = [
            (
                "quiz-steps.exposed",
                self.objects.quiz_exposed.clone(),
                8080,
            ),
            (
                "quiz-steps.selector",
                self.objects.quiz_selector.clone(),
                8080,
            ),
            (
                "quiz-steps.port",
                match self.objects.get("Service", "quiz") {
                    Ok(m) => m.clone(),
                    Err(e) => {
                        self.check("quiz-steps", Err(format!("{e:#}")));
                        return;
                    }
                },
                80,
            ),
        ];
        // A canary quiz pod (rel: canary, its own empty storage) makes the selector
        // change visible: the exposed Service's selector (rel=stable) leaves it out,
        // app=quiz takes it in. It is deleted before the last step, so the answers
        // counted later all live in the one quiz database.
        let canary = match self
            .objects
            .get("Pod", "quiz")
            .and_then(|quiz| manifest::canary_pod(quiz, QUIZ_CANARY))
        {
            Ok(canary) => canary,
            Err(error) => {
                self.check("quiz-steps", Err(format!("{error:#}")));
                return;
            }
        };
        let canary_ready = async {
            self.cluster.apply(&canary).await?;
            self.cluster
                .wait_pods_ready(&[QUIZ_CANARY.to_owned()], self.options.timeout)
                .await
        }
        .await
        .map_err(|e| format!("the canary quiz pod: {e:#}"));
        let mut first_ip: Option<String> = None;
        for (name, object, port) in steps {
            if name == "quiz-steps.port"
                && let Err(error) = self
                    .cluster
                    .delete_pod(QUIZ_CANARY, Duration::from_secs(90))
                    .await
            {
                self.check(
                    "quiz-steps.port",
                    Err(format!("deleting the canary quiz pod: {error:#}")),
                );
                return;
            }
            let canary_ready = canary_ready.clone();
            let result = async {
                self.cluster
                    .apply(&object)
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                let expected = object.as_service().map_err(|e| format!("{e:#}"))?;
                let live = self.live_service("quiz").await?;
                let mismatches = compare_service(&expected, &live);
                if !mismatches.is_empty() {
                    return Err(mismatches.join("; "));
                }
                let ip = cluster_ip(&live).ok_or("the quiz Service has no cluster IP")?;
                if let Some(first) = &first_ip
                    && *first != ip
                {
                    return Err(format!("the cluster IP changed from {first} to {ip}"));
                }
                first_ip.get_or_insert(ip.clone());
                let url = if port == 80 {
                    "http://quiz/".to_owned()
                } else {
                    format!("http://quiz:{port}/")
                };
                if name != "quiz-steps.port" {
                    canary_ready?;
                }
                // Which quiz pods answer: only the stable one, or the canary too.
                let want: BTreeSet<String> = if name == "quiz-steps.selector" {
                    ["quiz", QUIZ_CANARY].map(str::to_owned).into()
                } else {
                    ["quiz"].map(str::to_owned).into()
                };
                let tally = self.quiz_pods_answering(&url, &want).await?;
                Ok(format!(
                    "selector {}, port {}, cluster IP {ip}; {url}: {}",
                    selector_text(&live),
                    ports_text(&live),
                    tally.describe()
                ))
            }
            .await;
            self.check(name, result);
        }
    }

    async fn service_matches(&self, name: &str) -> Result<String, String> {
        let expected = self
            .objects
            .get("Service", name)
            .and_then(Manifest::as_service)
            .map_err(|e| format!("{e:#}"))?;
        let live = self.live_service(name).await?;
        let ip = cluster_ip(&live).ok_or("no cluster IP")?;
        let mismatches = compare_service(&expected, &live);
        if !mismatches.is_empty() {
            return Err(mismatches.join("; "));
        }
        let mut detail = format!(
            "cluster IP {ip}, selector {}, ports {}",
            selector_text(&live),
            ports_text(&live)
        );
        if name == "kiada" && self.node_ports_reassigned {
            detail.push_str(
                " (node ports assigned by the API server: the manifests' fixed ones were taken)",
            );
        }
        Ok(detail)
    }

    async fn quiz_ip(&self) -> Result<String, String> {
        let live = self.live_service("quiz").await?;
        let ip = cluster_ip(&live).ok_or("the quiz Service has no cluster IP")?;
        let port = first_port(&live).ok_or("the quiz Service has no port")?;
        let url = format!("http://{}:{port}/", url_host(&ip));
        let pod = self.quiz_answers(&url).await?;
        Ok(format!("{url} answered: quiz service running in pod {pod}"))
    }

    async fn quote_pods_expected(&self) -> Result<BTreeSet<String>, String> {
        let pods = self
            .cluster
            .pods()
            .list(&ListParams::default().labels("app=quote"))
            .await
            .map_err(|e| format!("listing quote pods: {e}"))?;
        Ok(pods
            .items
            .iter()
            .filter(|p| crate::cluster::is_ready(p) && p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| p.metadata.name.clone())
            .collect())
    }

    async fn quote_balance(&self) -> Result<String, String> {
        let expected = self.quote_pods_expected().await?;
        if expected.len() != QUOTE_PODS.len() {
            return Err(format!(
                "expected {} ready quote pods, the API lists {expected:?}",
                QUOTE_PODS.len()
            ));
        }
        let mut combined = shell::Tally::default();
        for _round in 0..3 {
            let out = self.requests(CLIENT, "http://quote/", 20).await?;
            let tally = shell::tally_quote_lines(&out);
            for (pod, n) in tally.pods {
                *combined.pods.entry(pod).or_default() += n;
            }
            combined.no_answer += tally.no_answer;
            combined.unexpected.extend(tally.unexpected);
            let seen: BTreeSet<String> = combined.pods.keys().cloned().collect();
            if seen == expected {
                break;
            }
        }
        let seen: BTreeSet<String> = combined.pods.keys().cloned().collect();
        if seen != expected || combined.no_answer > 0 || !combined.unexpected.is_empty() {
            let missing: Vec<&String> = expected.difference(&seen).collect();
            return Err(format!(
                "{}; pods never reached: {missing:?}",
                combined.describe()
            ));
        }
        Ok(combined.describe())
    }

    async fn session_affinity(&self) -> Result<String, String> {
        let sticky = &self.objects.quote_sticky;
        self.cluster
            .apply(sticky)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let name = sticky.name().to_owned();
        let live = self.live_service(&name).await?;
        if live
            .spec
            .as_ref()
            .and_then(|s| s.session_affinity.as_deref())
            != Some("ClientIP")
        {
            return Err(format!("Service {name} has no sessionAffinity: ClientIP"));
        }
        let url = format!("http://{name}/");
        // Wait until the new Service answers at all.
        let deadline = Instant::now() + self.short();
        loop {
            let out = self.requests(CLIENT, &url, 1).await?;
            if shell::tally_quote_lines(&out).answered() == 1 {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{url} did not answer within {} s",
                    self.short().as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let out = self.requests(CLIENT, &url, 20).await?;
        let tally = shell::tally_quote_lines(&out);
        if tally.pods.len() != 1 || tally.no_answer > 0 || !tally.unexpected.is_empty() {
            return Err(format!(
                "expected 20 answers from one pod, got {}",
                tally.describe()
            ));
        }
        Ok(format!("{url}: {}", tally.describe()))
    }

    async fn dns(&self) {
        let ns = self.cluster.namespace.clone();
        let domain = self.domain.clone();
        let resolv = self
            .cluster
            .exec(CLIENT, "cat /etc/resolv.conf", self.short())
            .await
            .map_err(|e| format!("{e:#}"))
            .and_then(|text| {
                let conf = ResolvConf::parse(&text);
                if conf.has_kubernetes_search(&ns, &domain) {
                    Ok(format!(
                        "search {}; nameserver {}",
                        conf.search.join(" "),
                        conf.nameservers.join(" ")
                    ))
                } else {
                    Err(format!(
                        "search line {:?} does not start with {:?}",
                        conf.search,
                        ResolvConf::expected_search(&ns, &domain)
                    ))
                }
            });
        self.check("dns.resolv-conf", resolv);

        let ip = match self.live_service("quiz").await.map(|s| cluster_ip(&s)) {
            Ok(Some(ip)) => ip,
            Ok(None) => {
                self.check("dns", Err("the quiz Service has no cluster IP".into()));
                return;
            }
            Err(error) => {
                self.check("dns", Err(error));
                return;
            }
        };
        let names = [
            ("dns.short", "quiz".to_owned()),
            ("dns.namespace", format!("quiz.{ns}")),
            ("dns.svc", format!("quiz.{ns}.svc")),
            ("dns.fqdn", format!("quiz.{ns}.svc.{domain}")),
        ];
        for (check, name) in names {
            if !self.options.selected(check) {
                continue;
            }
            let result = async {
                // How the pod's resolver (search list, ndots) resolves the name: the
                // address busybox wget connects to.
                let url = format!("http://{name}/");
                let deadline = Instant::now() + self.short();
                let resolved = loop {
                    let out = self
                        .cluster
                        .exec(
                            CLIENT,
                            &format!("timeout 5 wget -O- {} 2>&1 >/dev/null || true", shell::shell_quote(&url)),
                            self.short(),
                        )
                        .await
                        .map_err(|e| format!("{e:#}"))?;
                    let resolved = shell::wget_connect_ip(&out);
                    if resolved.as_deref() == Some(ip.as_str()) {
                        break ip.clone();
                    }
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "{name} resolved to {resolved:?} in the pod, not the Service's {ip}: {}",
                            crate::summary::one_line(&out)
                        ));
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                };
                // The DNS record itself, for the names busybox nslookup resolves the
                // way the pod does (it applies the search list only to dotless names).
                let mut lookup = String::new();
                if !name.contains('.') || check == "dns.fqdn" {
                    let out = self
                        .cluster
                        .exec(
                            CLIENT,
                            &format!("timeout 10 nslookup {} 2>&1 || true", shell::shell_quote(&name)),
                            self.short(),
                        )
                        .await
                        .map_err(|e| format!("{e:#}"))?;
                    let addresses = shell::nslookup_addresses(&out);
                    if !addresses.contains(&ip) {
                        return Err(format!(
                            "nslookup {name} gave {addresses:?}, not the Service's {ip}: {}",
                            crate::summary::one_line(&out)
                        ));
                    }
                    lookup = format!(", nslookup: {}", addresses.join(" "));
                }
                let pod = self.quiz_answers(&url).await?;
                Ok(format!("{name} -> {resolved}{lookup}; {url} answered by pod {pod}"))
            }
            .await;
            self.check(check, result);
        }
    }

    async fn env_pod(&self, object: &Manifest) -> Result<BTreeMap<String, String>, String> {
        self.cluster
            .apply(object)
            .await
            .map_err(|e| format!("{e:#}"))?;
        self.cluster
            .wait_pods_ready(&[object.name().to_owned()], self.options.timeout)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let out = self
            .cluster
            .exec(object.name(), "env", self.short())
            .await
            .map_err(|e| format!("{e:#}"))?;
        Ok(parse::parse_env(&out))
    }

    async fn env_service_links(&self) -> Result<String, String> {
        // A copy of the client pod, created now that every Service exists.
        let client = self
            .objects
            .get("Pod", CLIENT)
            .map_err(|e| format!("{e:#}"))?;
        let copy =
            manifest::renamed_pod(client, "client-after-services").map_err(|e| format!("{e:#}"))?;
        let live = self.live_service("quiz").await?;
        let ip = cluster_ip(&live).ok_or("the quiz Service has no cluster IP")?;
        let env = self.env_pod(&copy).await?;
        let ports: Vec<EnvPort> = live
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .map(|ports| {
                ports
                    .iter()
                    .map(|p| EnvPort {
                        name: p.name.clone(),
                        port: p.port,
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let expected = parse::expected_service_env("quiz", &ip, &ports);
        let mismatches = parse::env_mismatches(&env, &expected);
        if !mismatches.is_empty() {
            return Err(mismatches.join("; "));
        }
        Ok(format!(
            "pod {}: {}",
            copy.name(),
            expected
                .iter()
                .filter(|(k, _)| k.ends_with("SERVICE_HOST")
                    || k.ends_with("SERVICE_PORT")
                    || k.as_str() == "QUIZ_PORT")
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ))
    }

    async fn env_no_service_links(&self) -> Result<String, String> {
        let object = self.objects.no_service_links.clone();
        let env = self.env_pod(&object).await?;
        let services = self
            .cluster
            .services()
            .list(&ListParams::default())
            .await
            .map_err(|e| format!("listing Services: {e}"))?;
        let names: Vec<String> = services
            .items
            .iter()
            .filter_map(|s| s.metadata.name.clone())
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let found = parse::service_link_vars(&env, &refs);
        if !found.is_empty() {
            return Err(format!(
                "pod {} has service variables: {}",
                object.name(),
                found.join(", ")
            ));
        }
        Ok(format!(
            "pod {}: no variables for the Services {}",
            object.name(),
            names.join(", ")
        ))
    }

    async fn kiada(&self) {
        let pod = match self.get_pod(KIADA_POD).await {
            Ok(pod) => pod,
            Err(error) => {
                self.check("kiada", Err(error));
                return;
            }
        };
        let timeout = Duration::from_secs(20);
        if self.options.selected("kiada.text") {
            let result = async {
                let response = self
                    .cluster
                    .http_via_portforward(KIADA_POD, 8080, &Request::get("/", "*/*"), None, timeout)
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                if response.status != 200 {
                    return Err(format!(
                        "GET / answered {}: {}",
                        response.status,
                        crate::summary::one_line(&response.body)
                    ));
                }
                let page = TextPage::parse(&response.body)?;
                check_text_page(&page, &pod)
            }
            .await;
            self.check("kiada.text", result);
        }
        if self.options.selected("kiada.html") {
            let result = self.kiada_html(timeout).await;
            self.check("kiada.html", result);
        }
        if self.options.selected("kiada.https") {
            let result = async {
                let config = tls::client_config(&self.tls.cert_der).map_err(|e| format!("{e:#}"))?;
                let response = self
                    .cluster
                    .http_via_portforward(KIADA_POD, 8443, &Request::get("/text", "text/plain"), Some(config), timeout)
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                if response.status != 200 {
                    return Err(format!("GET /text over HTTPS answered {}", response.status));
                }
                let page = TextPage::parse(&response.body)?;
                Ok(format!(
                    "GET https://localhost:8443/text (port-forward) verified against the kiada-tls Secret's certificate; page from pod {}",
                    page.pod_name.unwrap_or_default()
                ))
            }
            .await;
            self.check("kiada.https", result);
        }
        if self.options.selected("kiada.answer") {
            let result = self.kiada_answer(timeout).await;
            self.check("kiada.answer", result);
        }
    }

    async fn kiada_html(&self, timeout: Duration) -> Result<String, String> {
        let get = |path: &str, accept: &str| {
            let request = Request::get(path, accept);
            async move {
                self.cluster
                    .http_via_portforward(KIADA_POD, 8080, &request, None, timeout)
                    .await
                    .map_err(|e| format!("{e:#}"))
            }
        };
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let redirect = get("/", browser).await?;
        if !(300..400).contains(&redirect.status)
            || !redirect
                .location
                .as_deref()
                .unwrap_or("")
                .ends_with("/html")
        {
            return Err(format!(
                "GET / from a browser answered {} (location {:?}), expected a redirect to /html",
                redirect.status, redirect.location
            ));
        }
        let page = get("/html", browser).await?;
        if page.status != 200 || !page.content_type.starts_with("text/html") {
            return Err(format!(
                "GET /html answered {} {}",
                page.status, page.content_type
            ));
        }
        let lower = page.body.to_lowercase();
        if !lower.contains("<html") || !lower.contains("</html>") {
            return Err("GET /html is not a complete HTML document".into());
        }
        let assets = parse::html_asset_paths(&page.body);
        let mut broken = Vec::new();
        for path in assets.iter().take(12) {
            match get(path, "*/*").await {
                Ok(response) if response.status == 200 && response.body_len > 0 => {}
                Ok(response) => broken.push(format!("{path}: {}", response.status)),
                Err(error) => broken.push(format!("{path}: {error}")),
            }
        }
        if !broken.is_empty() {
            return Err(format!("the page's assets fail: {}", broken.join(", ")));
        }
        Ok(format!(
            "GET / from a browser redirects to /html; /html is {} bytes of HTML; {} linked assets answer ({})",
            page.body_len,
            assets.len().min(12),
            assets.join(" ")
        ))
    }

    async fn kiada_answer(&self, timeout: Duration) -> Result<String, String> {
        let page = self
            .cluster
            .http_via_portforward(
                KIADA_POD,
                8080,
                &Request::get("/text", "text/plain"),
                None,
                timeout,
            )
            .await
            .map_err(|e| format!("{e:#}"))?;
        let page = TextPage::parse(&page.body)?;
        let id = page
            .question_id
            .ok_or("the text page shows no question id")?;
        let before = self.quiz_stats().await?;
        let path = format!("/question/{id}/answers/0");
        let response = self
            .cluster
            .http_via_portforward(
                KIADA_POD,
                8080,
                &Request::post(&path, "text/plain"),
                None,
                timeout,
            )
            .await
            .map_err(|e| format!("{e:#}"))?;
        if !(200..300).contains(&response.status) {
            return Err(format!(
                "POST {path} answered {}: {}",
                response.status,
                crate::summary::one_line(&response.body)
            ));
        }
        // quiz updates its counts after the commit: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut after = self.quiz_stats().await?;
        while after < before + 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            after = self.quiz_stats().await?;
        }
        if after < before + 1 {
            return Err(format!(
                "quiz counted {before} answers before and {after} after POST {path}"
            ));
        }
        Ok(format!(
            "POST {path} via kiada: {}; quiz /stats total {before} -> {after}",
            crate::summary::one_line(&response.body)
        ))
    }

    async fn nodeport(&self) -> Result<String, String> {
        let live = self.live_service("kiada").await?;
        let node_port = live
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .and_then(|ports| ports.iter().find(|p| p.name.as_deref() == Some("http")))
            .and_then(|p| p.node_port)
            .ok_or("the kiada Service has no node port for http")?;
        let pod = self.get_pod(KIADA_POD).await?;
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .ok_or("kiada-001 has no node")?;
        let ips = self
            .cluster
            .node_internal_ips()
            .await
            .map_err(|e| format!("{e:#}"))?;
        let (ip, source) = match &self.options.node_address {
            Some(address) => (address.clone(), "--node-address".to_owned()),
            None => (
                ips.get(&node)
                    .cloned()
                    .ok_or_else(|| format!("node {node} has no InternalIP address"))?,
                format!("node {node} InternalIP"),
            ),
        };
        let address = format!("{}:{node_port}", url_host(&ip));
        let deadline = Instant::now() + self.short();
        let mut answered = BTreeMap::<String, usize>::new();
        let mut last_error = String::new();
        let mut attempts = 0;
        let mut failures_in_a_row = 0;
        // Bounded in time and count; after 5 failures in a row the port is not coming
        // (and the address may have gone with the cluster: stop knocking).
        while answered.values().sum::<usize>() < 5
            && Instant::now() < deadline
            && attempts < 30
            && failures_in_a_row < 5
        {
            attempts += 1;
            let attempt = async {
                let stream = tokio::time::timeout(
                    Duration::from_secs(5),
                    tokio::net::TcpStream::connect(&address),
                )
                .await
                .map_err(|_| format!("connecting to {address} timed out"))?
                .map_err(|e| format!("connecting to {address}: {e}"))?;
                let response = http::send(
                    stream,
                    &address,
                    &Request::get("/text", "text/plain"),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|e| format!("{e:#}"))?;
                if response.status != 200 {
                    return Err(format!("answered {}", response.status));
                }
                let page = TextPage::parse(&response.body)?;
                page.pod_name
                    .ok_or_else(|| "the page names no pod".to_owned())
            }
            .await;
            match attempt {
                Ok(pod) => {
                    failures_in_a_row = 0;
                    *answered.entry(pod).or_default() += 1;
                }
                Err(error) => {
                    failures_in_a_row += 1;
                    last_error = error;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
        if answered.is_empty() {
            return Err(format!(
                "http://{address}/text never answered ({last_error})"
            ));
        }
        let pods: Vec<String> = answered.iter().map(|(p, n)| format!("{p}×{n}")).collect();
        Ok(format!(
            "http://{address}/text ({source}) answered by {}",
            pods.join(", ")
        ))
    }

    async fn quote_pod_deleted(&self) -> Result<String, String> {
        let victim = "quote-002";
        self.cluster
            .delete_pod(victim, Duration::from_secs(90))
            .await
            .map_err(|e| format!("{e:#}"))?;
        let expected: BTreeSet<String> = QUOTE_PODS
            .iter()
            .filter(|p| **p != victim)
            .map(|p| (*p).to_owned())
            .collect();
        let deadline = Instant::now() + self.short();
        let mut last;
        loop {
            let out = self.requests(CLIENT, "http://quote/", 20).await?;
            let tally = shell::tally_quote_lines(&out);
            let seen: BTreeSet<String> = tally.pods.keys().cloned().collect();
            last = tally.describe();
            let good = tally.no_answer == 0
                && tally.unexpected.is_empty()
                && tally.answered() == 20
                && seen.is_subset(&expected);
            if good {
                return Ok(format!("{victim} deleted; 20/20 answered: {last}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("after deleting {victim}: {last}"));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    async fn quiz_pvc(&self) -> Result<String, String> {
        // Post one answer straight to quiz, so this check stands on its own.
        let question = self
            .cluster
            .exec(
                CLIENT,
                "timeout 5 wget -qO- http://quiz/questions/random",
                self.short(),
            )
            .await
            .map_err(|e| format!("GET http://quiz/questions/random: {e:#}"))?;
        let question: serde_json::Value = serde_json::from_str(question.trim())
            .map_err(|e| format!("a question is not JSON ({e}): {:?}", question.trim()))?;
        let id = question
            .get("id")
            .and_then(serde_json::Value::as_u64)
            .ok_or("the question has no id")?;
        let body = format!("{{\"questionId\": {id}, \"answerIndex\": 0}}");
        let script = format!(
            "timeout 5 wget -qO- --header 'Content-Type: application/json' --post-data {} http://quiz/questions/{id}/answers",
            shell::shell_quote(&body)
        );
        self.cluster
            .exec(CLIENT, &script, self.short())
            .await
            .map_err(|e| format!("POST an answer to quiz: {e:#}"))?;
        let before = self.quiz_stats().await?;
        if before == 0 {
            return Err("quiz counts no answers right after one was posted".into());
        }
        let pvc_volume = |pvc: Option<k8s_openapi::api::core::v1::PersistentVolumeClaim>| {
            pvc.and_then(|p| p.spec)
                .and_then(|s| s.volume_name)
                .unwrap_or_default()
        };
        let pvcs: kube::Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
            kube::Api::namespaced(self.cluster.client.clone(), &self.cluster.namespace);
        let volume_before = pvc_volume(pvcs.get_opt("quiz-data").await.ok().flatten());
        let quiz = self
            .objects
            .get("Pod", "quiz")
            .map_err(|e| format!("{e:#}"))?;
        let old_uid = self.get_pod("quiz").await?.metadata.uid;
        self.cluster
            .delete_pod("quiz", Duration::from_secs(90))
            .await
            .map_err(|e| format!("{e:#}"))?;
        self.cluster
            .apply(quiz)
            .await
            .map_err(|e| format!("{e:#}"))?;
        self.cluster
            .wait_pods_ready(&["quiz".to_owned()], self.options.timeout)
            .await
            .map_err(|e| format!("the recreated quiz pod: {e:#}"))?;
        let new_uid = self.get_pod("quiz").await?.metadata.uid;
        if new_uid == old_uid {
            return Err("the quiz pod was not recreated (same uid)".into());
        }
        let deadline = Instant::now() + self.short();
        let after = loop {
            match self.quiz_stats().await {
                Ok(n) => break n,
                Err(error) if Instant::now() >= deadline => {
                    return Err(format!("after recreating quiz: {error}"));
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(2)).await,
            }
        };
        if after < before {
            return Err(format!(
                "quiz counted {before} answers before the pod was recreated and {after} after"
            ));
        }
        let volume_after = pvc_volume(pvcs.get_opt("quiz-data").await.ok().flatten());
        Ok(format!(
            "answers {before} before, {after} after deleting and recreating pod quiz (PVC quiz-data, volume {}{})",
            volume_after,
            if volume_before == volume_after {
                ""
            } else {
                ", CHANGED"
            }
        ))
    }
}

/// Checks the text page against what the API says about the pod that served it.
pub fn check_text_page(page: &TextPage, pod: &Pod) -> Result<String, String> {
    let mut problems = Vec::new();
    if !page.errors.is_empty() {
        problems.push(format!("backend errors: {}", page.errors.join(" / ")));
    }
    if page.tip.trim().is_empty() {
        problems.push("no tip".to_owned());
    }
    if page.question.trim().is_empty() {
        problems.push("no question".to_owned());
    }
    if page.answers.len() < 2 {
        problems.push(format!("{} answers", page.answers.len()));
    }
    if page.question_id.is_none() {
        problems.push("no question id in the submit line".to_owned());
    }
    let status = pod.status.clone().unwrap_or_default();
    let expected = [
        ("pod name", page.pod_name.clone(), pod.metadata.name.clone()),
        (
            "node name",
            page.node_name.clone(),
            pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        ),
        ("pod IP", page.pod_ip.clone(), status.pod_ip.clone()),
        ("node IP", page.node_ip.clone(), status.host_ip.clone()),
    ];
    for (what, shown, api) in &expected {
        if shown.is_none() || shown != api {
            problems.push(format!("{what} shown {shown:?}, the API says {api:?}"));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    Ok(format!(
        "tip {:?}; question #{} with {} answers; pod {} on node {}, pod IP {}, node IP {} as the API reports",
        crate::summary::one_line(&page.tip)
            .chars()
            .take(60)
            .collect::<String>(),
        page.question_id.unwrap_or_default(),
        page.answers.len(),
        page.pod_name.as_deref().unwrap_or(""),
        page.node_name.as_deref().unwrap_or(""),
        page.pod_ip.as_deref().unwrap_or(""),
        page.node_ip.as_deref().unwrap_or("")
    ))
}

/// Turns an error into the text of a failed check.
pub fn reason(error: anyhow::Error) -> String {
    format!("{error:#}")
}

/// Loads the objects without a cluster: what `--dry-run` prints (and what the unit
/// tests exercise).
pub fn describe_objects(dir: &std::path::Path, namespace: &str) -> Result<String> {
    let objects = Objects::load(dir, namespace).context("loading the manifests")?;
    let mut out = String::new();
    for object in objects.base.iter().chain([
        &objects.quiz_exposed,
        &objects.quiz_selector,
        &objects.quote_sticky,
        &objects.no_service_links,
        &objects.probe_pod,
        &objects.publish_not_ready,
    ]) {
        out.push_str(&format!(
            "{} {}/{} ({})\n",
            object.api_version(),
            object.kind(),
            object.name(),
            object.file.display()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_page_against_the_api() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kiada-001"},
            "spec": {"nodeName": "node-1", "containers": []},
            "status": {"podIP": "10.244.0.9", "hostIP": "10.200.0.1"}
        }))
        .unwrap();
        let text = "T v1\n==== TIP OF THE MINUTE\nA tip\n==== POP QUIZ\nQ?\n0) a\n1) b\nSubmit your answer to /question/3/answers/<index of answer> using the POST method.\n==== REQUEST INFO\nRequest processed by Kiada 1 running in pod \"kiada-001\" on node \"node-1\".\nPod hostname: kiada-001; Pod IP: 10.244.0.9; Node IP: 10.200.0.1; Client IP: 127.0.0.1\n";
        let page = TextPage::parse(text).unwrap();
        assert!(check_text_page(&page, &pod).is_ok());
        let wrong =
            TextPage::parse(&text.replace("Node IP: 10.200.0.1", "Node IP: unknown")).unwrap();
        let error = check_text_page(&wrong, &pod).unwrap_err();
        assert!(error.contains("node IP shown Some(\"unknown\")"), "{error}");
    }

    #[test]
    fn only_selects_groups_and_names() {
        let options = Options {
            manifests_dir: "manifests".into(),
            timeout: Duration::from_secs(1),
            only: vec!["dns".into(), "kiada.https".into()],
            node_address: None,
        };
        assert!(options.selected("deploy"));
        assert!(options.selected("dns.short"));
        assert!(options.selected("dns"));
        assert!(options.selected("kiada"));
        assert!(options.selected("kiada.https"));
        assert!(!options.selected("kiada.text"));
        assert!(!options.selected("quote-balance"));
        assert!(validate_only(&["dns".into(), "kiada.text".into()]).is_ok());
        assert!(validate_only(&["nope".into()]).is_err());
    }

    #[test]
    fn loads_all_objects_of_the_real_manifests() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests");
        let text = describe_objects(&dir, "kiada-e2e-test").unwrap();
        assert!(text.contains("v1 Service/quote-sticky"), "{text}");
        assert!(text.contains("v1 Pod/client-no-service-links"), "{text}");
        assert!(text.contains("v1 Pod/quote-probe-controls"), "{text}");
        assert!(
            text.contains("v1 Service/quote-publish-not-ready"),
            "{text}"
        );
        let objects = Objects::load(&dir, "kiada-e2e-test").unwrap();
        assert_eq!(
            objects.quiz_exposed.object.metadata.namespace.as_deref(),
            Some("kiada-e2e-test")
        );
        // The pods the checks name exist in the base.
        for pod in QUOTE_PODS.iter().chain([&KIADA_POD, &CLIENT, &"quiz"]) {
            assert!(objects.get("Pod", pod).is_ok(), "{pod}");
        }
    }
}
