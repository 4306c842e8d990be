//! Load balancing through a Service: the quiz Service's cluster IP answers
//! (`quiz-ip`), the quote Service reaches every quote pod (`quote-balance`), and with
//! `sessionAffinity: ClientIP` one client always reaches the same pod
//! (`session-affinity`).

use std::collections::BTreeSet;

use kube::api::ListParams;

use super::*;
use crate::cluster::is_ready;
use crate::service::{cluster_ip, first_port, url_host};
use crate::shell::{self, Tally};

impl Run<'_> {
    /// The quiz Service as the API server has it, and its cluster IP.
    pub(super) async fn live_quiz(&self) -> Result<(Service, String), String> {
        let live = self.live_service("quiz").await?;
        let ip = cluster_ip(&live).ok_or("the quiz Service has no cluster IP")?;
        Ok((live, ip))
    }

    pub(super) async fn quiz_ip(&self) -> Result<String, String> {
        let (live, ip) = self.live_quiz().await?;
        let port = first_port(&live).ok_or("the quiz Service has no port")?;
        let url = format!("http://{}:{port}/", url_host(&ip));
        let pod = self.quiz_answers(&url).await?;
        Ok(format!("{url} answered: quiz service running in pod {pod}"))
    }

    /// The ready pods that `params` lists (`what` names them in an error).
    pub(super) async fn ready_pods_listed(
        &self,
        params: ListParams,
        what: &str,
    ) -> Result<Vec<Pod>, String> {
        let pods = self.cluster.pods().list(&params).await;
        let pods = pods.map_err(|e| format!("listing {what}: {:#}", api_error(e)))?;
        Ok(pods.items.into_iter().filter(is_ready).collect())
    }

    pub(super) async fn quote_pods_expected(&self) -> Result<BTreeSet<String>, String> {
        let quote = ListParams::default().labels("app=quote");
        let pods = self.ready_pods_listed(quote, "quote pods").await?;
        let pods = pods
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none());
        Ok(pods.filter_map(|p| p.metadata.name).collect())
    }

    pub(super) async fn quote_balance(&self) -> Result<String, String> {
        let expected = self.quote_pods_expected().await?;
        if expected.len() != QUOTE_PODS.len() {
            return Err(format!(
                "expected {} ready quote pods, the API lists {expected:?}",
                QUOTE_PODS.len()
            ));
        }
        let mut combined = Tally::default();
        for _round in 0..3 {
            let out = self.requests(CLIENT, "http://quote/", 20).await?;
            combined.merge(shell::tally_quote_lines(&out));
            if combined.pods.keys().eq(&expected) {
                break;
            }
        }
        let seen = combined.seen();
        if seen != expected || !combined.is_clean() {
            let missing: Vec<&String> = expected.difference(&seen).collect();
            return Err(format!(
                "{}; pods never reached: {missing:?}",
                combined.describe()
            ));
        }
        Ok(combined.describe())
    }

    pub(super) async fn session_affinity(&self) -> Result<String, String> {
        let sticky = &self.objects.quote_sticky;
        self.apply(sticky).await?;
        let name = sticky.name();
        let live = self.live_service(name).await?;
        let affinity = live
            .spec
            .as_ref()
            .and_then(|s| s.session_affinity.as_deref());
        if affinity != Some("ClientIP") {
            return Err(format!("Service {name} has no sessionAffinity: ClientIP"));
        }
        let url = format!("http://{name}/");
        // Wait until the new Service answers at all.
        self.until_quote_answers(&url, u32::MAX).await?;
        let tally = shell::tally_quote_lines(&self.requests(CLIENT, &url, 20).await?);
        if tally.pods.len() != 1 || !tally.is_clean() {
            return Err(format!(
                "expected 20 answers from one pod, got {}",
                tally.describe()
            ));
        }
        Ok(format!("{url}: {}", tally.describe()))
    }
}
