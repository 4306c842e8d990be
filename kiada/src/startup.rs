//! Building and running kiada: HTTP and HTTPS in one server, one process.

use actix_web::web;
use service_kit::{BindError, ConfigError, Server, ServerBuilder, TlsError, bind_dual_stack};
use tokio_util::sync::CancellationToken;

use crate::backends::Backends;
use crate::config::Config;
use crate::routes;
use crate::spread::Spreads;
use crate::state::AppState;
use crate::status::StatusMessage;

/// Why kiada could not start.
#[derive(Debug, thiserror::Error)]
pub enum KiadaError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("HTTPS")]
    Tls(#[from] TlsError),
    #[error("cannot start the server")]
    Io(#[from] std::io::Error),
}

/// A built kiada, listening, ready to run.
pub struct Application {
    port: u16,
    tls_port: u16,
    server: Server,
    status: StatusMessage,
    certificate_pem: Option<String>,
}

impl service_kit::Service for Application {
    const NAME: &'static str = "kiada";
    type Config = Config;
    type Error = KiadaError;

    /// Binds both ports (0 picks free ones), loads or generates the TLS certificate and
    /// builds the server. Logs the start-up summary.
    async fn build(config: Config) -> Result<Self, KiadaError> {
        let listener = bind_dual_stack(config.server.listen_port)?;
        let tls_listener = bind_dual_stack(config.tls_port)?;
        let port = listener.local_addr()?.port();
        let tls_port = tls_listener.local_addr()?.port();

        let (tls_config, certificate_pem, tls_source) = match &config.tls_cert {
            Some((cert, key)) => {
                let tls = service_kit::tls_from_pem_files(cert, key)?;
                let source = format!(
                    "HTTPS uses the certificate in {} (key in {})",
                    cert.display(),
                    key.display()
                );
                (tls, None, source)
            }
            None => {
                let names = certificate_names(&config);
                let generated = service_kit::tls_self_signed(names.clone())?;
                let source = format!(
                    "no TLS_CERT_FILE/TLS_KEY_FILE: HTTPS uses a self-signed certificate \
                     generated at start-up for {}",
                    names.join(", ")
                );
                (generated.config, Some(generated.certificate_pem), source)
            }
        };
        let status = StatusMessage::new(config.initial_status_message.clone());
        log_startup(&config, port, tls_port, &status, &tls_source);

        let builder =
            ServerBuilder::new("kiada", &config.server, &config.pod).tls(tls_listener, tls_config);
        let backends =
            Backends::new(config.backends.clone()).with_metrics(builder.metrics().clone());
        let builder = if config.readiness_requires_backends {
            let backends = backends.clone();
            builder.readiness_check(move || {
                let backends = backends.clone();
                async move { backends.check_ready().await }
            })
        } else {
            builder
        };
        let pod = config.pod.clone();
        let ui_color = config.ui_color;
        let page_status = status.clone();
        let spreads = web::Data::new(Spreads::default());
        let server = builder.serve(listener, move |cfg| {
            // Runs once per worker thread: each gets backends with a pool of its own.
            cfg.app_data(web::Data::new(AppState {
                backends: backends.for_worker(),
                pod: pod.clone(),
                status: page_status.clone(),
                ui_color,
            }))
            // One for the process: every worker's views count against the one cap.
            .app_data(spreads.clone())
            .configure(routes::configure)
            .default_service(web::to(routes::not_found));
        })?;

        if config.read_stdin {
            status.follow_stdin();
        }
        Ok(Self {
            port,
            tls_port,
            server,
            status,
            certificate_pem,
        })
    }

    /// Serves until `shutdown` is cancelled, then drains and stops gracefully.
    async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        self.server.run_until_stopped(shutdown).await
    }
}

impl Application {
    /// The HTTP port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The HTTPS port actually bound.
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// The generated certificate (PEM), when no certificate files were given: clients
    /// that want to verify it can trust it.
    pub fn generated_certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// The status message shown on every page (lines on standard input replace it).
    pub fn status(&self) -> &StatusMessage {
        &self.status
    }
}

/// The names a generated certificate is valid for: localhost, the hostname and the pod
/// IP.
fn certificate_names(config: &Config) -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    let hostname = config.pod.hostname.trim();
    if !hostname.is_empty() {
        names.push(hostname.to_owned());
    }
    if let Some(ip) = &config.pod.pod_ip {
        names.push(ip.clone());
    }
    names.dedup();
    names
}

fn log_startup(
    config: &Config,
    port: u16,
    tls_port: u16,
    status: &StatusMessage,
    tls_source: &str,
) {
    let pod = &config.pod;
    tracing::info!(
        version = service_kit::VERSION,
        pod_name = pod.pod_name(),
        hostname = %pod.hostname,
        pod_ip = pod.pod_ip(),
        node_name = pod.node_name(),
        node_ip = pod.node_ip(),
        "Kiada {} starting",
        service_kit::VERSION
    );
    tracing::info!(
        status_message = status.get().as_deref().unwrap_or("(none)"),
        "initial status message"
    );
    tracing::info!(
        url = %config.backends.quote_url,
        source = %config.quote_url_source,
        "quote service URL"
    );
    tracing::info!(
        url = %config.backends.quiz_url,
        source = %config.quiz_url_source,
        "quiz service URL"
    );
    tracing::info!("{tls_source}");
    tracing::info!(
        http_port = port,
        https_port = tls_port,
        backend_timeout_seconds = config.backends.timeout.as_secs_f64(),
        backend_pool_idle_seconds = config.backends.pool_idle.as_secs_f64(),
        "listening on [::] and 0.0.0.0: HTTP port {port}, HTTPS port {tls_port}"
    );
}
