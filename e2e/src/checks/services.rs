//! The Services of the chapter: the quiz Service built step by step as `kubectl
//! expose` makes it (`quiz-steps`), and every Service of the base as its manifest
//! says (`services.*`).

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::manifest::{self, Manifest};
use crate::service::{cluster_ip, compare_service, ports_text, selector_text};

/// The canary quiz pod that makes the selector change visible.
const QUIZ_CANARY: &str = "quiz-canary";

impl Run<'_> {
    pub(super) async fn quiz_steps(&self) {
        // A canary quiz pod (rel: canary, its own empty storage) makes the selector
        // change visible: the exposed Service's selector (rel=stable) leaves it out,
        // app=quiz takes it in. It is deleted before the last step, so the answers
        // counted later all live in the one quiz database.
        let prepared = self.objects.get("Service", "quiz").and_then(|quiz| {
            let canary = manifest::canary_pod(self.objects.get("Pod", "quiz")?, QUIZ_CANARY)?;
            Ok((quiz, canary))
        });
        let (quiz, canary) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => return self.check("quiz-steps", Err(reason(error))),
        };
        let steps = [
            (
                "quiz-steps.exposed",
                &self.objects.quiz_exposed,
                "http://quiz:8080/",
            ),
            (
                "quiz-steps.selector",
                &self.objects.quiz_selector,
                "http://quiz:8080/",
            ),
            ("quiz-steps.port", quiz, "http://quiz/"),
        ];
        let canary_ready = async {
            self.cluster.apply(&canary).await?;
            self.cluster
                .wait_pods_ready(&[QUIZ_CANARY.to_owned()], self.options.timeout)
                .await
        }
        .await
        .map_err(|e| format!("the canary quiz pod: {e:#}"));
        let mut first_ip: Option<String> = None;
        for (name, object, url) in steps {
            if name == "quiz-steps.port"
                && let Err(error) = self
                    .cluster
                    .delete_pod(QUIZ_CANARY, Duration::from_secs(90))
                    .await
            {
                let error = format!("deleting the canary quiz pod: {error:#}");
                return self.check(name, Err(error));
            }
            let canary_ready = canary_ready.clone();
            let result = async {
                self.apply(object).await?;
                let expected = object.as_service().map_err(reason)?;
                let live = self.live_service("quiz").await?;
                let mismatches = compare_service(&expected, &live);
                if !mismatches.is_empty() {
                    return Err(mismatches.join("; "));
                }
                let ip = cluster_ip(&live).ok_or("the quiz Service has no cluster IP")?;
                let first = first_ip.get_or_insert(ip.clone());
                if *first != ip {
                    return Err(format!("the cluster IP changed from {first} to {ip}"));
                }
                if name != "quiz-steps.port" {
                    canary_ready?;
                }
                // Which quiz pods answer: only the stable one, or the canary too.
                let mut want = BTreeSet::from(["quiz".to_owned()]);
                if name == "quiz-steps.selector" {
                    want.insert(QUIZ_CANARY.to_owned());
                }
                let tally = self.quiz_pods_answering(url, &want).await?;
                Ok(format!(
                    "selector {}, port {}, cluster IP {ip}; {url}: {}",
                    selector_text(&live),
                    ports_text(&live),
                    tally.describe()
                ))
            }
            .await;
            self.check(name, result);
        }
    }

    /// The `services` group: `services.quote`, `services.quiz`, `services.kiada`.
    pub(super) async fn services(&self) {
        for name in ["quote", "quiz", "kiada"] {
            self.part(&format!("services.{name}"), self.service_matches(name))
                .await;
        }
    }

    pub(super) async fn service_matches(&self, name: &str) -> Result<String, String> {
        let expected = self
            .objects
            .get("Service", name)
            .and_then(Manifest::as_service)
            .map_err(reason)?;
        let live = self.live_service(name).await?;
        let ip = cluster_ip(&live).ok_or("no cluster IP")?;
        let mismatches = compare_service(&expected, &live);
        if !mismatches.is_empty() {
            return Err(mismatches.join("; "));
        }
        let mut detail = format!(
            "cluster IP {ip}, selector {}, ports {}",
            selector_text(&live),
            ports_text(&live)
        );
        if name == "kiada" && self.node_ports_reassigned {
            detail.push_str(
                " (node ports assigned by the API server: the manifests' fixed ones were taken)",
            );
        }
        Ok(detail)
    }
}
