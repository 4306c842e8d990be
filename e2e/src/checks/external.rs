//! Services for what no selector picks (section 11.3): a Service without a selector
//! whose EndpointSlice the check writes by hand (`endpoints-by-hand`), and an
//! ExternalName Service, a CNAME in the cluster's DNS (`externalname-cname`).

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::endpoints::SERVICE_NAME_LABEL;
use crate::manifest::{self, Manifest};
use crate::parse::quote_identity;
use crate::poll::Poller;
use crate::service::{cluster_ip, ports, url_host};
use crate::shell::{self, CurlLoop};
use crate::summary::one_line;

/// The pod the check starts as the hand-written endpoint: busybox httpd in the
/// toolbox image, selected by no Service.
const SERVER_POD: &str = "external-server";
/// Requests through each Service once it answers.
const CALLS: u32 = 10;

/// The endpoint's server: busybox httpd in `image` (the toolbox image) on `port`,
/// answering every path with a line that names its pod and address.
fn server_pod(namespace: &str, image: &str, port: u16) -> anyhow::Result<Manifest> {
    let yaml = include_str!("../../objects/pod.external-server.yaml");
    let mut pod = manifest::embedded("pod.external-server.yaml", yaml)?;
    manifest::into_namespace(&mut pod, namespace)?;
    let script = format!(
        "echo \"external endpoint $POD_NAME at $POD_IP:{port}\" > /www/index.html && exec httpd -f -p {port} -h /www"
    );
    pod.set("/spec/containers/0/image", image)?;
    pod.set("/spec/containers/0/command/2", script)?;
    pod.set("/spec/containers/0/ports/0/containerPort", port)?;
    pod.set("/spec/containers/0/readinessProbe/tcpSocket/port", port)?;
    Ok(pod)
}

impl Run<'_> {
    /// Deletes what [`Self::endpoints_by_hand`] made.
    pub(super) async fn endpoints_by_hand_cleanup(&self) -> anyhow::Result<()> {
        let book = &self.objects.book;
        self.cluster.delete(&book.external_slice).await?;
        self.cluster
            .delete_service(book.external_service.name())
            .await?;
        self.cluster
            .delete_pod(SERVER_POD, Duration::from_secs(60))
            .await
    }

    pub(super) async fn endpoints_by_hand(&self) -> Result<String, String> {
        let book = &self.objects.book;
        let service_name = book.external_service.name();
        let service_port = ports(&book.external_service.as_service().map_err(reason)?)
            .first()
            .and_then(|p| u16::try_from(p.port).ok())
            .ok_or("svc.external-service.yaml has no port")?;
        let endpoint_port = book.external_slice.object.data["ports"][0]["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or("variants/eps.external-service.yaml has no port")?;
        let image = self.client_image()?;
        let server = server_pod(&self.cluster.namespace, &image, endpoint_port).map_err(reason)?;
        self.start_pod(&server).await?;
        let ip = pod_ip(&self.get_pod(SERVER_POD).await?)?;
        let body = format!("external endpoint {SERVER_POD} at {ip}:{endpoint_port}");

        let mut slice = book.external_slice.clone();
        slice.object.data["endpoints"] = serde_json::json!([{ "addresses": [ip] }]);
        for object in [&book.external_service, &slice] {
            self.apply(object).await?;
        }
        let live = self.live_service(service_name).await?;
        let service_ip = cluster_ip(&live).ok_or("external-service has no cluster IP")?;
        if live.spec.as_ref().is_some_and(|s| s.selector.is_some()) {
            return Err("external-service has a selector".into());
        }
        // The address is a backend of no Service but this one: no other slice of the
        // namespace lists it, and this Service has only the slice written here.
        let slices: kube::Api<k8s_openapi::api::discovery::v1::EndpointSlice> =
            kube::Api::namespaced(self.cluster.client.clone(), &self.cluster.namespace);
        let all = slices
            .list(&kube::api::ListParams::default())
            .await
            .map_err(|e| format!("listing EndpointSlices: {:#}", api_error(e)))?;
        for other in &all.items {
            let name = other.metadata.name.as_deref().unwrap_or("");
            if name == slice.name() {
                continue;
            }
            let labels = other.metadata.labels.as_ref();
            if labels
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
                .is_some_and(|s| s == service_name)
            {
                return Err(format!("Service {service_name} has another slice, {name}"));
            }
            if other.endpoints.iter().any(|e| e.addresses.contains(&ip)) {
                return Err(format!("slice {name} lists {ip} too"));
            }
        }

        // Through the Service (port 80): once it answers, every answer is the server's.
        let url = format!("http://{service_name}/");
        let what = format!("{url} answering with {body:?}");
        let script = shell::curl_loop(&url, 1, 5);
        self.client_until(what, &script, |out| out.trim() == body)
            .await?;
        let answers = CurlLoop::read(&self.curl(&url, CALLS).await?);
        let exact = answers.answers.iter().filter(|a| **a == body).count();
        if exact != CALLS as usize {
            return Err(format!(
                "{url}: {exact} of {CALLS} answers were {body:?}: {} (answers: {:?})",
                answers.describe(),
                answers.answers
            ));
        }
        // The Service's port 80 maps to the endpoint's port: at the pod itself, port 80
        // refuses (curl exit 7) and the endpoint's port gives the same answer.
        let on_port = |port: u16| format!("http://{}:{port}/", url_host(&ip));
        let at_80 = CurlLoop::read(&self.curl(&on_port(service_port), 1).await?);
        if at_80.failures.get(&7) != Some(&1) {
            return Err(format!(
                "{} should refuse the connection (curl exit 7): {}",
                on_port(service_port),
                at_80.describe()
            ));
        }
        let direct = self.curl(&on_port(endpoint_port), 1).await?;
        if direct.trim() != body {
            return Err(format!(
                "{} answered {:?}, not {body:?}",
                on_port(endpoint_port),
                one_line(&direct)
            ));
        }
        Ok(format!(
            "Service {service_name} (no selector, cluster IP {service_ip}, port {service_port}) with slice {} listing only {ip}:{endpoint_port} (pod {SERVER_POD}, which no Service selects): {CALLS} of {CALLS} calls to {url} answered {body:?}; at the pod, port {service_port} refuses and port {endpoint_port} answers the same",
            slice.name()
        ))
    }

    /// Runs `script` in the client pod every 2 s (at most `short()`) until `done` holds
    /// for its output; that output.
    async fn client_until(
        &self,
        what: String,
        script: &str,
        done: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let poller = Poller::new(what, Duration::from_secs(2), self.short());
        self.exec_until(CLIENT, script, poller, |out| {
            done(out)
                .then(|| out.to_owned())
                .ok_or_else(|| one_line(out))
        })
        .await
    }

    /// `count` curl requests to `url` from the client pod, each bounded by 5 s.
    async fn curl(&self, url: &str, count: u32) -> Result<String, String> {
        self.exec(CLIENT, &shell::curl_loop(url, count, 5)).await
    }

    /// The image of the client pod (the toolbox image).
    fn client_image(&self) -> Result<String, String> {
        self.objects
            .get("Pod", CLIENT)
            .and_then(|client| client.as_pod())
            .map_err(reason)?
            .spec
            .and_then(|s| s.containers.first().and_then(|c| c.image.clone()))
            .ok_or_else(|| "the client pod has no image".into())
    }

    pub(super) async fn externalname_cname(&self) -> Result<String, String> {
        let (ns, domain) = (&self.cluster.namespace, &self.domain);
        let target = format!("quote.{ns}.svc.{domain}");
        let mut object = self.objects.book.time_api.clone();
        object.object.data["spec"]["externalName"] = target.clone().into();
        let service = object.name().to_owned();
        self.apply(&object).await?;
        let live = self.live_service(&service).await?;
        let spec = live.spec.clone().unwrap_or_default();
        if spec.type_.as_deref() != Some("ExternalName")
            || spec.external_name.as_deref() != Some(target.as_str())
            || cluster_ip(&live).is_some()
        {
            return Err(format!(
                "Service {service} is type {:?}, externalName {:?}, cluster IP {:?}",
                spec.type_, spec.external_name, spec.cluster_ip
            ));
        }
        let quote_ip = cluster_ip(&self.live_service("quote").await?)
            .ok_or("the quote Service has no cluster IP")?;
        let name = format!("{service}.{ns}.svc.{domain}");
        let want = (name.clone(), target.clone());
        let what = format!("nslookup {name}: canonical name = {target}");
        let out = self
            .client_until(what, &shell::nslookup(&name), |out| {
                shell::nslookup_cnames(out) == [want.clone()]
                    && shell::nslookup_addresses(out) == [quote_ip.clone()]
            })
            .await?;
        let addresses = shell::nslookup_addresses(&out);
        let url = format!("http://{service}/");
        let calls = CurlLoop::read(&self.curl(&url, CALLS).await?);
        let pods: Vec<String> = calls
            .answers
            .iter()
            .filter_map(|line| quote_identity(line).map(|(pod, _)| pod))
            .collect();
        if pods.len() != CALLS as usize {
            return Err(format!(
                "{url}: {} of {CALLS} answers came from quote: {} (answers: {:?})",
                pods.len(),
                calls.describe(),
                calls.answers
            ));
        }
        let distinct: BTreeSet<&String> = pods.iter().collect();
        Ok(format!(
            "nslookup {name}: canonical name = {target}, address {}; {CALLS} of {CALLS} curl calls to {url} answered by quote pods {}",
            addresses.join(" "),
            comma_list(distinct)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pod is the one the check wrote as a JSON literal before it moved to
    /// `e2e/objects/pod.external-server.yaml`: that literal, with the same inputs.
    #[test]
    fn the_server_pod_is_the_one_the_json_literal_made() {
        let (namespace, image, port) = ("kiada-e2e-0123abcd", "kiada-suite/toolbox:0.1.0", 88);
        let script = format!(
            "echo \"external endpoint $POD_NAME at $POD_IP:{port}\" > /www/index.html && exec httpd -f -p {port} -h /www"
        );
        let field = |path: &str| serde_json::json!({ "fieldRef": { "fieldPath": path } });
        let old = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": SERVER_POD,
                "namespace": namespace,
                "labels": { "app": SERVER_POD },
            },
            "spec": {
                "automountServiceAccountToken": false,
                "terminationGracePeriodSeconds": 2,
                "securityContext": {
                    "runAsNonRoot": true,
                    "runAsUser": 65532,
                    "runAsGroup": 65532,
                    "seccompProfile": { "type": "RuntimeDefault" },
                    "sysctls": [{ "name": "net.ipv4.ip_unprivileged_port_start", "value": "0" }],
                },
                "volumes": [{ "name": "www", "emptyDir": { "sizeLimit": "1Mi" } }],
                "containers": [{
                    "name": "httpd",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "-c", script],
                    "ports": [{ "name": "http", "containerPort": port, "protocol": "TCP" }],
                    "env": [
                        { "name": "POD_NAME", "valueFrom": field("metadata.name") },
                        { "name": "POD_IP", "valueFrom": field("status.podIP") },
                    ],
                    "volumeMounts": [{ "name": "www", "mountPath": "/www" }],
                    "readinessProbe": { "tcpSocket": { "port": port }, "periodSeconds": 1 },
                    "resources": {
                        "requests": { "cpu": "5m", "memory": "8Mi" },
                        "limits": { "cpu": "100m", "memory": "32Mi" },
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "readOnlyRootFilesystem": true,
                        "capabilities": { "drop": ["ALL"] },
                    },
                }],
            },
        });
        let pod = server_pod(namespace, image, port).unwrap();
        assert_eq!(serde_json::to_value(&pod.object).unwrap(), old);
    }
}
