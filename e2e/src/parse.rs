//! Reading what the services print: the identity lines of quote and quiz, the assets
//! an HTML page refers to, and what the toolbox shows of a pod: `/etc/resolv.conf` and
//! `env`. (kiada's page is read as JSON: [`crate::page`].)

use std::collections::{BTreeMap, BTreeSet};

/// quote's `GET /` line: `This is the quote service running in pod P on node N`.
pub fn quote_identity(line: &str) -> Option<(String, String)> {
    let rest = line
        .trim()
        .strip_prefix("This is the quote service running in pod ")?;
    let (pod, node) = rest.split_once(" on node ")?;
    Some((pod.trim().to_owned(), node.trim().to_owned()))
}

/// quiz's `GET /` line: `This is the quiz service running in pod P`.
pub fn quiz_identity(line: &str) -> Option<String> {
    let pod = line
        .trim()
        .strip_prefix("This is the quiz service running in pod ")?;
    let pod = pod.split_whitespace().next()?;
    Some(pod.to_owned())
}

/// The parts of `/etc/resolv.conf` the checks look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl ResolvConf {
    pub fn parse(text: &str) -> Self {
        let mut conf = ResolvConf::default();
        for line in text.lines().map(str::trim) {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => conf.nameservers.extend(words.map(str::to_owned)),
                // The last search (or domain) line wins, as in the resolver.
                Some("search") | Some("domain") => {
                    conf.search = words.map(str::to_owned).collect();
                }
                Some("options") => conf.options.extend(words.map(str::to_owned)),
                _ => {}
            }
        }
        conf
    }

    /// The cluster domain, from the `<namespace>.svc.<domain>` search entry.
    pub fn cluster_domain(&self, namespace: &str) -> Option<String> {
        let prefix = format!("{namespace}.svc.");
        self.search
            .iter()
            .find_map(|entry| entry.strip_prefix(&prefix))
            .map(|domain| domain.trim_end_matches('.').to_owned())
    }

    /// The search domains Kubernetes puts first for a pod in `namespace`.
    pub fn expected_search(namespace: &str, domain: &str) -> Vec<String> {
        vec![
            format!("{namespace}.svc.{domain}"),
            format!("svc.{domain}"),
            domain.to_owned(),
        ]
    }

    /// Whether the search line starts with the three Kubernetes entries.
    pub fn has_kubernetes_search(&self, namespace: &str, domain: &str) -> bool {
        self.search
            .starts_with(&Self::expected_search(namespace, domain))
    }
}

/// `env` output as a map (lines without `=` are skipped).
pub fn parse_env(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// One port of a Service, as the kubelet turns it into environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPort {
    pub name: Option<String>,
    pub port: i32,
    pub protocol: String,
}

/// The variables the kubelet gives a pod for a Service created before it (the
/// Docker-links style `<NAME>_PORT_...` ones included).
pub fn expected_service_env(
    service: &str,
    cluster_ip: &str,
    ports: &[EnvPort],
) -> BTreeMap<String, String> {
    let prefix = service.to_uppercase().replace('-', "_");
    let mut env = BTreeMap::new();
    let Some(first) = ports.first() else {
        return env;
    };
    env.insert(format!("{prefix}_SERVICE_HOST"), cluster_ip.to_owned());
    env.insert(format!("{prefix}_SERVICE_PORT"), first.port.to_string());
    let host = crate::service::url_host(cluster_ip);
    env.insert(
        format!("{prefix}_PORT"),
        format!("{}://{host}:{}", first.protocol.to_lowercase(), first.port),
    );
    for port in ports {
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            env.insert(
                format!(
                    "{prefix}_SERVICE_PORT_{}",
                    name.to_uppercase().replace('-', "_")
                ),
                port.port.to_string(),
            );
        }
        let protocol = port.protocol.to_uppercase();
        let base = format!("{prefix}_PORT_{}_{protocol}", port.port);
        env.insert(
            base.clone(),
            format!("{}://{host}:{}", protocol.to_lowercase(), port.port),
        );
        env.insert(format!("{base}_PROTO"), protocol.to_lowercase());
        env.insert(format!("{base}_PORT"), port.port.to_string());
        env.insert(format!("{base}_ADDR"), cluster_ip.to_owned());
    }
    env
}

/// Compares a pod's environment with the expected variables; the differences, one
/// message each.
pub fn env_mismatches(
    actual: &BTreeMap<String, String>,
    expected: &BTreeMap<String, String>,
) -> Vec<String> {
    expected
        .iter()
        .filter_map(|(key, value)| match actual.get(key) {
            None => Some(format!("{key} is missing")),
            Some(got) if got != value => Some(format!("{key}={got}, expected {value}")),
            Some(_) => None,
        })
        .collect()
}

/// Service-link variables of the given services present in an environment.
pub fn service_link_vars<'a>(env: &'a BTreeMap<String, String>, services: &[&str]) -> Vec<&'a str> {
    let prefixes: Vec<String> = services
        .iter()
        .map(|s| s.to_uppercase().replace('-', "_"))
        .collect();
    env.keys()
        .filter(|key| {
            prefixes.iter().any(|p| {
                key.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with("_SERVICE_") || rest.starts_with("_PORT"))
            })
        })
        .map(String::as_str)
        .collect()
}

/// Same-origin asset paths (`href="/..."`, `src="/..."`) an HTML page refers to.
pub fn html_asset_paths(html: &str) -> Vec<String> {
    let mut paths = BTreeSet::new();
    for attribute in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            let Some(end) = rest.find('"') else { break };
            let value = &rest[..end];
            rest = &rest[end..];
            if value.starts_with('/')
                && !value.starts_with("//")
                && value.len() > 1
                && !value.starts_with("/proxy/")
                && !value.starts_with("/question/")
            {
                paths.insert(value.to_owned());
            }
        }
    }
    paths.into_iter().collect()
}

#[cfg(test)]
mod tests;
