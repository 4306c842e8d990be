//! The teaching and testing controls over real HTTP: forced probe failures with expiry,
//! failure files, FAIL_AFTER_SECONDS, faults, metrics and the admin status.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::Value;
use service_kit::ControlSettings;

struct TestServer {
    base: String,
    client: reqwest::Client,
    _stop: tokio_util::sync::DropGuard,
}

async fn hello() -> HttpResponse {
    HttpResponse::Ok().body("hello")
}

fn start(controls: ControlSettings) -> TestServer {
    let (port, stop) = kiada_testkit::server::serve(controls, |routes| {
        routes.route("/hello", web::get().to(hello));
    });
    TestServer {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        _stop: stop,
    }
}

/// What every state-changing control must be sent with.
const JSON: &str = "application/json";

impl TestServer {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.expect("request");
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        self.call(reqwest::Method::GET, path, None, None).await
    }

    /// `POST path` as JSON, with `body` if any (the admin calls take a query or a JSON
    /// body).
    async fn post(&self, path: &str, body: Option<&str>) -> (u16, String) {
        self.call(reqwest::Method::POST, path, Some(JSON), body)
            .await
    }

    /// `DELETE path` as JSON, without a body.
    async fn delete(&self, path: &str) -> (u16, String) {
        self.call(reqwest::Method::DELETE, path, Some(JSON), None)
            .await
    }

    /// `/admin/status` as JSON.
    async fn status(&self) -> Value {
        let (status, body) = self.get("/admin/status").await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

fn enabled() -> ControlSettings {
    ControlSettings {
        probe_controls_enabled: true,
        faults_enabled: true,
        ..ControlSettings::default()
    }
}

#[tokio::test]
async fn controls_are_absent_unless_enabled() {
    let server = start(ControlSettings::default());
    let (status, body) = server.post("/admin/probes/ready/fail", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        r#"{"error":"probe controls are disabled; set PROBE_CONTROLS_ENABLED=true to enable them"}"#
    );
    let (status, body) = server
        .post("/admin/faults", Some(r#"{"status":500}"#))
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        r#"{"error":"faults are disabled; set FAULTS_ENABLED=true to enable them"}"#
    );
    assert_eq!(server.get("/hello").await, (200, "hello".into()));
    assert_eq!(server.get("/healthz/ready").await, (200, "ready\n".into()));
}

#[tokio::test]
async fn a_forced_probe_failure_expires_by_itself() {
    let server = start(enabled());
    let (status, body) = server
        .post("/admin/probes/ready/fail?seconds=0.3", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"failing_for_seconds":0.3,"probe":"ready"}"#);
    let (status, body) = server.get("/healthz/ready").await;
    assert_eq!(status, 503);
    assert_eq!(body, "not ready: forced to fail for 1 more seconds\n");
    // Liveness and ordinary requests are untouched.
    assert_eq!(server.get("/healthz/live").await, (200, "live\n".into()));
    assert_eq!(server.get("/hello").await, (200, "hello".into()));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(server.get("/healthz/ready").await, (200, "ready\n".into()));
}

#[tokio::test]
async fn forced_failures_can_be_cleared_and_bad_requests_are_explained() {
    let server = start(enabled());
    let (status, _) = server.post("/admin/probes/live/fail", None).await;
    assert_eq!(status, 200);
    assert_eq!(server.get("/healthz/live").await.0, 503);
    let (status, _) = server.delete("/admin/probes/live/fail").await;
    assert_eq!(status, 204);
    assert_eq!(server.get("/healthz/live").await, (200, "live\n".into()));

    let (status, body) = server.post("/admin/probes/brain/fail", None).await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            r#"{"error":"unknown probe \"brain\"; use live, ready or startup"}"#
        )
    );
    let (status, body) = server
        .post("/admin/probes/ready/fail?seconds=7200", None)
        .await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            r#"{"error":"seconds must be more than 0 and at most 3600"}"#
        )
    );
}

#[tokio::test]
async fn probe_files_and_the_ready_file_steer_probes() {
    let dir = tempfile::tempdir().unwrap();
    let ready_file = dir.path().join("ready");
    let server = start(ControlSettings {
        probe_fail_dir: Some(dir.path().to_owned()),
        ready_file: Some(ready_file.clone()),
        ..ControlSettings::default()
    });
    let (status, body) = server.get("/healthz/ready").await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        format!("not ready: {} does not exist yet\n", ready_file.display())
    );
    std::fs::write(&ready_file, "").unwrap();
    assert_eq!(server.get("/healthz/ready").await, (200, "ready\n".into()));

    let fail_startup = dir.path().join("fail-startup");
    std::fs::write(&fail_startup, "").unwrap();
    let (status, body) = server.get("/healthz/startup").await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        format!("not started: {} exists\n", fail_startup.display())
    );
    std::fs::remove_file(&fail_startup).unwrap();
    assert_eq!(
        server.get("/healthz/startup").await,
        (200, "started\n".into())
    );
}

#[tokio::test]
async fn fail_after_turns_requests_and_readiness_into_errors() {
    let server = start(ControlSettings {
        fail_after: Some(Duration::from_millis(200)),
        ..ControlSettings::default()
    });
    assert_eq!(server.get("/hello").await, (200, "hello".into()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.get("/hello").await,
        (
            500,
            "failing on purpose: FAIL_AFTER_SECONDS has passed\n".into()
        )
    );
    assert_eq!(server.get("/healthz/ready").await.0, 500);
    assert_eq!(server.get("/healthz/live").await, (200, "live\n".into()));
    assert_eq!(server.get("/metrics").await.0, 200);
}

#[tokio::test]
async fn faults_fail_and_delay_requests_but_never_probes() {
    let server = start(enabled());
    let (status, body) = server
        .post(
            "/admin/faults",
            Some(r#"{"status": 503, "delay_ms": 100, "expires_in_seconds": 60}"#),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let started = std::time::Instant::now();
    assert_eq!(
        server.get("/hello").await,
        (503, "injected fault (see /admin/faults)\n".into())
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(server.get("/healthz/live").await, (200, "live\n".into()));
    let (status, body) = server.get("/admin/faults").await;
    assert_eq!(status, 200);
    let faults: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(faults["status"], 503);
    assert_eq!(faults["delay_ms"], 100);
    assert!(faults["expires_in_seconds"].as_f64().unwrap() <= 60.0);

    let (status, body) = server.post("/admin/faults", Some("{not json")).await;
    assert_eq!(status, 400);
    assert!(body.starts_with(r#"{"error":"bad fault JSON: "#), "{body}");

    assert_eq!(server.delete("/admin/faults").await.0, 204);
    assert_eq!(server.get("/hello").await, (200, "hello".into()));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let server = start(ControlSettings::default());
    for _ in 0..3 {
        server.get("/hello").await;
    }
    server.get("/no/such/path").await;
    let (status, text) = server.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains(r#"http_requests_total{route="/hello",method="GET",status="200"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{route="unmatched",method="GET",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("service_ready 1"), "{text}");
    assert!(
        text.contains(r#"service_lifecycle_phase{phase="ready"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"service_lifecycle_phase{phase="draining"} 0"#),
        "{text}"
    );
    assert!(
        text.contains("# TYPE http_request_duration_seconds histogram"),
        "{text}"
    );
}

#[tokio::test]
async fn admin_status_shows_phase_and_the_last_probe_results() {
    let server = start(enabled());
    for _ in 0..25 {
        server.get("/healthz/live").await;
    }
    server.get("/healthz/ready").await;
    let status = server.status().await;
    assert_eq!(status["phase"], "ready");
    assert_eq!(status["ready"], true);
    assert_eq!(status["in_flight"], 1, "the status request itself");
    assert_eq!(status["seconds_since_termination_requested"], Value::Null);
    let history = status["probe_history"].as_array().unwrap();
    assert_eq!(history.len(), 20);
    assert_eq!(history[19]["probe"], "ready");
    assert_eq!(history[19]["passed"], true);
    assert_eq!(history[0]["probe"], "live");
}

#[tokio::test]
async fn probes_metrics_and_status_answer_head_with_the_get_status_and_no_body() {
    let server = start(enabled());
    let head = |path: &'static str| {
        let request = server.client.head(format!("{}{path}", server.base)).send();
        async move {
            let response = request.await.expect("HEAD request");
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|value| value.to_str().unwrap().to_owned());
            (status, content_type, response.bytes().await.unwrap().len())
        }
    };
    for path in ["/healthz/live", "/healthz/ready", "/healthz/startup"] {
        let (status, _, body_len) = head(path).await;
        assert_eq!((status, body_len), (200, 0), "HEAD {path}");
    }
    let (status, content_type, body_len) = head("/metrics").await;
    assert_eq!((status, body_len), (200, 0));
    assert!(
        content_type.is_some_and(|value| value.starts_with("application/openmetrics-text")),
        "HEAD /metrics keeps GET's content type"
    );
    assert_eq!(head("/admin/status").await.0, 200);

    // A failing probe fails HEAD the same way.
    let (status, _) = server.post("/admin/probes/ready/fail", None).await;
    assert_eq!(status, 200);
    let (status, _, body_len) = head("/healthz/ready").await;
    assert_eq!((status, body_len), (503, 0));
    assert_eq!(head("/healthz/live").await.0, 200);
}

/// Sends a control and checks that it is refused for not being JSON.
async fn assert_refused_as_not_json(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Option<&str>,
) {
    let what = format!("{method} {path} as {content_type:?}");
    let (status, answer) = server.call(method, path, content_type, body).await;
    assert_eq!(status, 415, "{what}: {answer}");
    let sent = content_type.unwrap_or("none");
    let expected = serde_json::json!({
        "error": format!(
            "send this control with Content-Type: application/json (this request had {sent}); \
             other types are refused so that a page on another site cannot send it"
        )
    });
    assert_eq!(answer, expected.to_string(), "{what}");
}

/// The probes forced to fail and the faults, as `/admin/status` shows them.
async fn control_state(server: &TestServer) -> (Vec<Value>, Value) {
    let status = server.status().await;
    let forced = status["forced_failures"].as_array().unwrap();
    let probes = forced.iter().map(|failure| failure["probe"].clone());
    (probes.collect(), status["faults"].clone())
}

#[tokio::test]
async fn controls_sent_as_a_form_text_or_untyped_are_refused_and_change_nothing() {
    let server = start(enabled());
    let fault = r#"{"status": 503}"#;
    // What a plain HTML form or a no-cors fetch from another site can send.
    let cases = [
        (
            Some("application/x-www-form-urlencoded"),
            Some("status=503"),
        ),
        (Some("multipart/form-data; boundary=x"), Some("--x--\r\n")),
        (Some("text/plain"), Some(fault)),
        (Some("text/plain;charset=UTF-8"), Some(fault)),
        (None, Some(fault)),
        (None, None),
        // Not quite JSON.
        (Some("application/jsonp"), Some(fault)),
        (Some("application/json, text/plain"), Some(fault)),
    ];
    for (content_type, body) in cases {
        for path in ["/admin/probes/ready/fail", "/admin/faults"] {
            let post = reqwest::Method::POST;
            assert_refused_as_not_json(&server, post, path, content_type, body).await;
        }
    }
    assert_eq!(control_state(&server).await, (vec![], Value::Null));
    assert_eq!(server.get("/healthz/ready").await, (200, "ready\n".into()));
    assert_eq!(server.get("/hello").await, (200, "hello".into()));
}

#[tokio::test]
async fn clearing_controls_without_json_leaves_them_in_place() {
    let server = start(enabled());
    assert_eq!(server.post("/admin/probes/startup/fail", None).await.0, 200);
    let (status, body) = server
        .post("/admin/faults", Some(r#"{"status": 503}"#))
        .await;
    assert_eq!(status, 200, "{body}");
    let set = control_state(&server).await;
    assert_eq!(set.0, ["startup"]);
    assert_eq!(set.1["status"], 503);

    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        for path in ["/admin/probes/startup/fail", "/admin/faults"] {
            let delete = reqwest::Method::DELETE;
            assert_refused_as_not_json(&server, delete, path, content_type, None).await;
        }
    }
    assert_eq!(control_state(&server).await.0, ["startup"]);
    assert_eq!(server.get("/healthz/startup").await.0, 503);
    assert_eq!(server.get("/hello").await.0, 503);

    assert_eq!(server.delete("/admin/probes/startup/fail").await.0, 204);
    assert_eq!(server.delete("/admin/faults").await.0, 204);
    assert_eq!(control_state(&server).await, (vec![], Value::Null));
    assert_eq!(server.get("/hello").await, (200, "hello".into()));
}

#[tokio::test]
async fn json_with_parameters_works_and_a_probe_failure_takes_no_body_or_braces() {
    let server = start(enabled());
    let post = |content_type: &'static str, path: &'static str, body: Option<&'static str>| {
        server.call(reqwest::Method::POST, path, Some(content_type), body)
    };
    let fail_ready = "/admin/probes/ready/fail?seconds=30";
    for (content_type, body) in [
        ("application/json", None),
        ("application/json; charset=utf-8", Some("{}")),
        ("Application/JSON", Some(" { }\n")),
    ] {
        let (status, answer) = post(content_type, fail_ready, body).await;
        assert_eq!(status, 200, "{content_type} {body:?}: {answer}");
        assert_eq!(answer, r#"{"failing_for_seconds":30.0,"probe":"ready"}"#);
    }
    // A body that seems to say more than the query is refused, not ignored.
    for body in [r#"{"seconds": 5}"#, "[]", "null", "{"] {
        assert_eq!(
            post(JSON, "/admin/probes/live/fail", Some(body)).await,
            (
                400,
                r#"{"error":"the body must be empty or {}; give the duration as ?seconds="}"#
                    .into()
            ),
            "{body}"
        );
    }
    assert_eq!(server.get("/healthz/live").await, (200, "live\n".into()));

    let (status, answer) = post(
        "application/json; charset=utf-8",
        "/admin/faults",
        Some(r#"{"delay_ms": 1}"#),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(control_state(&server).await.1["delay_ms"], 1);
}
