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
pub mod text;
pub mod tls;

pub use config::{
    CommandLine, CommonSettings, ConfigError, ControlSettings, LogFormat, Resolved, ServerSettings,
    Source, compare_help_with_readme, seconds,
};
pub use health::{Health, Phase, Probe};
pub use http::{RequestId, Seed};
pub use metrics::Metrics;
pub use pod::PodInfo;
pub use server::{Service, bind_dual_stack, shutdown_on_signals};

/// Exit status for a service's `main`: success, or the error printed on stderr as one
/// line (`<program>: <error>: <cause>...`), leaving out a cause that an outer message
/// already quotes.
pub fn exit_code<E>(program: &str, result: Result<(), E>) -> std::process::ExitCode
where
    E: AsRef<dyn std::error::Error + Send + Sync + 'static>,
{
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{program}: {}", describe_error(error.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and its chain of causes on one line, each cause once.
pub fn describe_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

/// The suite's version, the same for every service (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer failed: {0}")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn describe_error_names_each_cause_once() {
        let quoted = Outer(std::io::Error::other("disk full"));
        assert_eq!(super::describe_error(&quoted), "outer failed: disk full");

        #[derive(Debug, thiserror::Error)]
        #[error("cannot start")]
        struct Plain(#[source] std::io::Error);
        let chained = Plain(std::io::Error::other("disk full"));
        assert_eq!(super::describe_error(&chained), "cannot start: disk full");
    }
}
