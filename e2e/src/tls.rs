//! The kiada-tls Secret's certificate, made fresh for each run, and a TLS client that
//! trusts only that certificate: an HTTPS answer that verifies proves kiada serves the
//! Secret's certificate (not its self-signed fallback).

use std::sync::Arc;

use anyhow::{Context, Result};
use rustls_pki_types::CertificateDer;

/// The name the TLS client asks for (the certificate covers it).
pub const SERVER_NAME: &str = "localhost";

/// A certificate and key in PEM, and the certificate in DER for the client.
pub struct TlsMaterial {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: CertificateDer<'static>,
}

/// The names the certificate covers: the kiada Service's DNS names in `namespace`,
/// and localhost (what a port-forward connects to).
pub fn names(namespace: &str, domain: &str) -> Vec<String> {
    vec![
        "kiada".to_owned(),
        format!("kiada.{namespace}"),
        format!("kiada.{namespace}.svc"),
        format!("kiada.{namespace}.svc.{domain}"),
        SERVER_NAME.to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ]
}

/// A self-signed certificate (ECDSA P-256, rcgen's default) for [`names`].
pub fn generate(namespace: &str, domain: &str) -> Result<TlsMaterial> {
    let certified = rcgen::generate_simple_self_signed(names(namespace, domain))
        .context("generating the kiada-tls certificate")?;
    Ok(TlsMaterial {
        cert_pem: certified.cert.pem(),
        key_pem: certified.signing_key.serialize_pem(),
        cert_der: certified.cert.der().clone(),
    })
}

/// A TLS client configuration whose only trust anchor is `cert`.
pub fn client_config(cert: &CertificateDer<'static>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(cert.clone())
        .context("adding the kiada-tls certificate as a trust anchor")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Request, send};
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn generates_pem_and_a_client() {
        let material = generate("kiada-e2e-1", "cluster.local").unwrap();
        assert!(material.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(material.key_pem.contains("PRIVATE KEY-----"));
        client_config(&material.cert_der).unwrap();
        assert!(names("ns", "cluster.local").contains(&"kiada.ns.svc.cluster.local".to_owned()));
    }

    /// Serves one HTTPS answer with `served` over an in-memory stream and asks with a
    /// client that trusts only `trusted`.
    async fn https_roundtrip(
        served: &TlsMaterial,
        trusted: &TlsMaterial,
    ) -> anyhow::Result<String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::from_pem_slice(served.key_pem.as_bytes())?;
        let server_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![served.cert_der.clone()], key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
        let (client_side, server_side) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(server_side).await else {
                return;
            };
            let mut buf = vec![0u8; 4096];
            let _ = tls.read(&mut buf).await;
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await;
            let _ = tls.shutdown().await;
        });
        let connector = tokio_rustls::TlsConnector::from(client_config(&trusted.cert_der)?);
        let name = rustls_pki_types::ServerName::try_from(SERVER_NAME)?;
        let stream = connector.connect(name, client_side).await?;
        let response = send(
            stream,
            "localhost:8443",
            &Request::get("/", "*/*"),
            Duration::from_secs(5),
        )
        .await?;
        server.abort();
        Ok(response.body)
    }

    #[tokio::test]
    async fn trusts_exactly_the_secret_certificate() {
        let secret = generate("ns", "cluster.local").unwrap();
        assert_eq!(https_roundtrip(&secret, &secret).await.unwrap(), "ok");
        // A server with any other certificate (kiada's self-signed fallback) fails.
        let other = generate("ns", "cluster.local").unwrap();
        let error = https_roundtrip(&other, &secret).await.unwrap_err();
        assert!(
            format!("{error:#}").to_lowercase().contains("certificate"),
            "{error:#}"
        );
    }
}
