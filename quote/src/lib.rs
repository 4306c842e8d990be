//! The quote service: `GET /` says which pod and node answered, `GET /quote` serves the
//! tip of the current interval.

mod config;
pub mod tips;

pub use config::{Args, Config, QuoteSettings};

use actix_web::{HttpResponse, web};
use service_kit::{PodInfo, Server, ServerBuilder, get_or_head};
use tokio_util::sync::CancellationToken;

use crate::tips::{TipOfTheInterval, Tips, TipsError};

#[derive(Debug, thiserror::Error)]
pub enum QuoteError {
    #[error(transparent)]
    Tips(#[from] TipsError),
    #[error(transparent)]
    Bind(#[from] service_kit::BindError),
    #[error("cannot start the HTTP server")]
    Io(#[from] std::io::Error),
}

/// The quote service, bound and ready to run.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// The bound port (useful when built with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl service_kit::Service for Application {
    const NAME: &'static str = "quote";
    type Config = Config;
    type Error = QuoteError;

    /// Reads the tips, binds the port and builds the server.
    async fn build(config: Config) -> Result<Self, QuoteError> {
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
        let server = ServerBuilder::new("quote", &config.server, &config.pod)
            .serve(listener, move |cfg| routes(cfg, &state))?;
        Ok(Self { port, server })
    }

    async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        self.server.run_until_stopped(shutdown).await
    }
}

struct AppState {
    tip: TipOfTheInterval,
    pod: PodInfo,
}

/// quote's routes: the pod's identity and the tip.
fn routes(cfg: &mut web::ServiceConfig, state: &web::Data<AppState>) {
    cfg.app_data(state.clone())
        .service(web::resource("/").route(get_or_head().to(identity)))
        .service(web::resource("/quote").route(get_or_head().to(quote)));
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
