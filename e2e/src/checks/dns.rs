//! Service discovery through DNS: the pod's resolv.conf, and the quiz Service by its
//! short, namespaced, `.svc` and fully qualified names (`dns.*`).

use std::time::Duration;

use super::*;
use crate::parse::ResolvConf;
use crate::poll::Poller;
use crate::shell;
use crate::summary::one_line;

impl Run<'_> {
    pub(super) async fn dns(&self) {
        let (ns, domain) = (&self.cluster.namespace, &self.domain);
        let resolv = self
            .exec(CLIENT, "cat /etc/resolv.conf")
            .await
            .and_then(|text| {
                let conf = ResolvConf::parse(&text);
                if !conf.has_kubernetes_search(ns, domain) {
                    return Err(format!(
                        "search line {:?} does not start with {:?}",
                        conf.search,
                        ResolvConf::expected_search(ns, domain)
                    ));
                }
                Ok(format!(
                    "search {}; nameserver {}",
                    conf.search.join(" "),
                    conf.nameservers.join(" ")
                ))
            });
        self.check("dns.resolv-conf", resolv);
        let ip = match self.live_quiz().await {
            Ok((_, ip)) => ip,
            Err(error) => return self.check("dns", Err(error)),
        };
        let names = [
            ("dns.short", "quiz".to_owned()),
            ("dns.namespace", format!("quiz.{ns}")),
            ("dns.svc", format!("quiz.{ns}.svc")),
            ("dns.fqdn", format!("quiz.{ns}.svc.{domain}")),
        ];
        for (check, name) in names {
            self.part(check, async {
                // How the pod's resolver (search list, ndots) resolves the name: the
                // address busybox wget connects to.
                let url = format!("http://{name}/");
                let what = format!("{name} resolving to the Service's {ip} in the pod");
                let poller = Poller::new(what, Duration::from_secs(2), self.short());
                let resolved = self
                    .exec_until(CLIENT, &shell::wget_connect(&url), poller, |out| {
                        let resolved = shell::wget_connect_ip(out);
                        (resolved.as_deref() == Some(ip.as_str()))
                            .then(|| ip.clone())
                            .ok_or_else(|| format!("{resolved:?}: {}", one_line(out)))
                    })
                    .await?;
                // The DNS record itself, for the names busybox nslookup resolves the
                // way the pod does (it applies the search list only to dotless names).
                let mut lookup = String::new();
                if !name.contains('.') || check == "dns.fqdn" {
                    let out = self.exec(CLIENT, &shell::nslookup(&name)).await?;
                    let addresses = shell::nslookup_addresses(&out);
                    if !addresses.contains(&ip) {
                        return Err(format!(
                            "nslookup {name} gave {addresses:?}, not the Service's {ip}: {}",
                            one_line(&out)
                        ));
                    }
                    lookup = format!(", nslookup: {}", addresses.join(" "));
                }
                let pod = self.quiz_answers(&url).await?;
                Ok(format!(
                    "{name} -> {resolved}{lookup}; {url} answered by pod {pod}"
                ))
            })
            .await;
        }
    }
}
