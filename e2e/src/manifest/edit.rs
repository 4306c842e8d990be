//! Changing manifests: into the run's namespace (and nowhere else), the copies the
//! checks make, and the run's values in the suite's own objects.

use anyhow::{Result, anyhow, bail};
use kube::ResourceExt;
use serde_json::Value;

use super::Manifest;

/// Kinds that live outside namespaces; the base must not contain them.
pub(super) const CLUSTER_SCOPED: &[&str] = &[
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
    let (id, file) = (manifest.id(), manifest.file.display());
    if CLUSTER_SCOPED.contains(&manifest.kind()) {
        bail!("{id} in {file} is cluster-scoped; the suite only deploys into its own namespace");
    }
    let existing = manifest.object.metadata.namespace.as_deref();
    if let Some(other) = existing.filter(|other| !other.is_empty() && *other != namespace) {
        bail!("{id} in {file} is pinned to namespace {other}");
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
    manifests
        .iter_mut()
        .try_for_each(|m| into_namespace(m, namespace))
}

/// Removes fixed `nodePort`s from a Service, so the API server picks free ones. Used
/// only when the fixed ports are taken by something else on the cluster.
pub fn strip_node_ports(manifest: &mut Manifest) -> bool {
    let ports = objects_at(manifest, "/spec/ports");
    ports.filter_map(|port| port.remove("nodePort")).count() > 0
}

/// The JSON objects in the array at `pointer` of the manifest's data (none when there
/// is no such array).
fn objects_at<'a>(
    manifest: &'a mut Manifest,
    pointer: &str,
) -> impl Iterator<Item = &'a mut serde_json::Map<String, serde_json::Value>> {
    manifest
        .object
        .data
        .pointer_mut(pointer)
        .and_then(|items| items.as_array_mut())
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_object_mut())
}

/// A copy of a pod manifest under another name, with the same labels, e.g. a client
/// pod created after the Services.
pub fn renamed_pod(manifest: &Manifest, new_name: &str) -> Result<Manifest> {
    require_pod(manifest)?;
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
        .labels_mut()
        .insert("rel".into(), "canary".into());
    for volume in objects_at(&mut copy, "/spec/volumes") {
        if volume.remove("persistentVolumeClaim").is_some() {
            volume.insert(
                "emptyDir".into(),
                serde_json::json!({ "sizeLimit": "64Mi" }),
            );
        }
    }
    Ok(copy)
}

/// The topology key of [`spread_over_nodes`]: one domain per node.
pub const HOSTNAME_TOPOLOGY_KEY: &str = "kubernetes.io/hostname";

/// Adds to a pod a soft topology spread constraint over the nodes, for the pods that
/// share its `app` label: `maxSkew: 1`, `topologyKey: kubernetes.io/hostname`,
/// `whenUnsatisfiable: ScheduleAnyway`. The scheduler then prefers the node with the
/// fewest of them; without it, bare pods are placed by the nodes' requests alone, which
/// can put every one on the least loaded node. A preference only: it never keeps a pod
/// from being scheduled, and on a single node it changes nothing. Constraints the pod
/// already has are kept.
pub fn spread_over_nodes(manifest: &mut Manifest) -> Result<()> {
    require_pod(manifest)?;
    let id = manifest.id();
    let app = manifest.object.labels().get("app").cloned();
    let app = app.ok_or_else(|| anyhow!("{id} has no app label to spread by"))?;
    let spec = manifest
        .object
        .data
        .get_mut("spec")
        .and_then(|s| s.as_object_mut());
    let spec = spec.ok_or_else(|| anyhow!("{id} has no spec"))?;
    let constraints = spec
        .entry("topologySpreadConstraints")
        .or_insert_with(|| serde_json::json!([]));
    let constraints = constraints
        .as_array_mut()
        .ok_or_else(|| anyhow!("{id}: topologySpreadConstraints is not a list"))?;
    constraints.push(serde_json::json!({
        "maxSkew": 1,
        "topologyKey": HOSTNAME_TOPOLOGY_KEY,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": { "matchLabels": { "app": app } },
    }));
    Ok(())
}

fn require_pod(manifest: &Manifest) -> Result<()> {
    if manifest.kind() != "Pod" {
        bail!("{} is not a Pod", manifest.id());
    }
    Ok(())
}

impl Manifest {
    /// Sets the field at `pointer` (RFC 6901) of the object's data (all but its
    /// metadata). The field must be there: the objects in `e2e/objects/` hold a
    /// placeholder where the run fills in a value.
    pub fn set(&mut self, pointer: &str, value: impl Into<Value>) -> Result<()> {
        let id = self.id();
        let field = self.object.data.pointer_mut(pointer);
        *field.ok_or_else(|| anyhow!("{id} has no {pointer}"))? = value.into();
        Ok(())
    }
}
