use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use service_kit::Service as _;
use std::time::Instant;

use kiada_testkit::raw::{self, End, Exchange};
use tokio::io::AsyncWriteExt;

use kiada_testkit::suite::*;

/// `GET path` over HTTPS to 127.0.0.1:`port`, sending `name` as the server name and
/// trusting only `certificate_pem`; answers what came back. A TLS client of its own
/// (rustls with ring), so that reqwest needs no TLS feature in the workspace.
pub(crate) async fn https_get(
    certificate_pem: &str,
    name: &str,
    port: u16,
    path: &str,
) -> std::io::Result<Exchange> {
    let (_, answer) =
        https_get_with(rustls::DEFAULT_VERSIONS, certificate_pem, name, port, path).await?;
    Ok(answer)
}

/// [`https_get`] offering only the TLS `versions` given; answers the version kiada
/// chose too.
pub(crate) async fn https_get_with(
    versions: &[&'static rustls::SupportedProtocolVersion],
    certificate_pem: &str,
    name: &str,
    port: u16,
    path: &str,
) -> std::io::Result<(rustls::ProtocolVersion, Exchange)> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(certificate_pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let server_name = ServerName::try_from(name.to_owned()).unwrap();
    let started = Instant::now();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut tls = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        connector.connect(server_name, tcp),
    )
    .await??;
    let version = tls
        .get_ref()
        .1
        .protocol_version()
        .expect("a negotiated version");
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let answer = raw::read_answer(&mut tls, started, std::time::Duration::from_secs(10)).await;
    assert_eq!(answer.end, End::Closed, "{}", answer.describe());
    Ok((version, answer))
}

#[tokio::test]
async fn https_with_a_generated_certificate_for_localhost_hostname_and_pod_ip() {
    // The pod IP is 127.0.0.1 here, so that the certificate's IP entry can be checked.
    let Suite { kiada, .. } = &spawn_suite_env(&[("POD_IP", "127.0.0.1")]).await;
    let pem = kiada
        .certificate_pem
        .clone()
        .expect("a generated certificate");
    let hostname = service_kit::PodInfo::from_vars(Vec::new()).hostname;
    let port = kiada.tls_port;
    assert_ne!(port, kiada.port);

    for name in ["localhost", hostname.as_str()] {
        let answer = https_get(&pem, name, port, "/")
            .await
            .unwrap_or_else(|e| panic!("HTTPS to {name}: {e:?}"));
        assert_eq!(answer.status(), Some(200), "{name}");
        let body = answer.body_text();
        assert!(
            body.starts_with("KUBERNETES IN ACTION DEMO APPLICATION v"),
            "{body}"
        );
        assert!(body.contains(TIP), "{body}");
        assert!(body.contains("Client IP: 127.0.0.1"), "{body}");
    }
    // The pod IP itself.
    let answer = https_get(&pem, "127.0.0.1", port, "/healthz/live")
        .await
        .expect("the certificate names the pod IP");
    assert_eq!(
        (answer.status(), answer.body_text().as_str()),
        (Some(200), "live\n")
    );

    // A name the certificate does not have is refused.
    let error = https_get(&pem, "kiada.example", port, "/")
        .await
        .unwrap_err();
    assert!(
        format!("{error:?}").contains("NotValidForName"),
        "{error:?}"
    );

    // Plain HTTP on the HTTPS port is not served.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status().as_u16() == 400);
}

pub(crate) fn write_certificate(
    dir: &tempfile::TempDir,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let generated = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    let cert = temp_path(dir, "tls.crt");
    let key = temp_path(dir, "tls.key");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (cert, key, generated.cert.pem())
}

#[tokio::test]
async fn https_with_given_pem_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, pem) = write_certificate(&dir, "kiada.kiada.svc");
    let kiada = spawn_kiada(kiada_config(&[
        ("TLS_CERT_FILE", cert.to_str().unwrap()),
        ("TLS_KEY_FILE", key.to_str().unwrap()),
        ("QUOTE_URL", &refused_url("/quote")),
        ("QUIZ_URL", &refused_url("")),
    ]))
    .await;
    assert_eq!(kiada.certificate_pem, None);
    let answer = https_get(&pem, "kiada.kiada.svc", kiada.tls_port, "/json")
        .await
        .unwrap();
    assert_eq!(answer.status(), Some(200));
    let page: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
    assert_eq!(page["request"]["podName"], KIADA_POD);
}

#[tokio::test]
async fn bad_certificate_files_stop_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = write_certificate(&dir, "kiada");
    let garbage = temp_path(&dir, "garbage.pem");
    std::fs::write(&garbage, "this is not PEM\n").unwrap();
    let missing = temp_path(&dir, "missing.pem");
    let (other_cert, _, _) = {
        let other = tempfile::tempdir().unwrap();
        let (c, k, p) = write_certificate(&other, "other");
        let moved = temp_path(&dir, "other.crt");
        std::fs::copy(&c, &moved).unwrap();
        drop(k);
        (moved, (), p)
    };

    let cases = [
        (
            missing.clone(),
            key.clone(),
            format!("cannot read certificate file {}", missing.display()),
        ),
        (
            garbage.clone(),
            key.clone(),
            format!(
                "cannot read certificate file {}: no PEM certificate in the file",
                garbage.display()
            ),
        ),
        (
            cert.clone(),
            garbage.clone(),
            format!("cannot read private key file {}", garbage.display()),
        ),
        (
            other_cert.clone(),
            key.clone(),
            "certificate and private key do not form a usable TLS identity".to_owned(),
        ),
    ];
    for (cert_file, key_file, expected) in cases {
        let config = kiada_config(&[
            ("TLS_CERT_FILE", cert_file.to_str().unwrap()),
            ("TLS_KEY_FILE", key_file.to_str().unwrap()),
        ]);
        let error = match kiada::Application::build(config).await {
            Ok(_) => panic!("{} / {} accepted", cert_file.display(), key_file.display()),
            // The whole chain, as the binary prints it.
            Err(error) => format!("{:#}", anyhow::Error::from(error)),
        };
        assert!(error.starts_with("HTTPS: "), "{error}");
        assert!(
            error.contains(&expected),
            "expected {expected:?} in {error:?}"
        );
    }
}

#[tokio::test]
async fn every_answer_says_nosniff_and_only_https_answers_say_hsts() {
    let suite = spawn_suite().await;
    let kiada = &suite.kiada;
    let pem = kiada
        .certificate_pem
        .clone()
        .expect("a generated certificate");
    let nosniff = |answer: &Exchange| answer.header("x-content-type-options").map(str::to_owned);
    let hsts = |answer: &Exchange| {
        answer
            .header("strict-transport-security")
            .map(str::to_owned)
    };
    // Pages, a JSON error, a static file, a 404 and a probe.
    for (path, status) in [
        ("/", 200),
        ("/html", 200),
        ("/proxy/quiz/admin/status", 404),
        ("/static/app.js", 200),
        ("/no/such/path", 404),
        ("/healthz/live", 200),
    ] {
        let answer = https_get(&pem, "localhost", kiada.tls_port, path)
            .await
            .unwrap();
        assert_eq!(answer.status(), Some(status), "HTTPS {path}");
        assert_eq!(nosniff(&answer).as_deref(), Some("nosniff"), "HTTPS {path}");
        assert_eq!(
            hsts(&answer).as_deref(),
            Some("max-age=31536000"),
            "HTTPS {path}"
        );
        let answer = raw::get(kiada.port, path).await;
        assert_eq!(answer.status(), Some(status), "HTTP {path}");
        assert_eq!(nosniff(&answer).as_deref(), Some("nosniff"), "HTTP {path}");
        assert_eq!(hsts(&answer), None, "HTTP {path}");
    }
    // Over plain HTTP, a client's claim to have come over HTTPS changes nothing.
    let claims = "X-Forwarded-Proto: https\r\nForwarded: proto=https\r\n";
    let request = raw::request("GET", "/", claims);
    let answer = raw::exchange(kiada.port, request, std::time::Duration::from_secs(10)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.describe());
    assert_eq!(hsts(&answer), None);
    // quote and quiz, which serve plain HTTP only.
    for port in [suite.quote.port, suite.quiz.port] {
        for path in ["/", "/no/such/path"] {
            let answer = raw::get(port, path).await;
            assert_eq!(nosniff(&answer).as_deref(), Some("nosniff"), "{port}{path}");
            assert_eq!(hsts(&answer), None, "{port}{path}");
        }
    }
}
