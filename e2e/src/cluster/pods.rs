//! The run's pods: waiting until they are ready, deleting one and waiting until it is
//! gone, and reading a pod's state (ready, unable to start, a one-line summary).

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams};

use super::{Cluster, MAX_FAILED_POLLS, api_error, deleted};
use crate::poll::{FailedInARow, Poller};

impl Cluster {
    /// Waits until every named pod is Ready, at most `timeout`. Fails early when a
    /// pod cannot start (image missing, crash loop, config error) or the API server
    /// stops answering.
    pub async fn wait_pods_ready(&self, names: &[String], timeout: Duration) -> Result<()> {
        let pods = self.pods();
        let mut failures = FailedInARow::new(MAX_FAILED_POLLS);
        let mut poller = Poller::new("every pod ready", Duration::from_secs(2), timeout);
        loop {
            // One list per poll, so a vanished API server costs one request a poll.
            let listed = failures
                .tolerate(pods.list(&ListParams::default()).await)
                .map_err(|error| {
                    api_error(error)
                        .context("the API server stopped answering while waiting for pods")
                })?;
            let Some(listed) = listed else {
                poller.again("the API server did not answer").await?;
                continue;
            };
            let mut waiting = Vec::new();
            for name in names {
                let Some(pod) = listed
                    .iter()
                    .find(|p| p.metadata.name.as_ref() == Some(name))
                else {
                    waiting.push(format!("{name} (not found)"));
                    continue;
                };
                if let Some(problem) = fatal_problem(pod) {
                    bail!("pod {name} cannot start: {problem}");
                }
                if !is_ready(pod) {
                    waiting.push(format!("{name} ({})", pod_state(pod)));
                }
            }
            if waiting.is_empty() {
                return Ok(());
            }
            poller
                .again(format!("not ready: {}", waiting.join(", ")))
                .await?;
        }
    }

    /// Deletes a pod (if it exists) and waits, bounded, until it is gone.
    pub async fn delete_pod(&self, name: &str, timeout: Duration) -> Result<()> {
        let pods = self.pods();
        let delete = pods.delete(name, &DeleteParams::default()).await;
        if !deleted(delete, format!("deleting pod {name}"))? {
            return Ok(());
        }
        let what = format!("pod {name} gone after the delete");
        let mut poller = Poller::new(what, Duration::from_secs(1), timeout);
        loop {
            let pod = pods.get_opt(name).await.map_err(api_error);
            let Some(pod) = pod.with_context(|| format!("looking for pod {name}"))? else {
                return Ok(());
            };
            poller
                .again(format!("still there: {}", pod_state(&pod)))
                .await?;
        }
    }
}

/// Waiting reasons after which a pod will not become ready by itself.
const FATAL_WAITING_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "CrashLoopBackOff",
    "RunContainerError",
];
/// Whether the pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// The reason a pod will not start by itself, if any.
pub fn fatal_problem(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|status| {
        let waiting = status.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref()?;
        FATAL_WAITING_REASONS.contains(&reason).then(|| {
            let mut text = format!(
                "container {} is {reason}: {}",
                status.name,
                waiting.message.as_deref().unwrap_or("").trim()
            );
            if reason.contains("Image") {
                let _ = write!(
                    text,
                    " (is image {} loaded on the node? see the README: build and load the images first)",
                    status.image
                );
            }
            text
        })
    })
}

/// A one-line state of a pod: phase, readiness and container states.
pub fn pod_state(pod: &Pod) -> String {
    let Some(status) = pod.status.as_ref() else {
        return "no status yet".into();
    };
    let ready = if is_ready(pod) { "ready" } else { "not ready" };
    let mut parts = vec![
        status.phase.clone().unwrap_or_else(|| "Unknown".into()),
        ready.into(),
    ];
    let mut conditions = status.conditions.iter().flatten();
    if let Some(unscheduled) = conditions.find(|c| c.type_ == "PodScheduled" && c.status != "True")
    {
        parts.push(format!(
            "unschedulable: {}",
            unscheduled.message.as_deref().unwrap_or("")
        ));
    }
    for container in status.container_statuses.iter().flatten() {
        let state = container.state.as_ref();
        let description = if let Some(waiting) = state.and_then(|s| s.waiting.as_ref()) {
            format!("waiting: {}", waiting.reason.as_deref().unwrap_or(""))
        } else if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
            format!(
                "terminated: {} (exit {})",
                terminated.reason.as_deref().unwrap_or(""),
                terminated.exit_code
            )
        } else {
            "running".into()
        };
        parts.push(format!(
            "{} {description}, restarts {}",
            container.name, container.restart_count
        ));
    }
    if let Some(ip) = &status.pod_ip {
        parts.push(format!("ip {ip}"));
    }
    parts.join("; ")
}
