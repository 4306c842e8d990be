//! kiada itself, through an API port-forward: the page (`/json`) against what the API
//! says about the pod and the text page's layout, the HTML page and its assets, HTTPS
//! with the Secret's certificate, and an answer posted through kiada and counted by
//! quiz (`kiada.*`).

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kiada_wire::{Page, ServedBy};

use super::*;
use crate::http::Request;
use crate::nodes::Placement;
use crate::page::JSON_PATH;
use crate::parse;
use crate::poll::Poller;
use crate::summary::one_line;

impl Run<'_> {
    pub(super) async fn kiada(&self) {
        let pod = match self.get_pod(KIADA_POD).await {
            Ok(pod) => pod,
            Err(error) => return self.check("kiada", Err(error)),
        };
        let timeout = Duration::from_secs(20);
        let text = async {
            let page = self.kiada_page(KIADA_POD, timeout).await?;
            let detail = check_page(&page, &pod, &self.placement().await?)?;
            let text = self.kiada_get_ok(KIADA_POD, "/", "*/*", timeout).await?;
            check_text_layout(&text.body, &pod)?;
            Ok(format!(
                "{detail}; GET / is the text page, laid out as the chapter's"
            ))
        };
        self.part("kiada.text", text).await;
        self.part("kiada.html", self.kiada_html(timeout)).await;
        self.part("kiada.https", self.kiada_https(timeout)).await;
        self.part("kiada.answer", self.kiada_answer(timeout)).await;
    }

    async fn kiada_https(&self, timeout: Duration) -> Result<String, String> {
        let config = tls::client_config(&self.tls.cert_der).map_err(reason)?;
        let request = Request::get(JSON_PATH, "application/json");
        let response = self
            .cluster
            .http_via_portforward(KIADA_POD, 8443, &request, Some(config), timeout)
            .await
            .map_err(reason)?;
        if response.status != 200 {
            return Err(format!(
                "GET {JSON_PATH} over HTTPS answered {}",
                response.status
            ));
        }
        let page = crate::page::from_json(&response.body)?;
        Ok(format!(
            "GET https://localhost:8443{JSON_PATH} (port-forward) verified against the kiada-tls Secret's certificate; page from pod {}",
            page.request.pod_name
        ))
    }

    pub(super) async fn kiada_html(&self, timeout: Duration) -> Result<String, String> {
        let get = |path: &str, accept: &str| {
            let request = Request::get(path, accept);
            async move { self.to_kiada(KIADA_POD, &request, timeout).await }
        };
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let redirect = get("/", browser).await?;
        let location = redirect.location.as_deref().unwrap_or("");
        if !(300..400).contains(&redirect.status) || !location.ends_with("/html") {
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
            .map_err(reason)
    }

    /// kiada's page (`/json`) from a kiada pod's port 8080, which must answer 200.
    pub(super) async fn kiada_page(&self, pod: &str, timeout: Duration) -> Result<Page, String> {
        let json = self.kiada_get_ok(pod, JSON_PATH, "application/json", timeout);
        crate::page::from_json(&json.await?.body)
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
                one_line(&response.body)
            ));
        }
        Ok(response)
    }

    pub(super) async fn kiada_answer(&self, timeout: Duration) -> Result<String, String> {
        let page = self.kiada_page(KIADA_POD, timeout).await?;
        let question = page.question.value().ok_or("the page shows no question")?;
        let before = self.quiz_stats().await?;
        let path = format!("/question/{}/answers/0", question.id);
        let response = self
            .to_kiada(KIADA_POD, &Request::post(&path, "text/plain"), timeout)
            .await?;
        if !(200..300).contains(&response.status) {
            return Err(format!(
                "POST {path} answered {}: {}",
                response.status,
                one_line(&response.body)
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
            one_line(&response.body)
        ))
    }
}

/// Checks the page against what the API says about the pod that served it, and who
/// served its tip and question against where the API says the quote and quiz pods run.
pub fn check_page(page: &Page, pod: &Pod, placement: &Placement) -> Result<String, String> {
    let mut problems = Vec::new();
    let errors = crate::page::backend_errors(page);
    if !errors.is_empty() {
        problems.push(format!("backend errors: {}", errors.join(" / ")));
    }
    let tip = page.tip.value().map_or("", |tip| tip.text.trim());
    if page.tip.error().is_none() && tip.is_empty() {
        problems.push("no tip".to_owned());
    }
    if let Some(question) = page.question.value() {
        if question.text.trim().is_empty() {
            problems.push("no question".to_owned());
        }
        if question.answers.len() < 2 {
            problems.push(format!("{} answers", question.answers.len()));
        }
    }
    let status = pod.status.clone().unwrap_or_default();
    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    let request = &page.request;
    let expected = [
        ("pod name", &request.pod_name, pod.metadata.name.clone()),
        ("node name", &request.node_name, node),
        ("pod IP", &request.pod_ip, status.pod_ip.clone()),
        ("node IP", &request.node_ip, status.host_ip.clone()),
    ];
    for (what, shown, api) in &expected {
        if api.as_deref() != Some(shown.as_str()) {
            problems.push(format!("{what} shown {shown:?}, the API says {api:?}"));
        }
    }
    for (service, by) in served_by(page) {
        if let Some(by) = by
            && let Err(problem) = placement.confirm(service, &by.pod, &by.node)
        {
            problems.push(format!("served by: {problem}"));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let [tip_from, question_from] = served_by(page).map(|(service, by)| {
        by.map(|by| format!("{service} pod {} on node {}", by.pod, by.node))
            .unwrap_or_default()
    });
    let question = page.question.value();
    Ok(format!(
        "tip {:?}; question #{} with {} answers; pod {} on node {}, pod IP {}, node IP {}; served by: tip from {}, question from {}; all as the API reports",
        one_line(tip).chars().take(60).collect::<String>(),
        question.map_or(0, |q| q.id),
        question.map_or(0, |q| q.answers.len()),
        request.pod_name,
        request.node_name,
        request.pod_ip,
        request.node_ip,
        tip_from,
        question_from,
    ))
}

/// The pods kiada names as the servers of its tip (a quote pod) and its question (quiz).
pub(super) fn served_by(page: &Page) -> [(&'static str, Option<&ServedBy>); 2] {
    [
        ("quote", page.tip.served_by()),
        ("quiz", page.question.served_by()),
    ]
}

/// The text page's layout, and the pod and node its request line names against the API.
pub fn check_text_layout(text: &str, pod: &Pod) -> Result<(), String> {
    let layout = crate::page::text_layout(text)?;
    let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    if pod.metadata.name.as_deref() != Some(layout.pod_name.as_str())
        || node != Some(layout.node_name.as_str())
    {
        return Err(format!(
            "the text page names pod {:?} on node {:?}, the API says {:?} on {node:?}",
            layout.pod_name, layout.node_name, pod.metadata.name
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kiada_wire::Part;

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

    fn page() -> Page {
        crate::page::from_json(
            r##"{"version":"1","color":"#1f6feb","tip":{"text":"A tip","servedBy":{"pod":"quote-002","node":"node-2"}},"question":{"id":3,"text":"Q?","answers":["a","b"],"servedBy":{"pod":"quiz","node":"node-1"}},"request":{"podName":"kiada-001","nodeName":"node-1","podIp":"10.244.0.9","nodeIp":"10.200.0.1","hostname":"kiada-001","clientIp":"127.0.0.1","forwardedFor":null,"requestId":"r"},"statusMessage":null}"##,
        )
        .unwrap()
    }

    #[test]
    fn page_against_the_api() {
        let (pod, placement) = pods();
        let detail = check_page(&page(), &pod, &placement).unwrap();
        assert!(
            detail.contains("tip from quote pod quote-002 on node node-2"),
            "{detail}"
        );
        let mut wrong = page();
        wrong.request.node_ip = "unknown".into();
        let error = check_page(&wrong, &pod, &placement).unwrap_err();
        assert!(error.contains("node IP shown \"unknown\""), "{error}");
        let mut one_answer = page();
        if let Part::Ok { value, .. } = &mut one_answer.question {
            value.answers.truncate(1);
        }
        let error = check_page(&one_answer, &pod, &placement).unwrap_err();
        assert!(error.contains("1 answers"), "{error}");
        let mut failed = page();
        failed.question = Part::Failed {
            error: "timed out".into(),
        };
        let error = check_page(&failed, &pod, &placement).unwrap_err();
        assert!(error.contains("backend errors: quiz: timed out"), "{error}");
    }

    #[test]
    fn served_by_against_the_api() {
        let (pod, placement) = pods();
        let served_by = |pod_name: &str, node: &str| {
            let mut page = page();
            if let Part::Ok { served_by, .. } = &mut page.tip {
                *served_by = ServedBy {
                    pod: pod_name.into(),
                    node: node.into(),
                };
            }
            page
        };
        // The tip's pod named on kiada's own node instead of its own.
        let error = check_page(&served_by("quote-002", "node-1"), &pod, &placement).unwrap_err();
        assert!(
            error.contains(
                "quote pod quote-002 named node \"node-1\", the API says it runs on \"node-2\""
            ),
            "{error}"
        );
        let error = check_page(&served_by("quote-009", "node-2"), &pod, &placement).unwrap_err();
        assert!(error.contains("no scheduled pod"), "{error}");
        // A quiz pod named as the tip's server.
        let error = check_page(&served_by("quiz", "node-1"), &pod, &placement).unwrap_err();
        assert!(
            error.contains("answered for quote, but the API has it labelled app=quiz"),
            "{error}"
        );
    }

    #[test]
    fn text_layout_against_the_api() {
        let (pod, _) = pods();
        let text = "T v1\n==== TIP OF THE MINUTE\nA tip\n==== POP QUIZ\nQ?\n0) a\n1) b\nSubmit your answer to /question/3/answers/<index of answer> using the POST method.\n==== REQUEST INFO\nRequest processed by Kiada 1 running in pod \"kiada-001\" on node \"node-1\".\nPod hostname: kiada-001; Pod IP: 10.244.0.9; Node IP: 10.200.0.1; Client IP: 127.0.0.1\nServed by: tip from quote pod \"quote-002\" on node \"node-2\"; question from quiz pod \"quiz\" on node \"node-1\".\n";
        assert_eq!(check_text_layout(text, &pod), Ok(()));
        let error =
            check_text_layout(&text.replace("\"node-1\".", "\"node-2\"."), &pod).unwrap_err();
        assert!(
            error.contains("names pod \"kiada-001\" on node \"node-2\""),
            "{error}"
        );
    }
}
