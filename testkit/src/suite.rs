//! The cross-service harness: the real quote, quiz and kiada servers started in the
//! test's process on free ports (127.0.0.1 only), kiada pointed at the other two, plus
//! a few deliberately broken stand-in backends for fault cases.

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use crate::server::TestServer;
use crate::{logs, vars};
use clap::Parser;
use service_kit::Service as _;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Pod info kiada is started with.
pub const KIADA_POD: &str = "kiada-test-001";
pub const KIADA_NODE: &str = "kind-worker";
pub const KIADA_POD_IP: &str = "10.244.1.7";
pub const KIADA_NODE_IP: &str = "172.18.0.3";
/// Pod info of the backends, to recognise them in the served-by line.
pub const QUOTE_POD: &str = "quote-002";
pub const QUOTE_NODE: &str = "kind-worker2";
pub const QUIZ_POD: &str = "quiz";
pub const QUIZ_NODE: &str = "kind-worker3";

/// The only tip of the test quote service, so the page is predictable.
pub const TIP: &str =
    "Run kubectl get endpointslices to see which pods a Service sends traffic to.";

/// The only question of the test quiz service (correct answer: index 2).
pub const QUESTION_ID: u64 = 7;
pub const QUESTION_TEXT: &str = "Which DNS name reaches the Service quiz in the namespace kiada?";
pub const ANSWERS: [&str; 3] = [
    "quiz.svc.kiada",
    "kiada.quiz.cluster.local",
    "quiz.kiada.svc.cluster.local",
];
pub const CORRECT_INDEX: usize = 2;

pub fn questions_json(id: u64, text: &str, answers: &[&str], correct: usize) -> String {
    serde_json::json!([{
        "id": id,
        "text": text,
        "answers": answers,
        "correctAnswerIndex": correct,
    }])
    .to_string()
}

/// The HTTPS tests speak TLS with tokio-rustls, which needs the process's crypto
/// provider, ring, installed first (reqwest here has no TLS of its own).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The crypto provider, and every service's log lines (JSON) in one buffer, so a test
/// can check what quote and quiz logged for its request id.
fn capture() {
    install_crypto_provider();
    logs::capture();
}

/// Every captured log line (as JSON) that has this request id.
pub fn logs_with_request_id(id: &str) -> Vec<serde_json::Value> {
    logs::with_request_id(id)
}

// ---------------------------------------------------------------------------------
// The real backends.

/// A temporary directory with one data file (tips, questions) that holds `contents`.
fn data_file(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

/// A real backend (quote or quiz) for kiada: its [`TestServer`] (`port`, `get`, ...
/// through `Deref`), the URL kiada is given and the directory of its data file.
pub struct Backend {
    /// The URL kiada is given (quote: `.../quote`; quiz: the base URL).
    pub url: String,
    /// Dropped before the directory (fields drop in order): the service stops first.
    pub server: TestServer,
    _dir: tempfile::TempDir,
}

impl Backend {
    /// Keeps `server` running until the `Backend` drops; kiada reaches it at `path`.
    /// `dir` holds its files meanwhile.
    fn new(server: TestServer, path: &str, dir: tempfile::TempDir) -> Self {
        Backend {
            url: server.url(path),
            server,
            _dir: dir,
        }
    }
}

impl Deref for Backend {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

/// The environment a backend's pod gives it (its pod and node name), on a free port.
fn backend_env(pod: &str, node: &str) -> Vec<(String, String)> {
    vars(&[("POD_NAME", pod), ("NODE_NAME", node), ("LISTEN_PORT", "0")])
}

pub async fn spawn_quote(tips: &str) -> Backend {
    spawn_quote_pod(QUOTE_POD, QUOTE_NODE, tips).await
}

/// quote as the pod `pod` on `node` would run it, with these tips.
pub async fn spawn_quote_pod(pod: &str, node: &str, tips: &str) -> Backend {
    capture();
    let (dir, tips_file) = data_file("tips.txt", tips);
    let env = backend_env(pod, node);
    let mut config = quote::Config::load(quote::Args::parse_from(["quote"]), &env).unwrap();
    config.tips_file = Some(tips_file);
    config.interval = Duration::from_secs(3600);
    let app = quote::Application::build(config).await.unwrap();
    Backend::new(TestServer::run(app.port(), app), "/quote", dir)
}

/// quiz's `/stats`: answers and correct answers, per question and in total.
pub async fn quiz_stats(quiz: &Backend) -> serde_json::Value {
    quiz.get("/stats").await.json().await.unwrap()
}

pub async fn spawn_quiz(questions: &str) -> Backend {
    capture();
    let (dir, questions_file) = data_file("questions.json", questions);
    let env = backend_env(QUIZ_POD, QUIZ_NODE);
    let mut config = quiz::Config::load(quiz::Args::parse_from(["quiz"]), &env).unwrap();
    config.db_path = dir.path().join("quiz.db");
    config.questions_file = Some(questions_file);
    let app = quiz::Application::build(config).await.unwrap();
    Backend::new(TestServer::run(app.port(), app), "", dir)
}

// ---------------------------------------------------------------------------------
// kiada.

/// kiada running in the test's process: its [`TestServer`] (`address`, `port`, `client`,
/// `get`, `get_with`, `post` through `Deref`), and its TLS listener.
pub struct KiadaApp {
    pub server: TestServer,
    pub tls_port: u16,
    pub certificate_pem: Option<String>,
}

impl Deref for KiadaApp {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl KiadaApp {
    /// `GET path`, checked to answer 200 with this content type.
    pub async fn get_ok(&self, path: &str, content_type: &str) -> reqwest::Response {
        let response = self.get(path).await;
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        assert_eq!(
            response.headers()["content-type"],
            content_type,
            "GET {path}"
        );
        response
    }

    /// The body of `GET path`, which must be a 200.
    pub async fn get_text(&self, path: &str) -> String {
        self.get_text_with(path, &[]).await
    }

    /// The body of `GET path` with these request headers, which must be a 200.
    pub async fn get_text_with(&self, path: &str, headers: &[(&str, &str)]) -> String {
        let response = self.get_with(path, headers).await;
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        response.text().await.unwrap()
    }
}

/// kiada's configuration as the pod's environment would give it, with both ports free.
pub fn kiada_config(extra: &[(&str, &str)]) -> kiada::Config {
    let mut pairs = vec![
        ("POD_NAME", KIADA_POD),
        ("NODE_NAME", KIADA_NODE),
        ("POD_IP", KIADA_POD_IP),
        ("NODE_IP", KIADA_NODE_IP),
        ("LISTEN_PORT", "0"),
        ("TLS_LISTEN_PORT", "0"),
    ];
    // Later values win, as they would in a pod spec.
    pairs.retain(|(key, _)| !extra.iter().any(|(k, _)| k == key));
    pairs.extend_from_slice(extra);
    let mut config = kiada::Config::load(kiada::Args::parse_from(["kiada"]), &vars(&pairs))
        .expect("valid kiada configuration");
    config.read_stdin = false;
    config
}

pub async fn spawn_kiada(config: kiada::Config) -> KiadaApp {
    capture();
    let app = kiada::Application::build(config)
        .await
        .expect("kiada starts");
    let tls_port = app.tls_port();
    let certificate_pem = app.generated_certificate_pem().map(str::to_owned);
    KiadaApp {
        server: TestServer::run(app.port(), app),
        tls_port,
        certificate_pem,
    }
}

/// The three real services, kiada pointed at the other two.
pub struct Suite {
    pub kiada: KiadaApp,
    pub quote: Backend,
    pub quiz: Backend,
}

pub async fn spawn_suite() -> Suite {
    spawn_suite_with(
        TIP,
        &questions_json(QUESTION_ID, QUESTION_TEXT, &ANSWERS, CORRECT_INDEX),
    )
    .await
}

/// quiz with the one test question.
pub async fn spawn_test_quiz() -> Backend {
    spawn_quiz(&questions_json(
        QUESTION_ID,
        QUESTION_TEXT,
        &ANSWERS,
        CORRECT_INDEX,
    ))
    .await
}

/// quote with [`TIP`] and quiz with the one test question.
pub async fn spawn_backends() -> (Backend, Backend) {
    (spawn_quote(TIP).await, spawn_test_quiz().await)
}

/// The three real services with the default test data, kiada given `extra`
/// environment variables besides the backend URLs.
pub async fn spawn_suite_env(extra: &[(&str, &str)]) -> Suite {
    let (quote, quiz) = spawn_backends().await;
    let mut env = vec![
        ("QUOTE_URL", quote.url.as_str()),
        ("QUIZ_URL", quiz.url.as_str()),
    ];
    env.extend_from_slice(extra);
    let kiada = spawn_kiada(kiada_config(&env)).await;
    Suite { kiada, quote, quiz }
}

pub async fn spawn_suite_with(tips: &str, questions: &str) -> Suite {
    let quote = spawn_quote(tips).await;
    let quiz = spawn_quiz(questions).await;
    let kiada = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &quote.url),
        ("QUIZ_URL", &quiz.url),
    ]))
    .await;
    Suite { kiada, quote, quiz }
}

// ---------------------------------------------------------------------------------
// Broken backends (fault injection only; the normal path always uses the real ones).

/// A URL on which nothing listens (connection refused).
pub fn refused_url(path: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}{path}")
}

/// A backend that accepts connections and then never sends a byte.
pub async fn never_answers() -> (String, DropGuard) {
    raw_backend(None).await
}

/// A backend that sends headers promising 100 bytes, sends 7, and then stalls.
pub async fn stalls_mid_body() -> (String, DropGuard) {
    raw_backend(Some(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\npartial",
    ))
    .await
}

/// A backend that sends these bytes on every connection and then stalls.
pub async fn raw_backend_sending(bytes: &'static [u8]) -> (String, DropGuard) {
    raw_backend(Some(bytes)).await
}

async fn raw_backend(send: Option<&'static [u8]>) -> (String, DropGuard) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let stop = token.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                accepted = listener.accept() => {
                    let Ok((mut socket, _)) = accepted else { break };
                    let stop = stop.clone();
                    tokio::spawn(async move {
                        if let Some(bytes) = send {
                            // Answer only once the request has arrived, as a server would.
                            read_request_head(&mut socket).await;
                            // Cut short when the client stops reading and the test ends.
                            tokio::select! {
                                _ = socket.write_all(bytes) => {}
                                () = stop.cancelled() => {}
                            }
                        }
                        // Held open, never answered further, until the test ends.
                        stop.cancelled().await;
                        drop(socket);
                    });
                }
            }
        }
    });
    (format!("http://{addr}"), token.drop_guard())
}

async fn read_request_head(socket: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Where test files go.
pub fn temp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// A TCP relay in front of `target_port` that counts the connections it accepts, to see
/// how kiada's pool reuses connections (a Service balances connections, not requests).
pub async fn counting_relay(target_port: u16) -> crate::balancer::Balancer {
    crate::balancer::Balancer::round_robin(&[target_port]).await
}
