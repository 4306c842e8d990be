//! Log set-up: human-readable lines or one JSON object per line, levels from `RUST_LOG`,
//! written to standard output in batches (see `log_writer`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::log_writer::{self, LogGuard};

/// Installs the global subscriber; the returned guard writes the pending lines when
/// dropped, so keep it until the program ends. Later calls (for example when the local
/// suite runs three services in one process) keep the first subscriber.
pub fn init_logging(format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = log_writer::batched(Box::new(std::io::stdout()));
    // Colours only on a terminal: `kubectl logs` and log collectors get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer.clone())
        .with_ansi(std::io::stdout().is_terminal());
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    match installed {
        Ok(()) => {
            log_writer::installed(writer);
            guard
        }
        Err(_) => LogGuard::none(),
    }
}
