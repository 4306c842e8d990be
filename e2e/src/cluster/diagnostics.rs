//! What a person needs when something failed: the namespace's pods, their logs, PVCs,
//! Services, EndpointSlices and events, as text.

use std::fmt::Write as _;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, LogParams};

use super::{Cluster, api_error, pod_state};
use crate::{endpoints, service};

impl Cluster {
    /// What a person needs when something failed: pods with phase, readiness and
    /// container states, PVCs, the namespace's events, and each container's log tail.
    pub async fn diagnostics(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "==== diagnostics for namespace {}", self.namespace);
        let pods = self.pods();
        match pods.list(&ListParams::default()).await {
            Ok(list) => {
                let _ = writeln!(out, "---- pods");
                for pod in &list.items {
                    let _ = writeln!(
                        out,
                        "{:<26} {}",
                        pod.metadata.name.as_deref().unwrap_or("?"),
                        pod_state(pod)
                    );
                }
                for pod in &list.items {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    let containers: Vec<String> = pod
                        .spec
                        .as_ref()
                        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                        .unwrap_or_default();
                    for container in containers {
                        let params = LogParams {
                            container: Some(container.clone()),
                            tail_lines: Some(25),
                            limit_bytes: Some(16 * 1024),
                            ..LogParams::default()
                        };
                        let logs = tokio::time::timeout(
                            Duration::from_secs(10),
                            pods.logs(&name, &params),
                        )
                        .await;
                        let _ = writeln!(out, "---- logs {name}/{container} (last 25 lines)");
                        match logs {
                            Ok(Ok(text)) if text.trim().is_empty() => {
                                let _ = writeln!(out, "(empty)");
                            }
                            Ok(Ok(text)) => {
                                let _ = writeln!(out, "{}", text.trim_end());
                            }
                            Ok(Err(error)) => {
                                let _ = writeln!(out, "(no logs: {:#})", api_error(error));
                            }
                            Err(_) => {
                                let _ = writeln!(out, "(no logs: timed out)");
                            }
                        }
                    }
                }
            }
            Err(error) => {
                let _ = writeln!(out, "(listing pods failed: {:#})", api_error(error));
            }
        }
        let pvcs: Api<PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &self.namespace);
        if let Ok(list) = pvcs.list(&ListParams::default()).await {
            let _ = writeln!(out, "---- persistent volume claims");
            for pvc in list.items {
                let _ = writeln!(
                    out,
                    "{} {}",
                    pvc.metadata.name.unwrap_or_default(),
                    pvc.status.and_then(|s| s.phase).unwrap_or_default()
                );
            }
        }
        if let Ok(list) = self.services().list(&ListParams::default()).await {
            let _ = writeln!(out, "---- services");
            for service in list.items {
                let ports = service::ports_text(&service);
                let selector = service::selector_text(&service);
                let spec = service.spec.unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{} {} {} ports [{}] selector {} affinity {}",
                    service.metadata.name.unwrap_or_default(),
                    spec.type_.unwrap_or_default(),
                    spec.cluster_ip.unwrap_or_default(),
                    ports,
                    selector,
                    spec.session_affinity.unwrap_or_default()
                );
            }
        }
        let slices: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &self.namespace);
        if let Ok(list) = slices.list(&ListParams::default()).await {
            let _ = writeln!(out, "---- endpoint slices");
            for slice in list.items {
                let service = slice
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(endpoints::SERVICE_NAME_LABEL).cloned())
                    .unwrap_or_default();
                let endpoints: Vec<String> = slice
                    .endpoints
                    .iter()
                    .map(|e| {
                        let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false);
                        let target = e
                            .target_ref
                            .as_ref()
                            .and_then(|t| t.name.clone())
                            .unwrap_or_default();
                        format!(
                            "{} {target}{}",
                            e.addresses.join(","),
                            if ready { "" } else { " (not ready)" }
                        )
                    })
                    .collect();
                let _ = writeln!(out, "{service}: {}", endpoints.join("; "));
            }
        }
        let events: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace);
        match events.list(&ListParams::default()).await {
            Ok(list) => {
                let _ = writeln!(out, "---- events");
                let mut items = list.items;
                items.sort_by_key(|e| {
                    e.last_timestamp
                        .as_ref()
                        .map(|t| t.0.to_string())
                        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
                        .unwrap_or_default()
                });
                for event in items.iter().rev().take(60).rev() {
                    let _ = writeln!(
                        out,
                        "{} {}/{} {}: {}",
                        event.type_.as_deref().unwrap_or(""),
                        event.involved_object.kind.as_deref().unwrap_or(""),
                        event.involved_object.name.as_deref().unwrap_or(""),
                        event.reason.as_deref().unwrap_or(""),
                        event.message.as_deref().unwrap_or("").trim()
                    );
                }
            }
            Err(error) => {
                let _ = writeln!(out, "(listing events failed: {:#})", api_error(error));
            }
        }
        out
    }
}
