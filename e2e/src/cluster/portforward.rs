//! One HTTP request to a pod's port through the API server's port-forward (as
//! `kubectl port-forward` does), plain or over TLS.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use super::{Cluster, api_error, within};
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
        let what = format!("port-forward to {pod}:{port} not set up");
        let mut forwarder = within(timeout, what, self.pods().portforward(pod, &[port]))
            .await?
            .map_err(api_error)
            .with_context(|| format!("port-forward to {pod}:{port}"))?;
        let stream = forwarder
            .take_stream(port)
            .ok_or_else(|| anyhow!("port-forward gave no stream for port {port}"))?;
        let host = format!("localhost:{port}");
        let name = rustls_pki_types::ServerName::try_from(crate::tls::SERVER_NAME)?;
        let result = async {
            let Some(config) = tls else {
                return http::send(stream, &host, request, timeout).await;
            };
            let handshake = tokio_rustls::TlsConnector::from(config).connect(name, stream);
            let tls_stream = within(timeout, "TLS handshake did not finish", handshake).await?;
            http::send(
                tls_stream.context("TLS handshake")?,
                &host,
                request,
                timeout,
            )
            .await
        }
        .await;
        forwarder.abort();
        result.with_context(|| {
            format!(
                "{} {} on {pod}:{port} via port-forward",
                request.method, request.path
            )
        })
    }
}
