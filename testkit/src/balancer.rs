//! A stand-in for a Service on loopback: a TCP relay that hands each connection it
//! accepts to the next of its targets in turn, as kube-proxy hands connections (never
//! single requests) to a Service's endpoints. It counts the connections it accepted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Longest wait for a target to accept the relayed connection.
const CONNECT_LIMIT: Duration = Duration::from_secs(2);

/// The relay, listening on `127.0.0.1:port` until dropped.
pub struct Balancer {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    stop: CancellationToken,
}

impl Balancer {
    /// Relays the n-th connection it accepts to `targets[n % targets.len()]` (ports on
    /// 127.0.0.1). A target that refuses gets the client's connection closed unanswered.
    pub async fn round_robin(targets: &[u16]) -> Self {
        assert!(!targets.is_empty(), "a balancer needs at least one target");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        tokio::spawn(relay(
            listener,
            targets.to_vec(),
            accepted.clone(),
            stop.clone(),
        ));
        Self {
            port,
            accepted,
            stop,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn relay(
    listener: TcpListener,
    targets: Vec<u16>,
    accepted: Arc<AtomicUsize>,
    stop: CancellationToken,
) {
    loop {
        let inbound = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(_) => return,
            },
        };
        let n = accepted.fetch_add(1, Ordering::SeqCst);
        let target = targets[n % targets.len()];
        tokio::spawn(forward(inbound, target, stop.clone()));
    }
}

async fn forward(mut inbound: TcpStream, target: u16, stop: CancellationToken) {
    let connect = tokio::time::timeout(CONNECT_LIMIT, TcpStream::connect(("127.0.0.1", target)));
    let Ok(Ok(mut outbound)) = connect.await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        () = stop.cancelled() => {}
    }
}
