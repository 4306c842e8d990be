//! The kiada Service's NodePort at the node's address (`nodeport`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::http::{self, Request};
use crate::parse::TextPage;
use crate::service::url_host;

impl Run<'_> {
    pub(super) async fn nodeport(&self) -> Result<String, String> {
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
}
