//! Opening the listening sockets: one dual-stack socket per port, IPv4 only where the
//! pod has no IPv6.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

use crate::limits::LISTEN_BACKLOG;

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("port {port} is already in use")]
    InUse { port: u16 },
    #[error("cannot listen on port {port}")]
    Other { port: u16, source: io::Error },
}

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

fn bind(addr: SocketAddr, v4_only: bool) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() && !v4_only {
        socket.set_only_v6(false)?;
    }
    // Lets a restarted process bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    let listener: TcpListener = socket.into();
    listener.set_nonblocking(true)?;
    Ok(listener)
}
