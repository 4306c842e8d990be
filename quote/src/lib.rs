//! The quote service: `GET /` says which pod and node answered, `GET /quote` serves the
//! tip of the current interval.

mod config;
pub mod tips;

pub use config::{Args, Config, QuoteSettings};

use std::net::TcpListener;

use actix_web::{App, HttpResponse, middleware, web};
use service_kit::{Health, PodInfo, Service};
use tokio_util::sync::CancellationToken;

use crate::tips::{TipOfTheInterval, Tips, TipsError};

#[derive(Debug, thiserror::Error)]
pub enum QuoteError {
    #[error(transparent)]
    Tips(#[from] TipsError),
    #[error(transparent)]
    Bind(#[from] service_kit::server::BindError),
    #[error("cannot start the HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

/// The quote service, bound and ready to run.
pub struct Application {
    port: u16,
    service: Service,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, QuoteError> {
        let (tips, source) = match &config.tips_file {
            Some(path) => (Tips::from_file(path)?, path.display().to_string()),
            None => (Tips::built_in(), "built-in".to_owned()),
        };
        let listener = service_kit::bind_dual_stack(config.server.listen_port)?;
        let port = listener.local_addr()?.port();
        tracing::info!(
            version = service_kit::VERSION,
            pod_name = config.pod.pod_name(),
            node_name = config.pod.node_name(),
            hostname = %config.pod.hostname,
            tips = tips.len(),
            tips_source = %source,
            interval_seconds = config.interval.as_secs_f64(),
            port,
            "quote service starting"
        );
        let state = web::Data::new(AppState {
            tip: TipOfTheInterval::new(tips, config.interval),
            pod: config.pod.clone(),
        });
        let health = Health::with_controls(config.server.controls.clone());
        let service = server(listener, state, health.clone(), &config)?;
        Ok(Self {
            port,
            service: Service::new("quote", service, health, config.server.drain_delay),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        self.service.run_until_stopped(shutdown).await
    }
}

struct AppState {
    tip: TipOfTheInterval,
    pod: PodInfo,
}

fn server(
    listener: TcpListener,
    state: web::Data<AppState>,
    health: Health,
    config: &Config,
) -> std::io::Result<actix_web::dev::Server> {
    let health = web::Data::new(health);
    let pod = config.pod.clone();
    Ok(service_kit::http_server!(
        move || {
            App::new()
                .wrap(service_kit::http::identity_headers(&pod))
                .wrap(middleware::from_fn(service_kit::http::request_telemetry))
                .app_data(state.clone())
                .app_data(health.clone())
                .configure(service_kit::health::routes)
                .service(web::resource("/").get(identity))
                .service(web::resource("/quote").get(quote))
        },
        &config.server,
        listener
    ))
}

async fn identity(state: web::Data<AppState>) -> HttpResponse {
    text(format!(
        "This is the quote service running in pod {} on node {}\n",
        state.pod.pod_name(),
        state.pod.node_name()
    ))
}

/// The tip of the current interval, or with `X-Kiada-Seed` the tip the seed picks.
async fn quote(state: web::Data<AppState>, seed: service_kit::Seed) -> HttpResponse {
    let tip = match seed.0 {
        Some(seed) => state.tip.for_seed(seed),
        None => state.tip.current(),
    };
    text(format!("{tip}\n"))
}

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(body)
}
