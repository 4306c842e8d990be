//! One way to put a service's HTTP server together: the actix `App` with everything a
//! Kiada service has in common (request middleware, pod identity headers, body limits,
//! probe, metrics and admin endpoints) around the service's own routes, served by an
//! `HttpServer` with the suite's timeouts and signals left to [`Server`].

use std::net::TcpListener;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::config::ServerSettings;
use crate::faults::Faults;
use crate::lifecycle::Server;
use crate::limits::{CLIENT_DISCONNECT_TIMEOUT, CLIENT_REQUEST_TIMEOUT, MAX_EXTRACTED_BODY};
use crate::metrics::Metrics;
use crate::middleware::{identity_headers, request_telemetry};
use crate::pod::PodInfo;
use crate::probes::Health;

/// Builds one service's server:
///
/// ```no_run
/// # fn demo(settings: &service_kit::ServerSettings, pod: &service_kit::PodInfo)
/// # -> std::io::Result<service_kit::Server> {
/// use actix_web::{HttpResponse, web};
/// let listener = service_kit::bind_dual_stack(settings.listen_port).unwrap();
/// service_kit::ServerBuilder::new("hello", settings, pod).serve(listener, |routes| {
///     routes.route("/", web::get().to(|| async { HttpResponse::Ok().body("hello\n") }));
/// })
/// # }
/// ```
pub struct ServerBuilder {
    name: &'static str,
    settings: ServerSettings,
    pod: PodInfo,
    health: Health,
    metrics: Metrics,
    tls: Option<(TcpListener, rustls::ServerConfig)>,
}

impl ServerBuilder {
    /// A server named `name` (in its log lines) with the controls of `settings`.
    pub fn new(name: &'static str, settings: &ServerSettings, pod: &PodInfo) -> Self {
        Self {
            name,
            settings: settings.clone(),
            pod: pod.clone(),
            health: Health::with_controls(settings.controls.clone()),
            metrics: Metrics::new(),
            tls: None,
        }
    }

    /// Adds a check that must pass for the service to be ready (for example, that a
    /// database answers); `Err` carries the reason the readiness probe shows.
    pub fn readiness_check<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        self.health = self.health.with_readiness_check(check);
        self
    }

    /// Also serves HTTPS on `listener`.
    pub fn tls(mut self, listener: TcpListener, config: rustls::ServerConfig) -> Self {
        self.tls = Some((listener, config));
        self
    }

    /// The service's metrics, for what it records itself (kiada's backend calls).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Serves `listener` (and the TLS listener, if any) with the common `App` around
    /// `routes`. `routes` runs once per worker thread: it registers the service's routes,
    /// its `app_data` and its default service. Nothing is served until
    /// [`Server::run_until_stopped`].
    pub fn serve<F>(self, listener: TcpListener, routes: F) -> std::io::Result<Server>
    where
        F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let Self {
            name,
            settings,
            pod,
            health,
            metrics,
            tls,
        } = self;
        let health_data = web::Data::new(health.clone());
        let faults = web::Data::new(Faults::default());
        let metrics = web::Data::new(metrics);
        let factory = move || {
            App::new()
                .wrap(identity_headers(&pod))
                .wrap(from_fn(request_telemetry))
                .app_data(web::PayloadConfig::new(MAX_EXTRACTED_BODY))
                .app_data(health_data.clone())
                .app_data(faults.clone())
                .app_data(metrics.clone())
                .configure(crate::admin::routes)
                .configure(routes.clone())
        };
        let server = HttpServer::new(factory)
            // The Server handles SIGTERM itself, so that readiness fails before it stops.
            .disable_signals()
            .shutdown_timeout(settings.shutdown_timeout.as_secs().max(1))
            .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
            .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
            .listen(listener)?;
        let server = match tls {
            Some((listener, config)) => server.listen_rustls_0_23(listener, config)?,
            None => server,
        };
        Ok(Server::new(
            name,
            server.run(),
            health,
            settings.drain_delay,
        ))
    }
}
