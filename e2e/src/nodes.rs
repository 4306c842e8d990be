//! Reading Node objects: each node's InternalIP, and whether the base's pods can be
//! scheduled on it (what the `multi-node` checks need two of); and where the API says
//! each pod runs ([`Placement`]), to hold the node names the services print against.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::ResourceExt;

/// What the checks need to know of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub internal_ip: Option<String>,
    /// The `Ready` condition is `True`.
    pub ready: bool,
    /// Why the base's pods cannot be scheduled there (they set no tolerations); empty
    /// when they can.
    pub unschedulable: Vec<String>,
}

impl NodeInfo {
    pub fn of(node: &Node) -> Self {
        let name = node.metadata.name.clone().unwrap_or_default();
        let status = node.status.clone().unwrap_or_default();
        let spec = node.spec.clone().unwrap_or_default();
        let mut addresses = status.addresses.into_iter().flatten();
        let internal_ip = addresses.find(|a| a.type_ == "InternalIP");
        let mut conditions = status.conditions.into_iter().flatten();
        let ready = conditions.any(|c| c.type_ == "Ready" && c.status == "True");
        let mut unschedulable = Vec::new();
        if !ready {
            unschedulable.push("not Ready".to_owned());
        }
        if spec.unschedulable == Some(true) {
            unschedulable.push("cordoned".to_owned());
        }
        for taint in spec.taints.unwrap_or_default() {
            if taint.effect == "NoSchedule" || taint.effect == "NoExecute" {
                let value = taint.value.map(|v| format!("={v}")).unwrap_or_default();
                unschedulable.push(format!("taint {}{value}:{}", taint.key, taint.effect));
            }
        }
        Self {
            name,
            internal_ip: internal_ip.map(|a| a.address),
            ready,
            unschedulable,
        }
    }

    /// Whether the base's pods (no tolerations, no node selector) can be scheduled
    /// here.
    pub fn schedulable(&self) -> bool {
        self.unschedulable.is_empty()
    }

    /// `kiada-worker (172.18.0.2)`, or with why pods cannot go there:
    /// `kiada-control-plane (172.18.0.3; not schedulable: taint ...:NoSchedule)`.
    pub fn describe(&self) -> String {
        let ip = self.internal_ip.as_deref().unwrap_or("no InternalIP");
        match self.unschedulable.join(", ") {
            why if why.is_empty() => format!("{} ({ip})", self.name),
            why => format!("{} ({ip}; not schedulable: {why})", self.name),
        }
    }
}

/// The nodes the base's pods can be scheduled on.
pub fn schedulable(nodes: &[NodeInfo]) -> Vec<&NodeInfo> {
    nodes.iter().filter(|node| node.schedulable()).collect()
}

/// Every node, described, joined with `, `.
pub fn describe_all(nodes: &[NodeInfo]) -> String {
    nodes
        .iter()
        .map(NodeInfo::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the API says the pods of the run's namespace run: by pod name, each pod's
/// `app` label and its node (`spec.nodeName`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pods: BTreeMap<String, (String, String)>,
}

impl Placement {
    /// The pods that have a node (pods not scheduled yet are left out).
    pub fn of<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Self {
        let pods = pods
            .into_iter()
            .filter_map(|pod| {
                let name = pod.metadata.name.clone()?;
                let node = pod.spec.as_ref()?.node_name.clone()?;
                let app = pod.labels().get("app").cloned().unwrap_or_default();
                Some((name, (app, node)))
            })
            .collect();
        Self { pods }
    }

    /// The node the API reports for `pod`.
    pub fn node(&self, pod: &str) -> Option<&str> {
        self.pods.get(pod).map(|(_, node)| node.as_str())
    }

    /// Whether `pod`, named by a service as one of `app` running on `node`, is such a
    /// pod on that node as the API reports; what differs when not.
    pub fn confirm(&self, app: &str, pod: &str, node: &str) -> Result<(), String> {
        let (placed_app, placed_node) = self.pods.get(pod).ok_or_else(|| {
            format!(
                "{app} pod {pod:?} (named on node {node:?}) is no scheduled pod of the namespace"
            )
        })?;
        if placed_app != app {
            return Err(format!(
                "pod {pod:?} answered for {app}, but the API has it labelled app={placed_app}"
            ));
        }
        if placed_node != node {
            return Err(format!(
                "{app} pod {pod} named node {node:?}, the API says it runs on {placed_node:?}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_confirms_pod_app_and_node() {
        let pods: Vec<Pod> = serde_json::from_value(serde_json::json!([
            {"metadata": {"name": "quote-001", "labels": {"app": "quote"}}, "spec": {"nodeName": "w1", "containers": []}},
            {"metadata": {"name": "quiz", "labels": {"app": "quiz"}}, "spec": {"nodeName": "w2", "containers": []}},
            {"metadata": {"name": "pending", "labels": {"app": "quote"}}, "spec": {"containers": []}}
        ]))
        .unwrap();
        let placement = Placement::of(&pods);
        assert_eq!(placement.node("quote-001"), Some("w1"));
        assert_eq!(placement.node("pending"), None);
        assert!(placement.confirm("quote", "quote-001", "w1").is_ok());
        let wrong_node = placement.confirm("quote", "quote-001", "w2").unwrap_err();
        assert!(
            wrong_node.contains("the API says it runs on \"w1\""),
            "{wrong_node}"
        );
        let wrong_app = placement.confirm("quote", "quiz", "w2").unwrap_err();
        assert!(wrong_app.contains("labelled app=quiz"), "{wrong_app}");
        let unknown = placement.confirm("quote", "pending", "w1").unwrap_err();
        assert!(unknown.contains("no scheduled pod"), "{unknown}");
    }

    fn node(json: serde_json::Value) -> NodeInfo {
        NodeInfo::of(&serde_json::from_value(json).unwrap())
    }

    #[test]
    fn control_plane_taints_cordons_and_readiness() {
        let ready = serde_json::json!([{"type": "Ready", "status": "True"}]);
        let worker = node(serde_json::json!({
            "metadata": {"name": "kiada-worker"},
            "spec": {"taints": [{"key": "example.com/soft", "effect": "PreferNoSchedule"}]},
            "status": {
                "addresses": [
                    {"type": "Hostname", "address": "kiada-worker"},
                    {"type": "InternalIP", "address": "172.18.0.2"}
                ],
                "conditions": ready
            }
        }));
        assert!(worker.schedulable(), "{worker:?}");
        assert_eq!(worker.internal_ip.as_deref(), Some("172.18.0.2"));
        assert_eq!(worker.describe(), "kiada-worker (172.18.0.2)");
        let control_plane = node(serde_json::json!({
            "metadata": {"name": "kiada-control-plane"},
            "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
            "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.3"}], "conditions": ready}
        }));
        assert!(!control_plane.schedulable());
        assert!(control_plane.ready);
        assert_eq!(
            control_plane.describe(),
            "kiada-control-plane (172.18.0.3; not schedulable: taint node-role.kubernetes.io/control-plane:NoSchedule)"
        );
        let cordoned = node(serde_json::json!({
            "metadata": {"name": "n3"},
            "spec": {"unschedulable": true, "taints": [{"key": "k", "value": "v", "effect": "NoExecute"}]},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}
        }));
        assert_eq!(
            cordoned.unschedulable,
            ["not Ready", "cordoned", "taint k=v:NoExecute"]
        );
        assert_eq!(cordoned.internal_ip, None);
        let no_status = node(serde_json::json!({"metadata": {"name": "n4"}}));
        assert!(!no_status.schedulable() && !no_status.ready);
        let all = [worker, control_plane, cordoned, no_status];
        let names: Vec<&str> = schedulable(&all).iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["kiada-worker"]);
        assert!(describe_all(&all).starts_with("kiada-worker (172.18.0.2), kiada-control-plane"));
    }
}
