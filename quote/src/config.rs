//! The quote service's settings, each declared once: its variable (the field's name in
//! upper case), flag, default and help line; the shared ones come from service-kit.

use std::path::PathBuf;
use std::time::Duration;

use service_kit::{CommandLine, ConfigError, PodInfo, ServerSettings};

/// The quote service's own settings.
#[derive(Debug, Clone, clap::Parser, serde::Deserialize)]
#[command(
    name = "quote",
    version = service_kit::VERSION,
    about = "Serves the Kubernetes tip of the minute and says which pod served it."
)]
pub struct QuoteSettings {
    /// Seconds between two draws of the tip
    #[arg(long = "interval", value_name = "SECONDS", default_value_t = 60.0)]
    pub quote_interval: f64,
    /// File with one tip per line that replaces the built-in tips
    #[arg(long = "tips-file", value_name = "PATH")]
    pub quote_tips_file: Option<PathBuf>,
}

/// Command line of the quote service.
pub type Args = CommandLine<QuoteSettings>;

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerSettings,
    pub pod: PodInfo,
    pub interval: Duration,
    pub tips_file: Option<PathBuf>,
}

impl Config {
    /// Settings from the command line and the given environment (flags win).
    pub fn load(args: Args, vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let settings = args.load(vars)?;
        let interval = service_kit::seconds("QUOTE_INTERVAL", settings.own.quote_interval)?;
        if interval.is_zero() {
            return Err(ConfigError::Invalid {
                name: "QUOTE_INTERVAL",
                reason: "must be more than 0 seconds".into(),
            });
        }
        Ok(Self {
            server: settings.server,
            pod: settings.pod,
            interval,
            tips_file: settings.own.quote_tips_file,
        })
    }
}

impl service_kit::ServiceConfig for Config {
    fn from_process(vars: &[(String, String)]) -> Result<Self, ConfigError> {
        Self::load(clap::Parser::parse(), vars)
    }

    fn log_format(&self) -> service_kit::LogFormat {
        self.server.log_format
    }
}
