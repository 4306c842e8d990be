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

use super::kiada::served_by;
use super::node_tally::NodeTally;
use super::nodeport::{ANSWERS, knock};
use super::spread::{CALLS, answered_by_quote, describe};
use super::traffic::ROUND;
use super::*;
use crate::endpoints;
use crate::nodes::{self, NodeInfo, Placement};
use crate::poll::Poller;
use crate::service::url_host;

/// The group's checks, in the order they run.
const PARTS: [&str; 5] = [
    "multi-node.quote-pods",
    "multi-node.spread",
    "multi-node.nodeport",
    "multi-node.cross-node",
    "multi-node.served-by",
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
        let nodes = match self.several_nodes().await {
            Ok(nodes) => nodes,
            Err(outcome) => return self.record_all(&PARTS, outcome),
        };
        let [quote_pods, spread, nodeport, cross_node, served] = PARTS;
        self.part(quote_pods, self.quote_pods_on_nodes(&nodes))
            .await;
        self.part(spread, self.spread_names_nodes()).await;
        match self.node_address_given() {
            Some(reason) => self.record_all(&[nodeport], Outcome::Skip(reason)),
            None => self.part(nodeport, self.nodeport_every_node(&nodes)).await,
        }
        self.part(cross_node, self.cross_node()).await;
        self.part(served, self.served_by_across_nodes()).await;
    }

    /// The cluster's nodes when at least two take the base's pods; else what each
    /// check across nodes records instead: the API's error, or a skip saying why.
    pub(super) async fn several_nodes(&self) -> Result<Vec<NodeInfo>, Outcome> {
        let nodes = (self.cluster.nodes().await).map_err(|e| Outcome::Fail(format!("{e:#}")))?;
        too_few_nodes(&nodes).map_or(Ok(nodes), |reason| Err(Outcome::Skip(reason)))
    }

    /// Why the nodes' InternalIPs are not asked from here, when `--node-address` was given.
    pub(super) fn node_address_given(&self) -> Option<String> {
        let address = self.options.node_address.as_ref()?;
        Some(format!(
            "--node-address {address} was given: the nodes' InternalIPs are not taken to be reachable from here"
        ))
    }

    /// The quote Service's ready endpoints, as its EndpointSlices list them, are on at
    /// least two nodes, each where the API says its pod runs.
    async fn quote_pods_on_nodes(&self, nodes: &[NodeInfo]) -> Result<String, String> {
        let schedulable = comma_list(nodes::schedulable(nodes).iter().map(|n| &n.name));
        let placement = self.placement().await?;
        let slices = self
            .cluster
            .endpoint_slices("quote")
            .await
            .map_err(reason)?;
        let on_slices = |e: String| format!("the quote Service's EndpointSlices: {e}");
        let by_node = endpoints::ready_pods_by_node(&slices).map_err(on_slices)?;
        for (node, pods) in &by_node {
            for pod in pods {
                placement.confirm("quote", pod, node).map_err(on_slices)?;
            }
        }
        let count: usize = by_node.values().map(BTreeSet::len).sum();
        let listed = describe_by_node(&by_node);
        if by_node.len() < 2 {
            return Err(format!(
                "the quote Service's {count} ready endpoints are on one node ({listed}), though the base's pods can go to {schedulable}: the scheduler did not spread them (the suite asks it to, with a ScheduleAnyway topologySpreadConstraint over {})",
                crate::manifest::HOSTNAME_TOPOLOGY_KEY
            ));
        }
        Ok(format!(
            "the quote Service's EndpointSlices list {count} ready endpoints on {} nodes: {listed}; each endpoint's nodeName is its pod's spec.nodeName; schedulable nodes: {schedulable}",
            by_node.len(),
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
                comma_list(by_node.keys()),
                describe(&spread)
            ));
        }
        Ok(format!(
            "{KIADA_POD}'s /spread?n={CALLS} names {} nodes, each as the API reports for its pods: {}",
            by_node.len(),
            describe_by_node(&by_node)
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
                let on = placement.node(pod).unwrap_or("no node");
                Some(if here(pod) { "this node" } else { on }.to_owned())
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
                comma_list(&ready)
            ));
        }
        let url = "http://quote/";
        let what = format!(
            "{url} from {CLIENT} on {home} reaching quote pods on {}",
            comma_list(&others)
        );
        let mut poller = Poller::new(what, Duration::ZERO, self.short()).tries(CROSS_NODE_ROUNDS);
        let mut tally = NodeTally::default();
        loop {
            tally.add(&self.requests(CLIENT, url, ROUND).await?, &placement);
            if let Some(problem) = tally.problem() {
                return Err(format!("{problem}; {}", tally.describe(&home)));
            }
            if others.iter().all(|node| tally.has_node(node)) {
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
                let page = self.kiada_page(&name, Duration::from_secs(20)).await?;
                check_page(&page, pod, &placement)
                    .map_err(|e| format!("the page from {name} (page {}): {e}", pages + 1))?;
                pages += 1;
                let home = page.request.node_name.clone();
                named.insert(home.clone());
                for (service, by) in served_by(&page) {
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
        if across.is_empty() {
            return Err(format!(
                "{pages} pages from {} kiada pods, every one served by quote and quiz pods on the kiada pod's own node (nodes named: {})",
                kiada.len(),
                comma_list(&named)
            ));
        }
        let shown = across[..across.len().min(4)].join("; ");
        let more = match across.len().saturating_sub(4) {
            0 => String::new(),
            more => format!(" (and {more} more)"),
        };
        Ok(format!(
            "{pages} pages from {} kiada pods name nodes {}, request info and served-by as the API reports; across nodes: {shown}{more}",
            kiada.len(),
            comma_list(&named),
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
fn describe_by_node<'a, P: 'a>(by_node: &'a BTreeMap<String, P>) -> String
where
    &'a P: IntoIterator<Item = &'a String>,
{
    let nodes = by_node
        .iter()
        .map(|(node, pods)| format!("{node}: {}", comma_list(pods)));
    nodes.collect::<Vec<_>>().join("; ")
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

#[cfg(test)]
mod tests;
