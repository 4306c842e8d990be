//! quiz's answers outlive its pod: the PersistentVolumeClaim keeps them when the pod
//! is deleted and recreated (`quiz-pvc`).

use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::*;
use crate::poll::Poller;
use crate::shell;

impl Run<'_> {
    pub(super) async fn quiz_pvc(&self) -> Result<String, String> {
        // Post one answer straight to quiz, so this check stands on its own.
        let question: kiada_wire::Question = self
            .json_from_client("http://quiz/questions/random", "a question")
            .await?;
        let id = question.id;
        let body = serde_json::to_string(&kiada_wire::AnswerRequest {
            question_id: id.into(),
            answer_index: 0,
        })
        .map_err(|e| format!("the answer as JSON: {e}"))?;
        let script = shell::wget_post_json(&format!("http://quiz/questions/{id}/answers"), &body);
        self.exec(CLIENT, &script)
            .await
            .map_err(|e| format!("POST an answer to quiz: {e}"))?;
        let before = self.quiz_stats().await?;
        if before == 0 {
            return Err("quiz counts no answers right after one was posted".into());
        }
        let pvcs: kube::Api<PersistentVolumeClaim> =
            kube::Api::namespaced(self.cluster.client.clone(), &self.cluster.namespace);
        let volume = async || {
            let pvc = pvcs.get_opt("quiz-data").await.ok().flatten();
            let spec = pvc.and_then(|p| p.spec);
            spec.and_then(|s| s.volume_name).unwrap_or_default()
        };
        let volume_before = volume().await;
        let quiz = self.objects.get("Pod", "quiz").map_err(reason)?;
        let old_uid = self.get_pod("quiz").await?.metadata.uid;
        self.cluster
            .delete_pod("quiz", Duration::from_secs(90))
            .await
            .map_err(reason)?;
        self.start_pod(quiz)
            .await
            .map_err(|e| format!("recreating quiz: {e}"))?;
        let new_uid = self.get_pod("quiz").await?.metadata.uid;
        if new_uid == old_uid {
            return Err("the quiz pod was not recreated (same uid)".into());
        }
        let what = "quiz /stats answering after recreating quiz";
        let mut poller = Poller::new(what, Duration::from_secs(2), self.short());
        let after = loop {
            match self.quiz_stats().await {
                Ok(n) => break n,
                Err(error) => poller.again(error).await?,
            }
        };
        if after < before {
            return Err(format!(
                "quiz counted {before} answers before the pod was recreated and {after} after"
            ));
        }
        let volume_after = volume().await;
        let changed = if volume_before == volume_after {
            ""
        } else {
            ", CHANGED"
        };
        Ok(format!(
            "answers {before} before, {after} after deleting and recreating pod quiz (PVC quiz-data, volume {volume_after}{changed})"
        ))
    }
}
