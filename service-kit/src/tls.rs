//! rustls server configuration: from PEM files (a mounted Secret) or a self-signed
//! certificate generated at start-up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read certificate file {path}: {reason}")]
    Certificate { path: PathBuf, reason: String },
    #[error("cannot read private key file {path}: {reason}")]
    PrivateKey { path: PathBuf, reason: String },
    #[error("certificate and private key do not form a usable TLS identity")]
    Identity(#[source] rustls::Error),
    #[error("cannot generate a self-signed certificate")]
    Generate(#[from] rcgen::Error),
}

/// A server configuration for TLS 1.2 and 1.3 only, with ALPN for HTTP/1.1 alone: the
/// suite is built without HTTP/2 (see the workspace's `actix-web` entry), so a client that
/// offers only `h2` is refused in the handshake instead of being served something else.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsError::Identity)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Identity)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Loads a PEM certificate chain and private key (PKCS#8, PKCS#1 or SEC1).
pub fn tls_from_pem_files(cert_path: &Path, key_path: &Path) -> Result<ServerConfig, TlsError> {
    let chain = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| TlsError::Certificate {
            path: cert_path.to_owned(),
            reason: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Certificate {
            path: cert_path.to_owned(),
            reason: "no PEM certificate in the file".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|error| TlsError::PrivateKey {
        path: key_path.to_owned(),
        reason: error.to_string(),
    })?;
    server_config(chain, key)
}

/// A freshly generated self-signed certificate, valid for `names` (DNS names or IP
/// addresses), with its PEM form so it can be shown or saved.
pub struct SelfSignedTls {
    pub config: ServerConfig,
    pub certificate_pem: String,
}

pub fn tls_self_signed(names: Vec<String>) -> Result<SelfSignedTls, TlsError> {
    let generated = rcgen::generate_simple_self_signed(names)?;
    let certificate_pem = generated.cert.pem();
    let key = PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
    let config = server_config(vec![generated.cert.der().clone()], key.into())?;
    Ok(SelfSignedTls {
        config,
        certificate_pem,
    })
}
