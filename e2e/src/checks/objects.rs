//! The objects of a run: the base, the chapter's steps and variants, moved into the
//! run's namespace; and what the checks read from them.

use std::path::Path;

use anyhow::{Context, Result, bail};
use kube::ResourceExt;

use crate::manifest::{self, Manifest};

/// The variant with the NetworkPolicies that let only kiada and the client pod reach
/// quote and quiz.
pub(super) const NETWORK_POLICY_FILE: &str = "variants/netpol-quote-quiz-ingress.yaml";

/// The variant with the quote pod that has probe controls and the Service that
/// publishes it whether ready or not.
pub(super) const PUBLISH_NOT_READY_FILE: &str = "variants/svc-quote-publish-not-ready.yaml";

/// The `app` whose pods of the base the suite spreads over the nodes
/// ([`manifest::spread_over_nodes`]): the four quote pods, which the `multi-node` checks
/// need on at least two nodes. The manifests set no such constraint, and on a kind
/// cluster whose CoreDNS pod weighed on one worker the scheduler put all four on the
/// other.
pub(super) const SPREAD_APP: &str = "quote";

/// The objects of the run: the base, the chapter's steps and variants, all moved into
/// the run's namespace.
pub struct Objects {
    pub base: Vec<Manifest>,
    pub quiz_exposed: Manifest,
    pub quiz_selector: Manifest,
    pub quote_sticky: Manifest,
    /// The kiada pod whose QUOTE_URL is `quote_sticky`.
    pub kiada_sticky: Manifest,
    pub no_service_links: Manifest,
    /// The quote pod with probe controls and the publishNotReadyAddresses Service
    /// that selects only it (`variants/svc-quote-publish-not-ready.yaml`).
    pub probe_pod: Manifest,
    pub publish_not_ready: Manifest,
    /// The NetworkPolicies of [`NETWORK_POLICY_FILE`].
    pub network_policies: Vec<Manifest>,
    /// The book's chapter 11 files the checks of sections 11.3 to 11.6 apply.
    pub book: BookObjects,
}

/// The objects of the book's chapter 11 files (`manifests/README.md`), each in the
/// run's namespace.
pub struct BookObjects {
    /// `svc.external-service.yaml`: a Service without a selector.
    pub external_service: Manifest,
    /// `variants/eps.external-service.yaml`: its EndpointSlice, whose addresses the
    /// check replaces with its own server's.
    pub external_slice: Manifest,
    /// `svc.time-api.yaml`: an ExternalName Service.
    pub time_api: Manifest,
    /// `svc.quote-headless.yaml`.
    pub quote_headless: Manifest,
    /// `pods.quote-with-hostname-subdomain.yaml`: three quote pods.
    pub hostname_pods: Vec<Manifest>,
    /// `svc.quote-local.yaml`: internalTrafficPolicy Local.
    pub quote_local: Manifest,
    /// `svc.kiada.nodeport.local.yaml`: the kiada Service with externalTrafficPolicy
    /// Local.
    pub kiada_local: Manifest,
    /// `pod.kiada-mock-readiness.yaml`.
    pub mock_readiness: Manifest,
    /// `svc.kiada-publish-not-ready-addresses.yaml`.
    pub kiada_publish_not_ready: Manifest,
}

impl Objects {
    pub fn load(dir: &Path, namespace: &str) -> Result<Self> {
        let mut base = manifest::load_kustomization(dir)?;
        manifest::all_into_namespace(&mut base, namespace)?;
        for pod in base.iter_mut().filter(|m| {
            m.kind() == "Pod"
                && m.object.labels().get("app").map(String::as_str) == Some(SPREAD_APP)
        }) {
            manifest::spread_over_nodes(pod)?;
        }
        // Every object of a file, which must hold what `rule` says, in the namespace.
        let all = |path: &str, holds: fn(&[Manifest]) -> bool, rule: &str| {
            let mut list = manifest::load_file(&dir.join(path))?;
            if !holds(&list) {
                bail!("{path} should hold {rule}, holds {}", list.len());
            }
            manifest::all_into_namespace(&mut list, namespace)?;
            Ok(list)
        };
        let one = |path: &str| -> Result<Manifest> {
            Ok(all(path, |list| list.len() == 1, "one object")?.remove(0))
        };
        let (mut probe_pod, mut publish_not_ready) =
            load_publish_not_ready(&dir.join(PUBLISH_NOT_READY_FILE))?;
        manifest::into_namespace(&mut probe_pod, namespace)?;
        manifest::into_namespace(&mut publish_not_ready, namespace)?;
        let network_policies = all(
            NETWORK_POLICY_FILE,
            |list| list.iter().all(|m| m.kind() == "NetworkPolicy"),
            "only NetworkPolicies",
        )?;
        let hostname_pods = all(
            "pods.quote-with-hostname-subdomain.yaml",
            |list| list.len() == 3 && list.iter().all(|m| m.kind() == "Pod"),
            "three Pods",
        )?;
        let book = BookObjects {
            external_service: one("svc.external-service.yaml")?,
            external_slice: one("variants/eps.external-service.yaml")?,
            time_api: one("svc.time-api.yaml")?,
            quote_headless: one("svc.quote-headless.yaml")?,
            hostname_pods,
            quote_local: one("svc.quote-local.yaml")?,
            kiada_local: one("svc.kiada.nodeport.local.yaml")?,
            mock_readiness: one("pod.kiada-mock-readiness.yaml")?,
            kiada_publish_not_ready: one("svc.kiada-publish-not-ready-addresses.yaml")?,
        };
        Ok(Self {
            book,
            network_policies,
            probe_pod,
            publish_not_ready,
            quiz_exposed: one("steps/quiz-svc-1-exposed.yaml")?,
            quiz_selector: one("steps/quiz-svc-2-selector.yaml")?,
            quote_sticky: one("variants/svc-quote-session-affinity.yaml")?,
            kiada_sticky: one("variants/kiada-quote-sticky.yaml")?,
            no_service_links: one("variants/pod-without-service-links.yaml")?,
            base,
        })
    }

    pub(super) fn get(&self, kind: &str, name: &str) -> Result<&Manifest> {
        manifest::find(&self.base, kind, name)
    }
}

/// Loads the objects without a cluster: what `--dry-run` prints (and what the unit
/// tests exercise).
pub fn describe_objects(dir: &Path, namespace: &str) -> Result<String> {
    let objects = Objects::load(dir, namespace).context("loading the manifests")?;
    let book = &objects.book;
    let all = objects
        .base
        .iter()
        .chain([
            &objects.quiz_exposed,
            &objects.quiz_selector,
            &objects.quote_sticky,
            &objects.kiada_sticky,
            &objects.no_service_links,
            &objects.probe_pod,
            &objects.publish_not_ready,
        ])
        .chain(&objects.network_policies)
        .chain([
            &book.external_service,
            &book.external_slice,
            &book.time_api,
            &book.quote_headless,
        ])
        .chain(&book.hostname_pods)
        .chain([
            &book.quote_local,
            &book.kiada_local,
            &book.mock_readiness,
            &book.kiada_publish_not_ready,
        ]);
    Ok(all
        .map(|m| format!("{} {} ({})\n", m.api_version(), m.id(), m.file.display()))
        .collect())
}

/// Reads the variant file: exactly one Pod with `PROBE_CONTROLS_ENABLED=true` and one
/// Service with `publishNotReadyAddresses: true` whose selector picks that pod.
pub fn load_publish_not_ready(path: &Path) -> Result<(Manifest, Manifest)> {
    let objects = manifest::load_file(path)?;
    let file = path.display();
    let ids: Vec<String> = objects.iter().map(Manifest::id).collect();
    let pods: Vec<&Manifest> = objects.iter().filter(|m| m.kind() == "Pod").collect();
    let services: Vec<&Manifest> = objects.iter().filter(|m| m.kind() == "Service").collect();
    let (&[pod], &[service], 2) = (pods.as_slice(), services.as_slice(), objects.len()) else {
        bail!("{file} should hold one Pod and one Service, holds {ids:?}");
    };
    let (pod_id, service_id) = (pod.id(), service.id());
    if env_value(pod, "PROBE_CONTROLS_ENABLED")?.as_deref() != Some("true") {
        bail!("{pod_id} in {file} does not set PROBE_CONTROLS_ENABLED=true");
    }
    let spec = service.as_service()?.spec.unwrap_or_default();
    if spec.publish_not_ready_addresses != Some(true) {
        bail!("{service_id} in {file} does not set publishNotReadyAddresses: true");
    }
    let labels = pod.object.labels();
    let selector = spec.selector.unwrap_or_default();
    if selector.is_empty() || !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        bail!("the selector of {service_id} ({selector:?}) does not pick {pod_id} in {file}");
    }
    Ok((pod.clone(), service.clone()))
}

/// The value of a plain environment variable of the pod's first container.
pub(super) fn env_value(pod: &Manifest, name: &str) -> Result<Option<String>> {
    let spec = pod.as_pod()?.spec.unwrap_or_default();
    Ok(spec
        .containers
        .first()
        .and_then(|c| c.env.as_ref())
        .and_then(|env| env.iter().find(|e| e.name == name))
        .and_then(|e| e.value.clone()))
}

/// The number of the pod's container port named `http`.
pub(super) fn http_port(pod: &Manifest) -> Result<u16, String> {
    let spec = pod
        .as_pod()
        .map_err(super::reason)?
        .spec
        .unwrap_or_default();
    spec.containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some("http"))
        .and_then(|p| u16::try_from(p.container_port).ok())
        .ok_or_else(|| format!("{} has no container port named http", pod.id()))
}

#[cfg(test)]
mod tests;
