//! Running a built server until it is told to stop, and stopping it the way Kubernetes
//! needs: readiness fails first, the drain is still served, then in-flight requests
//! finish. Also the signal handling that starts it.

use std::io;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::probes::{Health, Phase};

/// A built server with its lifecycle state, ready to run.
pub struct Server {
    server: actix_web::dev::Server,
    health: Health,
    drain_delay: Duration,
    name: &'static str,
}

impl Server {
    /// `server` must have been built with signals disabled (the `App` builder does);
    /// this type handles termination itself so that readiness can fail before it stops.
    pub(crate) fn new(
        name: &'static str,
        server: actix_web::dev::Server,
        health: Health,
        drain_delay: Duration,
    ) -> Self {
        Self {
            server,
            health,
            drain_delay,
            name,
        }
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Serves until `shutdown` is cancelled, then: readiness fails at once, the server
    /// keeps serving for the drain delay (so endpoints can be updated), stops accepting,
    /// and waits for in-flight requests (bounded by the server's shutdown timeout).
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> io::Result<()> {
        let Self {
            server,
            health,
            drain_delay,
            name,
        } = self;
        let handle = server.handle();
        let mut server = std::pin::pin!(server);
        health.set_phase(Phase::Ready);
        tokio::select! {
            result = &mut server => return result,
            () = shutdown.cancelled() => {}
        }
        health.set_phase(Phase::Draining);
        tracing::info!(
            service = name,
            phase = Phase::Draining.as_str(),
            drain_seconds = drain_delay.as_secs_f64(),
            "termination requested: readiness now fails"
        );
        tokio::select! {
            result = &mut server => return result,
            () = tokio::time::sleep(drain_delay) => {}
        }
        health.set_phase(Phase::Stopping);
        tracing::info!(
            service = name,
            phase = Phase::Stopping.as_str(),
            "no longer accepting; finishing in-flight requests"
        );
        let (result, ()) = tokio::join!(server, handle.stop(true));
        tracing::info!(service = name, "stopped");
        result
    }
}

/// Cancels the returned token on the first SIGTERM or SIGINT; a second one exits at once
/// (for an impatient Ctrl-C). The handlers are installed before this returns, so call
/// it first thing: a signal that arrives later is never lost to the default action.
pub fn shutdown_on_signals() -> CancellationToken {
    use tokio::signal::unix::{SignalKind, signal};
    let token = CancellationToken::new();
    let trigger = token.clone();
    let mut sigterm = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    let mut sigint = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
    tokio::spawn(async move {
        tokio::select! {
            _ = sigterm.recv() => tracing::info!("SIGTERM received"),
            _ = sigint.recv() => tracing::info!("SIGINT received"),
        }
        trigger.cancel();
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
        tracing::warn!("second termination signal: exiting now");
        // exit runs no destructors: the log guard would not write the pending lines.
        crate::log_writer::flush();
        std::process::exit(130);
    });
    token
}
