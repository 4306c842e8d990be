use std::path::Path;

use super::edit::CLUSTER_SCOPED;
use super::*;

fn manifests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests")
}

/// The real base in manifests/, loaded as the suite deploys it.
fn real_base() -> Vec<Manifest> {
    load_kustomization(&manifests_dir()).expect("base loads")
}

/// The labels of an object that must have some.
fn labels_of(manifest: &Manifest) -> std::collections::BTreeMap<String, String> {
    manifest
        .object
        .metadata
        .labels
        .clone()
        .expect("the object has labels")
}

#[test]
fn loads_the_real_base() {
    let manifests = real_base();
    let ids: Vec<String> = manifests.iter().map(Manifest::id).collect();
    for expected in [
        "Pod/quote-001",
        "Pod/quote-002",
        "Pod/quote-003",
        "Pod/quote-canary",
        "Pod/quiz",
        "PersistentVolumeClaim/quiz-data",
        "Pod/kiada-001",
        "Pod/kiada-002",
        "Pod/kiada-003",
        "Pod/kiada-canary",
        "Pod/client",
        "Service/quote",
        "Service/quiz",
        "Service/kiada",
    ] {
        assert!(ids.contains(&expected.to_owned()), "{expected} in {ids:?}");
    }
    // Nothing in the base is pinned to a namespace or cluster-scoped.
    for manifest in &manifests {
        assert!(
            manifest.object.metadata.namespace.is_none(),
            "{}",
            manifest.id()
        );
        assert!(!CLUSTER_SCOPED.contains(&manifest.kind()));
    }
}

#[test]
fn real_services_match_the_chapter() {
    let manifests = real_base();
    let quote = find(&manifests, "Service", "quote")
        .unwrap()
        .as_service()
        .unwrap();
    let spec = quote.spec.unwrap();
    assert_eq!(
        spec.selector.unwrap().get("app").map(String::as_str),
        Some("quote")
    );
    assert_eq!(spec.ports.unwrap()[0].port, 80);
    let quiz = find(&manifests, "Service", "quiz")
        .unwrap()
        .as_service()
        .unwrap();
    let spec = quiz.spec.unwrap();
    assert_eq!(spec.ports.as_ref().unwrap()[0].port, 80);
    let kiada = find(&manifests, "Service", "kiada")
        .unwrap()
        .as_service()
        .unwrap();
    assert_eq!(kiada.spec.unwrap().type_.as_deref(), Some("NodePort"));
}

#[test]
fn real_steps_and_variants_load() {
    let dir = manifests_dir();
    let exposed = load_file(&dir.join("steps/quiz-svc-1-exposed.yaml")).unwrap();
    let svc = exposed[0].as_service().unwrap();
    let spec = svc.spec.unwrap();
    let selector = spec.selector.unwrap();
    assert_eq!(selector.get("rel").map(String::as_str), Some("stable"));
    assert_eq!(spec.ports.unwrap()[0].port, 8080);
    let selector_step = load_file(&dir.join("steps/quiz-svc-2-selector.yaml")).unwrap();
    let spec = selector_step[0].as_service().unwrap().spec.unwrap();
    assert_eq!(spec.selector.unwrap().len(), 1);
    let sticky = load_file(&dir.join("variants/svc-quote-session-affinity.yaml")).unwrap();
    let spec = sticky[0].as_service().unwrap().spec.unwrap();
    assert_eq!(spec.session_affinity.as_deref(), Some("ClientIP"));
    let no_links = load_file(&dir.join("variants/pod-without-service-links.yaml")).unwrap();
    let pod = no_links[0].as_pod().unwrap();
    assert_eq!(pod.spec.unwrap().enable_service_links, Some(false));
}

#[test]
fn rewrites_namespace_and_refuses_others() {
    let mut manifests = real_base();
    all_into_namespace(&mut manifests, "kiada-e2e-1234").unwrap();
    assert!(
        manifests
            .iter()
            .all(|m| m.object.metadata.namespace.as_deref() == Some("kiada-e2e-1234"))
    );
    // Already in the namespace: fine again.
    all_into_namespace(&mut manifests, "kiada-e2e-1234").unwrap();
    // Pinned elsewhere: refused.
    let error = all_into_namespace(&mut manifests, "other").unwrap_err();
    assert!(error.to_string().contains("pinned to namespace"), "{error}");

    let mut namespace = Manifest {
        file: "ns.yaml".into(),
        object: parse_documents("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n")
            .unwrap()
            .remove(0),
    };
    assert!(into_namespace(&mut namespace, "y").is_err());
}

#[test]
fn multi_document_files_and_errors() {
    let objects = parse_documents(
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\nspec:\n  ports:\n  - port: 80\n    nodePort: 30080\n",
    )
    .unwrap();
    assert_eq!(objects.len(), 2);
    assert!(parse_documents("kind: Pod\nmetadata:\n  name: a\n").is_err());
    assert!(parse_documents("apiVersion: v1\nkind: Pod\nmetadata: {}\n").is_err());
    assert!(parse_documents("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [\n").is_err());

    let mut service = Manifest {
        file: "s.yaml".into(),
        object: objects[1].clone(),
    };
    assert!(strip_node_ports(&mut service));
    assert!(!strip_node_ports(&mut service));
    assert_eq!(
        service.as_service().unwrap().spec.unwrap().ports.unwrap()[0].node_port,
        None
    );
}

#[test]
fn renames_pods() {
    let manifests = real_base();
    let client = find(&manifests, "Pod", "client").unwrap();
    let copy = renamed_pod(client, "client-env").unwrap();
    assert_eq!(copy.name(), "client-env");
    let labels: Vec<_> = labels_of(&copy).into_iter().collect();
    assert_eq!(
        labels,
        [
            ("app".to_owned(), "client".to_owned()),
            ("rel".to_owned(), "stable".to_owned())
        ]
    );
    assert!(renamed_pod(find(&manifests, "Service", "quiz").unwrap(), "x").is_err());
}

#[test]
fn canary_pods_get_their_own_storage() {
    let manifests = real_base();
    let quiz = find(&manifests, "Pod", "quiz").unwrap();
    let canary = canary_pod(quiz, "quiz-canary").unwrap();
    assert_eq!(canary.name(), "quiz-canary");
    let labels = labels_of(&canary);
    assert_eq!(labels["rel"], "canary");
    assert_eq!(labels["app"], "quiz");
    let pod = canary.as_pod().unwrap();
    let volumes = pod.spec.unwrap().volumes.unwrap();
    assert!(volumes.iter().all(|v| v.persistent_volume_claim.is_none()));
    let data = volumes.iter().find(|v| v.name == "data").unwrap();
    assert!(data.empty_dir.is_some());
    // The original is untouched.
    assert!(
        quiz.as_pod()
            .unwrap()
            .spec
            .unwrap()
            .volumes
            .unwrap()
            .iter()
            .any(|v| v.persistent_volume_claim.is_some())
    );
}

#[test]
fn namespace_names_are_dns_labels() {
    assert_eq!(
        namespace_name("kiada-e2e", "ab12cd34").unwrap(),
        "kiada-e2e-ab12cd34"
    );
    assert_eq!(
        namespace_name("kiada-e2e-", "ab12").unwrap(),
        "kiada-e2e-ab12"
    );
    assert!(namespace_name("Bad_Prefix", "1").is_err());
    assert!(namespace_name(&"a".repeat(60), "12345678").is_err());
    assert!(namespace_name("1abc", "x").is_err());
    let suffix = random_suffix();
    assert_eq!(suffix.len(), 8);
    assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn refuses_unsupported_kustomizations() {
    let dir = std::env::temp_dir().join(format!("kiada-e2e-test-{}", random_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("kustomization.yaml"),
        "resources:\n- a.yaml\npatches:\n- path: p.yaml\n",
    )
    .unwrap();
    let error = load_kustomization(&dir).unwrap_err();
    assert!(format!("{error:#}").contains("patches"), "{error:#}");
    std::fs::write(
        dir.join("kustomization.yaml"),
        "namespace: x\nresources:\n- a.yaml\n",
    )
    .unwrap();
    assert!(load_kustomization(&dir).is_err());
    std::fs::write(dir.join("kustomization.yaml"), "resources:\n- a.yaml\n").unwrap();
    std::fs::write(
        dir.join("a.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n",
    )
    .unwrap();
    let error = load_kustomization(&dir).unwrap_err();
    assert!(error.to_string().contains("defined twice"), "{error}");
    assert!(load_kustomization(&dir.join("missing")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spreads_pods_over_nodes_by_their_app() {
    let manifests = real_base();
    let mut quote = find(&manifests, "Pod", "quote-002").unwrap().clone();
    spread_over_nodes(&mut quote).unwrap();
    spread_over_nodes(&mut quote).unwrap();
    let constraints = quote
        .as_pod()
        .unwrap()
        .spec
        .unwrap()
        .topology_spread_constraints
        .unwrap();
    // Added to what is there, not in place of it.
    assert_eq!(constraints.len(), 2);
    assert_eq!(constraints[0].max_skew, 1);
    assert_eq!(constraints[0].topology_key, "kubernetes.io/hostname");
    assert_eq!(constraints[0].when_unsatisfiable, "ScheduleAnyway");
    let labels = constraints[0]
        .label_selector
        .clone()
        .unwrap()
        .match_labels
        .unwrap();
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        [("app".to_owned(), "quote".to_owned())]
    );
    let service = find(&manifests, "Service", "quote").unwrap();
    assert!(spread_over_nodes(&mut service.clone()).is_err());
    let mut unlabelled = find(&manifests, "Pod", "client").unwrap().clone();
    unlabelled.object.metadata.labels = None;
    let error = spread_over_nodes(&mut unlabelled).unwrap_err().to_string();
    assert!(error.contains("no app label"), "{error}");
}

#[test]
fn embedded_holds_one_object_and_set_fills_only_its_placeholders() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  image: \"\"\n";
    let mut pod = embedded("pod.p.yaml", yaml).unwrap();
    assert_eq!(pod.file, Path::new("e2e/objects/pod.p.yaml"));
    pod.set("/spec/image", "toolbox").unwrap();
    assert_eq!(pod.object.data["spec"]["image"], "toolbox");
    let missing = pod.set("/spec/command", "sh").unwrap_err();
    assert_eq!(missing.to_string(), "Pod/p has no /spec/command");
    let two = embedded("two.yaml", &format!("{yaml}---\n{yaml}")).unwrap_err();
    assert_eq!(two.to_string(), "e2e/objects/two.yaml must hold one object");
}
