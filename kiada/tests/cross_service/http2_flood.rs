//! The real `kiada` binary under the HTTP/2 flood of RUSTSEC-2026-0258: a stream whose
//! receive window is 0 (its answer can never be sent) followed by empty DATA frames
//! without end. h2 0.3 queued every frame, so kiada grew to 1 GB in seconds. kiada now
//! speaks HTTP/1.1 only, on both ports: it must stay small and keep serving others.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kiada_testkit::process::Process;
use kiada_testkit::raw;
use kiada_testkit::suite::*;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::binary::kiada_command;
use crate::https::{https_get, write_certificate};

/// The bound the issue sets for kiada under this flood (its pods' limits are above it).
const MEMORY_BOUND_KIB: u64 = 64 * 1024;
/// How long each attack runs; the unfixed kiada passed 1 GB in about 6 s.
const ATTACK_TIME: Duration = Duration::from_secs(5);
/// At most this many connections per attack, with a pause after each: a server that
/// refuses h2 closes each one at once, and the attacker must neither spin without end
/// nor end before [`ATTACK_TIME`].
const MAX_CONNECTIONS: usize = 400;
const PAUSE_BETWEEN_CONNECTIONS: Duration = Duration::from_millis(10);
/// Empty DATA frames per write.
const FRAMES_PER_WRITE: usize = 1_000;

/// The connection preface, then SETTINGS with INITIAL_WINDOW_SIZE = 0, then a GET on
/// stream 1 whose HEADERS end the header block but not the stream.
fn h2_opening(scheme_https: bool) -> Vec<u8> {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    // SETTINGS (type 4), stream 0: SETTINGS_INITIAL_WINDOW_SIZE (4) = 0.
    bytes.extend_from_slice(&frame_header(6, 0x4, 0, 0));
    bytes.extend_from_slice(&[0x00, 0x04, 0, 0, 0, 0]);
    // HPACK: :method GET (static 2), :scheme (6 http / 7 https), :path / (4), and
    // :authority (name 1) as a literal "localhost".
    let mut block = vec![0x82, if scheme_https { 0x87 } else { 0x86 }, 0x84, 0x41, 9];
    block.extend_from_slice(b"localhost");
    // HEADERS (type 1), END_HEADERS (0x4), stream 1.
    bytes.extend_from_slice(&frame_header(block.len(), 0x1, 0x4, 1));
    bytes.extend_from_slice(&block);
    bytes
}

fn frame_header(length: usize, kind: u8, flags: u8, stream: u32) -> [u8; 9] {
    let length = u32::try_from(length).unwrap().to_be_bytes();
    let stream = stream.to_be_bytes();
    [
        length[1], length[2], length[3], kind, flags, stream[0], stream[1], stream[2], stream[3],
    ]
}

/// What one attack did.
#[derive(Debug, Default)]
struct Attack {
    connections: usize,
    /// Bytes written before kiada closed the connection (or the time was up).
    bytes_sent: usize,
    /// TLS handshakes kiada refused (it offers no `h2`).
    refused_handshakes: usize,
}

/// Floods `port` for [`ATTACK_TIME`]: over TLS offering only `h2` by ALPN, or over plain
/// TCP with the h2 preface (prior knowledge). Each connection sends the opening and then
/// empty DATA frames on stream 1 until kiada closes it or the time is up.
async fn flood(port: u16, tls: Option<&rustls::ClientConfig>) -> Attack {
    let mut attack = Attack::default();
    let deadline = Instant::now() + ATTACK_TIME;
    let frames = frame_header(0, 0x0, 0, 1).repeat(FRAMES_PER_WRITE);
    while Instant::now() < deadline && attack.connections < MAX_CONNECTIONS {
        attack.connections += 1;
        let Ok(tcp) = TcpStream::connect(("127.0.0.1", port)).await else {
            tokio::time::sleep(PAUSE_BETWEEN_CONNECTIONS).await;
            continue;
        };
        let sent = match tls {
            None => send_until_closed(tcp, h2_opening(false), &frames, deadline).await,
            Some(config) => {
                let connector = tokio_rustls::TlsConnector::from(Arc::new(config.clone()));
                let name = ServerName::try_from("localhost").unwrap();
                match tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
                    .await
                {
                    Ok(Ok(stream)) => {
                        send_until_closed(stream, h2_opening(true), &frames, deadline).await
                    }
                    _ => {
                        attack.refused_handshakes += 1;
                        0
                    }
                }
            }
        };
        attack.bytes_sent += sent;
        tokio::time::sleep(PAUSE_BETWEEN_CONNECTIONS).await;
    }
    attack
}

/// Writes `opening`, then `frames` again and again until a write fails or `deadline`;
/// reads (and drops) whatever kiada sends meanwhile. Answers the bytes written.
async fn send_until_closed<S>(
    stream: S,
    opening: Vec<u8>,
    frames: &[u8],
    deadline: Instant,
) -> usize
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let drain = tokio::spawn(async move {
        let mut sink = vec![0; 16 * 1024];
        while let Ok(Ok(n)) = tokio::time::timeout(ATTACK_TIME, reader.read(&mut sink)).await {
            if n == 0 {
                break;
            }
        }
    });
    let mut sent = 0;
    let mut next = opening.as_slice();
    while Instant::now() < deadline {
        let write = tokio::time::timeout(Duration::from_secs(1), writer.write_all(next)).await;
        if !matches!(write, Ok(Ok(()))) {
            break;
        }
        sent += next.len();
        next = frames;
    }
    drain.abort();
    sent
}

/// kiada's resident memory and its high-water mark, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().strip_suffix("kB")?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {status}"))
    };
    (field("VmRSS"), field("VmHWM"))
}

#[tokio::test]
async fn an_http2_flood_of_empty_data_frames_leaves_kiada_small_and_serving() {
    install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, pem) = write_certificate(&dir, "localhost");
    let mut command = kiada_command(&refused_url("/quote"), &refused_url(""));
    command
        .env("TLS_CERT_FILE", &cert)
        .env("TLS_KEY_FILE", &key)
        .stdin(Stdio::null());
    let mut kiada = Process::start(command);
    kiada.wait_until_ready().await;
    let tls_port = kiada
        .lines()
        .iter()
        .find_map(|line| {
            serde_json::from_str::<serde_json::Value>(line).ok()?["https_port"].as_u64()
        })
        .map(|port| u16::try_from(port).unwrap())
        .expect("the HTTPS port in the start-up log");
    let pid = kiada.child.id();

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
        .unwrap();
    let mut h2_only = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    h2_only.alpn_protocols = vec![b"h2".to_vec()];

    // Others keep being served over both ports while the floods run, and kiada's memory
    // is sampled throughout.
    let flooding = Arc::new(AtomicBool::new(true));
    let bystander = {
        let flooding = flooding.clone();
        let (port, pem) = (kiada.port, pem.clone());
        tokio::spawn(async move {
            let (mut answered, mut peak_rss) = (0, 0);
            while flooding.load(Ordering::Relaxed) {
                peak_rss = peak_rss.max(memory_kib(pid).0);
                assert!(peak_rss < MEMORY_BOUND_KIB, "kiada grew to {peak_rss} KiB");
                let http = raw::get(port, "/healthz/live").await;
                assert_eq!(http.status(), Some(200), "{}", http.describe());
                let https = https_get(&pem, "localhost", tls_port, "/healthz/live")
                    .await
                    .expect("HTTPS for others during the flood");
                assert_eq!(
                    (https.status(), https.body_text().as_str()),
                    (Some(200), "live\n")
                );
                answered += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (answered, peak_rss)
        })
    };
    let over_tls = flood(tls_port, Some(&h2_only)).await;
    let over_tcp = flood(kiada.port, None).await;
    flooding.store(false, Ordering::Relaxed);
    let (answered, peak_rss) = bystander.await.expect("the bystander's checks");
    let (_, high_water) = memory_kib(pid);
    eprintln!(
        "over TLS: {over_tls:?}; over TCP: {over_tcp:?}; {answered} bystander rounds; \
         peak RSS {peak_rss} KiB, high-water mark {high_water} KiB"
    );

    // ALPN h2 is refused in the handshake: no connection ever gets to send a frame.
    assert_eq!(
        over_tls.refused_handshakes, over_tls.connections,
        "{over_tls:?}"
    );
    assert_eq!(over_tls.bytes_sent, 0, "{over_tls:?}");
    assert!(
        high_water < MEMORY_BOUND_KIB,
        "high-water mark {high_water} KiB"
    );
    // About 8 s of floods with a round every 50 ms or so: even a slow machine does 20.
    assert!(answered >= 20, "only {answered} bystander rounds");
    assert!(
        kiada.child.try_wait().unwrap().is_none(),
        "kiada exited during the flood"
    );
}
