use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::checks::{CLIENT, KIADA_POD, QUOTE_PODS};

/// The names of the `pods` that a selector picks.
fn selected_by<'a>(
    selector: &BTreeMap<String, String>,
    pods: impl IntoIterator<Item = &'a Manifest>,
) -> Vec<String> {
    pods.into_iter()
        .filter(|pod| {
            let labels = pod.object.metadata.labels.clone().unwrap_or_default();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .map(|pod| pod.name().to_owned())
        .collect()
}

fn manifests_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests")
}

#[test]
fn the_variant_holds_the_probe_pod_and_its_service() {
    let dir = manifests_dir();
    let (pod, service) = load_publish_not_ready(&dir.join(PUBLISH_NOT_READY_FILE)).unwrap();
    assert_eq!(pod.name(), "quote-probe-controls");
    assert_eq!(service.name(), "quote-publish-not-ready");
    assert_eq!(http_port(&pod), Ok(80));
    // The quote Service takes the pod in; the variant's Service takes only it.
    let base = manifest::load_kustomization(&dir).unwrap();
    let quote = manifest::find(&base, "Service", "quote")
        .unwrap()
        .as_service()
        .unwrap();
    let all_pods: Vec<&Manifest> = base
        .iter()
        .filter(|m| m.kind() == "Pod")
        .chain([&pod])
        .collect();
    let quote_selector = quote.spec.unwrap().selector.unwrap();
    assert!(selected_by(&quote_selector, all_pods.clone()).contains(&pod.name().to_owned()));
    let selector = service
        .as_service()
        .unwrap()
        .spec
        .unwrap()
        .selector
        .unwrap();
    assert_eq!(selected_by(&selector, all_pods), ["quote-probe-controls"]);
}

#[test]
fn the_probe_pod_is_quote_001_with_probe_controls() {
    // Everything but the name, the instance label and PROBE_CONTROLS_ENABLED is
    // the stable quote pod's, so what the checks see of it holds for those.
    let dir = manifests_dir();
    let (pod, _) = load_publish_not_ready(&dir.join(PUBLISH_NOT_READY_FILE)).unwrap();
    let base = manifest::load_kustomization(&dir).unwrap();
    let quote = manifest::find(&base, "Pod", "quote-001").unwrap();
    let expected = manifest::renamed_pod(quote, pod.name()).unwrap();
    let mut actual = serde_json::to_value(&pod.object).unwrap();
    let env = actual
        .pointer_mut("/spec/containers/0/env")
        .and_then(|e| e.as_array_mut())
        .unwrap();
    let index = env
        .iter()
        .position(|e| e["name"] == "PROBE_CONTROLS_ENABLED")
        .unwrap();
    assert_eq!(env.remove(index)["value"], "true");
    let labels = actual
        .pointer_mut("/metadata/labels")
        .and_then(|l| l.as_object_mut())
        .unwrap();
    assert_eq!(
        labels.remove("app.kubernetes.io/instance"),
        Some("quote-probe-controls".into())
    );
    assert_eq!(actual, serde_json::to_value(&expected.object).unwrap());
}

#[test]
fn refuses_variants_that_prove_nothing() {
    let dir =
        std::env::temp_dir().join(format!("kiada-e2e-lifecycle-{}", manifest::random_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(manifests_dir().join(PUBLISH_NOT_READY_FILE)).unwrap();
    let cases = [
        (
            text.replace(
                "publishNotReadyAddresses: true",
                "publishNotReadyAddresses: false",
            ),
            "publishNotReadyAddresses",
        ),
        (
            text.replace(
                "name: PROBE_CONTROLS_ENABLED\n      value: \"true\"",
                "name: PROBE_CONTROLS_ENABLED\n      value: \"false\"",
            ),
            "PROBE_CONTROLS_ENABLED",
        ),
        (
            text.replace(
                "    app.kubernetes.io/instance: quote-probe-controls\n  ports:",
                "    app.kubernetes.io/instance: quote-001\n  ports:",
            ),
            "does not pick",
        ),
        (
            text.replace("kind: Service", "kind: ConfigMap"),
            "one Pod and one Service",
        ),
    ];
    for (index, (changed, expected)) in cases.iter().enumerate() {
        assert_ne!(changed, &text, "case {index} changed nothing");
        let file = dir.join(format!("{index}.yaml"));
        std::fs::write(&file, changed).unwrap();
        let error = format!("{:#}", load_publish_not_ready(&file).unwrap_err());
        assert!(error.contains(expected), "case {index}: {error}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn loads_all_objects_of_the_real_manifests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests");
    let text = describe_objects(&dir, "kiada-e2e-test").unwrap();
    assert!(text.contains("v1 Service/quote-sticky"), "{text}");
    assert!(text.contains("v1 Pod/client-no-service-links"), "{text}");
    assert!(text.contains("v1 Pod/quote-probe-controls"), "{text}");
    assert!(
        text.contains("v1 Service/quote-publish-not-ready"),
        "{text}"
    );
    for book in [
        "v1 Service/external-service",
        "discovery.k8s.io/v1 EndpointSlice/external-service-1",
        "v1 Service/time-api",
        "v1 Service/quote-headless",
        "v1 Pod/quote2-with-subdomain",
        "v1 Service/quote-local",
        "v1 Pod/kiada-mock-readiness",
        "v1 Service/kiada-publish-not-ready-addresses",
    ] {
        assert!(text.contains(book), "{book} in {text}");
    }
    let objects = Objects::load(&dir, "kiada-e2e-test").unwrap();
    assert_eq!(
        objects
            .book
            .kiada_local
            .object
            .metadata
            .namespace
            .as_deref(),
        Some("kiada-e2e-test")
    );
    assert_eq!(
        objects.quiz_exposed.object.metadata.namespace.as_deref(),
        Some("kiada-e2e-test")
    );
    // The pods the checks name exist in the base.
    for pod in QUOTE_PODS.iter().chain([&KIADA_POD, &CLIENT, &"quiz"]) {
        assert!(objects.get("Pod", pod).is_ok(), "{pod}");
    }
}

#[test]
fn only_the_quote_pods_are_spread_over_the_nodes() {
    let objects = Objects::load(&manifests_dir(), "kiada-e2e-test").unwrap();
    let mut spread = Vec::new();
    for object in objects.base.iter().filter(|m| m.kind() == "Pod") {
        let constraints = object
            .as_pod()
            .unwrap()
            .spec
            .unwrap()
            .topology_spread_constraints
            .unwrap_or_default();
        if let [constraint] = constraints.as_slice() {
            assert_eq!(constraint.topology_key, manifest::HOSTNAME_TOPOLOGY_KEY);
            assert_eq!(constraint.when_unsatisfiable, "ScheduleAnyway");
            let selector = constraint.label_selector.clone().unwrap();
            assert_eq!(
                selector.match_labels.unwrap(),
                BTreeMap::from([("app".to_owned(), "quote".to_owned())])
            );
            spread.push(object.name().to_owned());
        } else {
            assert!(constraints.is_empty(), "{}: {constraints:?}", object.name());
        }
    }
    assert_eq!(spread, QUOTE_PODS);
    // The manifests themselves set none: the suite adds it.
    let base = manifest::load_kustomization(&manifests_dir()).unwrap();
    let quote = manifest::find(&base, "Pod", "quote-001").unwrap();
    assert!(
        quote
            .as_pod()
            .unwrap()
            .spec
            .unwrap()
            .topology_spread_constraints
            .is_none()
    );
}
