use serde_json::json;

use kiada_testkit::suite::*;

fn expected_json(request_id: &str, client_ip: &str) -> serde_json::Value {
    json!({
        "version": service_kit::VERSION,
        "color": "blue",
        "tip": {
            "text": TIP,
            "servedBy": {"pod": QUOTE_POD, "node": QUOTE_NODE},
        },
        "question": {
            "id": QUESTION_ID,
            "text": QUESTION_TEXT,
            "answers": ANSWERS,
            "servedBy": {"pod": QUIZ_POD, "node": QUIZ_NODE},
        },
        "request": {
            "podName": KIADA_POD,
            "nodeName": KIADA_NODE,
            "podIp": KIADA_POD_IP,
            "nodeIp": KIADA_NODE_IP,
            "hostname": service_kit::PodInfo::from_vars(Vec::new()).hostname,
            "clientIp": client_ip,
            "forwardedFor": null,
            "requestId": request_id,
        },
        "statusMessage": null,
    })
}

#[tokio::test]
async fn json_form_of_the_page() {
    let suite = spawn_suite().await;
    for (path, accept) in [("/json", "*/*"), ("/", "application/json")] {
        let response = suite
            .kiada
            .client
            .get(format!("{}{path}", suite.kiada.address))
            .header("accept", accept)
            .header("x-request-id", "json-form-test")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let page: serde_json::Value = response.json().await.unwrap();
        assert_eq!(page, expected_json("json-form-test", "127.0.0.1"), "{path}");
    }
}

#[tokio::test]
async fn json_form_reports_backend_errors() {
    let quote_url = refused_url("/quote");
    let kiada = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &quote_url),
        ("QUIZ_URL", &refused_url("")),
    ]))
    .await;
    let page: serde_json::Value = kiada.get("/json").await.json().await.unwrap();
    assert_eq!(
        page["tip"],
        json!({"error": format!("quote service ({quote_url}) could not be reached: Connection refused (os error 111)")})
    );
    assert!(
        page["question"]["error"]
            .as_str()
            .unwrap()
            .starts_with("quiz service (")
    );
}

#[tokio::test]
async fn request_id_reaches_both_backends_and_every_log() {
    let suite = spawn_suite().await;
    let id = format!("kiada-test-{}", suite.kiada.port);
    let response = suite.kiada.get_with("/", &[("x-request-id", &id)]).await;
    assert_eq!(response.headers()["x-request-id"], id.as_str());
    assert_eq!(response.status().as_u16(), 200);

    // Logged by kiada, quote and quiz: one access line each, found by the id.
    assert_eq!(
        access_paths(&id, 3).await,
        ["/", "/questions/random", "/quote"]
    );
    let kiada_line = logs_with_request_id(&id)
        .into_iter()
        .find(|line| line["target"] == "access" && line["path"] == "/")
        .unwrap();
    assert_eq!(kiada_line["client_ip"], "127.0.0.1");
    assert_eq!(kiada_line["status"], 200);
    assert_eq!(kiada_line["method"], "GET");
}

#[tokio::test]
async fn a_generated_request_id_is_passed_on_too() {
    let suite = spawn_suite().await;
    let response = suite.kiada.get("/proxy/quote").await;
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(access_paths(&id, 2).await, ["/proxy/quote", "/quote"]);
}

#[tokio::test]
async fn probes_and_metrics_are_not_logged_at_info_but_pages_are() {
    let suite = spawn_suite().await;
    let quiet = "probe-and-metrics-hits-stay-at-debug";
    for path in ["/healthz/ready", "/healthz/live", "/metrics"] {
        let response = suite
            .kiada
            .client
            .get(format!("{}{path}", suite.kiada.address))
            .header("x-request-id", quiet)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    // A real request after them: once its line is there, theirs would be too.
    let loud = "a-page-is-logged-at-info";
    let response = suite
        .kiada
        .get_with("/text", &[("x-request-id", loud)])
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let mut page_lines = Vec::new();
    for _ in 0..50 {
        page_lines = logs_with_request_id(loud)
            .into_iter()
            .filter(|line| line["target"] == "access" && line["path"] == "/text")
            .collect();
        if !page_lines.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(page_lines.len(), 1);
    assert_eq!(page_lines[0]["level"], "INFO");
    let latency = page_lines[0]["latency_ms"].as_f64().unwrap();
    assert_eq!(latency, (latency * 1000.0).round() / 1000.0, "{latency}");
    assert_eq!(logs_with_request_id(quiet), Vec::<serde_json::Value>::new());
}

/// The paths of the access-log lines with this request id, sorted, once `count` of them
/// are there (lines are written after the answer, so they may trail it by a moment).
async fn access_paths(id: &str, count: usize) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for _ in 0..50 {
        paths = logs_with_request_id(id)
            .iter()
            .filter(|line| line["target"] == "access")
            .map(|line| line["path"].as_str().unwrap_or_default().to_owned())
            .collect();
        if paths.len() == count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    paths.sort();
    paths
}
