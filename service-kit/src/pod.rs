//! Who and where this process is, as the Downward API tells it.

use serde::{Deserialize, Serialize};

/// What is printed for a piece of pod info that the environment does not provide.
pub const UNKNOWN: &str = "unknown";

/// Pod and node identity from `POD_NAME`, `POD_IP`, `NODE_NAME` and `NODE_IP`
/// (set from `metadata.name`, `status.podIP`, `spec.nodeName` and `status.hostIP`
/// by the Downward API) plus the hostname. Unset or empty values stay `None`, so a
/// process started outside Kubernetes runs and prints [`UNKNOWN`] instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PodInfo {
    pub pod_name: Option<String>,
    pub pod_ip: Option<String>,
    pub node_name: Option<String>,
    pub node_ip: Option<String>,
    pub hostname: String,
}

#[derive(Deserialize)]
struct PodEnv {
    pod_name: Option<String>,
    pod_ip: Option<String>,
    node_name: Option<String>,
    node_ip: Option<String>,
}

impl PodInfo {
    /// Reads pod info from the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(crate::environment::process_environment())
    }

    /// Reads pod info from the given variables; never fails, because pod info is
    /// informational and a missing value must not stop a service.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let wanted = vars.into_iter().filter(|(key, _)| {
            matches!(
                key.as_str(),
                "POD_NAME" | "POD_IP" | "NODE_NAME" | "NODE_IP"
            )
        });
        // Only Option<String> fields are read, so envy cannot fail here; the fallback
        // keeps that true even if the struct grows.
        let env: PodEnv = envy::from_iter(wanted).unwrap_or(PodEnv {
            pod_name: None,
            pod_ip: None,
            node_name: None,
            node_ip: None,
        });
        let hostname = gethostname::gethostname().to_string_lossy().into_owned();
        Self {
            pod_name: non_empty(env.pod_name),
            pod_ip: non_empty(env.pod_ip),
            node_name: non_empty(env.node_name),
            node_ip: non_empty(env.node_ip),
            hostname,
        }
    }

    pub fn pod_name(&self) -> &str {
        self.pod_name.as_deref().unwrap_or(UNKNOWN)
    }

    pub fn pod_ip(&self) -> &str {
        self.pod_ip.as_deref().unwrap_or(UNKNOWN)
    }

    pub fn node_name(&self) -> &str {
        self.node_name.as_deref().unwrap_or(UNKNOWN)
    }

    pub fn node_ip(&self) -> &str {
        self.node_ip.as_deref().unwrap_or(UNKNOWN)
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_every_downward_api_variable() {
        let info = PodInfo::from_vars(vars(&[
            ("POD_NAME", "kiada-001"),
            ("POD_IP", "10.244.0.7"),
            ("NODE_NAME", "kind-worker"),
            ("NODE_IP", "172.18.0.2"),
            ("PATH", "/bin"),
        ]));
        assert_eq!(info.pod_name(), "kiada-001");
        assert_eq!(info.pod_ip(), "10.244.0.7");
        assert_eq!(info.node_name(), "kind-worker");
        assert_eq!(info.node_ip(), "172.18.0.2");
        assert!(!info.hostname.is_empty());
    }

    #[test]
    fn unset_and_empty_values_print_as_unknown() {
        let info = PodInfo::from_vars(vars(&[("POD_NAME", ""), ("NODE_IP", "  ")]));
        assert_eq!(info.pod_name, None);
        assert_eq!(info.pod_name(), UNKNOWN);
        assert_eq!(info.pod_ip(), UNKNOWN);
        assert_eq!(info.node_name(), UNKNOWN);
        assert_eq!(info.node_ip(), UNKNOWN);
    }
}
