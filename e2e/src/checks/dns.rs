//! Service discovery through DNS: the pod's resolv.conf, and the quiz Service by its
//! short, namespaced, `.svc` and fully qualified names (`dns.*`).

use std::time::Duration;

use super::*;
use crate::parse::ResolvConf;
use crate::poll::Poller;
use crate::service::cluster_ip;
use crate::shell::{self};
use crate::summary::one_line;

impl Run<'_> {
    pub(super) async fn dns(&self) {
        let ns = self.cluster.namespace.clone();
        let domain = self.domain.clone();
        let resolv = self
            .exec(CLIENT, "cat /etc/resolv.conf")
            .await
            .and_then(|text| {
                let conf = ResolvConf::parse(&text);
                if conf.has_kubernetes_search(&ns, &domain) {
                    Ok(format!(
                        "search {}; nameserver {}",
                        conf.search.join(" "),
                        conf.nameservers.join(" ")
                    ))
                } else {
                    Err(format!(
                        "search line {:?} does not start with {:?}",
                        conf.search,
                        ResolvConf::expected_search(&ns, &domain)
                    ))
                }
            });
        self.check("dns.resolv-conf", resolv);

        let ip = match self.live_service("quiz").await.map(|s| cluster_ip(&s)) {
            Ok(Some(ip)) => ip,
            Ok(None) => {
                self.check("dns", Err("the quiz Service has no cluster IP".into()));
                return;
            }
            Err(error) => {
                self.check("dns", Err(error));
                return;
            }
        };
        let names = [
            ("dns.short", "quiz".to_owned()),
            ("dns.namespace", format!("quiz.{ns}")),
            ("dns.svc", format!("quiz.{ns}.svc")),
            ("dns.fqdn", format!("quiz.{ns}.svc.{domain}")),
        ];
        for (check, name) in names {
            if !self.options.selected(check) {
                continue;
            }
            let result = async {
                // How the pod's resolver (search list, ndots) resolves the name: the
                // address busybox wget connects to.
                let url = format!("http://{name}/");
                let what = format!("{name} resolving to the Service's {ip} in the pod");
                let mut poller = Poller::new(what, Duration::from_secs(2), self.short());
                let resolved = loop {
                    let out = self.exec(CLIENT, &shell::wget_connect(&url)).await?;
                    let resolved = shell::wget_connect_ip(&out);
                    if resolved.as_deref() == Some(ip.as_str()) {
                        break ip.clone();
                    }
                    poller
                        .again(format!("{resolved:?}: {}", one_line(&out)))
                        .await?;
                };
                // The DNS record itself, for the names busybox nslookup resolves the
                // way the pod does (it applies the search list only to dotless names).
                let mut lookup = String::new();
                if !name.contains('.') || check == "dns.fqdn" {
                    let out = self.exec(CLIENT, &shell::nslookup(&name)).await?;
                    let addresses = shell::nslookup_addresses(&out);
                    if !addresses.contains(&ip) {
                        return Err(format!(
                            "nslookup {name} gave {addresses:?}, not the Service's {ip}: {}",
                            crate::summary::one_line(&out)
                        ));
                    }
                    lookup = format!(", nslookup: {}", addresses.join(" "));
                }
                let pod = self.quiz_answers(&url).await?;
                Ok(format!(
                    "{name} -> {resolved}{lookup}; {url} answered by pod {pod}"
                ))
            }
            .await;
            self.check(check, result);
        }
    }
}
