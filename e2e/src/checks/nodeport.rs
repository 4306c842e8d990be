//! The kiada Service's NodePort at the node's address (`nodeport`), and the requests
//! that knock at a node port, which `multi-node.nodeport` sends to every node.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::http::{self, Request};
use crate::page::JSON_PATH;
use crate::service::{ports, url_host};

/// Answers asked of each address.
pub(super) const ANSWERS: usize = 5;
/// At most this many requests to one address.
const MAX_ATTEMPTS: usize = 30;
/// After this many failures in a row the port is not coming (and the address may have
/// gone with the cluster: stop knocking).
const MAX_FAILURES_IN_A_ROW: usize = 5;

impl Run<'_> {
    pub(super) async fn nodeport(&self) -> Result<String, String> {
        let node_port = self.kiada_node_port().await?;
        let pod = self.get_pod(KIADA_POD).await?;
        let node = pod.spec.and_then(|s| s.node_name);
        let node = node.ok_or("kiada-001 has no node")?;
        let ips = self.cluster.node_internal_ips().await.map_err(reason)?;
        let (ip, source) = match &self.options.node_address {
            Some(address) => (address.clone(), "--node-address".to_owned()),
            None => {
                let ip = ips.get(&node);
                let ip = ip.ok_or_else(|| format!("node {node} has no InternalIP address"))?;
                (ip.clone(), format!("node {node} InternalIP"))
            }
        };
        let address = format!("{}:{node_port}", url_host(&ip));
        let knocks = knock(&address, ANSWERS, self.short()).await;
        if knocks.answered.is_empty() {
            return Err(format!(
                "http://{address}/json never answered ({})",
                knocks.last_error
            ));
        }
        Ok(format!(
            "http://{address}/json ({source}) answered by {}",
            knocks.describe_pods(|_| None)
        ))
    }

    /// The node port of the kiada Service's `http` port.
    pub(super) async fn kiada_node_port(&self) -> Result<i32, String> {
        let live = self.live_service("kiada").await?;
        let http = ports(&live)
            .iter()
            .find(|p| p.name.as_deref() == Some("http"));
        let node_port = http.and_then(|p| p.node_port);
        node_port.ok_or_else(|| "the kiada Service has no node port for http".to_owned())
    }
}

/// What asking one address for kiada's text page, again and again, saw.
#[derive(Debug, Default)]
pub(super) struct Knocks {
    /// Answers by the pod the page names.
    pub answered: BTreeMap<String, usize>,
    pub attempts: usize,
    pub failed: usize,
    pub last_error: String,
}

impl Knocks {
    pub fn answers(&self) -> usize {
        self.answered.values().sum()
    }

    /// `kiada-001×2, kiada-002×3`, each pod followed by what `note` says of it.
    pub fn describe_pods(&self, note: impl Fn(&str) -> Option<String>) -> String {
        self.answered
            .iter()
            .map(|(pod, n)| match note(pod) {
                Some(note) => format!("{pod} ({note})×{n}"),
                None => format!("{pod}×{n}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Asks `http://<address>/json` until `want` answers came back: at most
/// [`MAX_ATTEMPTS`] requests within `within`, stopping after
/// [`MAX_FAILURES_IN_A_ROW`] failures in a row.
pub(super) async fn knock(address: &str, want: usize, within: Duration) -> Knocks {
    let deadline = Instant::now() + within;
    let mut knocks = Knocks::default();
    let mut failures_in_a_row = 0;
    while knocks.answers() < want
        && Instant::now() < deadline
        && knocks.attempts < MAX_ATTEMPTS
        && failures_in_a_row < MAX_FAILURES_IN_A_ROW
    {
        knocks.attempts += 1;
        match page_pod(address).await {
            Ok(pod) => {
                failures_in_a_row = 0;
                *knocks.answered.entry(pod).or_default() += 1;
            }
            Err(error) => {
                failures_in_a_row += 1;
                knocks.failed += 1;
                knocks.last_error = error;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
    knocks
}

/// One `GET /json` at `address` on a new connection: the pod the page names.
async fn page_pod(address: &str) -> Result<String, String> {
    match page(address, Duration::from_secs(5)).await {
        Ok((page, _)) => Ok(page.request.pod_name),
        Err(NoPage::Timeout(_)) => Err(format!("connecting to {address} timed out")),
        Err(NoPage::Other(error)) => Err(error),
    }
}

/// Why one request to a node port got no page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum NoPage {
    #[error("no connection within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error("{0}")]
    Other(String),
}

/// One `GET /json` at `address` on a new connection of at most `connect` to open: the
/// page and this host's own address on the connection.
pub(super) async fn page(
    address: &str,
    connect: Duration,
) -> Result<(kiada_wire::Page, String), NoPage> {
    let stream = match tokio::time::timeout(connect, tokio::net::TcpStream::connect(address)).await
    {
        Err(_) => return Err(NoPage::Timeout(connect)),
        Ok(Err(error)) => return Err(NoPage::Other(format!("connecting to {address}: {error}"))),
        Ok(Ok(stream)) => stream,
    };
    let local_ip = stream
        .local_addr()
        .map_err(|e| NoPage::Other(format!("the connection's own address: {e}")))?
        .ip()
        .to_string();
    let request = Request::get(JSON_PATH, "application/json");
    let response = http::send(stream, address, &request, Duration::from_secs(10))
        .await
        .map_err(|e| NoPage::Other(format!("{e:#}")))?;
    if response.status != 200 {
        return Err(NoPage::Other(format!("answered {}", response.status)));
    }
    let page = crate::page::from_json(&response.body).map_err(NoPage::Other)?;
    Ok((page, local_ip))
}
