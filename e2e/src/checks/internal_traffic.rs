//! The internal traffic policy Local (section 11.5, `internal-traffic-local`): through
//! `quote-local` a kiada pod reaches only the quote pods on its own node, and a pod on
//! a node without quote pods gets no answer at all.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kube::api::ListParams;

use super::*;
use crate::manifest::Manifest;
use crate::nodes::NodeInfo;
use crate::parse::quote_identity;
use crate::poll::Poller;
use crate::shell::{self, CurlLoop};

const NAME: &str = "internal-traffic-local";
/// Calls from each kiada pod.
const CALLS: u32 = 12;
/// curl's bound for one call, in seconds.
const MAX_TIME: u32 = 3;
/// The pod the check starts on a node without quote pods, when no kiada pod is there.
const CALLER: &str = "quote-local-caller";

/// The ready pods of the namespace by their `app` label, each with its node.
pub(super) struct ReadyPods(BTreeMap<String, Vec<(String, String)>>);

impl ReadyPods {
    /// The ready pods labelled `app` on `node`.
    pub(super) fn on(&self, app: &str, node: &str) -> BTreeSet<String> {
        let on_node = self.of(app).iter().filter(|(_, n)| n == node);
        on_node.map(|(pod, _)| pod.clone()).collect()
    }

    fn of(&self, app: &str) -> &[(String, String)] {
        self.0.get(app).map(Vec::as_slice).unwrap_or_default()
    }
}

impl Run<'_> {
    pub(super) async fn internal_traffic_local(&self) {
        let nodes = match self.several_nodes().await {
            Ok(nodes) => nodes,
            Err(outcome) => return self.record_all(&[NAME], outcome),
        };
        let result = self.internal_local_inner(&nodes).await;
        let service = self.objects.book.quote_local.name();
        let cleanup = self.delete_service_and_pod(service, CALLER, 60).await;
        self.check(NAME, after_cleanup(result, cleanup));
    }

    pub(super) async fn ready_pods(&self) -> Result<ReadyPods, String> {
        let pods = self
            .ready_pods_listed(ListParams::default(), "the pods")
            .await?;
        let mut by_app = ReadyPods(BTreeMap::new());
        for pod in pods {
            let app = pod.metadata.labels.as_ref().and_then(|l| l.get("app"));
            let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
            if let (Some(app), Some(node), Some(name)) = (app, node, pod.metadata.name) {
                let pods = by_app.0.entry(app.clone()).or_default();
                pods.push((name, node));
            }
        }
        Ok(by_app)
    }

    async fn internal_local_inner(&self, nodes: &[NodeInfo]) -> Result<String, String> {
        let service = self.objects.book.quote_local.name();
        self.apply(&self.objects.book.quote_local).await?;
        let live = self.live_service(service).await?;
        let policy = live.spec.and_then(|s| s.internal_traffic_policy);
        if policy.as_deref() != Some("Local") {
            return Err(format!("{service} has internalTrafficPolicy {policy:?}"));
        }
        let url = format!("http://{service}/");
        let ready = self.ready_pods().await?;
        let quote_nodes: BTreeSet<&str> =
            ready.of("quote").iter().map(|(_, n)| n.as_str()).collect();
        let mut seen = Vec::new();
        for (kiada, node) in ready.of("kiada") {
            let local = ready.on("quote", node);
            if local.is_empty() {
                continue;
            }
            if quote_nodes.len() < 2 {
                return Err(format!(
                    "every ready quote pod runs on {node}: calls from there cannot show that the policy keeps them on the node"
                ));
            }
            let calls = self.calls_from(kiada, &url, CALLS).await?;
            let mut by_pod: BTreeMap<String, usize> = BTreeMap::new();
            for answer in &calls.answers {
                let Some((pod, _)) =
                    quote_identity(answer).filter(|(pod, at)| at == node && local.contains(pod))
                else {
                    return Err(format!(
                        "from {kiada} on {node}, {url} answered {answer:?}: not a quote pod of that node ({local:?})"
                    ));
                };
                *by_pod.entry(pod).or_default() += 1;
            }
            if calls.answers.len() != CALLS as usize {
                return Err(format!(
                    "from {kiada} on {node}: {} of {CALLS} calls to {url}",
                    calls.describe()
                ));
            }
            let pods: Vec<String> = by_pod.iter().map(|(p, n)| format!("{p}×{n}")).collect();
            seen.push(format!("{kiada} on {node}: {}", pods.join(", ")));
        }
        if seen.is_empty() {
            return Err("no ready kiada pod runs on a node with a ready quote pod".into());
        }
        let empty = self.no_quote_pod_node(nodes, &ready, &url).await?;
        Ok(format!(
            "{url} from each kiada pod, {CALLS} curl calls each, all answered on the caller's node: {}; {empty}",
            seen.join("; ")
        ))
    }

    /// From a pod on a Ready node without ready quote pods (a kiada pod there, or a
    /// copy of the client pod the check starts on it), `url` times out while the quote
    /// Service answers. Says so, or that every node has a quote pod.
    async fn no_quote_pod_node(
        &self,
        nodes: &[NodeInfo],
        ready: &ReadyPods,
        url: &str,
    ) -> Result<String, String> {
        let Some(node) = nodes
            .iter()
            .find(|n| n.ready && ready.on("quote", &n.name).is_empty())
        else {
            return Ok("every Ready node has a quote pod: no-answer case not shown".into());
        };
        let node = &node.name;
        let caller = match ready.of("kiada").iter().find(|(_, n)| n == node) {
            Some((kiada, _)) => kiada.clone(),
            None => {
                let pod = self.caller_on(node)?;
                self.start_pod(&pod)
                    .await
                    .map_err(|e| format!("{e} (on {node})"))?;
                CALLER.to_owned()
            }
        };
        // The caller reaches quote through the ordinary Service: the silence below is
        // the policy's, not the node's network.
        self.calls_from(&caller, "http://quote/", 1).await?;
        let script = shell::curl_loop(url, 3, MAX_TIME);
        let out = self.exec(&caller, &script).await?;
        let calls = CurlLoop::read(&out);
        if calls.failures.get(&28) != Some(&3) {
            return Err(format!(
                "from {caller} on {node} (no quote pod there), 3 calls to {url} should all time out (curl exit 28): {} {:?}",
                calls.describe(),
                calls.answers
            ));
        }
        Ok(format!(
            "from {caller} on {node}, which has no quote pod, http://quote/ answers and 3 of 3 calls to {url} time out after {MAX_TIME} s"
        ))
    }

    /// Calls `url` from `pod` until one is answered (a new Service takes a moment to
    /// be programmed on the node), then `count` calls.
    async fn calls_from(&self, pod: &str, url: &str, count: u32) -> Result<CurlLoop, String> {
        let what = format!("{url} answering in {pod}");
        let poller = Poller::new(what, Duration::from_secs(1), self.short()).tries(10);
        let first = shell::curl_loop(url, 1, MAX_TIME);
        self.exec_until(pod, &first, poller, |out| {
            let first = CurlLoop::read(out);
            (first.failed() == 0)
                .then_some(())
                .ok_or_else(|| first.describe())
        })
        .await?;
        if count <= 1 {
            return Ok(CurlLoop::default());
        }
        let timeout = Duration::from_secs(u64::from(count * (MAX_TIME + 1)) + 20);
        let out = self
            .cluster
            .exec(pod, &shell::curl_loop(url, count, MAX_TIME), timeout)
            .await
            .map_err(reason)?;
        Ok(CurlLoop::read(&out))
    }

    /// A copy of the client pod pinned to `node` (tolerating its taints, as a
    /// DaemonSet's pods do), labelled so that no Service selects it.
    fn caller_on(&self, node: &str) -> Result<Manifest, String> {
        let mut pod = self.client_copy(CALLER)?;
        let labels = pod
            .object
            .metadata
            .labels
            .get_or_insert_with(Default::default);
        labels.insert("app".into(), CALLER.into());
        let spec = &mut pod.object.data["spec"];
        spec["affinity"] = serde_json::json!({
            "nodeAffinity": { "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{ "matchFields": [
                    { "key": "metadata.name", "operator": "In", "values": [node] }
                ] }]
            } }
        });
        spec["tolerations"] = serde_json::json!([{ "operator": "Exists" }]);
        Ok(pod)
    }
}
