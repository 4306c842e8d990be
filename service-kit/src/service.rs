//! What a Kiada service is to the code that starts it, and the one `main` that starts
//! any of them: signals first, configuration, logging, build, run, and an exit status
//! with the whole error chain on stderr.

use std::future::Future;
use std::process::ExitCode;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, LogFormat};
use crate::lifecycle::shutdown_on_signals;

/// One service of the suite, as its binary and the local suite start it.
pub trait Service: Sized {
    /// The program's name, in front of its errors ("quote: cannot start: ...").
    const NAME: &'static str;
    /// Everything the service is built from.
    type Config: ServiceConfig;
    /// Why it could not be built.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Reads what the service serves, binds its ports and builds its server.
    fn build(config: Self::Config) -> impl Future<Output = Result<Self, Self::Error>>;

    /// Serves until `shutdown` is cancelled, then drains and stops gracefully. `Send`, so
    /// that code generic over the service can spawn it (the tests' `TestServer`).
    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = std::io::Result<()>> + Send;
}

/// A service's configuration, as [`run_main`] reads it.
pub trait ServiceConfig: Sized {
    /// The configuration from the process's command line and the environment `vars`.
    fn from_process(vars: &[(String, String)]) -> Result<Self, ConfigError>;

    /// How the configuration wants log lines written.
    fn log_format(&self) -> LogFormat;
}

/// The `main` of every service binary: installs the signal handlers before anything
/// else (a SIGTERM during start-up is never lost), reads the configuration from the
/// command line and the process environment, starts logging, builds and runs the
/// service. Exits 0 after a graceful stop, else 1 with `<name>: <error>: <cause>...`
/// on stderr.
pub fn run_main<S: Service>() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{}: cannot start the async runtime: {error}", S::NAME);
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::<S>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}: {error:#}", S::NAME);
            ExitCode::FAILURE
        }
    }
}

async fn run<S: Service>() -> anyhow::Result<()> {
    let shutdown = shutdown_on_signals();
    let vars = crate::environment::process_environment();
    let config = S::Config::from_process(&vars).context("invalid configuration")?;
    // Dropped when `run` returns, after the last line: the pending lines are written.
    let _logs = crate::telemetry::init_logging(config.log_format());
    let service = S::build(config).await.context("cannot start")?;
    service.run_until_stopped(shutdown).await.context("failed")
}

/// Declares mimalloc as the program's global allocator, instead of the C library's
/// malloc: a page fan-out allocates and frees many small buffers on two worker threads,
/// and glibc's allocator spent about 10% of kiada's CPU under load (perf); mimalloc cuts
/// kiada's CPU per page by about 10%. mimalloc is built without transparent huge pages,
/// which would add about 10 MiB of RSS. Every service binary and the local suite say
/// `service_kit::global_allocator!();` once, at the top of their `main.rs`.
#[macro_export]
macro_rules! global_allocator {
    () => {
        #[global_allocator]
        static ALLOCATOR: $crate::__private::MiMalloc = $crate::__private::MiMalloc;
    };
}
