//! kiada's HTTPS listener speaks TLS 1.2 and 1.3 only. rustls cannot act as a TLS 1.0
//! or 1.1 client, so those handshakes are started by hand: a ClientHello built here,
//! sent over a plain socket, and the server's first record read back. The same builder
//! with TLS 1.2 is the positive control: it gets a ServerHello, so a refusal means the
//! version, not a malformed hello.

use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::https::https_get_with;
use kiada_testkit::raw::{self, End};
use kiada_testkit::suite::*;

const TLS1_0: u16 = 0x0301;
const TLS1_1: u16 = 0x0302;
const TLS1_2: u16 = 0x0303;

/// TLS 1.2 suites for an ECDSA certificate: ECDHE-ECDSA with AES-GCM and ChaCha20.
const ECDSA_SUITES: [u16; 3] = [0xC02B, 0xC02C, 0xCCA9];
/// The same for an RSA certificate: ECDHE-RSA with AES-GCM.
const RSA_SUITES: [u16; 2] = [0xC02F, 0xC030];
/// What a TLS 1.0/1.1 server accepts: ECDHE-ECDSA, ECDHE-RSA and RSA with AES-CBC-SHA.
const LEGACY_SUITES: [u16; 5] = [0xC009, 0xC00A, 0xC013, 0x002F, 0x0035];

/// Record types and alert descriptions (RFC 8446 §5.1, §6).
const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const FATAL: u8 = 2;
const HANDSHAKE_FAILURE: u8 = 40;
const PROTOCOL_VERSION: u8 = 70;
/// The end of a TLS 1.2 ServerHello's random from a server that could do TLS 1.3
/// (RFC 8446 §4.1.3).
const DOWNGRADE_SENTINEL: &[u8; 8] = b"DOWNGRD\x01";

fn push_u16(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&u16::try_from(value).unwrap().to_be_bytes());
}

fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_u16(out, data.len());
    out.extend_from_slice(data);
}

/// A ClientHello record: `version` as the hello's legacy_version, these cipher suites,
/// SNI `localhost`, the groups x25519 and secp256r1, uncompressed points, and (with
/// `signature_algorithms`) that TLS 1.2 extension with ECDSA-P256-SHA256,
/// RSA-PSS-SHA256 and RSA-PKCS1-SHA256. Never supported_versions, so the version field
/// is all the server goes by. The record layer says TLS 1.0, as real clients do.
fn client_hello(version: u16, suites: &[u16], signature_algorithms: bool) -> Vec<u8> {
    let mut extensions = Vec::new();
    let name = b"localhost";
    let mut server_name = Vec::new();
    push_u16(&mut server_name, name.len() + 3);
    server_name.push(0);
    push_u16(&mut server_name, name.len());
    server_name.extend_from_slice(name);
    extension(&mut extensions, 0x0000, &server_name);
    extension(&mut extensions, 0x000a, &[0, 4, 0x00, 0x1d, 0x00, 0x17]);
    extension(&mut extensions, 0x000b, &[1, 0]);
    if signature_algorithms {
        extension(&mut extensions, 0x000d, &[0, 6, 4, 3, 8, 4, 4, 1]);
    }

    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x5a; 32]); // random
    body.push(0); // no session id
    push_u16(&mut body, suites.len() * 2);
    for suite in suites {
        body.extend_from_slice(&suite.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null only
    push_u16(&mut body, extensions.len());
    body.extend_from_slice(&extensions);

    let mut handshake = vec![1]; // client_hello
    handshake.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![HANDSHAKE, 0x03, 0x01];
    push_u16(&mut record, handshake.len());
    record.extend_from_slice(&handshake);
    record
}

/// kiada with a generated certificate; these tests never need its backends.
async fn kiada_without_backends() -> KiadaApp {
    spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &refused_url("/quote")),
        ("QUIZ_URL", &refused_url("")),
    ]))
    .await
}

/// Sends `hello` and reads the server's first record (header and payload).
async fn first_record(port: u16, hello: &[u8]) -> (u8, [u8; 2], Vec<u8>) {
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    socket.write_all(hello).await.unwrap();
    let mut header = [0u8; 5];
    tokio::time::timeout(Duration::from_secs(10), socket.read_exact(&mut header))
        .await
        .expect("a record within 10 s")
        .expect("a record header");
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    socket.read_exact(&mut payload).await.unwrap();
    (header[0], [header[1], header[2]], payload)
}

/// Sends `hello` and expects exactly one fatal alert with `description`, then the end
/// of the connection, and nothing else (no ServerHello).
async fn assert_refused(port: u16, hello: Vec<u8>, description: u8, what: &str) {
    let answer = raw::exchange(port, hello, Duration::from_secs(10)).await;
    assert_eq!(
        answer.bytes,
        [ALERT, 0x03, 0x03, 0, 2, FATAL, description],
        "{what}: {answer:?}"
    );
    assert_eq!(answer.end, End::Closed, "{what}");
}

#[tokio::test]
async fn tls_1_0_and_1_1_handshakes_get_a_fatal_alert_and_no_server_hello() {
    let kiada = kiada_without_backends().await;
    let port = kiada.tls_port;
    let suites: Vec<u16> = ECDSA_SUITES.iter().chain(&LEGACY_SUITES).copied().collect();

    // The positive control: the same builder, with TLS 1.2, gets a ServerHello for
    // TLS 1.2 with the first suite offered (the certificate is ECDSA), and the random
    // ends in the sentinel that says the server would have done TLS 1.3.
    let (kind, record_version, payload) =
        first_record(port, &client_hello(TLS1_2, &suites, true)).await;
    assert_eq!((kind, record_version), (HANDSHAKE, [3, 3]));
    assert_eq!(payload[0], 2, "a ServerHello: {payload:02x?}");
    assert_eq!(payload[4..6], [3, 3], "server_version TLS 1.2");
    assert_eq!(&payload[30..38], DOWNGRADE_SENTINEL);
    let session_id = usize::from(payload[38]);
    let suite = u16::from_be_bytes([payload[39 + session_id], payload[40 + session_id]]);
    assert_eq!(suite, 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");

    for (version, name) in [(TLS1_0, "TLS 1.0"), (TLS1_1, "TLS 1.1")] {
        // A real TLS 1.0/1.1 hello has no signature_algorithms (a TLS 1.2 extension):
        // rustls refuses it with handshake_failure before it looks at the version.
        assert_refused(
            port,
            client_hello(version, &suites, false),
            HANDSHAKE_FAILURE,
            name,
        )
        .await;
        // The control's hello with only the version changed reaches the version check:
        // protocol_version.
        assert_refused(
            port,
            client_hello(version, &suites, true),
            PROTOCOL_VERSION,
            name,
        )
        .await;
    }
    // A TLS 1.2 hello with suites for RSA certificates only finds nothing in common
    // with the ECDSA certificate.
    assert_refused(
        port,
        client_hello(TLS1_2, &RSA_SUITES, true),
        HANDSHAKE_FAILURE,
        "RSA suites",
    )
    .await;
    assert_eq!(
        raw::get(kiada.port, "/healthz/live").await.status(),
        Some(200)
    );
}

#[tokio::test]
async fn the_generated_certificate_is_ecdsa_p256() {
    let kiada = kiada_without_backends().await;
    let pem = kiada.certificate_pem.expect("a generated certificate");
    let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    let contains = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
    // The key's algorithm (id-ecPublicKey) and curve (prime256v1), DER-encoded OIDs.
    assert!(contains(&[6, 7, 0x2a, 0x86, 0x48, 0xce, 0x3d, 2, 1]));
    assert!(contains(&[6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 3, 1, 7]));
}

#[tokio::test]
async fn tls_1_3_and_1_2_handshakes_succeed() {
    let kiada = kiada_without_backends().await;
    let pem = kiada.certificate_pem.clone().unwrap();
    for (versions, expected) in [
        (&[&rustls::version::TLS13], rustls::ProtocolVersion::TLSv1_3),
        (&[&rustls::version::TLS12], rustls::ProtocolVersion::TLSv1_2),
    ] {
        let (version, answer) =
            https_get_with(versions, &pem, "localhost", kiada.tls_port, "/healthz/live")
                .await
                .unwrap_or_else(|e| panic!("{expected:?}: {e:?}"));
        let (status, body) = (answer.status(), answer.body_text());
        assert_eq!(
            (version, status, body.as_str()),
            (expected, Some(200), "live\n")
        );
    }
}
