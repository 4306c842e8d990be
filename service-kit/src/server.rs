//! Binding, serving and stopping gracefully.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::Server;
use tokio_util::sync::CancellationToken;

use crate::health::{Health, Phase};

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("port {port} is already in use")]
    InUse { port: u16 },
    #[error("cannot listen on port {port}: {source}")]
    Other { port: u16, source: io::Error },
}

/// How long a client may take to send a request's head (actix closes the connection with
/// 408 after it) and, separately, its body once a handler reads it (see
/// [`crate::http::request_telemetry`]): a slow or stalled client cannot hold a
/// connection and a handler for longer.
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `port` on all IPv6 and IPv4 addresses with one dual-stack socket; where IPv6
/// is unavailable (disabled in the kernel or the pod), binds IPv4 only. Port 0 picks a
/// free port (tests).
pub fn bind_dual_stack(port: u16) -> Result<TcpListener, BindError> {
    let classify = |source: io::Error| match source.kind() {
        io::ErrorKind::AddrInUse => BindError::InUse { port },
        _ => BindError::Other { port, source },
    };
    match bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)), false) {
        Ok(listener) => Ok(listener),
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => Err(classify(error)),
        Err(error) => {
            tracing::debug!(%error, "IPv6 unavailable, listening on IPv4 only");
            bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), false).map_err(classify)
        }
    }
}

/// Binds `127.0.0.1` on a free port: for tests and local tools.
pub fn bind_loopback() -> io::Result<TcpListener> {
    bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), true)
}

fn bind(addr: SocketAddr, v4_only: bool) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() && !v4_only {
        socket.set_only_v6(false)?;
    }
    // Lets a restarted process bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    let listener: TcpListener = socket.into();
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A built server with its lifecycle state, ready to run.
pub struct Service {
    server: Server,
    health: Health,
    drain_delay: Duration,
    name: &'static str,
}

impl Service {
    /// `server` must have been built with signals disabled (see [`http_server!`]); this
    /// type handles termination itself so that readiness can fail before it stops.
    pub fn new(name: &'static str, server: Server, health: Health, drain_delay: Duration) -> Self {
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

/// Builds an actix `HttpServer` the way every service needs it: signals disabled (the
/// [`Service`] handles them), a bounded shutdown, a read timeout for slow clients, and
/// the given listener (plus an optional rustls listener).
///
/// `http_server!(factory, settings, listener)` or
/// `http_server!(factory, settings, listener, tls_listener, rustls_config)`.
#[macro_export]
macro_rules! http_server {
    ($factory:expr, $settings:expr, $listener:expr $(, $tls_listener:expr, $tls_config:expr)?) => {{
        let settings: &$crate::config::ServerSettings = $settings;
        let server = ::actix_web::HttpServer::new($factory)
            .disable_signals()
            .shutdown_timeout(settings.shutdown_timeout.as_secs().max(1))
            .client_request_timeout($crate::server::CLIENT_REQUEST_TIMEOUT)
            .client_disconnect_timeout(::std::time::Duration::from_secs(2))
            .listen($listener)?;
        $(let server = server.listen_rustls_0_23($tls_listener, $tls_config)?;)?
        server.run()
    }};
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
        std::process::exit(130);
    });
    token
}
