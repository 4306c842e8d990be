//! A minimal HTTP/1.1 client over any byte stream: a port-forward stream from the API
//! server, a TLS stream on top of one, or a TCP connection to a node port.

use std::time::Duration;

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::poll::within;

/// What one request needs. Every body the suite sends is empty.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: http::Method,
    pub path: String,
    pub accept: String,
    /// The content type of the empty body; `None` sends no content type.
    pub content_type: Option<&'static str>,
}

impl Request {
    fn new(method: http::Method, path: &str, accept: &str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            accept: accept.to_owned(),
            content_type: None,
        }
    }

    pub fn get(path: &str, accept: &str) -> Self {
        Self::new(http::Method::GET, path, accept)
    }

    /// A POST with an empty `text/plain` body.
    pub fn post(path: &str, accept: &str) -> Self {
        Self {
            content_type: Some("text/plain"),
            ..Self::new(http::Method::POST, path, accept)
        }
    }

    pub fn delete(path: &str, accept: &str) -> Self {
        Self::new(http::Method::DELETE, path, accept)
    }

    /// The same request with an empty body sent as `application/json`: the services'
    /// state-changing controls (`/admin/probes/...`, `/admin/faults`) refuse any other
    /// content type with 415, so that no other web site can send them.
    pub fn with_empty_json_body(mut self) -> Self {
        self.content_type = Some("application/json");
        self
    }
}

/// The answer: status, content type and the body as text (lossy UTF-8).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    pub body: String,
    pub body_len: usize,
}

/// Sends one request over `stream` (host header `host`) and reads the whole answer,
/// all within `timeout`.
pub async fn send<S>(
    stream: S,
    host: &str,
    request: &Request,
    timeout: Duration,
) -> Result<Response>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let exchange = async {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        let driver = tokio::spawn(connection);
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(&request.path)
            .header(http::header::HOST, host)
            .header(http::header::ACCEPT, &request.accept)
            .header(http::header::USER_AGENT, "kiada-e2e")
            .header(http::header::CONNECTION, "close");
        if let Some(content_type) = request.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, content_type);
        }
        let request = builder.body(Full::new(Bytes::new()));
        let result = async {
            let response = sender
                .send_request(request?)
                .await
                .context("sending the request")?;
            let status = response.status().as_u16();
            let header = |name: http::header::HeaderName| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let content_type = header(http::header::CONTENT_TYPE).unwrap_or_default();
            let location = header(http::header::LOCATION);
            let bytes = response
                .into_body()
                .collect()
                .await
                .context("reading the body")?
                .to_bytes();
            Ok::<_, anyhow::Error>(Response {
                status,
                content_type,
                location,
                body: String::from_utf8_lossy(&bytes).into_owned(),
                body_len: bytes.len(),
            })
        }
        .await;
        driver.abort();
        result
    };
    within(timeout, "no complete answer", exchange).await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// `GET path` for text over `stream`, host localhost:8080.
    async fn get(
        stream: tokio::io::DuplexStream,
        path: &str,
        timeout: Duration,
    ) -> Result<Response> {
        send(
            stream,
            "localhost:8080",
            &Request::get(path, "text/plain"),
            timeout,
        )
        .await
    }

    /// A server on the other end of `server` that reads a request's head, answers
    /// `hello` and returns the head it read.
    fn answer_hello(mut server: tokio::io::DuplexStream) -> tokio::task::JoinHandle<String> {
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = server.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            server
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
                .await
                .unwrap();
            String::from_utf8(seen).unwrap()
        })
    }

    #[tokio::test]
    async fn talks_http_over_a_stream() {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let server_task = answer_hello(server);
        let response = get(client, "/text", Duration::from_secs(5)).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "hello");
        assert_eq!(response.content_type, "text/plain");
        let request = server_task.await.unwrap();
        assert!(request.starts_with("GET /text HTTP/1.1\r\n"), "{request}");
        assert!(request.to_lowercase().contains("host: localhost:8080"));
    }

    #[tokio::test]
    async fn controls_are_sent_as_json_with_an_empty_body() {
        for request in [
            Request::post("/admin/probes/ready/fail?seconds=300", "application/json"),
            Request::delete("/admin/probes/ready/fail", "application/json"),
        ] {
            let (client, server) = tokio::io::duplex(64 * 1024);
            let server_task = answer_hello(server);
            let request = request.with_empty_json_body();
            send(client, "localhost:8080", &request, Duration::from_secs(5))
                .await
                .unwrap();
            let head = server_task.await.unwrap().to_lowercase();
            assert!(
                head.contains("\r\ncontent-type: application/json\r\n"),
                "{head}"
            );
            assert!(head.ends_with("\r\n\r\n"), "{head}");
        }
    }

    #[tokio::test]
    async fn times_out() {
        let (client, _server) = tokio::io::duplex(1024);
        let error = get(client, "/", Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("no complete answer"));
    }
}
