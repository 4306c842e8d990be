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

impl TestServer {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&str>) -> (u16, String) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.expect("request");
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `POST path`, with `body` if any (the admin calls take a query or a JSON body).
    async fn post(&self, path: &str, body: Option<&str>) -> (u16, String) {
        self.call(reqwest::Method::POST, path, body).await
    }

    async fn delete(&self, path: &str) -> (u16, String) {
        self.call(reqwest::Method::DELETE, path, None).await
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
    let (status, body) = server.get("/admin/status").await;
    assert_eq!(status, 200);
    let status: Value = serde_json::from_str(&body).unwrap();
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
