//! Reading the kustomize base and single YAML files into [`Manifest`]s.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use kube::api::DynamicObject;
use serde::Deserialize;

use super::Manifest;

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
    let shown = path.display();
    if let Some(namespace) = &kustomization.namespace {
        bail!("{shown} sets namespace: {namespace}; the suite needs a base without one");
    }
    let unsupported: Vec<&String> = kustomization
        .other
        .keys()
        .filter(|key| !IGNORED_KUSTOMIZATION_FIELDS.contains(&key.as_str()))
        .collect();
    if !unsupported.is_empty() {
        bail!(
            "{shown} uses {unsupported:?}, which this loader does not render (only resources: files)"
        );
    }
    if kustomization.resources.is_empty() {
        bail!("{shown} lists no resources");
    }
    let mut manifests = Vec::new();
    for resource in &kustomization.resources {
        let file = dir.join(resource);
        if file.is_dir() {
            bail!(
                "{shown}: resource {resource} is a directory (nested kustomizations are not supported)"
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
    let objects = parse_documents(&text).with_context(|| format!("parsing {}", file.display()))?;
    let file = file.to_path_buf();
    let manifest = |object| Manifest {
        file: file.clone(),
        object,
    };
    Ok(objects.into_iter().map(manifest).collect())
}

/// The one object of a YAML text built into the suite, `e2e/objects/<file>`.
pub fn embedded(file: &str, text: &str) -> Result<Manifest> {
    let file = Path::new("e2e/objects").join(file);
    let objects = parse_documents(text).with_context(|| format!("parsing {}", file.display()))?;
    let Ok([object]) = <[DynamicObject; 1]>::try_from(objects) else {
        bail!("{} must hold one object", file.display());
    };
    Ok(Manifest { file, object })
}

/// Parses a multi-document YAML text into objects; each must have apiVersion, kind
/// and metadata.name.
pub fn parse_documents(text: &str) -> Result<Vec<DynamicObject>> {
    let mut objects = Vec::new();
    for (n, document) in (1..).zip(serde_yaml_ng::Deserializer::from_str(text)) {
        let value =
            serde_yaml_ng::Value::deserialize(document).with_context(|| format!("document {n}"))?;
        if value.is_null() {
            continue;
        }
        let json = serde_json::to_value(&value).with_context(|| format!("document {n} as JSON"))?;
        let object: DynamicObject = serde_json::from_value(json)
            .with_context(|| format!("document {n} as a Kubernetes object"))?;
        let Some(types) = &object.types else {
            bail!("document {n} has no apiVersion/kind");
        };
        if types.kind.is_empty() || types.api_version.is_empty() {
            bail!("document {n} has an empty apiVersion or kind");
        }
        if object.metadata.name.as_deref().unwrap_or("").is_empty() {
            bail!("document {n} ({}) has no metadata.name", types.kind);
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
