//! Connecting to the API server, and the rule its errors follow in the suite's
//! messages.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use kube::{Client, Config};

use super::within;

/// How long a new connection to the API server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`kube::Error`] whose message does not repeat its source, so that a chain printed
/// with `{:#}` says each thing once (kube's own messages embed their source: `HyperError:
/// <the source>`). An API answer (`Status`) is shown as its message and reason.
#[derive(Debug)]
pub struct ApiError(pub kube::Error);

/// A [`kube::Error`] as an [`anyhow::Error`] following the rule of [`ApiError`].
pub fn api_error(error: kube::Error) -> anyhow::Error {
    anyhow::Error::new(ApiError(error))
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            kube::Error::Api(status) => write!(f, "{} ({})", status.message, status.reason),
            error if error.source().is_none() => write!(f, "{error}"),
            kube::Error::HyperError(_) => f.write_str("the connection to the API server failed"),
            kube::Error::Service(_) => f.write_str("the request to the API server failed"),
            kube::Error::UpgradeConnection(_) => {
                f.write_str("upgrading the connection to a WebSocket (exec, port-forward) failed")
            }
            kube::Error::Auth(_) => f.write_str("authenticating to the API server failed"),
            _ => f.write_str("the Kubernetes client failed"),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            // Its message and reason are the whole story.
            kube::Error::Api(_) => None,
            error => error.source(),
        }
    }
}

/// Connects with the current kubeconfig (or the in-cluster config) and asks the API
/// server for its version, within `timeout`. The error says plainly that there is no
/// reachable cluster.
pub async fn connect(timeout: Duration) -> Result<(Client, String, String)> {
    let mut config = within(timeout, "reading the kubeconfig did not finish", Config::infer())
        .await?
        .context(
            "no kubeconfig found (set KUBECONFIG or create ~/.kube/config, e.g. with `kind create cluster`)",
        )?;
    let server = config.cluster_url.to_string();
    config.connect_timeout = Some(CONNECT_TIMEOUT.min(timeout));
    config.read_timeout = Some(Duration::from_secs(60));
    let client = Client::try_from(config).context("building a client from the kubeconfig")?;
    let what = format!("the API server at {server} did not answer");
    let version = within(timeout, what, client.apiserver_version())
        .await?
        .map_err(api_error)
        .with_context(|| format!("the API server at {server} is not reachable"))?;
    // Reachable is not enough: an API server without its storage answers /version but
    // nothing else. /readyz is public on conformant clusters; a 401/403 is not a
    // reason to stop.
    let readyz = ::http::Request::get("/readyz").body(Vec::new())?;
    let what = format!("the API server at {server} did not say whether it is ready");
    match within(timeout, what, client.request_text(readyz)).await? {
        Err(kube::Error::Api(status)) if status.code == 401 || status.code == 403 => {}
        Err(error) => {
            let error = api_error(error);
            let text = format!("{error:#}");
            // The checks that failed, from /readyz's body ("[-]etcd failed: ...").
            let failed: Vec<&str> = text
                .split("\\n")
                .filter(|line| line.starts_with("[-]"))
                .collect();
            if failed.is_empty() {
                return Err(error.context(format!("the API server at {server} is not ready")));
            }
            bail!(
                "the API server at {server} is not ready: {}",
                failed.join(", ")
            )
        }
        Ok(_) => {}
    }
    Ok((client, server, version.git_version))
}
