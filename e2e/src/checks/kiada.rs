//! kiada itself, through an API port-forward: the text page against what the API says
//! about the pod, the HTML page and its assets, HTTPS with the Secret's certificate,
//! and an answer posted through kiada and counted by quiz (`kiada.*`).

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;

use super::*;
use crate::http::Request;
use crate::nodes::Placement;
use crate::parse::{self, TextPage};
use crate::poll::Poller;

impl Run<'_> {
    pub(super) async fn kiada(&self) {
        let pod = match self.get_pod(KIADA_POD).await {
            Ok(pod) => pod,
            Err(error) => {
                self.check("kiada", Err(error));
                return;
            }
        };
        let timeout = Duration::from_secs(20);
        if self.options.selected("kiada.text") {
            let result = async {
                let response = self.kiada_get_ok(KIADA_POD, "/", "*/*", timeout).await?;
                let page = TextPage::parse(&response.body)?;
                check_text_page(&page, &pod, &self.placement().await?)
            }
            .await;
            self.check("kiada.text", result);
        }
        self.part("kiada.html", self.kiada_html(timeout)).await;
        if self.options.selected("kiada.https") {
            let result = async {
                let config = tls::client_config(&self.tls.cert_der).map_err(|e| format!("{e:#}"))?;
                let response = self
                    .cluster
                    .http_via_portforward(KIADA_POD, 8443, &Request::get("/text", "text/plain"), Some(config), timeout)
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                if response.status != 200 {
                    return Err(format!("GET /text over HTTPS answered {}", response.status));
                }
                let page = TextPage::parse(&response.body)?;
                Ok(format!(
                    "GET https://localhost:8443/text (port-forward) verified against the kiada-tls Secret's certificate; page from pod {}",
                    page.pod_name.unwrap_or_default()
                ))
            }
            .await;
            self.check("kiada.https", result);
        }
        self.part("kiada.answer", self.kiada_answer(timeout)).await;
    }

    pub(super) async fn kiada_html(&self, timeout: Duration) -> Result<String, String> {
        let get = |path: &str, accept: &str| {
            let request = Request::get(path, accept);
            async move { self.to_kiada(KIADA_POD, &request, timeout).await }
        };
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let redirect = get("/", browser).await?;
        if !(300..400).contains(&redirect.status)
            || !redirect
                .location
                .as_deref()
                .unwrap_or("")
                .ends_with("/html")
        {
            return Err(format!(
                "GET / from a browser answered {} (location {:?}), expected a redirect to /html",
                redirect.status, redirect.location
            ));
        }
        let page = get("/html", browser).await?;
        if page.status != 200 || !page.content_type.starts_with("text/html") {
            return Err(format!(
                "GET /html answered {} {}",
                page.status, page.content_type
            ));
        }
        let lower = page.body.to_lowercase();
        if !lower.contains("<html") || !lower.contains("</html>") {
            return Err("GET /html is not a complete HTML document".into());
        }
        let assets = parse::html_asset_paths(&page.body);
        let mut broken = Vec::new();
        for path in assets.iter().take(12) {
            match get(path, "*/*").await {
                Ok(response) if response.status == 200 && response.body_len > 0 => {}
                Ok(response) => broken.push(format!("{path}: {}", response.status)),
                Err(error) => broken.push(format!("{path}: {error}")),
            }
        }
        if !broken.is_empty() {
            return Err(format!("the page's assets fail: {}", broken.join(", ")));
        }
        Ok(format!(
            "GET / from a browser redirects to /html; /html is {} bytes of HTML; {} linked assets answer ({})",
            page.body_len,
            assets.len().min(12),
            assets.join(" ")
        ))
    }

    /// One plain-HTTP request to a kiada pod's port 8080 through an API port-forward.
    pub(super) async fn to_kiada(
        &self,
        pod: &str,
        request: &Request,
        timeout: Duration,
    ) -> Result<crate::http::Response, String> {
        self.cluster
            .http_via_portforward(pod, 8080, request, None, timeout)
            .await
            .map_err(|e| format!("{e:#}"))
    }

    /// `GET path` from a kiada pod's port 8080, which must answer 200.
    pub(super) async fn kiada_get_ok(
        &self,
        pod: &str,
        path: &str,
        accept: &str,
        timeout: Duration,
    ) -> Result<crate::http::Response, String> {
        let response = self
            .to_kiada(pod, &Request::get(path, accept), timeout)
            .await?;
        if response.status != 200 {
            return Err(format!(
                "GET {path} from {pod} answered {}: {}",
                response.status,
                crate::summary::one_line(&response.body)
            ));
        }
        Ok(response)
    }

    pub(super) async fn kiada_answer(&self, timeout: Duration) -> Result<String, String> {
        let page = self
            .to_kiada(KIADA_POD, &Request::get("/text", "text/plain"), timeout)
            .await?;
        let page = TextPage::parse(&page.body)?;
        let id = page
            .question_id
            .ok_or("the text page shows no question id")?;
        let before = self.quiz_stats().await?;
        let path = format!("/question/{id}/answers/0");
        let response = self
            .to_kiada(KIADA_POD, &Request::post(&path, "text/plain"), timeout)
            .await?;
        if !(200..300).contains(&response.status) {
            return Err(format!(
                "POST {path} answered {}: {}",
                response.status,
                crate::summary::one_line(&response.body)
            ));
        }
        // quiz updates its counts after the commit: give it a moment.
        let what = format!("quiz counting the answer of POST {path} (it counted {before} before)");
        let mut poller = Poller::new(what, Duration::from_secs(1), Duration::from_secs(15));
        let after = loop {
            let after = self.quiz_stats().await?;
            if after > before {
                break after;
            }
            poller.again(format!("{after} answers")).await?;
        };
        Ok(format!(
            "POST {path} via kiada: {}; quiz /stats total {before} -> {after}",
            crate::summary::one_line(&response.body)
        ))
    }
}

/// Checks the text page against what the API says about the pod that served it, and
/// its `Served by:` line against where the API says the quote and quiz pods run.
pub fn check_text_page(
    page: &TextPage,
    pod: &Pod,
    placement: &Placement,
) -> Result<String, String> {
    let mut problems = Vec::new();
    if !page.errors.is_empty() {
        problems.push(format!("backend errors: {}", page.errors.join(" / ")));
    }
    if page.tip.trim().is_empty() {
        problems.push("no tip".to_owned());
    }
    if page.question.trim().is_empty() {
        problems.push("no question".to_owned());
    }
    if page.answers.len() < 2 {
        problems.push(format!("{} answers", page.answers.len()));
    }
    if page.question_id.is_none() {
        problems.push("no question id in the submit line".to_owned());
    }
    let status = pod.status.clone().unwrap_or_default();
    let expected = [
        ("pod name", page.pod_name.clone(), pod.metadata.name.clone()),
        (
            "node name",
            page.node_name.clone(),
            pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        ),
        ("pod IP", page.pod_ip.clone(), status.pod_ip.clone()),
        ("node IP", page.node_ip.clone(), status.host_ip.clone()),
    ];
    for (what, shown, api) in &expected {
        if shown.is_none() || shown != api {
            problems.push(format!("{what} shown {shown:?}, the API says {api:?}"));
        }
    }
    let served_by = page.served_by.clone().unwrap_or_default();
    if page.served_by.is_none() {
        problems.push("no \"Served by:\" line".to_owned());
    }
    for (part, by, service) in [
        ("tip", &served_by.tip, "quote"),
        ("question", &served_by.question, "quiz"),
    ] {
        match by {
            Some(by) if by.service != service => problems.push(format!(
                "the {part} is shown served by {} pod {}, not by {service}",
                by.service, by.pod
            )),
            Some(by) => {
                if let Err(problem) = placement.confirm(service, &by.pod, &by.node) {
                    problems.push(format!("served by: {problem}"));
                }
            }
            None if page.served_by.is_some() => problems.push(format!(
                "the \"Served by:\" line names no {service} pod for the {part}"
            )),
            None => {}
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let from = |by: &Option<crate::parse::ServedBy>| {
        by.as_ref()
            .map(|by| format!("{} pod {} on node {}", by.service, by.pod, by.node))
            .unwrap_or_default()
    };
    Ok(format!(
        "tip {:?}; question #{} with {} answers; pod {} on node {}, pod IP {}, node IP {}; served by: tip from {}, question from {}; all as the API reports",
        crate::summary::one_line(&page.tip)
            .chars()
            .take(60)
            .collect::<String>(),
        page.question_id.unwrap_or_default(),
        page.answers.len(),
        page.pod_name.as_deref().unwrap_or(""),
        page.node_name.as_deref().unwrap_or(""),
        page.pod_ip.as_deref().unwrap_or(""),
        page.node_ip.as_deref().unwrap_or(""),
        from(&served_by.tip),
        from(&served_by.question)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods() -> (Pod, Placement) {
        let pods: Vec<Pod> = serde_json::from_value(serde_json::json!([
            {
                "metadata": {"name": "kiada-001", "labels": {"app": "kiada"}},
                "spec": {"nodeName": "node-1", "containers": []},
                "status": {"podIP": "10.244.0.9", "hostIP": "10.200.0.1"}
            },
            {"metadata": {"name": "quote-002", "labels": {"app": "quote"}}, "spec": {"nodeName": "node-2", "containers": []}},
            {"metadata": {"name": "quiz", "labels": {"app": "quiz"}}, "spec": {"nodeName": "node-1", "containers": []}}
        ]))
        .unwrap();
        let placement = Placement::of(&pods);
        (pods[0].clone(), placement)
    }

    const TEXT: &str = "T v1\n==== TIP OF THE MINUTE\nA tip\n==== POP QUIZ\nQ?\n0) a\n1) b\nSubmit your answer to /question/3/answers/<index of answer> using the POST method.\n==== REQUEST INFO\nRequest processed by Kiada 1 running in pod \"kiada-001\" on node \"node-1\".\nPod hostname: kiada-001; Pod IP: 10.244.0.9; Node IP: 10.200.0.1; Client IP: 127.0.0.1\nServed by: tip from quote pod \"quote-002\" on node \"node-2\"; question from quiz pod \"quiz\" on node \"node-1\".\n";

    #[test]
    fn text_page_against_the_api() {
        let (pod, placement) = pods();
        let page = TextPage::parse(TEXT).unwrap();
        let detail = check_text_page(&page, &pod, &placement).unwrap();
        assert!(
            detail.contains("tip from quote pod quote-002 on node node-2"),
            "{detail}"
        );
        let wrong =
            TextPage::parse(&TEXT.replace("Node IP: 10.200.0.1", "Node IP: unknown")).unwrap();
        let error = check_text_page(&wrong, &pod, &placement).unwrap_err();
        assert!(error.contains("node IP shown Some(\"unknown\")"), "{error}");
    }

    #[test]
    fn served_by_against_the_api() {
        let (pod, placement) = pods();
        let check =
            |text: String| check_text_page(&TextPage::parse(&text).unwrap(), &pod, &placement);
        // The tip's pod named on kiada's own node instead of its own.
        let error = check(TEXT.replace("on node \"node-2\"", "on node \"node-1\"")).unwrap_err();
        assert!(
            error.contains(
                "quote pod quote-002 named node \"node-1\", the API says it runs on \"node-2\""
            ),
            "{error}"
        );
        let error =
            check(TEXT.replace("quote pod \"quote-002\"", "quote pod \"quote-009\"")).unwrap_err();
        assert!(error.contains("no scheduled pod"), "{error}");
        let error = check(TEXT.replace("tip from quote pod", "tip from quiz pod")).unwrap_err();
        assert!(error.contains("not by quote"), "{error}");
        let error = check(TEXT.replace("Served by:", "Sent by:")).unwrap_err();
        assert!(error.contains("no \"Served by:\" line"), "{error}");
        let error = check(TEXT.replace(
            "question from quiz pod \"quiz\" on node \"node-1\"",
            "no question (quiz failed)",
        ))
        .unwrap_err();
        assert!(
            error.contains("names no quiz pod for the question"),
            "{error}"
        );
    }
}
