//! Talking to the cluster: connecting, the run's namespace, server-side apply, bounded
//! waits, exec and port-forward through the API server, and diagnostics.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::core::v1::{
    Event, Namespace, Node, PersistentVolumeClaim, Pod, Secret, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{
    Api, ApiResource, AttachParams, DeleteParams, DynamicObject, ListParams, LogParams, Patch,
    PatchParams, PostParams,
};
use kube::core::GroupVersionKind;
use kube::{Client, Config};
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::sync::Mutex;

use crate::endpoints;
use crate::http;
use crate::manifest::Manifest;

/// The field manager of every apply the suite makes.
pub const FIELD_MANAGER: &str = "kiada-e2e";

/// Consecutive failed API calls after which a wait gives up: the API server is gone
/// (and its address may no longer exist on this machine, so stop knocking).
const MAX_FAILED_POLLS: u32 = 3;

/// How long a new connection to the API server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Waiting reasons after which a pod will not become ready by itself.
const FATAL_WAITING_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "CrashLoopBackOff",
    "RunContainerError",
];

/// A connection to the cluster and the run's namespace.
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
    /// Where the kubeconfig points (for messages).
    pub server: String,
    resources: Mutex<HashMap<String, ApiResource>>,
}

/// Connects with the current kubeconfig (or the in-cluster config) and asks the API
/// server for its version, within `timeout`. The error says plainly that there is no
/// reachable cluster.
pub async fn connect(timeout: Duration) -> Result<(Client, String, String)> {
    let config = tokio::time::timeout(timeout, Config::infer())
        .await
        .map_err(|_| anyhow!("reading the kubeconfig took longer than {} s", timeout.as_secs()))?
        .context(
            "no kubeconfig found (set KUBECONFIG or create ~/.kube/config, e.g. with `kind create cluster`)",
        )?;
    let server = config.cluster_url.to_string();
    let mut config = config;
    config.connect_timeout = Some(CONNECT_TIMEOUT.min(timeout));
    config.read_timeout = Some(Duration::from_secs(60));
    let client = Client::try_from(config).context("building a client from the kubeconfig")?;
    let version = tokio::time::timeout(timeout, client.apiserver_version())
        .await
        .map_err(|_| {
            anyhow!(
                "the API server at {server} did not answer within {} s",
                timeout.as_secs()
            )
        })?
        .with_context(|| format!("the API server at {server} is not reachable"))?;
    // Reachable is not enough: an API server without its storage answers /version but
    // nothing else. /readyz is public on conformant clusters; a 401/403 is not a
    // reason to stop.
    let readyz = ::http::Request::get("/readyz").body(Vec::new())?;
    match tokio::time::timeout(timeout, client.request_text(readyz)).await {
        Err(_) => bail!(
            "the API server at {server} did not say whether it is ready within {} s",
            timeout.as_secs()
        ),
        Ok(Err(kube::Error::Api(status))) if status.code == 401 || status.code == 403 => {}
        Ok(Err(error)) => {
            let failed: Vec<String> = error
                .to_string()
                .split("\\n")
                .filter(|line| line.starts_with("[-]"))
                .map(str::to_owned)
                .collect();
            bail!(
                "the API server at {server} is not ready: {}",
                if failed.is_empty() {
                    error.to_string()
                } else {
                    failed.join(", ")
                }
            )
        }
        Ok(Ok(_)) => {}
    }
    Ok((client, server, version.git_version))
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

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    pub fn services(&self) -> Api<Service> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// The EndpointSlices of one Service (label `kubernetes.io/service-name`).
    pub async fn endpoint_slices(&self, service: &str) -> Result<Vec<EndpointSlice>> {
        let slices: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &self.namespace);
        let params =
            ListParams::default().labels(&format!("{}={service}", endpoints::SERVICE_NAME_LABEL));
        Ok(slices
            .list(&params)
            .await
            .with_context(|| format!("listing the EndpointSlices of Service {service}"))?
            .items)
    }

    /// Creates the run's namespace, labelled so Pod Security admission enforces the
    /// restricted profile on everything the suite creates in it.
    pub async fn create_namespace(&self) -> Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let namespace: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": self.namespace,
                "labels": {
                    "app.kubernetes.io/part-of": "kiada-suite",
                    "app.kubernetes.io/managed-by": "kiada-e2e",
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/warn-version": "latest",
                }
            }
        }))?;
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("creating namespace {}", self.namespace))?;
        Ok(())
    }

    /// Deletes the run's namespace (and so everything in it) and waits, bounded, until
    /// it is gone; gives up early when the API server stops answering.
    pub async fn delete_namespace(&self, timeout: Duration) -> Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        match namespaces
            .delete(&self.namespace, &DeleteParams::foreground())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(error) => return Err(error).context("deleting the namespace"),
        }
        let deadline = Instant::now() + timeout;
        let mut failed_polls = 0;
        while Instant::now() < deadline {
            match namespaces.get_opt(&self.namespace).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => failed_polls = 0,
                Err(error) => {
                    failed_polls += 1;
                    if failed_polls >= MAX_FAILED_POLLS {
                        bail!("the API server stopped answering: {error}");
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        bail!(
            "namespace {} still terminating after {} s (it will go away by itself)",
            self.namespace,
            timeout.as_secs()
        )
    }

    /// Creates the kiada-tls Secret from a certificate and key.
    pub async fn create_tls_secret(&self, cert_pem: &str, key_pem: &str) -> Result<()> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {
                "name": "kiada-tls",
                "labels": {
                    "app": "kiada",
                    "app.kubernetes.io/name": "kiada",
                    "app.kubernetes.io/part-of": "kiada-suite",
                }
            },
            "stringData": { "tls.crt": cert_pem, "tls.key": key_pem }
        }))?;
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .context("creating the kiada-tls Secret")?;
        Ok(())
    }

    async fn api_for(&self, manifest: &Manifest) -> Result<Api<DynamicObject>> {
        let types = manifest
            .object
            .types
            .as_ref()
            .ok_or_else(|| anyhow!("{} has no apiVersion/kind", manifest.id()))?;
        let key = format!("{}/{}", types.api_version, types.kind);
        let mut cache = self.resources.lock().await;
        let resource = match cache.get(&key) {
            Some(resource) => resource.clone(),
            None => {
                let gvk = GroupVersionKind::try_from(types)
                    .with_context(|| format!("apiVersion {}", types.api_version))?;
                let (resource, _caps) = kube::discovery::pinned_kind(&self.client, &gvk)
                    .await
                    .with_context(|| format!("the API server does not serve {key}"))?;
                cache.insert(key, resource.clone());
                resource
            }
        };
        Ok(Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &resource,
        ))
    }

    /// Server-side apply of one object (already moved into the namespace).
    pub async fn apply(&self, manifest: &Manifest) -> Result<()> {
        if manifest.object.metadata.namespace.as_deref() != Some(self.namespace.as_str()) {
            bail!(
                "{} is not in the run's namespace (internal error)",
                manifest.id()
            );
        }
        let api = self.api_for(manifest).await?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(manifest.name(), &params, &Patch::Apply(&manifest.object))
            .await
            .map_err(|error| match error {
                kube::Error::Api(status) => anyhow!("{} ({})", status.message, status.reason),
                other => anyhow!(other),
            })
            .with_context(|| {
                format!(
                    "applying {} from {}",
                    manifest.id(),
                    manifest.file.display()
                )
            })?;
        Ok(())
    }

    /// Waits until every named pod is Ready, at most `timeout`. Fails early when a
    /// pod cannot start (image missing, crash loop, config error) or the API server
    /// stops answering.
    pub async fn wait_pods_ready(&self, names: &[String], timeout: Duration) -> Result<()> {
        let pods = self.pods();
        let deadline = Instant::now() + timeout;
        let mut failed_polls = 0;
        loop {
            // One list per poll, so a vanished API server costs one request a poll.
            let listed = match pods.list(&ListParams::default()).await {
                Ok(list) => {
                    failed_polls = 0;
                    list.items
                }
                Err(error) => {
                    failed_polls += 1;
                    if failed_polls >= MAX_FAILED_POLLS {
                        bail!("the API server stopped answering while waiting for pods: {error}");
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            };
            let mut waiting = Vec::new();
            for name in names {
                match listed
                    .iter()
                    .find(|p| p.metadata.name.as_deref() == Some(name))
                {
                    Some(pod) => {
                        if let Some(problem) = fatal_problem(pod) {
                            bail!("pod {name} cannot start: {problem}");
                        }
                        if !is_ready(pod) {
                            waiting.push(format!("{name} ({})", pod_state(pod)));
                        }
                    }
                    None => waiting.push(format!("{name} (not found)")),
                }
            }
            if waiting.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "not ready after {} s: {}",
                    timeout.as_secs(),
                    waiting.join(", ")
                );
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    /// Deletes a pod (if it exists) and waits, bounded, until it is gone.
    pub async fn delete_pod(&self, name: &str, timeout: Duration) -> Result<()> {
        let pods = self.pods();
        match pods.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(error) => return Err(error).with_context(|| format!("deleting pod {name}")),
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if pods.get_opt(name).await?.is_none() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        bail!(
            "pod {name} still there {} s after delete",
            timeout.as_secs()
        )
    }

    /// Deletes a Service (if it exists); Services go at once, nothing to wait for.
    pub async fn delete_service(&self, name: &str) -> Result<()> {
        match self.services().delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(error).with_context(|| format!("deleting Service {name}")),
        }
    }

    /// Runs `sh -c script` in a pod's first container through the API (as `kubectl
    /// exec` does) and returns its standard output; fails on a timeout, a non-zero
    /// exit status (with stderr) or an API error.
    pub async fn exec(&self, pod: &str, script: &str, timeout: Duration) -> Result<String> {
        self.exec_bounded(pod, script, timeout, None).await
    }

    /// Like [`Cluster::exec`], and meanwhile appends each line of standard output to
    /// `lines` as it arrives, with the time it arrived: a caller running alongside
    /// sees how far the command has got.
    pub async fn exec_lines(
        &self,
        pod: &str,
        script: &str,
        timeout: Duration,
        lines: &StdMutex<Vec<(Instant, String)>>,
    ) -> Result<String> {
        self.exec_bounded(pod, script, timeout, Some(lines)).await
    }

    async fn exec_bounded(
        &self,
        pod: &str,
        script: &str,
        timeout: Duration,
        lines: Option<&StdMutex<Vec<(Instant, String)>>>,
    ) -> Result<String> {
        let result = tokio::time::timeout(timeout, self.exec_inner(pod, script, lines)).await;
        match result {
            Ok(result) => result.with_context(|| format!("exec in pod {pod}")),
            Err(_) => bail!(
                "exec in pod {pod} did not finish within {} s",
                timeout.as_secs()
            ),
        }
    }

    async fn exec_inner(
        &self,
        pod: &str,
        script: &str,
        lines: Option<&StdMutex<Vec<(Instant, String)>>>,
    ) -> Result<String> {
        let mut attached = self
            .pods()
            .exec(
                pod,
                ["sh", "-c", script],
                &AttachParams::default()
                    .stdin(false)
                    .stdout(true)
                    .stderr(true),
            )
            .await?;
        let mut stdout = attached
            .stdout()
            .ok_or_else(|| anyhow!("no stdout stream"))?;
        let mut stderr = attached
            .stderr()
            .ok_or_else(|| anyhow!("no stderr stream"))?;
        let status = attached.take_status();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let read_stdout = async {
            let Some(sink) = lines else {
                return stdout.read_to_end(&mut out).await.map(drop);
            };
            let mut reader = tokio::io::BufReader::new(&mut stdout).lines();
            while let Some(line) = reader.next_line().await? {
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
                sink.lock()
                    .map_err(|_| std::io::Error::other("the line buffer is poisoned"))?
                    .push((Instant::now(), line));
            }
            Ok(())
        };
        let (read_out, read_err) = tokio::join!(read_stdout, stderr.read_to_end(&mut err));
        read_out?;
        read_err?;
        let status = match status {
            Some(status) => status.await,
            None => None,
        };
        let _ = attached.join().await;
        let out = String::from_utf8_lossy(&out).into_owned();
        if let Some(status) = status
            && status.status.as_deref() == Some("Failure")
        {
            bail!(
                "command failed ({}): {}{}",
                status.message.unwrap_or_default(),
                String::from_utf8_lossy(&err).trim(),
                if out.trim().is_empty() {
                    String::new()
                } else {
                    format!(" (stdout: {})", out.trim())
                }
            );
        }
        Ok(out)
    }

    /// One HTTP request to a pod's port through an API port-forward (as `kubectl
    /// port-forward` does); with `tls`, HTTPS verified against that configuration.
    pub async fn http_via_portforward(
        &self,
        pod: &str,
        port: u16,
        request: &http::Request,
        tls: Option<std::sync::Arc<rustls::ClientConfig>>,
        timeout: Duration,
    ) -> Result<http::Response> {
        let mut forwarder = tokio::time::timeout(timeout, self.pods().portforward(pod, &[port]))
            .await
            .map_err(|_| {
                anyhow!(
                    "port-forward to {pod}:{port} not set up within {} s",
                    timeout.as_secs()
                )
            })?
            .with_context(|| format!("port-forward to {pod}:{port}"))?;
        let stream = forwarder
            .take_stream(port)
            .ok_or_else(|| anyhow!("port-forward gave no stream for port {port}"))?;
        let host = format!("localhost:{port}");
        let result = match tls {
            None => http::send(stream, &host, request, timeout).await,
            Some(config) => {
                let connector = tokio_rustls::TlsConnector::from(config);
                let name = rustls_pki_types::ServerName::try_from(crate::tls::SERVER_NAME)?;
                match tokio::time::timeout(timeout, connector.connect(name, stream)).await {
                    Err(_) => Err(anyhow!(
                        "TLS handshake did not finish within {} s",
                        timeout.as_secs()
                    )),
                    Ok(Err(error)) => Err(anyhow!("TLS handshake: {error}")),
                    Ok(Ok(tls_stream)) => http::send(tls_stream, &host, request, timeout).await,
                }
            }
        };
        forwarder.abort();
        result.with_context(|| {
            format!(
                "{} {} on {pod}:{port} via port-forward",
                request.method, request.path
            )
        })
    }

    /// The nodes' InternalIP addresses, by node name.
    pub async fn node_internal_ips(&self) -> Result<BTreeMap<String, String>> {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let mut ips = BTreeMap::new();
        for node in nodes
            .list(&ListParams::default())
            .await
            .context("listing nodes")?
        {
            let name = node.metadata.name.clone().unwrap_or_default();
            if let Some(address) = node
                .status
                .and_then(|s| s.addresses)
                .unwrap_or_default()
                .into_iter()
                .find(|a| a.type_ == "InternalIP")
            {
                ips.insert(name, address.address);
            }
        }
        Ok(ips)
    }

    /// What a person needs when something failed: pods with phase, readiness and
    /// container states, PVCs, the namespace's events, and each container's log tail.
    pub async fn diagnostics(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "==== diagnostics for namespace {}", self.namespace);
        let pods = self.pods();
        match pods.list(&ListParams::default()).await {
            Ok(list) => {
                let _ = writeln!(out, "---- pods");
                for pod in &list.items {
                    let _ = writeln!(
                        out,
                        "{:<26} {}",
                        pod.metadata.name.as_deref().unwrap_or("?"),
                        pod_state(pod)
                    );
                }
                for pod in &list.items {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    let containers: Vec<String> = pod
                        .spec
                        .as_ref()
                        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                        .unwrap_or_default();
                    for container in containers {
                        let params = LogParams {
                            container: Some(container.clone()),
                            tail_lines: Some(25),
                            limit_bytes: Some(16 * 1024),
                            ..LogParams::default()
                        };
                        let logs = tokio::time::timeout(
                            Duration::from_secs(10),
                            pods.logs(&name, &params),
                        )
                        .await;
                        let _ = writeln!(out, "---- logs {name}/{container} (last 25 lines)");
                        match logs {
                            Ok(Ok(text)) if text.trim().is_empty() => {
                                let _ = writeln!(out, "(empty)");
                            }
                            Ok(Ok(text)) => {
                                let _ = writeln!(out, "{}", text.trim_end());
                            }
                            Ok(Err(error)) => {
                                let _ = writeln!(out, "(no logs: {error})");
                            }
                            Err(_) => {
                                let _ = writeln!(out, "(no logs: timed out)");
                            }
                        }
                    }
                }
            }
            Err(error) => {
                let _ = writeln!(out, "(listing pods failed: {error})");
            }
        }
        let pvcs: Api<PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &self.namespace);
        if let Ok(list) = pvcs.list(&ListParams::default()).await {
            let _ = writeln!(out, "---- persistent volume claims");
            for pvc in list.items {
                let _ = writeln!(
                    out,
                    "{} {}",
                    pvc.metadata.name.unwrap_or_default(),
                    pvc.status.and_then(|s| s.phase).unwrap_or_default()
                );
            }
        }
        if let Ok(list) = self.services().list(&ListParams::default()).await {
            let _ = writeln!(out, "---- services");
            for service in list.items {
                let spec = service.spec.unwrap_or_default();
                let ports: Vec<String> = spec
                    .ports
                    .unwrap_or_default()
                    .iter()
                    .map(|p| {
                        format!(
                            "{}->{}{}",
                            p.port,
                            match &p.target_port {
                                Some(IntOrString::Int(n)) => n.to_string(),
                                Some(IntOrString::String(s)) => s.clone(),
                                None => p.port.to_string(),
                            },
                            p.node_port
                                .map(|n| format!(" (node {n})"))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                let selector: Vec<String> = spec
                    .selector
                    .unwrap_or_default()
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let _ = writeln!(
                    out,
                    "{} {} {} ports [{}] selector {} affinity {}",
                    service.metadata.name.unwrap_or_default(),
                    spec.type_.unwrap_or_default(),
                    spec.cluster_ip.unwrap_or_default(),
                    ports.join(", "),
                    selector.join(","),
                    spec.session_affinity.unwrap_or_default()
                );
            }
        }
        let slices: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &self.namespace);
        if let Ok(list) = slices.list(&ListParams::default()).await {
            let _ = writeln!(out, "---- endpoint slices");
            for slice in list.items {
                let service = slice
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name").cloned())
                    .unwrap_or_default();
                let endpoints: Vec<String> = slice
                    .endpoints
                    .iter()
                    .map(|e| {
                        let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false);
                        let target = e
                            .target_ref
                            .as_ref()
                            .and_then(|t| t.name.clone())
                            .unwrap_or_default();
                        format!(
                            "{} {target}{}",
                            e.addresses.join(","),
                            if ready { "" } else { " (not ready)" }
                        )
                    })
                    .collect();
                let _ = writeln!(out, "{service}: {}", endpoints.join("; "));
            }
        }
        let events: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace);
        match events.list(&ListParams::default()).await {
            Ok(list) => {
                let _ = writeln!(out, "---- events");
                let mut items = list.items;
                items.sort_by_key(|e| {
                    e.last_timestamp
                        .as_ref()
                        .map(|t| t.0.to_string())
                        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
                        .unwrap_or_default()
                });
                for event in items.iter().rev().take(60).rev() {
                    let _ = writeln!(
                        out,
                        "{} {}/{} {}: {}",
                        event.type_.as_deref().unwrap_or(""),
                        event.involved_object.kind.as_deref().unwrap_or(""),
                        event.involved_object.name.as_deref().unwrap_or(""),
                        event.reason.as_deref().unwrap_or(""),
                        event.message.as_deref().unwrap_or("").trim()
                    );
                }
            }
            Err(error) => {
                let _ = writeln!(out, "(listing events failed: {error})");
            }
        }
        out
    }
}

/// Whether the pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// The reason a pod will not start by itself, if any.
pub fn fatal_problem(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|status| {
        let waiting = status.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref()?;
        FATAL_WAITING_REASONS.contains(&reason).then(|| {
            let mut text = format!(
                "container {} is {reason}: {}",
                status.name,
                waiting.message.as_deref().unwrap_or("").trim()
            );
            if reason.contains("Image") {
                let _ = write!(
                    text,
                    " (is image {} loaded on the node? see the README: build and load the images first)",
                    status.image
                );
            }
            text
        })
    })
}

/// A one-line state of a pod: phase, readiness and container states.
pub fn pod_state(pod: &Pod) -> String {
    let Some(status) = pod.status.as_ref() else {
        return "no status yet".into();
    };
    let mut parts = vec![status.phase.clone().unwrap_or_else(|| "Unknown".into())];
    parts.push(if is_ready(pod) {
        "ready".into()
    } else {
        "not ready".into()
    });
    if let Some(conditions) = &status.conditions
        && let Some(unscheduled) = conditions
            .iter()
            .find(|c| c.type_ == "PodScheduled" && c.status != "True")
    {
        parts.push(format!(
            "unschedulable: {}",
            unscheduled.message.as_deref().unwrap_or("")
        ));
    }
    for container in status.container_statuses.iter().flatten() {
        let state = container.state.as_ref();
        let description = if let Some(waiting) = state.and_then(|s| s.waiting.as_ref()) {
            format!("waiting: {}", waiting.reason.as_deref().unwrap_or(""))
        } else if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
            format!(
                "terminated: {} (exit {})",
                terminated.reason.as_deref().unwrap_or(""),
                terminated.exit_code
            )
        } else {
            "running".into()
        };
        parts.push(format!(
            "{} {description}, restarts {}",
            container.name, container.restart_count
        ));
    }
    if let Some(ip) = &status.pod_ip {
        parts.push(format!("ip {ip}"));
    }
    parts.join("; ")
}
