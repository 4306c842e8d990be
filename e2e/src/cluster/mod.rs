//! Talking to the cluster: the connection and the run's namespace, server-side apply,
//! and (in the submodules) pods and their waits, exec, port-forward and diagnostics.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::core::GroupVersionKind;
use kube::{Client, Resource};
use tokio::sync::Mutex;

use crate::endpoints;
use crate::manifest::{self, Manifest};
use crate::nodes::NodeInfo;
use crate::poll::within;
use crate::poll::{FailedInARow, Poller};

mod connect;
mod diagnostics;
mod exec;
mod pods;
mod portforward;

pub use connect::{ApiError, api_error, connect};
pub use pods::{fatal_problem, is_ready, pod_state};

/// The field manager of every apply the suite makes.
pub const FIELD_MANAGER: &str = "kiada-e2e";

/// Consecutive failed API calls after which a wait gives up: the API server is gone
/// (and its address may no longer exist on this machine, so stop knocking).
const MAX_FAILED_POLLS: u32 = 3;

/// The result of a delete with a 404 counted as done: whether the object was there.
fn deleted<T>(result: kube::Result<T>, what: impl Display + Send + Sync + 'static) -> Result<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(api_error(error).context(what)),
    }
}

/// The run's namespace, named `name`, as [`Cluster::create_namespace`] creates it.
fn namespace_object(name: &str) -> Result<Namespace> {
    let yaml = include_str!("../../objects/namespace.yaml");
    let mut namespace = manifest::embedded("namespace.yaml", yaml)?;
    namespace.object.metadata.name = Some(name.to_owned());
    Ok(namespace.object.try_parse()?)
}

/// The kiada-tls Secret of a certificate and key.
fn tls_secret(cert_pem: &str, key_pem: &str) -> Result<Secret> {
    let yaml = include_str!("../../objects/secret.kiada-tls.yaml");
    let mut secret = manifest::embedded("secret.kiada-tls.yaml", yaml)?;
    secret.set("/stringData/tls.crt", cert_pem)?;
    secret.set("/stringData/tls.key", key_pem)?;
    Ok(secret.object.try_parse()?)
}

/// A connection to the cluster and the run's namespace.
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
    /// Where the kubeconfig points (for messages).
    pub server: String,
    resources: Mutex<HashMap<String, ApiResource>>,
}

impl Cluster {
    pub fn new(client: Client, namespace: String, server: String) -> Self {
        Self {
            client,
            namespace,
            server,
            resources: Mutex::new(HashMap::new()),
        }
    }

    /// The API of one namespaced kind, in the run's namespace.
    pub fn api<K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>>(&self) -> Api<K> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    pub fn pods(&self) -> Api<Pod> {
        self.api()
    }

    pub fn services(&self) -> Api<Service> {
        self.api()
    }

    /// The EndpointSlices of one Service (label `kubernetes.io/service-name`).
    pub async fn endpoint_slices(&self, service: &str) -> Result<Vec<EndpointSlice>> {
        let params =
            ListParams::default().labels(&format!("{}={service}", endpoints::SERVICE_NAME_LABEL));
        Ok(self
            .api::<EndpointSlice>()
            .list(&params)
            .await
            .map_err(api_error)
            .with_context(|| format!("listing the EndpointSlices of Service {service}"))?
            .items)
    }

    /// Creates the run's namespace, labelled so Pod Security admission enforces the
    /// restricted profile on everything the suite creates in it.
    pub async fn create_namespace(&self) -> Result<()> {
        let namespace = namespace_object(&self.namespace)?;
        Api::all(self.client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .map_err(api_error)
            .with_context(|| format!("creating namespace {}", self.namespace))
            .map(drop)
    }

    /// Deletes the run's namespace (and so everything in it) and waits, bounded, until
    /// it is gone; gives up early when the API server stops answering.
    pub async fn delete_namespace(&self, timeout: Duration) -> Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let params = DeleteParams::foreground();
        let delete = namespaces.delete(&self.namespace, &params);
        if !deleted(delete.await, "deleting the namespace")? {
            return Ok(());
        }
        let mut failures = FailedInARow::new(MAX_FAILED_POLLS);
        let what = format!(
            "namespace {} gone (it goes away by itself later)",
            self.namespace
        );
        let mut poller = Poller::new(what, Duration::from_secs(2), timeout);
        loop {
            let seen = match failures
                .tolerate(namespaces.get_opt(&self.namespace).await)
                .map_err(|error| api_error(error).context("the API server stopped answering"))?
            {
                Some(None) => return Ok(()),
                Some(Some(_)) => "still terminating",
                None => "the API server did not answer",
            };
            poller.again(seen).await?;
        }
    }

    /// Creates the kiada-tls Secret from a certificate and key.
    pub async fn create_tls_secret(&self, cert_pem: &str, key_pem: &str) -> Result<()> {
        let secret = tls_secret(cert_pem, key_pem)?;
        self.api()
            .create(&PostParams::default(), &secret)
            .await
            .map_err(api_error)
            .context("creating the kiada-tls Secret")
            .map(drop)
    }

    async fn api_for(&self, manifest: &Manifest) -> Result<Api<DynamicObject>> {
        let types = manifest
            .object
            .types
            .as_ref()
            .ok_or_else(|| anyhow!("{} has no apiVersion/kind", manifest.id()))?;
        let key = format!("{}/{}", types.api_version, types.kind);
        let mut cache = self.resources.lock().await;
        if !cache.contains_key(&key) {
            let gvk = GroupVersionKind::try_from(types)
                .with_context(|| format!("apiVersion {}", types.api_version))?;
            let (resource, _caps) = kube::discovery::pinned_kind(&self.client, &gvk)
                .await
                .map_err(api_error)
                .with_context(|| format!("the API server does not serve {key}"))?;
            cache.insert(key.clone(), resource);
        }
        let resource = &cache[&key];
        Ok(Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            resource,
        ))
    }

    /// Server-side apply of one object (already moved into the namespace).
    pub async fn apply(&self, manifest: &Manifest) -> Result<()> {
        let id = manifest.id();
        if manifest.object.metadata.namespace.as_deref() != Some(self.namespace.as_str()) {
            bail!("{id} is not in the run's namespace (internal error)");
        }
        let api = self.api_for(manifest).await?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(manifest.name(), &params, &Patch::Apply(&manifest.object))
            .await
            .map_err(api_error)
            .with_context(|| format!("applying {id} from {}", manifest.file.display()))
            .map(drop)
    }

    /// Deletes one object of the run (if it exists), for kinds that go at once, such as
    /// NetworkPolicies: nothing to wait for.
    pub async fn delete(&self, manifest: &Manifest) -> Result<()> {
        let api = self.api_for(manifest).await?;
        let delete = api.delete(manifest.name(), &DeleteParams::default()).await;
        deleted(delete, format!("deleting {}", manifest.id())).map(drop)
    }

    /// Deletes a Service (if it exists); Services go at once, nothing to wait for.
    pub async fn delete_service(&self, name: &str) -> Result<()> {
        let delete = self.services().delete(name, &DeleteParams::default()).await;
        deleted(delete, format!("deleting Service {name}")).map(drop)
    }

    /// Every node: its InternalIP and whether the base's pods can be scheduled there.
    pub async fn nodes(&self) -> Result<Vec<NodeInfo>> {
        let nodes: Api<Node> = Api::all(self.client.clone());
        Ok(nodes
            .list(&ListParams::default())
            .await
            .map_err(api_error)
            .context("listing nodes")?
            .items
            .iter()
            .map(NodeInfo::of)
            .collect())
    }

    /// The nodes' InternalIP addresses, by node name.
    pub async fn node_internal_ips(&self) -> Result<BTreeMap<String, String>> {
        Ok(self
            .nodes()
            .await?
            .into_iter()
            .filter_map(|node| Some((node.name, node.internal_ip?)))
            .collect())
    }
}

#[cfg(test)]
mod tests;
