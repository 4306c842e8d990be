//! Servers in the test's process, on a free port of 127.0.0.1, stopped when the test
//! ends: [`TestServer`] runs a real service (quote, quiz, kiada) built the way its binary
//! builds it, [`serve`] a bare server built the way every service builds its own
//! ([`ServerBuilder`]: the request middleware and the probe, metrics and admin routes),
//! plus the test's routes.

use std::io;
use std::time::{Duration, Instant};

use actix_web::web;
use service_kit::{ControlSettings, PodInfo, ServerBuilder, ServerSettings, Service};
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How long one request of a [`client`] may take: a server that hangs fails the test
/// instead of hanging it.
const REQUEST_LIMIT: Duration = Duration::from_secs(20);
/// How long [`TestServer::wait_until_ready`] polls.
const READY_LIMIT: Duration = Duration::from_secs(10);
/// How long [`TestServer::stop`] waits for the service to drain and stop.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// A real service running in the test's process, with a client for it, until it is
/// dropped (also when the test panics) or [stopped](Self::stop).
///
/// The one harness of the in-process tests of quote, quiz and the whole suite: a test
/// builds the service as its binary does (its `Application::build`, only on port 0) and
/// hands it over, so what runs is the real server, on a real socket.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    /// The HTTP port it listens on.
    pub port: u16,
    /// A [`client`]: does not follow redirects, never uses a proxy.
    pub client: reqwest::Client,
    /// Cancels the service's shutdown token when dropped: it drains and stops.
    stop: DropGuard,
    running: JoinHandle<io::Result<()>>,
}

impl TestServer {
    /// Runs the built `service`, which listens on `port`, in a task of its own
    /// ([`Service::run_until_stopped`]).
    pub fn run<S: Service + Send + 'static>(port: u16, service: S) -> Self {
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(service.run_until_stopped(shutdown.clone()));
        Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: client(),
            stop: shutdown.drop_guard(),
            running,
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(path, &[]).await
    }

    /// `GET path` with these request headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"))
    }

    /// `POST path` without a body.
    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .send()
            .await
            .unwrap_or_else(|error| panic!("POST {path}: {error}"))
    }

    /// Polls `/healthz/ready` until it answers 200 (bounded: 10 s), for a service that
    /// checks something (quiz: its database) before it is ready.
    pub async fn wait_until_ready(&self) {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            if let Ok(response) = self.client.get(self.url("/healthz/ready")).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "the service never became ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the service gracefully and waits until it has (at most 30 s), for a test
    /// that starts it again on the same files.
    pub async fn stop(self) {
        let Self { stop, running, .. } = self;
        drop(stop);
        tokio::time::timeout(STOP_LIMIT, running)
            .await
            .expect("the service stops in time")
            .expect("the service's task does not panic")
            .expect("the service stops cleanly");
    }
}

/// The client of every [`TestServer`], for requests a test sends on its own: it does not
/// follow redirects (tests check them), never goes through a proxy (only loopback is
/// spoken to) and gives up after 20 s.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(REQUEST_LIMIT)
        .build()
        .expect("a reqwest client")
}

/// Serves on a free port of all addresses until the guard drops; answers the port.
pub fn serve(controls: ControlSettings, routes: fn(&mut web::ServiceConfig)) -> (u16, DropGuard) {
    let listener = service_kit::bind_dual_stack(0).expect("bind");
    let port = listener.local_addr().unwrap().port();
    let settings = ServerSettings {
        controls,
        ..ServerSettings::default()
    };
    let server = ServerBuilder::new("test", &settings, &PodInfo::default())
        .serve(listener, routes)
        .expect("server");
    let shutdown = CancellationToken::new();
    tokio::spawn(server.run_until_stopped(shutdown.clone()));
    (port, shutdown.drop_guard())
}
