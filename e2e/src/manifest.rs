//! Loading the kustomize base (`manifests/kustomization.yaml` and the files it lists)
//! into `DynamicObject`s, and moving them into the run's namespace.
//!
//! Only what the base uses is supported: a `resources:` list of YAML files (one or
//! more documents each). Anything else kustomize could do (patches, generators,
//! `namespace:`, remote bases) is refused with a clear error rather than ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::DynamicObject;
use serde::Deserialize;

/// One object and the file it came from.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub file: PathBuf,
    pub object: DynamicObject,
}

impl Manifest {
    pub fn kind(&self) -> &str {
        self.object
            .types
            .as_ref()
            .map(|t| t.kind.as_str())
            .unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        self.object
            .types
            .as_ref()
            .map(|t| t.api_version.as_str())
            .unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.object.metadata.name.as_deref().unwrap_or("")
    }

    /// `Kind/name`, for messages.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    /// The object as a typed Service (fails for other kinds).
    pub fn as_service(&self) -> Result<Service> {
        typed(&self.object).with_context(|| format!("{} as a Service", self.id()))
    }

    /// The object as a typed Pod (fails for other kinds).
    pub fn as_pod(&self) -> Result<Pod> {
        typed(&self.object).with_context(|| format!("{} as a Pod", self.id()))
    }
}

/// Converts a dynamic object into a typed one.
pub fn typed<T: serde::de::DeserializeOwned>(object: &DynamicObject) -> Result<T> {
    let value = serde_json::to_value(object)?;
    Ok(serde_json::from_value(value)?)
}

/// Converts a typed object into a dynamic one.
pub fn dynamic<T: serde::Serialize>(object: &T) -> Result<DynamicObject> {
    let value = serde_json::to_value(object)?;
    Ok(serde_json::from_value(value)?)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_yaml_ng::Value>,
}

/// Fields of a kustomization that this loader understands without doing anything.
const IGNORED_KUSTOMIZATION_FIELDS: &[&str] = &["apiVersion", "kind", "metadata"];

/// Reads `dir/kustomization.yaml` and every file in its `resources:` list, in order.
pub fn load_kustomization(dir: &Path) -> Result<Vec<Manifest>> {
    let path = dir.join("kustomization.yaml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (is --manifests right?)", path.display()))?;
    let kustomization: Kustomization =
        serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if let Some(namespace) = &kustomization.namespace {
        bail!(
            "{} sets namespace: {namespace}; the suite needs a base without one",
            path.display()
        );
    }
    let unsupported: Vec<&String> = kustomization
        .other
        .keys()
        .filter(|key| !IGNORED_KUSTOMIZATION_FIELDS.contains(&key.as_str()))
        .collect();
    if !unsupported.is_empty() {
        bail!(
            "{} uses {:?}, which this loader does not render (only resources: files)",
            path.display(),
            unsupported
        );
    }
    if kustomization.resources.is_empty() {
        bail!("{} lists no resources", path.display());
    }
    let mut manifests = Vec::new();
    for resource in &kustomization.resources {
        let file = dir.join(resource);
        if file.is_dir() {
            bail!(
                "{}: resource {resource} is a directory (nested kustomizations are not supported)",
                path.display()
            );
        }
        manifests.extend(load_file(&file)?);
    }
    check_unique(&manifests)?;
    Ok(manifests)
}

/// Reads every document of one YAML file (empty documents are skipped).
pub fn load_file(file: &Path) -> Result<Vec<Manifest>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    parse_documents(&text)
        .with_context(|| format!("parsing {}", file.display()))
        .map(|objects| {
            objects
                .into_iter()
                .map(|object| Manifest {
                    file: file.to_path_buf(),
                    object,
                })
                .collect()
        })
}

/// Parses a multi-document YAML text into objects; each must have apiVersion, kind
/// and metadata.name.
pub fn parse_documents(text: &str) -> Result<Vec<DynamicObject>> {
    let mut objects = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = serde_yaml_ng::Value::deserialize(document)
            .with_context(|| format!("document {}", index + 1))?;
        if value.is_null() {
            continue;
        }
        let json = serde_json::to_value(&value)
            .with_context(|| format!("document {} as JSON", index + 1))?;
        let object: DynamicObject = serde_json::from_value(json)
            .with_context(|| format!("document {} as a Kubernetes object", index + 1))?;
        let types = object
            .types
            .as_ref()
            .ok_or_else(|| anyhow!("document {} has no apiVersion/kind", index + 1))?;
        if types.kind.is_empty() || types.api_version.is_empty() {
            bail!("document {} has an empty apiVersion or kind", index + 1);
        }
        if object.metadata.name.as_deref().unwrap_or("").is_empty() {
            bail!(
                "document {} ({}) has no metadata.name",
                index + 1,
                types.kind
            );
        }
        objects.push(object);
    }
    Ok(objects)
}

fn check_unique(manifests: &[Manifest]) -> Result<()> {
    let mut seen = BTreeMap::new();
    for manifest in manifests {
        if let Some(previous) = seen.insert(manifest.id(), manifest.file.clone()) {
            bail!(
                "{} is defined twice ({} and {})",
                manifest.id(),
                previous.display(),
                manifest.file.display()
            );
        }
    }
    Ok(())
}

/// Kinds that live outside namespaces; the base must not contain them.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
];

/// Puts the object into `namespace`. An object that names another namespace, or a
/// cluster-scoped kind, is refused: the suite must never touch anything outside its
/// own namespace.
pub fn into_namespace(manifest: &mut Manifest, namespace: &str) -> Result<()> {
    if CLUSTER_SCOPED.contains(&manifest.kind()) {
        bail!(
            "{} in {} is cluster-scoped; the suite only deploys into its own namespace",
            manifest.id(),
            manifest.file.display()
        );
    }
    match manifest.object.metadata.namespace.as_deref() {
        None | Some("") => {}
        Some(existing) if existing == namespace => {}
        Some(existing) => bail!(
            "{} in {} is pinned to namespace {existing}",
            manifest.id(),
            manifest.file.display()
        ),
    }
    manifest.object.metadata.namespace = Some(namespace.to_owned());
    // Server-set fields would make an apply fail or fight the server.
    manifest.object.metadata.resource_version = None;
    manifest.object.metadata.uid = None;
    manifest.object.metadata.creation_timestamp = None;
    manifest.object.metadata.managed_fields = None;
    Ok(())
}

/// Moves all manifests into `namespace` (see [`into_namespace`]).
pub fn all_into_namespace(manifests: &mut [Manifest], namespace: &str) -> Result<()> {
    for manifest in manifests {
        into_namespace(manifest, namespace)?;
    }
    Ok(())
}

/// Removes fixed `nodePort`s from a Service, so the API server picks free ones. Used
/// only when the fixed ports are taken by something else on the cluster.
pub fn strip_node_ports(manifest: &mut Manifest) -> bool {
    let mut changed = false;
    if let Some(ports) = manifest
        .object
        .data
        .pointer_mut("/spec/ports")
        .and_then(|p| p.as_array_mut())
    {
        for port in ports {
            if let Some(map) = port.as_object_mut() {
                changed |= map.remove("nodePort").is_some();
            }
        }
    }
    changed
}

/// A copy of a pod manifest under another name, with the same labels, e.g. a client
/// pod created after the Services.
pub fn renamed_pod(manifest: &Manifest, new_name: &str) -> Result<Manifest> {
    if manifest.kind() != "Pod" {
        bail!("{} is not a Pod", manifest.id());
    }
    let mut copy = manifest.clone();
    copy.object.metadata.name = Some(new_name.to_owned());
    Ok(copy)
}

/// A canary copy of a pod (`rel: canary`) whose PersistentVolumeClaim volumes become
/// emptyDirs, so it starts next to the original without sharing its storage. Used to
/// show by traffic which pods a Service selector picks.
pub fn canary_pod(manifest: &Manifest, new_name: &str) -> Result<Manifest> {
    let mut copy = renamed_pod(manifest, new_name)?;
    copy.object
        .metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("rel".into(), "canary".into());
    if let Some(volumes) = copy
        .object
        .data
        .pointer_mut("/spec/volumes")
        .and_then(|v| v.as_array_mut())
    {
        for volume in volumes {
            if let Some(map) = volume.as_object_mut()
                && map.remove("persistentVolumeClaim").is_some()
            {
                map.insert(
                    "emptyDir".into(),
                    serde_json::json!({ "sizeLimit": "64Mi" }),
                );
            }
        }
    }
    Ok(copy)
}

/// Finds the manifest of a given kind and name.
pub fn find<'a>(manifests: &'a [Manifest], kind: &str, name: &str) -> Result<&'a Manifest> {
    manifests
        .iter()
        .find(|m| m.kind() == kind && m.name() == name)
        .ok_or_else(|| anyhow!("the manifests have no {kind}/{name}"))
}

/// A fresh namespace name: `<prefix>-<suffix>`, a valid DNS label (at most 63
/// characters, lowercase letters, digits and '-').
pub fn namespace_name(prefix: &str, suffix: &str) -> Result<String> {
    let name = format!("{}-{}", prefix.trim_end_matches('-'), suffix).to_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-');
    if !valid {
        bail!(
            "namespace name {name:?} is not a valid DNS label (prefix must be lowercase letters, digits and '-', at most 50 characters)"
        );
    }
    Ok(name)
}

/// A random suffix for namespace names: 8 hex digits from the clock and process id.
pub fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    format!("{:08x}", hasher.finish() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifests_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests")
    }

    #[test]
    fn loads_the_real_base() {
        let manifests = load_kustomization(&manifests_dir()).expect("base loads");
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
        let manifests = load_kustomization(&manifests_dir()).unwrap();
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
        let mut manifests = load_kustomization(&manifests_dir()).unwrap();
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
        let manifests = load_kustomization(&manifests_dir()).unwrap();
        let client = find(&manifests, "Pod", "client").unwrap();
        let copy = renamed_pod(client, "client-env").unwrap();
        assert_eq!(copy.name(), "client-env");
        let labels = copy.object.metadata.labels.unwrap();
        let labels: Vec<_> = labels.iter().collect();
        assert_eq!(
            labels,
            [
                (&"app".to_owned(), &"client".to_owned()),
                (&"rel".to_owned(), &"stable".to_owned())
            ]
        );
        assert!(renamed_pod(find(&manifests, "Service", "quiz").unwrap(), "x").is_err());
    }

    #[test]
    fn canary_pods_get_their_own_storage() {
        let manifests = load_kustomization(&manifests_dir()).unwrap();
        let quiz = find(&manifests, "Pod", "quiz").unwrap();
        let canary = canary_pod(quiz, "quiz-canary").unwrap();
        assert_eq!(canary.name(), "quiz-canary");
        let labels = canary.object.metadata.labels.clone().unwrap();
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
}
