//! kiada's `/spread` view on the live cluster, through an API port-forward: 40 calls on
//! new connections reach at least 3 of the 4 quote pods (`spread.new-connection`), 40
//! calls over one kept-alive connection reach exactly one (`spread.reuse`), and a kiada
//! whose `QUOTE_URL` is the session-affinity Service sees exactly one pod even on new
//! connections (`spread.affinity`).

use std::collections::BTreeSet;
use std::time::Duration;

use kiada_wire::Spread;

use super::*;

/// Calls per view: with 4 pods picked at random per connection, the chance that 40
/// calls miss two of them is below one in a hundred million.
pub(super) const CALLS: u32 = 40;

impl Run<'_> {
    pub(super) async fn spread(&self) {
        let new = format!("?n={CALLS}");
        let problem = format!("{CALLS} new connections reached only");
        let spread = self.spread_reaching(KIADA_POD, &new, |n| n >= 3, &problem);
        self.part("spread.new-connection", spread).await;
        let reuse = format!("?n={CALLS}&reuse=true");
        let problem = "one kept-alive connection reached";
        let spread = self.spread_reaching(KIADA_POD, &reuse, |n| n == 1, problem);
        self.part("spread.reuse", spread).await;
        self.part("spread.affinity", self.spread_through_affinity())
            .await;
    }

    /// [`Self::spread_view`] of `GET /spread<query>` from `pod`, every call answered by a
    /// ready quote pod ([`answered_by_quote`]) and `ok` with how many pods answered:
    /// the view described, or the error (`problem`, then the pods) that says otherwise.
    async fn spread_reaching(
        &self,
        pod: &str,
        query: &str,
        ok: impl Fn(usize) -> bool,
        problem: &str,
    ) -> Result<String, String> {
        let spread = self.spread_view(pod, query).await?;
        let pods = answered_by_quote(&spread, &self.quote_pods_expected().await?)?;
        if !ok(pods.len()) {
            return Err(format!("{problem} {pods:?}: {}", describe(&spread)));
        }
        Ok(describe(&spread))
    }

    /// The kiada-sticky pod, whose QUOTE_URL is the quote-sticky Service: every new
    /// connection from it lands on one pod. Removes the pod afterwards.
    async fn spread_through_affinity(&self) -> Result<String, String> {
        let pod = &self.objects.kiada_sticky;
        let name = pod.name().to_owned();
        let result = async {
            self.apply(&self.objects.quote_sticky).await?;
            self.start_pod(pod).await?;
            // The Service's rules may lag its creation: wait until it answers at all.
            let url = format!("http://{}/", self.objects.quote_sticky.name());
            self.until_quote_answers(&url, u32::MAX).await?;
            let problem =
                format!("through sessionAffinity: ClientIP, {CALLS} new connections reached");
            let new = format!("?n={CALLS}");
            let view = self.spread_reaching(&name, &new, |n| n == 1, &problem);
            Ok(format!("{name}: {}", view.await?))
        }
        .await;
        let cleanup = self
            .cluster
            .delete_pod(&name, Duration::from_secs(90))
            .await;
        after_cleanup(result, cleanup)
    }

    /// `GET /spread<query>` as JSON from `pod`'s HTTP port, through a port-forward.
    pub(super) async fn spread_view(&self, pod: &str, query: &str) -> Result<Spread, String> {
        let path = format!("/spread{query}");
        let response = self
            .kiada_get_ok(pod, &path, "application/json", Duration::from_secs(30))
            .await?;
        serde_json::from_str(&response.body).map_err(|e| {
            format!(
                "GET {path} from {pod}: not a spread view ({e}): {}",
                response.body
            )
        })
    }
}

/// The quote pods that answered, once every call was answered, each by a ready quote pod.
pub(super) fn answered_by_quote(
    spread: &Spread,
    expected: &BTreeSet<String>,
) -> Result<BTreeSet<String>, String> {
    if spread.calls != CALLS || spread.answered != CALLS || !spread.errors.is_empty() {
        return Err(format!("not every call was answered: {}", describe(spread)));
    }
    let pods: BTreeSet<String> = spread.pods.iter().map(|pod| pod.pod.clone()).collect();
    if !pods.is_subset(expected) {
        return Err(format!(
            "answers from pods that are not ready quote pods ({expected:?}): {}",
            describe(spread)
        ));
    }
    Ok(pods)
}

/// `40 calls (new-connection) to http://quote/quote: quote-001 12, quote-002 9, ...`
pub(super) fn describe(spread: &Spread) -> String {
    let pods = spread
        .pods
        .iter()
        .map(|pod| format!("{} {}", pod.pod, pod.calls));
    let errors = spread
        .errors
        .iter()
        .map(|e| format!("ERROR {} ({})", e.calls, e.cause));
    let answers: Vec<String> = pods.chain(errors).collect();
    let (calls, mode, url) = (spread.calls, &spread.mode, &spread.url);
    format!("{calls} calls ({mode:?}) to {url}: {}", answers.join(", "))
}
