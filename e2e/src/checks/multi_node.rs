//! What only a cluster of several nodes shows (`multi-node.*`): the quote Service's
//! pods on at least two nodes, kiada's spread view naming two nodes, kiada's NodePort
//! answering at every node's InternalIP, the client pod reaching quote pods on other
//! nodes through the Service, and the node names on kiada's page (request info and
//! served-by) as the API reports them, across nodes.
//!
//! On a cluster with fewer than two nodes the base's pods can be scheduled on, every
//! one is skipped with that reason: there, none can show anything across nodes. On one
//! with two or more, each must see its observable across nodes or fail. The suite
//! spreads the quote pods over the nodes (see `objects::SPREAD_APP`), so that is what a
//! working cluster does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kiada_wire::Spread;
use kube::api::ListParams;

use super::nodeport::{ANSWERS, knock};
use super::spread::{CALLS, answered_by_quote, describe};
use super::traffic::ROUND;
use super::*;
use crate::endpoints;
use crate::nodes::{self, NodeInfo, Placement};
use crate::page::JSON_PATH;
use crate::parse::quote_identity;
use crate::poll::Poller;
use crate::service::url_host;

const QUOTE_PODS_ON_NODES: &str = "multi-node.quote-pods";
const SPREAD_NODES: &str = "multi-node.spread";
const NODEPORT_EVERY_NODE: &str = "multi-node.nodeport";
const CROSS_NODE: &str = "multi-node.cross-node";
const SERVED_BY: &str = "multi-node.served-by";
const PARTS: [&str; 5] = [
    QUOTE_PODS_ON_NODES,
    SPREAD_NODES,
    NODEPORT_EVERY_NODE,
    CROSS_NODE,
    SERVED_BY,
];

/// At most this many rounds of [`ROUND`] requests from the client to reach every
/// other node: with a quarter of the quote pods on another node, 100 requests all
/// miss it with a chance of 0.75^100, about 3 in a trillion.
const CROSS_NODE_ROUNDS: u32 = 5;
/// At most this many rounds of one page from each kiada pod to see one served across
/// nodes.
const SERVED_BY_ROUNDS: usize = 8;
/// Between two rounds of pages: longer than kiada keeps an idle backend connection
/// (`BACKEND_POOL_IDLE_SECONDS`, 1 s), so each round's calls pick a quote pod afresh.
const BETWEEN_PAGES: Duration = Duration::from_millis(1200);

impl Run<'_> {
    pub(super) async fn multi_node(&self) {
        let nodes = match self.cluster.nodes().await {
            Ok(nodes) => nodes,
            Err(error) => {
                for name in PARTS {
                    self.part(name, async { Err(format!("{error:#}")) }).await;
                }
                return;
            }
        };
        if let Some(reason) = too_few_nodes(&nodes) {
            self.skip_all(&PARTS, &reason);
            return;
        }
        let names: Vec<&str> = nodes::schedulable(&nodes)
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        self.part(QUOTE_PODS_ON_NODES, self.quote_pods_on_nodes(&names))
            .await;
        self.part(SPREAD_NODES, self.spread_names_nodes()).await;
        match &self.options.node_address {
            Some(address) => self.skip_all(
                &[NODEPORT_EVERY_NODE],
                &format!(
                    "--node-address {address} was given: the nodes' InternalIPs are not taken to be reachable from here"
                ),
            ),
            None => {
                self.part(NODEPORT_EVERY_NODE, self.nodeport_every_node(&nodes))
                    .await;
            }
        }
        self.part(CROSS_NODE, self.cross_node()).await;
        self.part(SERVED_BY, self.served_by_across_nodes()).await;
    }

    /// Records each selected check of `names` as skipped, for `reason`.
    fn skip_all(&self, names: &[&str], reason: &str) {
        for name in names.iter().filter(|name| self.options.selected(name)) {
            self.record(CheckResult::skip(*name, reason));
        }
    }

    /// The quote Service's ready endpoints, as its EndpointSlices list them, are on at
    /// least two nodes, each where the API says its pod runs.
    async fn quote_pods_on_nodes(&self, schedulable: &[&str]) -> Result<String, String> {
        let placement = self.placement().await?;
        let slices = self
            .cluster
            .endpoint_slices("quote")
            .await
            .map_err(reason)?;
        let by_node = endpoints::ready_pods_by_node(&slices)
            .map_err(|e| format!("the quote Service's EndpointSlices: {e}"))?;
        for (node, pods) in &by_node {
            for pod in pods {
                placement
                    .confirm("quote", pod, node)
                    .map_err(|e| format!("the quote Service's EndpointSlices: {e}"))?;
            }
        }
        let count: usize = by_node.values().map(BTreeSet::len).sum();
        let listed = describe_by_node(&by_node);
        if by_node.len() < 2 {
            return Err(format!(
                "the quote Service's {count} ready endpoints are on one node ({listed}), though the base's pods can go to {}: the scheduler did not spread them (the suite asks it to, with a ScheduleAnyway topologySpreadConstraint over {})",
                schedulable.join(", "),
                crate::manifest::HOSTNAME_TOPOLOGY_KEY
            ));
        }
        Ok(format!(
            "the quote Service's EndpointSlices list {count} ready endpoints on {} nodes: {listed}; each endpoint's nodeName is its pod's spec.nodeName; schedulable nodes: {}",
            by_node.len(),
            schedulable.join(", ")
        ))
    }

    /// kiada's `/spread` view, 40 calls on new connections, names at least two nodes,
    /// each the node the API reports for the pod named with it.
    async fn spread_names_nodes(&self) -> Result<String, String> {
        let spread = self.spread_view(KIADA_POD, &format!("?n={CALLS}")).await?;
        answered_by_quote(&spread, &self.quote_pods_expected().await?)?;
        let by_node = spread_by_node(&spread, &self.placement().await?)?;
        if by_node.len() < 2 {
            return Err(format!(
                "every answer came from one node ({}): {}",
                by_node.keys().cloned().collect::<Vec<_>>().join(", "),
                describe(&spread)
            ));
        }
        Ok(format!(
            "{KIADA_POD}'s /spread?n={CALLS} names {} nodes, each as the API reports for its pods: {}",
            by_node.len(),
            by_node
                .iter()
                .map(|(node, pods)| format!("{node}: {}", pods.join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    }

    /// kiada's NodePort at every Ready node's InternalIP (control plane included):
    /// [`ANSWERS`] answers from each, by a kiada pod on that node or another.
    async fn nodeport_every_node(&self, nodes: &[NodeInfo]) -> Result<String, String> {
        let node_port = self.kiada_node_port().await?;
        let placement = self.placement().await?;
        let mut seen = Vec::new();
        let mut problems = Vec::new();
        let mut not_asked = Vec::new();
        let mut across = 0;
        let mut total = 0;
        for node in nodes {
            if !node.ready {
                not_asked.push(format!("{} (not Ready)", node.name));
                continue;
            }
            let Some(ip) = &node.internal_ip else {
                problems.push(format!("node {} has no InternalIP to ask", node.name));
                continue;
            };
            let address = format!("{}:{node_port}", url_host(ip));
            let knocks = knock(&address, ANSWERS, self.short()).await;
            let here = |pod: &str| placement.node(pod) == Some(node.name.as_str());
            across += knocks
                .answered
                .iter()
                .filter(|(pod, _)| !here(pod))
                .map(|(_, n)| n)
                .sum::<usize>();
            total += knocks.answers();
            let pods = knocks.describe_pods(|pod| {
                Some(match placement.node(pod) {
                    Some(on) if on == node.name => "this node".to_owned(),
                    Some(on) => on.to_owned(),
                    None => "no node".to_owned(),
                })
            });
            let failed = match knocks.failed {
                0 => String::new(),
                n => format!(", {n} failed (last: {})", knocks.last_error),
            };
            let line = format!(
                "{address} ({}): {}/{} answered{failed}, by {pods}",
                node.name,
                knocks.answers(),
                knocks.attempts
            );
            if knocks.answers() < ANSWERS {
                problems.push(line);
            } else {
                seen.push(line);
            }
        }
        let not_asked = match not_asked.as_slice() {
            [] => String::new(),
            nodes => format!("; not asked: {}", nodes.join(", ")),
        };
        if !problems.is_empty() {
            return Err(format!(
                "{ANSWERS} answers wanted from every node's {node_port}: {}{not_asked}; the others: {}",
                problems.join("; "),
                seen.join("; ")
            ));
        }
        Ok(format!(
            "GET /json at node port {node_port} of {} nodes, {total} answers, {across} of them by a kiada pod on another node than the one asked: {}{not_asked}",
            seen.len(),
            seen.join("; ")
        ))
    }

    /// From the client pod, rounds of requests to `http://quote/` until quote pods on
    /// every other node that has one answered; every answer's node as the API says.
    async fn cross_node(&self) -> Result<String, String> {
        let placement = self.placement().await?;
        let home = placement
            .node(CLIENT)
            .ok_or("the API reports no node for the client pod")?
            .to_owned();
        let ready = self.quote_pods_expected().await?;
        let others: BTreeSet<String> = ready
            .iter()
            .filter_map(|pod| placement.node(pod))
            .filter(|node| *node != home)
            .map(str::to_owned)
            .collect();
        if others.is_empty() {
            return Err(format!(
                "every ready quote pod ({}) runs on {home}, the client's node: none to reach on another node",
                ready.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        let url = "http://quote/";
        let what = format!(
            "{url} from {CLIENT} on {home} reaching quote pods on {}",
            others.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        let mut poller = Poller::new(what, Duration::ZERO, self.short()).tries(CROSS_NODE_ROUNDS);
        let mut tally = NodeTally::default();
        loop {
            tally.add(&self.requests(CLIENT, url, ROUND).await?, &placement);
            if let Some(problem) = tally.problem() {
                return Err(format!("{problem}; {}", tally.describe(&home)));
            }
            if others.iter().all(|node| tally.by_node.contains_key(node)) {
                return Ok(format!(
                    "{} requests from {CLIENT} on {home} through {url}: {}; every answer's node as the API reports",
                    tally.answers(),
                    tally.describe(&home)
                ));
            }
            poller.again(tally.describe(&home)).await?;
        }
    }

    /// Rounds of one page (`/json`) from each ready kiada pod (through a port-forward),
    /// each page's request info and served-by pods held against the API
    /// ([`check_page`]), until a page shows a backend pod on another node than the
    /// kiada pod that called it.
    async fn served_by_across_nodes(&self) -> Result<String, String> {
        let kiada: Vec<Pod> = self
            .cluster
            .pods()
            .list(&ListParams::default().labels("app=kiada"))
            .await
            .map_err(|e| format!("listing kiada pods: {:#}", api_error(e)))?
            .items
            .into_iter()
            .filter(|p| crate::cluster::is_ready(p) && p.metadata.deletion_timestamp.is_none())
            .collect();
        if kiada.is_empty() {
            return Err("no ready kiada pod".into());
        }
        let placement = self.placement().await?;
        let mut pages = 0;
        let mut named = BTreeSet::new();
        let mut across = Vec::new();
        for round in 0..SERVED_BY_ROUNDS {
            if round > 0 {
                tokio::time::sleep(BETWEEN_PAGES).await;
            }
            for pod in &kiada {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let response = self
                    .kiada_get_ok(
                        &name,
                        JSON_PATH,
                        "application/json",
                        Duration::from_secs(20),
                    )
                    .await?;
                let page = crate::page::from_json(&response.body)?;
                check_page(&page, pod, &placement)
                    .map_err(|e| format!("the page from {name} (page {}): {e}", pages + 1))?;
                pages += 1;
                let home = page.request.node_name.clone();
                named.insert(home.clone());
                let served = [
                    ("quote", page.tip.served_by()),
                    ("quiz", page.question.served_by()),
                ];
                for (service, by) in served {
                    let Some(by) = by else { continue };
                    named.insert(by.node.clone());
                    if by.node != home {
                        across.push(format!(
                            "{name} on {home} served by {service} pod {} on {}",
                            by.pod, by.node
                        ));
                    }
                }
            }
            if !across.is_empty() {
                break;
            }
        }
        let names: Vec<String> = named.into_iter().collect();
        if across.is_empty() {
            return Err(format!(
                "{pages} pages from {} kiada pods, every one served by quote and quiz pods on the kiada pod's own node (nodes named: {})",
                kiada.len(),
                names.join(", ")
            ));
        }
        let shown: Vec<&String> = across.iter().take(4).collect();
        Ok(format!(
            "{pages} pages from {} kiada pods name nodes {}, request info and served-by as the API reports; across nodes: {}{}",
            kiada.len(),
            names.join(", "),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            match across.len().saturating_sub(shown.len()) {
                0 => String::new(),
                more => format!(" (and {more} more)"),
            }
        ))
    }
}

/// Why no check across nodes can apply to a cluster of these nodes: fewer than two
/// take the base's pods. `None` when two or more do.
pub(super) fn too_few_nodes(nodes: &[NodeInfo]) -> Option<String> {
    let schedulable = nodes::schedulable(nodes).len();
    (schedulable < 2).then(|| {
        format!(
            "this cluster has {schedulable} node(s) the base's pods can be scheduled on, and a check across nodes needs two: {}",
            nodes::describe_all(nodes)
        )
    })
}

/// `kiada-worker: quote-001, quote-003; kiada-worker2: quote-002`.
fn describe_by_node(by_node: &BTreeMap<String, BTreeSet<String>>) -> String {
    by_node
        .iter()
        .map(|(node, pods)| {
            format!(
                "{node}: {}",
                pods.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The pods of a spread view by the node each is named with (`pod calls` each), once
/// every pod's node is the one the API reports.
fn spread_by_node(
    spread: &Spread,
    placement: &Placement,
) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut by_node: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pod in &spread.pods {
        placement
            .confirm("quote", &pod.pod, &pod.node)
            .map_err(|e| format!("the spread view: {e}"))?;
        by_node
            .entry(pod.node.clone())
            .or_default()
            .push(format!("{} {}", pod.pod, pod.calls));
    }
    Ok(by_node)
}

/// The answers of request loops to the quote Service, by the node and pod each names.
#[derive(Debug, Default)]
struct NodeTally {
    by_node: BTreeMap<String, BTreeMap<String, usize>>,
    no_answer: usize,
    unexpected: Vec<String>,
    /// Answers whose pod or node is not what the API says.
    wrong: Vec<String>,
}

impl NodeTally {
    /// Counts quote's identity lines (`... running in pod P on node N`) in `output`.
    fn add(&mut self, output: &str, placement: &Placement) {
        for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line == crate::shell::NO_ANSWER {
                self.no_answer += 1;
            } else if let Some((pod, node)) = quote_identity(line) {
                match placement.confirm("quote", &pod, &node) {
                    Ok(()) => {
                        *self
                            .by_node
                            .entry(node)
                            .or_default()
                            .entry(pod)
                            .or_default() += 1;
                    }
                    Err(problem) => self.wrong.push(problem),
                }
            } else {
                self.unexpected.push(line.to_owned());
            }
        }
    }

    fn answers(&self) -> usize {
        self.by_node.values().flat_map(BTreeMap::values).sum()
    }

    /// What makes the tally a failure: a request not answered, an answer that is not
    /// quote's, or one that names another node than the API's.
    fn problem(&self) -> Option<String> {
        let mut problems = Vec::new();
        if self.no_answer > 0 {
            problems.push(format!("{} requests without answer", self.no_answer));
        }
        if let Some(first) = self.unexpected.first() {
            problems.push(format!(
                "{} answers not from quote (first: {first:?})",
                self.unexpected.len()
            ));
        }
        if let Some(first) = self.wrong.first() {
            problems.push(format!(
                "{} answers not as the API has it (first: {first})",
                self.wrong.len()
            ));
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// `kiada-worker (another node): quote-001×5, quote-003×4; kiada-worker2 (the
    /// client's node): quote-002×6`.
    fn describe(&self, home: &str) -> String {
        if self.by_node.is_empty() {
            return "no answers yet".into();
        }
        self.by_node
            .iter()
            .map(|(node, pods)| {
                let whose = if node == home {
                    "the client's node"
                } else {
                    "another node"
                };
                let pods: Vec<String> = pods.iter().map(|(p, n)| format!("{p}×{n}")).collect();
                format!("{node} ({whose}): {}", pods.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement() -> Placement {
        let pods: Vec<Pod> = serde_json::from_value(serde_json::json!([
            {"metadata": {"name": "client", "labels": {"app": "client"}}, "spec": {"nodeName": "w2", "containers": []}},
            {"metadata": {"name": "quote-001", "labels": {"app": "quote"}}, "spec": {"nodeName": "w1", "containers": []}},
            {"metadata": {"name": "quote-002", "labels": {"app": "quote"}}, "spec": {"nodeName": "w2", "containers": []}}
        ]))
        .unwrap();
        Placement::of(&pods)
    }

    fn line(pod: &str, node: &str) -> String {
        format!("This is the quote service running in pod {pod} on node {node}\n")
    }

    #[test]
    fn node_tally_counts_by_node_and_holds_nodes_against_the_api() {
        let placement = placement();
        let mut tally = NodeTally::default();
        tally.add(
            &[
                line("quote-001", "w1"),
                line("quote-002", "w2"),
                line("quote-001", "w1"),
            ]
            .concat(),
            &placement,
        );
        assert_eq!(tally.answers(), 3);
        assert_eq!(tally.problem(), None);
        assert_eq!(
            tally.describe("w2"),
            "w1 (another node): quote-001×2; w2 (the client's node): quote-002×1"
        );
        // A pod that names the wrong node, no answer, and a stranger's line.
        tally.add(
            &format!(
                "{}{}\nhello\n",
                line("quote-002", "w1"),
                crate::shell::NO_ANSWER
            ),
            &placement,
        );
        let problem = tally.problem().unwrap();
        assert!(problem.contains("1 requests without answer"), "{problem}");
        assert!(
            problem.contains("1 answers not from quote (first: \"hello\")"),
            "{problem}"
        );
        assert!(
            problem
                .contains("quote pod quote-002 named node \"w1\", the API says it runs on \"w2\""),
            "{problem}"
        );
        assert_eq!(tally.answers(), 3);
        assert_eq!(NodeTally::default().describe("w1"), "no answers yet");
    }

    #[test]
    fn spread_view_by_node() {
        let spread: Spread = serde_json::from_value(serde_json::json!({
            "service": "quote", "url": "http://quote/quote", "mode": "new-connection",
            "summary": "", "calls": 40, "answered": 40, "errors": [], "elapsedMs": 1.0,
            "latencyMs": {"min": 1.0, "median": 1.0, "p90": 1.0, "max": 1.0},
            "pods": [
                {"pod": "quote-001", "node": "w1", "calls": 22, "latencyMs": {"min": 1.0, "median": 1.0, "p90": 1.0, "max": 1.0}},
                {"pod": "quote-002", "node": "w2", "calls": 18, "latencyMs": {"min": 1.0, "median": 1.0, "p90": 1.0, "max": 1.0}}
            ]
        }))
        .unwrap();
        let by_node = spread_by_node(&spread, &placement()).unwrap();
        assert_eq!(
            by_node,
            BTreeMap::from([
                ("w1".to_owned(), vec!["quote-001 22".to_owned()]),
                ("w2".to_owned(), vec!["quote-002 18".to_owned()]),
            ])
        );
        // kiada naming a node that is not the pod's fails.
        let mut wrong = spread.clone();
        wrong.pods[1].node = "w1".into();
        let error = spread_by_node(&wrong, &placement()).unwrap_err();
        assert!(error.contains("the API says it runs on \"w2\""), "{error}");
        // "unknown" (no X-Node-Name header) is not a node.
        wrong.pods[1].node = "unknown".into();
        assert!(spread_by_node(&wrong, &placement()).is_err());
    }

    #[test]
    fn skipped_below_two_schedulable_nodes() {
        let node = |name: &str, taint: Option<&str>| {
            NodeInfo::of(
                &serde_json::from_value(serde_json::json!({
                    "metadata": {"name": name},
                    "spec": {"taints": taint.map(|key| vec![serde_json::json!({"key": key, "effect": "NoSchedule"})])},
                    "status": {
                        "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                        "conditions": [{"type": "Ready", "status": "True"}]
                    }
                }))
                .unwrap(),
            )
        };
        // The single-node CI cluster.
        let reason = too_few_nodes(&[node("ci", None)]).unwrap();
        assert!(
            reason.starts_with("this cluster has 1 node(s) the base's pods can be scheduled on"),
            "{reason}"
        );
        // A tainted control plane and one worker: still one.
        let control_plane = node("cp", Some("node-role.kubernetes.io/control-plane"));
        let reason = too_few_nodes(&[control_plane.clone(), node("w1", None)]).unwrap();
        assert!(reason.contains("cp (10.0.0.1; not schedulable: taint node-role.kubernetes.io/control-plane:NoSchedule)"), "{reason}");
        assert!(too_few_nodes(&[]).is_some());
        // kind's three nodes: two workers take pods.
        assert_eq!(
            too_few_nodes(&[control_plane, node("w1", None), node("w2", None)]),
            None
        );
    }

    #[test]
    fn pods_by_node_read() {
        let by_node = BTreeMap::from([
            (
                "w1".to_owned(),
                BTreeSet::from(["quote-001".to_owned(), "quote-003".to_owned()]),
            ),
            ("w2".to_owned(), BTreeSet::from(["quote-002".to_owned()])),
        ]);
        assert_eq!(
            describe_by_node(&by_node),
            "w1: quote-001, quote-003; w2: quote-002"
        );
    }
}
