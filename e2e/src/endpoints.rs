//! Reading EndpointSlices (discovery.k8s.io/v1): where a given pod stands in a
//! Service's slices, as kube-proxy sees it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};

/// The label the EndpointSlice controller puts on every slice of a Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One pod's endpoint in a Service's EndpointSlices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointState {
    /// The slice that lists the pod.
    pub slice: String,
    pub addresses: Vec<String>,
    /// `conditions.ready`: whether kube-proxy sends new connections to it.
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
}

impl EndpointState {
    /// Whether the endpoint is in the ready set. A missing condition counts as ready,
    /// as the API documents for consumers of EndpointSlices.
    pub fn is_ready(&self) -> bool {
        counts_as_ready(self.ready)
    }

    /// `10.244.0.7 ready=false serving=false terminating=false (slice quote-x7f2k)`.
    pub fn describe(&self) -> String {
        let flag = |value: Option<bool>| value.map_or("unset".to_owned(), |v| v.to_string());
        format!(
            "{} ready={} serving={} terminating={} (slice {})",
            self.addresses.join(","),
            flag(self.ready),
            flag(self.serving),
            flag(self.terminating),
            self.slice
        )
    }
}

/// The name of the pod an endpoint targets; `None` for another kind of target.
fn target_pod(endpoint: &Endpoint) -> Option<&str> {
    let target = endpoint.target_ref.as_ref()?;
    (target.kind.as_deref() == Some("Pod")).then_some(target.name.as_deref())?
}

/// `conditions.ready` as the API documents it for consumers: a missing condition counts
/// as ready.
fn counts_as_ready(ready: Option<bool>) -> bool {
    ready != Some(false)
}

/// The endpoint whose target is the pod `pod`, in the first slice that lists it;
/// `None` when no slice does.
pub fn pod_endpoint(slices: &[EndpointSlice], pod: &str) -> Option<EndpointState> {
    slices.iter().find_map(|slice| {
        let endpoint = slice
            .endpoints
            .iter()
            .find(|endpoint| target_pod(endpoint) == Some(pod))?;
        let conditions = endpoint.conditions.clone().unwrap_or_default();
        Some(EndpointState {
            slice: slice.metadata.name.clone().unwrap_or_default(),
            addresses: endpoint.addresses.clone(),
            ready: conditions.ready,
            serving: conditions.serving,
            terminating: conditions.terminating,
        })
    })
}

/// `pod` with its endpoint, or that no slice lists it.
pub fn describe_pod_endpoint(pod: &str, state: Option<&EndpointState>) -> String {
    match state {
        Some(state) => format!("{pod} {}", state.describe()),
        None => format!("{pod} in no slice"),
    }
}

/// The pods of the ready endpoints (a missing condition counts as ready), by the node
/// each endpoint names (`nodeName`); an error names a ready pod endpoint without one.
pub fn ready_pods_by_node(
    slices: &[EndpointSlice],
) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let mut by_node: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for slice in slices {
        for endpoint in &slice.endpoints {
            let ready = counts_as_ready(endpoint.conditions.as_ref().and_then(|c| c.ready));
            let Some(pod) = target_pod(endpoint).filter(|_| ready) else {
                continue;
            };
            let Some(node) = endpoint.node_name.clone() else {
                return Err(format!(
                    "the ready endpoint of pod {pod} in slice {} names no node",
                    slice.metadata.name.as_deref().unwrap_or("")
                ));
            };
            by_node.entry(node).or_default().insert(pod.to_owned());
        }
    }
    Ok(by_node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slices(json: serde_json::Value) -> Vec<EndpointSlice> {
        serde_json::from_value(json).unwrap()
    }

    fn example() -> Vec<EndpointSlice> {
        slices(serde_json::json!([
            {
                "metadata": {"name": "quote-abcde", "labels": {"kubernetes.io/service-name": "quote"}},
                "addressType": "IPv4",
                "endpoints": [
                    {
                        "addresses": ["10.244.0.5"],
                        "conditions": {"ready": true, "serving": true, "terminating": false},
                        "targetRef": {"kind": "Pod", "name": "quote-001"}
                    },
                    {
                        "addresses": ["10.244.0.9"],
                        "conditions": {"ready": false, "serving": false, "terminating": false},
                        "targetRef": {"kind": "Pod", "name": "quote-probe-controls"}
                    },
                    {
                        "addresses": ["10.244.0.11"],
                        "targetRef": {"kind": "Pod", "name": "quote-002"}
                    }
                ]
            },
            {
                "metadata": {"name": "quote-fghij"},
                "addressType": "IPv4",
                "endpoints": [
                    {
                        "addresses": ["10.244.0.12"],
                        "conditions": {"ready": false, "serving": true, "terminating": true},
                        "targetRef": {"kind": "Pod", "name": "quote-003"}
                    },
                    {
                        "addresses": ["10.244.0.13"],
                        "conditions": {"ready": true},
                        "targetRef": {"kind": "Node", "name": "quote-canary"}
                    }
                ]
            }
        ]))
    }

    #[test]
    fn finds_a_pod_and_its_conditions() {
        let slices = example();
        let unready = pod_endpoint(&slices, "quote-probe-controls").unwrap();
        assert_eq!(
            unready,
            EndpointState {
                slice: "quote-abcde".into(),
                addresses: vec!["10.244.0.9".into()],
                ready: Some(false),
                serving: Some(false),
                terminating: Some(false),
            }
        );
        assert!(!unready.is_ready());
        assert_eq!(
            unready.describe(),
            "10.244.0.9 ready=false serving=false terminating=false (slice quote-abcde)"
        );
        let ready = pod_endpoint(&slices, "quote-001").unwrap();
        assert!(ready.is_ready());
        // In the second slice, terminating.
        let terminating = pod_endpoint(&slices, "quote-003").unwrap();
        assert_eq!(terminating.slice, "quote-fghij");
        assert_eq!(terminating.terminating, Some(true));
        assert!(!terminating.is_ready());
    }

    #[test]
    fn missing_conditions_count_as_ready() {
        let state = pod_endpoint(&example(), "quote-002").unwrap();
        assert_eq!(state.ready, None);
        assert!(state.is_ready());
        assert_eq!(
            describe_pod_endpoint("quote-002", Some(&state)),
            "quote-002 10.244.0.11 ready=unset serving=unset terminating=unset (slice quote-abcde)"
        );
    }

    #[test]
    fn only_pod_targets_count() {
        let slices = example();
        // A target of another kind with the same name is not the pod.
        assert_eq!(pod_endpoint(&slices, "quote-canary"), None);
        assert_eq!(pod_endpoint(&slices, "quote-004"), None);
        assert_eq!(pod_endpoint(&[], "quote-001"), None);
        assert_eq!(
            describe_pod_endpoint("quote-004", None),
            "quote-004 in no slice"
        );
    }

    #[test]
    fn ready_pods_by_their_endpoints_node() {
        let mut slices = example();
        // Without nodeName, a ready pod endpoint is an error.
        let error = ready_pods_by_node(&slices).unwrap_err();
        assert!(
            error.contains("pod quote-001 in slice quote-abcde names no node"),
            "{error}"
        );
        for slice in &mut slices {
            for (index, endpoint) in slice.endpoints.iter_mut().enumerate() {
                endpoint.node_name = Some(format!("w{}", index % 2 + 1));
            }
        }
        let by_node = ready_pods_by_node(&slices).unwrap();
        // quote-probe-controls (ready=false) and quote-003 (terminating) are left out, and
        // the Node target too.
        assert_eq!(
            by_node,
            BTreeMap::from([(
                "w1".to_owned(),
                BTreeSet::from(["quote-001".to_owned(), "quote-002".to_owned()])
            )])
        );
    }
}
