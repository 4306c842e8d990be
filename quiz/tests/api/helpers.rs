use std::ops::Deref;
use std::path::{Path, PathBuf};

use kiada_testkit::server::TestServer;
use quiz::{Application, Config, QuizError, StoreLimits};
use serde_json::Value;
use service_kit::{PodInfo, ServerSettings, Service as _};
use tempfile::TempDir;

pub const POD: &str = "quiz-test-pod";
pub const NODE: &str = "test-node-1";

/// A running quiz service with its own database: the shared [`TestServer`] (its `get`,
/// `url`, `client`, ... through `Deref`) and the files a test looks at or restarts on.
pub struct QuizApp {
    /// Dropped first (fields drop in order): the service stops before its files go.
    pub server: TestServer,
    pub db_path: PathBuf,
    /// Keeps the database directory alive as long as the app.
    pub dir: TempDir,
}

impl Deref for QuizApp {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
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

pub async fn spawn_app() -> QuizApp {
    spawn_app_with(TempDir::new().unwrap(), |_| {}).await
}

/// Builds and runs the app in `dir` after `customize` has adjusted the configuration,
/// then waits until it is ready.
pub async fn spawn_app_with(dir: TempDir, customize: impl FnOnce(&mut Config)) -> QuizApp {
    let mut config = test_config(dir.path());
    customize(&mut config);
    let db_path = config.db_path.clone();
    let application = Application::build(config).await.expect("the app builds");
    let app = QuizApp {
        server: TestServer::run(application.port(), application),
        db_path,
        dir,
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

impl QuizApp {
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

    /// Stops the app gracefully and hands back its directory (for a restart).
    pub async fn stop(self) -> TempDir {
        self.server.stop().await;
        self.dir
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
