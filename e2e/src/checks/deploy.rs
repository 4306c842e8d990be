//! Deploying the base into the run's namespace (`deploy`, which always runs).

use super::*;
use crate::manifest;
use crate::parse::ResolvConf;

impl Run<'_> {
    /// Namespace, Secret, everything but the quiz Service; all pods ready.
    pub(super) async fn deploy(&mut self) -> Result<String> {
        self.cluster.create_namespace().await?;
        eprintln!(
            "[e2e] namespace {} created (pod-security enforce=restricted) on {}",
            self.cluster.namespace, self.cluster.server
        );
        self.cluster
            .create_tls_secret(&self.tls.cert_pem, &self.tls.key_pem)
            .await?;
        let mut pods = Vec::new();
        let base = self.objects.base.clone();
        for object in &base {
            // The quiz Service comes after the pods: step by step as in the chapter
            // (quiz-steps), or at once.
            if object.kind() == "Service" && object.name() == "quiz" {
                continue;
            }
            if let Err(error) = self.cluster.apply(object).await {
                // The fixed node ports are taken on this cluster (another run or app): let
                // the API server pick free ones and say so.
                let mut copy = object.clone();
                let taken = object.kind() == "Service"
                    && format!("{error:#}").contains("already allocated");
                if !taken || !manifest::strip_node_ports(&mut copy) {
                    return Err(error);
                }
                eprintln!(
                    "[e2e] {}: fixed node ports taken on this cluster ({error:#}); using ports the API server assigns",
                    object.id()
                );
                self.cluster.apply(&copy).await?;
                self.node_ports_reassigned = true;
                if let Some(slot) = self.objects.base.iter_mut().find(|m| m.id() == object.id()) {
                    *slot = copy;
                }
            }
            if object.kind() == "Pod" {
                pods.push(object.name().to_owned());
            }
        }
        eprintln!(
            "[e2e] applied {} objects; waiting up to {} s for {} pods",
            base.len(),
            self.options.timeout.as_secs(),
            pods.len()
        );
        self.cluster
            .wait_pods_ready(&pods, self.options.timeout)
            .await?;
        if !self.options.selected("quiz-steps") {
            self.cluster
                .apply(self.objects.get("Service", "quiz")?)
                .await?;
            // The nodes take a moment to program a new Service: until then kiada's
            // page (kiada.text right after, with --only) shows quiz refusing.
            self.quiz_answers("http://quiz/")
                .await
                .map_err(|e| anyhow::anyhow!("the quiz Service just created: {e}"))?;
        }
        // The cluster domain, as the pods see it.
        if let Ok(text) = self.exec(CLIENT, "cat /etc/resolv.conf").await
            && let Some(domain) = ResolvConf::parse(&text).cluster_domain(&self.cluster.namespace)
        {
            self.domain = domain;
        }
        Ok(format!(
            "namespace {} (Pod Security restricted enforced), {} pods ready, cluster domain {}",
            self.cluster.namespace,
            pods.len(),
            self.domain
        ))
    }
}
