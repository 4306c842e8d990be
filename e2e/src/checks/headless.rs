//! Headless Services in DNS (section 11.4): the A and SRV records of
//! `quote-headless` against the ready quote pods and the quote Service's SRV record
//! (`headless-records`), and the records of pods that set `hostname` and `subdomain`
//! (`pod-hostname-records`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kube::api::ListParams;

use super::*;
use crate::poll::Poller;
use crate::shell::{self, SrvRecord};
use crate::summary::one_line;

/// The port every record must name: the quote Services' `http` port.
const HTTP_PORT: u16 = 80;

impl Run<'_> {
    /// Polls `nslookup name` in the client pod until `wanted` accepts the addresses it
    /// gives (`what` describes them, for the time-out's message).
    async fn nslookup_until(
        &self,
        name: &str,
        what: &str,
        wanted: impl Fn(&[String]) -> bool,
    ) -> Result<(), String> {
        let what = format!("nslookup {name} giving exactly {what}");
        let poller = Poller::new(what, Duration::from_secs(2), self.short());
        self.exec_until(CLIENT, &shell::nslookup(name), poller, |out| {
            let got = shell::nslookup_addresses(out);
            wanted(&got)
                .then_some(())
                .ok_or_else(|| format!("{got:?}: {}", one_line(out)))
        })
        .await
    }

    pub(super) async fn headless_records(&self) -> Result<String, String> {
        let (ns, domain) = (&self.cluster.namespace, &self.domain);
        let service = self.objects.book.quote_headless.name().to_owned();
        self.apply(&self.objects.book.quote_headless).await?;
        let live = self.live_service(&service).await?;
        let cluster_ip = live.spec.as_ref().and_then(|s| s.cluster_ip.clone());
        if cluster_ip.as_deref() != Some("None") {
            return Err(format!("{service} has cluster IP {cluster_ip:?}, not None"));
        }
        let ready = self.ready_quote_ips().await?;
        let want: BTreeSet<String> = ready.keys().cloned().collect();
        let name = format!("{service}.{ns}.svc.{domain}");
        let what = format!("the ready quote pods' IPs {want:?}");
        self.nslookup_until(&name, &what, |got| {
            got.iter().cloned().collect::<BTreeSet<_>>() == want
        })
        .await?;
        // SRV: one answer per pod, each on port 80, its target named after the pod's IP.
        let srv = format!("_http._tcp.{name}");
        let what = format!("SRV {srv}: one answer per ready quote pod, port {HTTP_PORT}");
        let poller = Poller::new(what, Duration::from_secs(2), self.short());
        let targets = self
            .exec_until(CLIENT, &shell::nslookup_srv(&srv), poller, |out| {
                let records = shell::srv_records(out);
                let ips: BTreeSet<String> = records
                    .iter()
                    .filter_map(|r| dashed_ip(&r.target, &name))
                    .collect();
                let ok = records.len() == want.len()
                    && records.iter().all(|r| r.port == HTTP_PORT)
                    && ips == want;
                ok.then_some(records).ok_or_else(|| one_line(out))
            })
            .await?;
        // The ClusterIP Service's SRV record: port 80 and the Service's own name.
        let quote = format!("quote.{ns}.svc.{domain}");
        let quote_srv = format!("_http._tcp.{quote}");
        let out = self.exec(CLIENT, &shell::nslookup_srv(&quote_srv)).await?;
        let records = shell::srv_records(&out);
        if !matches!(records.as_slice(), [SrvRecord { port: HTTP_PORT, target, .. }] if *target == quote)
        {
            return Err(format!(
                "SRV {quote_srv} should be one answer, port {HTTP_PORT}, target {quote}: {records:?} ({})",
                one_line(&out)
            ));
        }
        Ok(format!(
            "{name} A: {} = the {} ready quote pods' IPs ({}); SRV {srv}: {} answers, port {HTTP_PORT}, targets {}; SRV {quote_srv}: port {HTTP_PORT}, target {quote}",
            want.iter().cloned().collect::<Vec<_>>().join(" "),
            ready.len(),
            ready.values().cloned().collect::<Vec<_>>().join(", "),
            targets.len(),
            targets
                .iter()
                .map(|r| r.target.split('.').next().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
                .join(" ")
        ))
    }

    /// The ready pods labelled `app=quote`: pod IP -> pod name.
    async fn ready_quote_ips(&self) -> Result<BTreeMap<String, String>, String> {
        let quote = ListParams::default().labels("app=quote");
        let mut ready = BTreeMap::new();
        for pod in self.ready_pods_listed(quote, "the quote pods").await? {
            ready.insert(pod_ip(&pod)?, pod.metadata.name.unwrap_or_default());
        }
        if ready.is_empty() {
            return Err("no quote pod is ready".into());
        }
        Ok(ready)
    }

    /// Deletes what [`Self::pod_hostname_records`] made. Every delete is sent first, so
    /// the pods terminate side by side.
    pub(super) async fn pod_hostname_cleanup(&self) -> anyhow::Result<()> {
        let book = &self.objects.book;
        for pod in &book.hostname_pods {
            self.cluster.delete(pod).await?;
        }
        for pod in &book.hostname_pods {
            self.cluster
                .delete_pod(pod.name(), Duration::from_secs(90))
                .await?;
        }
        self.cluster
            .delete_service(book.quote_headless.name())
            .await
    }

    pub(super) async fn pod_hostname_records(&self) -> Result<String, String> {
        let (ns, domain) = (&self.cluster.namespace, &self.domain);
        let book = &self.objects.book;
        for object in std::iter::once(&book.quote_headless).chain(&book.hostname_pods) {
            self.apply(object).await?;
        }
        let names: Vec<String> = book.hostname_pods.iter().map(|p| p.name().into()).collect();
        self.cluster
            .wait_pods_ready(&names, self.options.timeout)
            .await
            .map_err(|e| format!("the pods of pods.quote-with-hostname-subdomain.yaml: {e:#}"))?;
        let mut seen = Vec::new();
        let mut without_hostname = Vec::new();
        for manifest in &book.hostname_pods {
            let spec = manifest.as_pod().map_err(reason)?.spec.unwrap_or_default();
            let subdomain = spec
                .subdomain
                .ok_or_else(|| format!("{} sets no subdomain", manifest.id()))?;
            let Some(hostname) = spec.hostname else {
                without_hostname.push(format!("{}.{subdomain}.{ns}.svc.{domain}", manifest.name()));
                continue;
            };
            let ip = pod_ip(&self.get_pod(manifest.name()).await?)?;
            let name = format!("{hostname}.{subdomain}.{ns}.svc.{domain}");
            self.nslookup_until(&name, &ip, |got| got == [ip.clone()])
                .await?;
            seen.push(format!("{name} -> {ip} ({})", manifest.name()));
        }
        if seen.is_empty() || without_hostname.is_empty() {
            return Err(format!(
                "pods.quote-with-hostname-subdomain.yaml should hold pods with and without hostname: with {seen:?}, without {without_hostname:?}"
            ));
        }
        // Asked after the others resolved, so it is no record still on its way.
        for name in &without_hostname {
            let out = self.exec(CLIENT, &shell::nslookup(name)).await?;
            if !shell::nslookup_nxdomain(&out) || !shell::nslookup_addresses(&out).is_empty() {
                return Err(format!(
                    "nslookup {name} should say NXDOMAIN: {}",
                    one_line(&out)
                ));
            }
        }
        Ok(format!(
            "{}; {}: NXDOMAIN",
            seen.join(", "),
            without_hostname.join(", ")
        ))
    }
}

/// The IP a headless Service's SRV target names for a pod without a hostname
/// (`10-244-1-5.<service fqdn>`), if `target` is such a name under `service`.
fn dashed_ip(target: &str, service: &str) -> Option<String> {
    let label = target.strip_suffix(service)?.strip_suffix('.')?;
    let ip = label.replace('-', ".");
    ip.parse::<std::net::Ipv4Addr>().ok()?;
    Some(ip)
}

#[cfg(test)]
mod tests {
    use super::dashed_ip;

    #[test]
    fn srv_targets_name_the_pod_ips() {
        let service = "quote-headless.ns.svc.cluster.local";
        assert_eq!(
            dashed_ip("10-244-1-5.quote-headless.ns.svc.cluster.local", service).as_deref(),
            Some("10.244.1.5")
        );
        assert_eq!(
            dashed_ip(
                "quote1-hostname.quote-headless.ns.svc.cluster.local",
                service
            ),
            None
        );
        assert_eq!(
            dashed_ip("10-244-1-5.quote.ns.svc.cluster.local", service),
            None
        );
    }
}
