//! What every Kiada service shares: pod info from the Downward API, configuration,
//! telemetry, probes and lifecycle, TLS, and the server bootstrap with graceful
//! shutdown. Each service builds its routes and calls into this crate for the rest.

pub mod config;
pub mod faults;
pub mod health;
pub mod http;
pub mod metrics;
pub mod pod;
pub mod server;
pub mod telemetry;
pub mod tls;

pub use config::{CommonArgs, ConfigError, ControlSettings, LogFormat, ServerSettings};
pub use health::{Health, Phase, Probe};
pub use http::{RequestId, Seed};
pub use metrics::Metrics;
pub use pod::PodInfo;
pub use server::{Service, bind_dual_stack, shutdown_on_signals};

/// The suite's version, the same for every service (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
