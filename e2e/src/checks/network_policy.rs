//! `network-policy`: with `variants/netpol-quote-quiz-ingress.yaml` applied, quote and
//! quiz answer kiada and the client pod and nobody else. Only a cluster whose network
//! plugin enforces NetworkPolicy can show it; a canary policy tells which kind this
//! cluster is, and on one that enforces nothing both checks are skipped with the reason.

use std::time::Duration;

use anyhow::Result;

use super::objects::NETWORK_POLICY_FILE;
use super::{CLIENT, QUOTE_PODS, Run, after_cleanup, pod_ip, reason};
use crate::manifest::{self, Manifest};
use crate::parse::{quiz_identity, quote_identity};
use crate::poll::Poller;
use crate::shell;
use crate::summary::Outcome;

/// The pod that plays an outsider: a quote pod is neither kiada nor the client.
const OUTSIDER: &str = QUOTE_PODS[0];
/// The quote pod whose IP the outsider is refused at (not itself: traffic a pod sends
/// to its own address never crosses a policy).
const QUOTE_TARGET: &str = QUOTE_PODS[3];
/// How long a policy may take to be enforced, or lifted.
const POLICY_TAKES_EFFECT: Duration = Duration::from_secs(30);

/// What one connection attempt from inside a pod saw.
const OPEN: &str = "E2E-OPEN";
const CLOSED: &str = "E2E-CLOSED";

/// The backend a check is about: the policies guard both.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Quote,
    Quiz,
}

/// A shell line that prints [`OPEN`] when `url` answers within 4 s, else [`CLOSED`].
fn reach(url: &str) -> String {
    format!(
        "if timeout 4 wget -qO- {} >/dev/null 2>&1; then echo {OPEN}; else echo {CLOSED}; fi",
        shell::shell_quote(url)
    )
}

/// A policy that lets nothing in to the client pod: the canary. Its probes come from
/// the node and stay allowed, and nothing else calls the client's web server.
fn canary(namespace: &str) -> Result<Manifest> {
    let yaml = include_str!("../../objects/netpol.e2e-canary-deny-client.yaml");
    let mut canary = manifest::embedded("netpol.e2e-canary-deny-client.yaml", yaml)?;
    manifest::into_namespace(&mut canary, namespace)?;
    Ok(canary)
}

impl Run<'_> {
    pub(super) async fn network_policy(&self) {
        let names = ["network-policy.quote", "network-policy.quiz"];
        match self.policies_enforced().await {
            Ok(true) => {}
            Ok(false) => {
                let reason = format!(
                    "this cluster enforces no NetworkPolicy: a policy denying all \
                     ingress to pod {CLIENT} left it reachable from {OUTSIDER} for \
                     {} s (kind's kindnet enforces policies; a plain bridge plugin \
                     does not)",
                    POLICY_TAKES_EFFECT.as_secs()
                );
                return self.record_all(&names, Outcome::Skip(reason));
            }
            Err(reason) => return self.record_all(&names, Outcome::Fail(reason)),
        }
        let checks = async {
            for policy in &self.objects.network_policies {
                let applied = self.cluster.apply(policy).await;
                applied.map_err(|e| format!("applying {NETWORK_POLICY_FILE}: {e:#}"))?;
            }
            let quiz = self.only_for_kiada_and_client(Backend::Quiz).await;
            let quote = self.only_for_kiada_and_client(Backend::Quote).await;
            Ok::<_, String>((quote, quiz))
        }
        .await;
        let cleanup = self.lift_policies().await;
        let (quote, quiz) = checks.unwrap_or_else(|reason| (Err(reason.clone()), Err(reason)));
        for (name, result) in names.into_iter().zip([quote, quiz]) {
            let cleanup = cleanup.clone().map_err(anyhow::Error::msg);
            self.part(name, async { after_cleanup(result, cleanup) })
                .await;
        }
    }

    /// Whether this cluster enforces NetworkPolicy: the client's web server answers the
    /// outsider, then, with the canary in place, stops answering it within the bound.
    async fn policies_enforced(&self) -> Result<bool, String> {
        let client_ip = pod_ip(&self.get_pod(CLIENT).await?)?;
        let client_url = format!("http://{client_ip}:8080/healthz/ready");
        let before = self.exec(OUTSIDER, &reach(&client_url)).await?;
        if before.trim() != OPEN {
            return Err(format!(
                "before any policy, {OUTSIDER} cannot reach {client_url}: {before:?}"
            ));
        }
        let canary = canary(&self.cluster.namespace).map_err(reason)?;
        self.apply(&canary).await?;
        let closed = self.until_reach(OUTSIDER, &client_url, CLOSED).await;
        let deleted = self.cluster.delete(&canary).await;
        deleted.map_err(|e| format!("deleting the canary policy: {e:#}"))?;
        // The client must answer again before the checks go on.
        self.until_reach(OUTSIDER, &client_url, OPEN)
            .await
            .map_err(|e| format!("after the canary policy was deleted: {e}"))?;
        Ok(closed.is_ok())
    }

    /// `backend` refuses the outsider at its target (quote at [`QUOTE_TARGET`]'s IP, quiz
    /// at its Service) and answers the client there, and kiada's page (fetched by the
    /// client) shows its part.
    async fn only_for_kiada_and_client(&self, backend: Backend) -> Result<String, String> {
        let (target, pod) = match backend {
            Backend::Quote => {
                let ip = pod_ip(&self.get_pod(QUOTE_TARGET).await?)?;
                (format!("http://{ip}/"), format!(" ({QUOTE_TARGET})"))
            }
            Backend::Quiz => ("http://quiz/".to_owned(), String::new()),
        };
        self.until_reach(OUTSIDER, &target, CLOSED).await?;
        let answer = self.exec(CLIENT, &shell::wget_get(&target)).await?;
        let (service, identified) = match backend {
            Backend::Quote => ("quote", quote_identity(answer.trim()).is_some()),
            Backend::Quiz => ("quiz", quiz_identity(answer.trim()).is_some()),
        };
        if !identified {
            return Err(format!(
                "the client got no {service} answer from {target}: {answer:?}"
            ));
        }
        let page = self.kiada_page_through_client().await?;
        let (part, text) = match backend {
            Backend::Quote => ("tip", page.tip.value().map(|tip| tip.text.as_str())),
            Backend::Quiz => ("question", page.question.value().map(|q| q.text.as_str())),
        };
        if text.is_none_or(|text| text.trim().is_empty()) {
            return Err(format!("kiada's page has no {part}"));
        }
        Ok(format!(
            "{OUTSIDER} refused at {target}{pod}; the client and kiada (its {part}) answered"
        ))
    }

    /// kiada's page (`/json`) fetched by the client through the kiada Service, with no
    /// backend error on it.
    async fn kiada_page_through_client(&self) -> Result<kiada_wire::Page, String> {
        let url = format!("http://kiada{}", crate::page::JSON_PATH);
        let json = self.exec(CLIENT, &shell::wget_get(&url)).await?;
        let page = crate::page::from_json(&json)?;
        let errors = crate::page::backend_errors(&page);
        if !errors.is_empty() {
            return Err(format!("kiada's page: {}", errors.join(" / ")));
        }
        Ok(page)
    }

    /// Deletes the variant's policies and waits until the outsider reaches quiz again,
    /// so that no later check runs behind them.
    async fn lift_policies(&self) -> Result<(), String> {
        for policy in &self.objects.network_policies {
            self.cluster.delete(policy).await.map_err(reason)?;
        }
        self.until_reach(OUTSIDER, "http://quiz/", OPEN).await
    }

    /// Tries `url` from `pod` until the attempt prints `want` ([`OPEN`] or [`CLOSED`]),
    /// within [`POLICY_TAKES_EFFECT`].
    async fn until_reach(&self, pod: &str, url: &str, want: &str) -> Result<(), String> {
        let what = format!("{url} from {pod} to be {}", want.trim_start_matches("E2E-"));
        let mut poller = Poller::new(what, Duration::from_secs(1), POLICY_TAKES_EFFECT);
        loop {
            let seen = self.exec(pod, &reach(url)).await?;
            if seen.trim() == want {
                return Ok(());
            }
            poller.again(seen.trim()).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canary selects the client pod by the label the base gives it, denies all
    /// ingress (no rules) and lands in the run's namespace.
    #[test]
    fn the_canary_denies_all_ingress_to_the_client_pod() {
        let canary = canary("kiada-e2e-test").unwrap();
        assert_eq!(canary.id(), "NetworkPolicy/e2e-canary-deny-client");
        let namespace = canary.object.metadata.namespace.as_deref();
        assert_eq!(namespace, Some("kiada-e2e-test"));
        let spec = &canary.object.data["spec"];
        assert_eq!(spec["podSelector"]["matchLabels"]["app"], CLIENT);
        assert_eq!(spec["policyTypes"], serde_json::json!(["Ingress"]));
        assert!(spec.get("ingress").is_none(), "{spec}");
    }
}
