//! HTTP/1.1 spoken by hand over a loopback socket, for what an HTTP client library will
//! not send (stalled heads and bodies, oversized heads, malformed paths) and for
//! observing exactly how and when the server answers and closes.

use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest answer kept; more is not read (no test expects anything near it).
const MAX_ANSWER: usize = 8 * 1024 * 1024;

/// How reading an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server closed the connection (end of file).
    Closed,
    /// The server reset the connection.
    Reset,
    /// Still open when the time limit passed.
    TimedOut,
    /// Any other error.
    Failed(io::ErrorKind),
}

/// What came back on one connection.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub bytes: Vec<u8>,
    pub end: End,
    /// From the connection's start to the first byte of the answer.
    pub first_byte: Option<Duration>,
    /// From the connection's start to the end of reading.
    pub elapsed: Duration,
}

impl Exchange {
    fn head_and_body(&self) -> Option<(&str, &[u8])> {
        let at = self.bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&self.bytes[..at]).ok()?;
        Some((head, &self.bytes[at + 4..]))
    }

    /// The status code, when a status line came.
    pub fn status(&self) -> Option<u16> {
        let (head, _) = self.head_and_body()?;
        let line = head.lines().next()?;
        line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }

    /// A header's value (the name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let (head, _) = self.head_and_body()?;
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    pub fn body(&self) -> &[u8] {
        self.head_and_body().map_or(&[], |(_, body)| body)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.body()).into_owned()
    }

    /// A whole answer: a head, and as many body bytes as its Content-Length says.
    pub fn is_complete(&self) -> bool {
        let length = self
            .header("content-length")
            .and_then(|value| value.parse::<usize>().ok());
        length.is_some_and(|length| length == self.body().len())
    }

    /// One line for assertion messages.
    pub fn describe(&self) -> String {
        let head = self.head_and_body().map_or("", |(head, _)| head);
        format!(
            "{:?} after {:?} ({} bytes): {:?} {:?}",
            self.end,
            self.elapsed,
            self.bytes.len(),
            head.lines().next().unwrap_or_default(),
            self.body_text().chars().take(200).collect::<String>()
        )
    }
}

/// A request of `method` and `target` with `Connection: close` and these extra header
/// lines (each ending in CRLF), without a body.
pub fn request(method: &str, target: &str, headers: &str) -> Vec<u8> {
    format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n")
        .into_bytes()
}

/// Reads until the server closes or resets the connection, `limit` passes or
/// [`MAX_ANSWER`] bytes have come.
pub async fn read_answer(
    reader: &mut (impl AsyncRead + Unpin),
    started: Instant,
    limit: Duration,
) -> Exchange {
    let deadline = tokio::time::Instant::from_std(started + limit);
    let mut bytes = Vec::new();
    let mut first_byte = None;
    let mut buffer = vec![0u8; 64 * 1024];
    let end = loop {
        if bytes.len() >= MAX_ANSWER {
            break End::TimedOut;
        }
        match tokio::time::timeout_at(deadline, reader.read(&mut buffer)).await {
            Err(_) => break End::TimedOut,
            Ok(Ok(0)) => break End::Closed,
            Ok(Ok(n)) => {
                first_byte.get_or_insert_with(|| started.elapsed());
                bytes.extend_from_slice(&buffer[..n]);
            }
            Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionReset => break End::Reset,
            Ok(Err(error)) => break End::Failed(error.kind()),
        }
    };
    Exchange {
        bytes,
        end,
        first_byte,
        elapsed: started.elapsed(),
    }
}

/// Connects to 127.0.0.1:`port` and writes each piece of `script` after its delay,
/// while reading the answer (so a server that answers before it has read everything
/// is heard, and a failed write is left for the answer to explain). The connection
/// stays open for writing until reading ends: the server never sees the client
/// finish, as with a client that stalls.
pub async fn exchange_script(
    port: u16,
    script: Vec<(Duration, Vec<u8>)>,
    limit: Duration,
) -> Exchange {
    try_exchange_script(port, script, limit)
        .await
        .unwrap_or_else(|error| panic!("connect to port {port}: {error}"))
}

/// [`exchange_script`], answering the error when connecting fails.
pub async fn try_exchange_script(
    port: u16,
    script: Vec<(Duration, Vec<u8>)>,
    limit: Duration,
) -> io::Result<Exchange> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        for (delay, bytes) in script {
            tokio::time::sleep(delay).await;
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        // Returned, so that it is not dropped (which would send FIN) before reading ends.
        writer
    });
    let answer = read_answer(&mut reader, started, limit).await;
    writing.abort();
    Ok(answer)
}

/// [`exchange_script`] with the whole request written at once.
pub async fn exchange(port: u16, request: Vec<u8>, limit: Duration) -> Exchange {
    exchange_script(port, vec![(Duration::ZERO, request)], limit).await
}

/// `GET path` on a fresh connection, answered within 10 s.
pub async fn get(port: u16, path: &str) -> Exchange {
    exchange(port, request("GET", path, ""), Duration::from_secs(10)).await
}
