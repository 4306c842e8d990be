//! What the chapter's own in-pod commands rely on: the quote pods listen on port 80 as
//! an unprivileged user (Listing 11.1's `targetPort: 80`), carry a shell whose ping
//! shows that a Service IP answers none, and every pod of the base carries exactly the
//! labels `app` and `rel` (what `kubectl expose` turns into a selector).

use super::{CLIENT, QUOTE_PODS, Run};
use crate::summary::one_line;

/// The labels of the chapter's pods, no more.
const CHAPTER_LABELS: [&str; 2] = ["app", "rel"];

impl Run<'_> {
    pub(super) async fn chapter(&self) {
        self.part("chapter.quote-port-80", self.quote_listens_on_80())
            .await;
        self.part("chapter.ping", self.ping_reaches_no_service())
            .await;
        self.part("chapter.labels", self.pods_carry_only_chapter_labels())
            .await;
    }

    /// In each quote pod: the process runs as 65532 and answers on port 80 itself.
    async fn quote_listens_on_80(&self) -> Result<String, String> {
        for pod in QUOTE_PODS {
            let out = self
                .exec(pod, "id -u; curl -sS --max-time 5 http://localhost:80/")
                .await?;
            let mut lines = out.lines();
            let uid = lines.next().unwrap_or_default().trim();
            let answer = lines.next().unwrap_or_default().trim();
            let expected = format!("This is the quote service running in pod {pod} on node ");
            if uid != "65532" || !answer.starts_with(&expected) {
                return Err(format!(
                    "{pod}: expected user 65532 and {expected:?}... on port 80, got {:?}",
                    one_line(&out)
                ));
            }
        }
        Ok(format!(
            "{} quote pods answer on port 80 as user 65532",
            QUOTE_PODS.len()
        ))
    }

    /// `ping -c 2 quiz` in quote-001 and in the client pod: the name resolves to the
    /// cluster IP, and every packet is lost.
    async fn ping_reaches_no_service(&self) -> Result<String, String> {
        let (_, ip) = self.live_quiz().await?;
        for pod in [QUOTE_PODS[0], CLIENT] {
            let out = self
                .exec(pod, "ping -c 2 -W 1 quiz 2>&1; echo \"exit=$?\"")
                .await?;
            let first = out.lines().next().unwrap_or_default();
            let resolved = first.starts_with("PING quiz") && first.contains(&format!("({ip})"));
            let lost = [" 0 received,", "100% packet loss", "exit=1"];
            if !resolved || !lost.iter().all(|said| out.contains(said)) {
                return Err(format!(
                    "{pod}: expected 'PING quiz... ({ip})', 100% packet loss and exit status 1, got {:?}",
                    one_line(&out)
                ));
            }
        }
        Ok(format!(
            "quiz resolves to {ip} and loses every packet, from {} and {CLIENT}",
            QUOTE_PODS[0]
        ))
    }

    /// Every pod of the base, as the API server has it, carries exactly the labels
    /// `app` and `rel`.
    async fn pods_carry_only_chapter_labels(&self) -> Result<String, String> {
        let base = &self.objects.base;
        let pods: Vec<_> = base.iter().filter(|m| m.kind() == "Pod").collect();
        for manifest in &pods {
            let pod = self.get_pod(manifest.name()).await?;
            let labels = pod.metadata.labels.unwrap_or_default();
            let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
            if keys != CHAPTER_LABELS {
                return Err(format!(
                    "pod {} carries the labels {keys:?}, not exactly {CHAPTER_LABELS:?}",
                    manifest.name()
                ));
            }
        }
        Ok(format!("{} pods carry exactly app and rel", pods.len()))
    }
}
