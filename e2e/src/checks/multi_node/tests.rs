use super::*;
use crate::checks::node_tally::tests::placement;

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
    assert!(
        reason.contains(
            "cp (10.0.0.1; not schedulable: taint node-role.kubernetes.io/control-plane:NoSchedule)"
        ),
        "{reason}"
    );
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
