//! What every Kiada service shares, so that a service is its routes, its state and a
//! few lines of start-up:
//!
//! - [`Service`] and [`run_main`]: the one `main` of every binary (signals, configuration,
//!   logging, build, run, exit status).
//! - [`ServerBuilder`]: the one actix `App` of every service (request middleware, pod
//!   identity headers, body limits, `/healthz/*`, `/metrics`, `/admin/*`) around the
//!   service's own routes, and the `HttpServer` with the suite's timeouts.
//! - [`Server`]: running it with the drain-aware graceful shutdown.
//! - [`Health`], [`Metrics`]: probe and lifecycle state, Prometheus metrics.
//! - [`RequestId`], [`Seed`], [`client_ip`], [`get_or_head`]: for the services' handlers.
//! - [`PodInfo`], [`ServerSettings`] and the settings every service reads.
//! - [`bind_dual_stack`], the TLS configurations, the text cleaners.
//!
//! Errors follow one rule: a message never repeats its `source()`; print the whole chain
//! with `{:#}` (anyhow), as [`run_main`] does.
//!
//! The modules form a DAG, leaves first: `limits`, `text`, `pod`, `config`, `extract`,
//! `routing`, `metrics`, `listen`, `tls`, `environment`, `log_writer` hold no crate imports
//! (or only leaves); `faults` and `probes` hold state; `body_deadline` and `middleware`
//! wrap requests; `admin` serves the operational endpoints; `lifecycle` runs and stops a
//! server; `server` assembles the `App`; `service` is `main`.

mod admin;
mod body_deadline;
mod config;
mod environment;
mod extract;
mod faults;
mod lifecycle;
mod limits;
mod listen;
mod log_writer;
mod metrics;
mod middleware;
mod pod;
mod probes;
mod routing;
mod server;
mod service;
mod telemetry;
mod text;
mod tls;

pub use config::{
    CommandLine, CommonSettings, ConfigError, ControlSettings, LogFormat, Resolved, ServerSettings,
    Source, compare_help_with_readme, seconds,
};
pub use environment::process_environment;
pub use extract::{
    NODE_NAME_HEADER, POD_NAME_HEADER, REQUEST_ID_HEADER, RequestId, SEED_HEADER, Seed, client_ip,
    index_for_seed, ip_text,
};
pub use lifecycle::{Server, shutdown_on_signals};
pub use limits::CLIENT_REQUEST_TIMEOUT;
pub use listen::{BindError, bind_dual_stack};
pub use log_writer::{LogGuard, flush as flush_logs};
pub use metrics::Metrics;
pub use pod::{PodInfo, UNKNOWN};
pub use probes::{Health, Phase, Probe};
pub use routing::get_or_head;
pub use server::ServerBuilder;
pub use service::{Service, ServiceConfig, run_main};
pub use telemetry::init_logging;
pub use text::{clean_block, clean_line};
pub use tls::{SelfSignedTls, TlsError, tls_from_pem_files, tls_self_signed};

/// The suite's version, the same for every service (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What [`global_allocator!`] expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use mimalloc::MiMalloc;
}
