//! Loading the kustomize base (`manifests/kustomization.yaml` and the files it lists)
//! into `DynamicObject`s, and moving them into the run's namespace.
//!
//! Only what the base uses is supported: a `resources:` list of YAML files (one or
//! more documents each). Anything else kustomize could do (patches, generators,
//! `namespace:`, remote bases) is refused with a clear error rather than ignored.

//!
//! [`load`] reads the files, [`edit`] moves objects into the namespace and makes the
//! copies the checks need (renamed pods, canaries, Services without fixed node ports),
//! and spreads the quote pods over the nodes.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::DynamicObject;

mod edit;
mod load;

pub use edit::{
    HOSTNAME_TOPOLOGY_KEY, all_into_namespace, canary_pod, into_namespace, renamed_pod,
    spread_over_nodes, strip_node_ports,
};
pub use load::{embedded, load_file, load_kustomization, parse_documents};

/// One object and the file it came from.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub file: PathBuf,
    pub object: DynamicObject,
}

impl Manifest {
    pub fn kind(&self) -> &str {
        self.object.types.as_ref().map_or("", |t| &t.kind)
    }

    pub fn api_version(&self) -> &str {
        self.object.types.as_ref().map_or("", |t| &t.api_version)
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
        let parsed = self.object.clone().try_parse();
        parsed.with_context(|| format!("{} as a Service", self.id()))
    }

    /// The object as a typed Pod (fails for other kinds).
    pub fn as_pod(&self) -> Result<Pod> {
        let parsed = self.object.clone().try_parse();
        parsed.with_context(|| format!("{} as a Pod", self.id()))
    }
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
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let hash = std::collections::hash_map::RandomState::new().hash_one((nanos, std::process::id()));
    format!("{:08x}", hash as u32)
}

#[cfg(test)]
mod tests;
