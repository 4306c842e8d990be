//! One HTTP request to a pod's port through the API server's port-forward (as
//! `kubectl port-forward` does), plain or over TLS.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use super::{Cluster, api_error};
use crate::http;

impl Cluster {
    /// One HTTP request to a pod's port through an API port-forward (as `kubectl
    /// port-forward` does); with `tls`, HTTPS verified against that configuration.
    pub async fn http_via_portforward(
        &self,
        pod: &str,
        port: u16,
        request: &http::Request,
        tls: Option<Arc<rustls::ClientConfig>>,
        timeout: Duration,
    ) -> Result<http::Response> {
        let mut forwarder = tokio::time::timeout(timeout, self.pods().portforward(pod, &[port]))
            .await
            .map_err(|_| {
                anyhow!(
                    "port-forward to {pod}:{port} not set up within {} s",
                    timeout.as_secs()
                )
            })?
            .map_err(api_error)
            .with_context(|| format!("port-forward to {pod}:{port}"))?;
        let stream = forwarder
            .take_stream(port)
            .ok_or_else(|| anyhow!("port-forward gave no stream for port {port}"))?;
        let host = format!("localhost:{port}");
        let result = match tls {
            None => http::send(stream, &host, request, timeout).await,
            Some(config) => {
                let connector = tokio_rustls::TlsConnector::from(config);
                let name = rustls_pki_types::ServerName::try_from(crate::tls::SERVER_NAME)?;
                match tokio::time::timeout(timeout, connector.connect(name, stream)).await {
                    Err(_) => Err(anyhow!(
                        "TLS handshake did not finish within {} s",
                        timeout.as_secs()
                    )),
                    Ok(Err(error)) => Err(anyhow::Error::new(error).context("TLS handshake")),
                    Ok(Ok(tls_stream)) => http::send(tls_stream, &host, request, timeout).await,
                }
            }
        };
        forwarder.abort();
        result.with_context(|| {
            format!(
                "{} {} on {pod}:{port} via port-forward",
                request.method, request.path
            )
        })
    }
}
