//! What a person needs when something failed: the namespace's pods, their logs, PVCs,
//! Services, EndpointSlices and events, as text.

use std::fmt::Write as _;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{ListParams, LogParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::{Cluster, api_error, pod_state};
use crate::{endpoints, service};

impl Cluster {
    /// Every object of one kind in the run's namespace after the heading `---- {title}`,
    /// or none after a line that says why they could not be listed.
    async fn listed<K>(&self, out: &mut String, title: &str) -> Vec<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
        K: Clone + DeserializeOwned + std::fmt::Debug,
    {
        match self.api::<K>().list(&ListParams::default()).await {
            Ok(list) => {
                let _ = writeln!(out, "---- {title}");
                list.items
            }
            Err(error) => {
                let _ = writeln!(out, "(listing {title} failed: {:#})", api_error(error));
                Vec::new()
            }
        }
    }

    /// What a person needs when something failed: pods with phase, readiness and
    /// container states, PVCs, Services, EndpointSlices, the namespace's last 60 events
    /// and each container's log tail.
    pub async fn diagnostics(&self) -> String {
        let mut out = format!("==== diagnostics for namespace {}\n", self.namespace);
        let pods: Vec<Pod> = self.listed(&mut out, "pods").await;
        for pod in &pods {
            let name = pod.metadata.name.as_deref().unwrap_or("?");
            let _ = writeln!(out, "{name:<26} {}", pod_state(pod));
        }
        for pod in &pods {
            self.log_tails(&mut out, pod).await;
        }
        let pvcs: Vec<PersistentVolumeClaim> =
            self.listed(&mut out, "persistent volume claims").await;
        for pvc in pvcs {
            let phase = pvc.status.as_ref().and_then(|s| s.phase.clone());
            let _ = writeln!(out, "{} {}", pvc.name_any(), phase.unwrap_or_default());
        }
        for service in self.listed::<Service>(&mut out, "services").await {
            let spec = service.spec.clone().unwrap_or_default();
            let _ = writeln!(
                out,
                "{} {} {} ports [{}] selector {} affinity {}",
                service.name_any(),
                spec.type_.unwrap_or_default(),
                spec.cluster_ip.unwrap_or_default(),
                service::ports_text(&service),
                service::selector_text(&service),
                spec.session_affinity.unwrap_or_default()
            );
        }
        for slice in self
            .listed::<EndpointSlice>(&mut out, "endpoint slices")
            .await
        {
            let endpoints: Vec<String> = slice
                .endpoints
                .iter()
                .map(|e| {
                    let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false);
                    let target = e.target_ref.as_ref().and_then(|t| t.name.as_deref());
                    let not_ready = if ready { "" } else { " (not ready)" };
                    format!(
                        "{} {}{not_ready}",
                        e.addresses.join(","),
                        target.unwrap_or("")
                    )
                })
                .collect();
            let service = slice.labels().get(endpoints::SERVICE_NAME_LABEL);
            let service = service.map_or("", String::as_str);
            let _ = writeln!(out, "{service}: {}", endpoints.join("; "));
        }
        let mut events: Vec<Event> = self.listed(&mut out, "events").await;
        // By time, events without one first.
        events.sort_by_key(|e| {
            let last = e.last_timestamp.as_ref().map(|t| t.0);
            last.or(e.event_time.as_ref().map(|t| t.0))
        });
        for event in events.iter().rev().take(60).rev() {
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
        out
    }

    /// The last 25 lines of each container's log (each fetch bounded to 10 s).
    async fn log_tails(&self, out: &mut String, pod: &Pod) {
        let pods = self.pods();
        let name = pod.metadata.name.clone().unwrap_or_default();
        for container in pod.spec.iter().flat_map(|s| &s.containers) {
            let params = LogParams {
                container: Some(container.name.clone()),
                tail_lines: Some(25),
                limit_bytes: Some(16 * 1024),
                ..LogParams::default()
            };
            let logs = pods.logs(&name, &params);
            let text = match tokio::time::timeout(Duration::from_secs(10), logs).await {
                Ok(Ok(text)) if text.trim().is_empty() => "(empty)".to_owned(),
                Ok(Ok(text)) => text.trim_end().to_owned(),
                Ok(Err(error)) => format!("(no logs: {:#})", api_error(error)),
                Err(_) => "(no logs: timed out)".to_owned(),
            };
            let container = &container.name;
            let _ = writeln!(out, "---- logs {name}/{container} (last 25 lines)\n{text}");
        }
    }
}
