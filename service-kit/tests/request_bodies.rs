//! Request bodies through service-kit's middleware, over real sockets: a body read to
//! the end leaves the connection alive for the next request, and a body the handler
//! leaves unread cannot hold the connection once the answer is out, even when the
//! client stalls it (chunked too: actix alone would wait for the rest for ever). The
//! deadline on a body that a handler reads is tested with the services
//! (kiada/tests/cross_service/slow_clients.rs).

use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use kiada_testkit::raw::{self, End};
use service_kit::ControlSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// actix's client disconnect timeout, set by `ServerBuilder`.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

async fn length(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().body(format!("{} bytes", body.len()))
}

async fn ignore() -> HttpResponse {
    HttpResponse::Ok().body("ignored")
}

/// A server with `POST /length` (reads the body) and `POST /ignore` (does not).
fn start() -> (u16, tokio_util::sync::DropGuard) {
    kiada_testkit::server::serve(ControlSettings::default(), |routes| {
        routes
            .route("/length", web::post().to(length))
            .route("/ignore", web::post().to(ignore));
    })
}

/// Reads one answer with a Content-Length body from a kept-alive connection.
async fn read_one(stream: &mut tokio::net::TcpStream) -> String {
    let mut bytes = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        assert!(Instant::now() < deadline, "no whole head in time");
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            read,
            1,
            "closed after {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.push(byte[0]);
    }
    let head = String::from_utf8(bytes).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .expect("a content-length")
        .parse()
        .unwrap();
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    format!("{head}{}", String::from_utf8(body).unwrap())
}

#[tokio::test]
async fn bodies_read_to_the_end_keep_the_connection_alive() {
    let (port, _stop) = start();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let body = r#"{"questionId": 1, "answerIndex": 0}"#;
    let sized = format!(
        "POST /length HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let chunked = format!(
        "POST /length HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    for request in [&sized, &chunked, &sized] {
        stream.write_all(request.as_bytes()).await.unwrap();
        let answer = read_one(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n35 bytes"), "{answer}");
        assert!(!answer.contains("connection: close"), "{answer}");
    }
}

#[tokio::test]
async fn an_unread_stalled_body_does_not_hold_the_connection() {
    let (port, _stop) = start();
    let sized =
        b"POST /ignore HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 40\r\n\r\n{\"q".to_vec();
    let chunked =
        b"POST /ignore HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"q"
            .to_vec();
    let (sized, chunked) = tokio::join!(
        raw::exchange(port, sized, Duration::from_secs(20)),
        raw::exchange(port, chunked, Duration::from_secs(20)),
    );
    for (what, answer) in [("sized", sized), ("chunked", chunked)] {
        assert_eq!(answer.status(), Some(200), "{what}: {}", answer.describe());
        assert_eq!(answer.body_text(), "ignored", "{what}");
        assert_eq!(answer.header("connection"), Some("close"), "{what}");
        assert_eq!(answer.end, End::Closed, "{what}: {}", answer.describe());
        assert!(
            answer.elapsed <= DISCONNECT_TIMEOUT + Duration::from_secs(2),
            "{what}: {}",
            answer.describe()
        );
    }
}
