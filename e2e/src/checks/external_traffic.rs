//! The external traffic policy Local on kiada's NodePort (section 11.5,
//! `external-traffic-local`): a node without kiada pods stays silent, one with them
//! answers from its own pod and kiada sees this host's address; back on Cluster, the
//! silent node answers through a pod on another node and kiada sees that node's
//! address. Asked from this host at the nodes' InternalIPs, as `multi-node.nodeport`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::nodeport::{self, NoPage};
use super::*;
use crate::poll::Poller;
use crate::service::url_host;

const NAME: &str = "external-traffic-local";
/// Answers asked of a node that should answer.
const ANSWERS: usize = 5;
/// Timeouts in a row that make a node silent.
const SILENT: usize = 3;
/// The connect bound of one request.
const CONNECT: Duration = Duration::from_secs(3);

/// One page as a node port gave it: the pod that served it, the client IP kiada saw,
/// and this host's own address on the connection.
struct Page {
    pod: String,
    client_ip: String,
    local_ip: String,
}

impl Run<'_> {
    pub(super) async fn external_traffic_local(&self) {
        if let Some(reason) = self.node_address_given() {
            return self.record_all(&[NAME], Outcome::Skip(reason));
        }
        let nodes = match self.several_nodes().await {
            Ok(nodes) => nodes,
            Err(outcome) => return self.record_all(&[NAME], outcome),
        };
        let ips: BTreeMap<String, String> = nodes
            .iter()
            .filter(|n| n.ready)
            .filter_map(|n| Some((n.name.clone(), n.internal_ip.clone()?)))
            .collect();
        let ready = match self.ready_pods().await {
            Ok(ready) => ready,
            Err(error) => return self.check(NAME, Err(error)),
        };
        let kiada_nodes: BTreeSet<String> = ips
            .keys()
            .filter(|node| !ready.on("kiada", node).is_empty())
            .cloned()
            .collect();
        let Some(silent) = ips.keys().find(|n| !kiada_nodes.contains(*n)).cloned() else {
            let reason = format!(
                "every Ready node runs a kiada pod ({}): no node can show the policy's silence",
                comma_list(&kiada_nodes)
            );
            return self.record(CheckResult::skip(NAME, reason));
        };
        // Under the base's policy (Cluster), the silent node must answer: otherwise this
        // host does not reach the nodes and the check cannot be made here.
        let port = match self.kiada_node_port().await {
            Ok(port) => port,
            Err(error) => return self.check(NAME, Err(error)),
        };
        let silent_at = format!("{}:{port}", url_host(&ips[&silent]));
        if let Err(error) = page_at(&silent_at).await {
            let reason = format!(
                "http://{silent_at}/json (node {silent}) does not answer from this host under the Cluster policy ({error}): node IPs are not reachable from here"
            );
            return self.record(CheckResult::skip(NAME, reason));
        }
        let local = self.local_policy(&ips, &kiada_nodes, &silent).await;
        // The base's kiada Service again (policy Cluster), as the run applied it.
        let kiada = self.objects.get("Service", "kiada");
        let restore = async { self.cluster.apply(kiada?).await }.await;
        let result = match (local, restore) {
            (Ok(local), Ok(())) => self
                .cluster_policy(&silent, &ips[&silent])
                .await
                .map(|cluster| format!("{local}; {cluster}")),
            (local, restore) => after_cleanup(local, restore),
        };
        self.check(NAME, result);
    }

    async fn local_policy(
        &self,
        ips: &BTreeMap<String, String>,
        kiada_nodes: &BTreeSet<String>,
        silent: &str,
    ) -> Result<String, String> {
        let mut service = self.objects.book.kiada_local.clone();
        if self.node_ports_reassigned {
            crate::manifest::strip_node_ports(&mut service);
        }
        self.apply(&service).await?;
        self.policy_is("Local").await?;
        let port = self.kiada_node_port().await?;
        // The silent node: after the change reaches it, every request times out.
        let address = format!("{}:{port}", url_host(&ips[silent]));
        let started = Instant::now();
        let what = format!(
            "http://{address}/json (node {silent}, no kiada pod) timing out {SILENT} times in a row"
        );
        let mut poller = Poller::new(what, Duration::from_millis(500), self.short());
        let mut in_a_row = 0;
        while in_a_row < SILENT {
            match page_at(&address).await {
                Err(NoPage::Timeout(_)) => in_a_row += 1,
                Err(NoPage::Other(error)) => {
                    return Err(format!(
                        "http://{address}/json (node {silent}): {error}, not a timeout"
                    ));
                }
                Ok(page) => {
                    in_a_row = 0;
                    poller.again(format!("answered by {}", page.pod)).await?;
                }
            }
        }
        let placement = self.placement().await?;
        let mut seen = Vec::new();
        for node in kiada_nodes {
            let address = format!("{}:{port}", url_host(&ips[node]));
            // Under Cluster a page may come from any node, and kiada never sees this
            // host's address (the node masquerades): a streak of pages from the node's
            // own pods, each with this host's address, is the Local policy at work.
            let what = format!(
                "http://{address}/json (node {node}) answering {ANSWERS} times in a row from its own kiada pods, with this host as client"
            );
            let poller = Poller::new(what, Duration::from_millis(200), self.short());
            let own = |page: &Page| {
                let on = placement.node(&page.pod);
                if on == Some(node.as_str()) && page.client_ip == page.local_ip {
                    return Ok(());
                }
                let (pod, client, local) = (&page.pod, &page.client_ip, &page.local_ip);
                Err(format!(
                    "{pod} on {on:?} saw client {client} (this host: {local})"
                ))
            };
            let (streak, before) = streak(&address, ANSWERS, poller, own).await?;
            seen.push(format!(
                "{node} answered {ANSWERS} in a row from its own {} with Client IP {} (this host), after {before} requests that did not",
                comma_list(pods(&streak)),
                streak[0].client_ip
            ));
        }
        Ok(format!(
            "Local: {}; {silent} (no kiada pod) silent, {SILENT} connections in a row timed out ({} after the change)",
            seen.join("; "),
            seconds(started.elapsed())
        ))
    }

    async fn policy_is(&self, want: &str) -> Result<(), String> {
        let live = self.live_service("kiada").await?;
        let policy = live
            .spec
            .and_then(|s| s.external_traffic_policy)
            .unwrap_or_default();
        if policy != want {
            return Err(format!(
                "the kiada Service has externalTrafficPolicy {policy:?}, not {want}"
            ));
        }
        Ok(())
    }

    /// Back on Cluster: the silent node answers, through a kiada pod on another node,
    /// and kiada sees the node's own address.
    async fn cluster_policy(&self, node: &str, ip: &str) -> Result<String, String> {
        self.policy_is("Cluster").await?;
        let port = self.kiada_node_port().await?;
        let address = format!("{}:{port}", url_host(ip));
        let what = format!("http://{address}/json answering {ANSWERS} times in a row");
        let poller = Poller::new(what, Duration::from_millis(500), self.short());
        let (pages, _) = streak(&address, ANSWERS, poller, |_| Ok(())).await?;
        let placement = self.placement().await?;
        for page in &pages {
            if page.client_ip != ip {
                return Err(format!(
                    "through {node} under Cluster, kiada ({}) saw client IP {}, not the node's {ip} (this host is {})",
                    page.pod, page.client_ip, page.local_ip
                ));
            }
            if placement.node(&page.pod) == Some(node) {
                return Err(format!(
                    "{} answered on {node}, which had no kiada pod",
                    page.pod
                ));
            }
        }
        Ok(format!(
            "Cluster restored: {node} answers {ANSWERS} of {ANSWERS} through {} on other nodes, Client IP {ip} (the node's InternalIP)",
            comma_list(pods(&pages))
        ))
    }
}

/// Pages from `address`, each on a new connection, until `want` in a row pass `good`
/// (else it says what was wrong), polled by `poller` (a policy change takes a moment to
/// reach the node): the streak, and how many requests went before it.
async fn streak(
    address: &str,
    want: usize,
    mut poller: Poller,
    good: impl Fn(&Page) -> Result<(), String>,
) -> Result<(Vec<Page>, usize), String> {
    let (mut streak, mut before) = (Vec::new(), 0);
    while streak.len() < want {
        let page = page_at(address).await.map_err(|e| e.to_string());
        match page.and_then(|page| good(&page).map(|()| page)) {
            Ok(page) => streak.push(page),
            Err(seen) => {
                before += streak.len() + 1;
                streak.clear();
                poller.again(seen).await?;
            }
        }
    }
    Ok((streak, before))
}

/// The pods that served `pages`, each once.
fn pods(pages: &[Page]) -> BTreeSet<&str> {
    pages.iter().map(|p| p.pod.as_str()).collect()
}

/// One `GET /json` at `address` on a new connection.
async fn page_at(address: &str) -> Result<Page, NoPage> {
    let (page, local_ip) = nodeport::page(address, CONNECT).await?;
    Ok(Page {
        pod: page.request.pod_name,
        client_ip: page.request.client_ip,
        local_ip,
    })
}
