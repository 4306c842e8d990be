use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use quiz::{Application, Config, QuizError, StoreLimits};
use serde_json::Value;
use service_kit::{PodInfo, ServerSettings, Service as _};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const POD: &str = "quiz-test-pod";
pub const NODE: &str = "test-node-1";

/// A running quiz service with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    /// Keeps the database directory alive as long as the app.
    pub dir: TempDir,
    /// Stops the app when the test ends, however it ends.
    shutdown: tokio_util::sync::DropGuard,
    server: JoinHandle<std::io::Result<()>>,
}

/// The configuration every test starts from: port 0, a database under a directory that
/// does not exist yet, and known pod identity.
pub fn test_config(dir: &Path) -> Config {
    Config {
        server: ServerSettings {
            listen_port: 0,
            ..ServerSettings::default()
        },
        pod: PodInfo {
            pod_name: Some(POD.into()),
            node_name: Some(NODE.into()),
            ..PodInfo::default()
        },
        db_path: dir.join("data").join("quiz.db"),
        questions_file: None,
        store_limits: StoreLimits::default(),
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TempDir::new().unwrap(), |_| {}).await
}

/// Builds and runs the app in `dir` after `customize` has adjusted the configuration,
/// then waits until it is ready.
pub async fn spawn_app_with(dir: TempDir, customize: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config(dir.path());
    customize(&mut config);
    let db_path = config.db_path.clone();
    let application = Application::build(config).await.expect("the app builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(application.run_until_stopped(shutdown.clone()));
    let app = TestApp {
        address,
        client: client(),
        db_path,
        dir,
        shutdown: shutdown.drop_guard(),
        server,
    };
    app.wait_until_ready().await;
    app
}

/// Tries to build the app and returns the start-up error.
pub async fn build_error(customize: impl FnOnce(&mut Config)) -> String {
    let dir = TempDir::new().unwrap();
    let mut config = test_config(dir.path());
    customize(&mut config);
    match Application::build(config).await {
        Ok(_) => panic!("the app should not build"),
        Err(error) => error_chain(&error),
    }
}

fn error_chain(error: &QuizError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl TestApp {
    /// The port it listens on, for requests written by hand.
    pub fn port(&self) -> u16 {
        let port = self.address.rsplit(':').next().expect("host:port");
        port.parse().expect("a port number")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Posts `body` as JSON text (no Content-Type unless the caller sets one).
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn answer(&self, question_id: u32, answer_index: i64) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/questions/{question_id}/answers")))
            .json(&serde_json::json!({"questionId": question_id, "answerIndex": answer_index}))
            .send()
            .await
            .unwrap()
    }

    pub async fn stats(&self) -> Value {
        let response = self.get("/stats").await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Asserts that no answer has been recorded, right or wrong.
    pub async fn assert_no_answer_recorded(&self) {
        assert_eq!(
            self.stats().await["totals"],
            serde_json::json!({"answers": 0, "correct": 0})
        );
    }

    /// Polls readiness until it passes (bounded: 10 s).
    pub async fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(response) = self.client.get(self.url("/healthz/ready")).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "the app never became ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the app gracefully and hands back its directory (for a restart).
    pub async fn stop(self) -> TempDir {
        let Self {
            shutdown,
            server,
            dir,
            ..
        } = self;
        drop(shutdown);
        tokio::time::timeout(Duration::from_secs(30), server)
            .await
            .expect("the app stops in time")
            .expect("the server task does not panic")
            .expect("the server stops cleanly");
        dir
    }
}

/// Asserts an error answer: status, JSON content type and the exact message.
pub async fn assert_error(response: reqwest::Response, status: u16, message: &str) {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "error": message }));
}

/// Asserts an error answer whose message starts with `prefix`.
pub async fn assert_error_starts(response: reqwest::Response, status: u16, prefix: &str) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    let message = body["error"].as_str().expect("an error message");
    assert!(
        message.starts_with(prefix),
        "{message:?} should start with {prefix:?}"
    );
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
}
