//! Reading what the services print: kiada's text page, the identity lines of quote
//! and quiz, quiz's `/stats`, the assets an HTML page refers to, and what the toolbox
//! shows of a pod: `/etc/resolv.conf` and `env`.

use std::collections::{BTreeMap, BTreeSet};

/// kiada's text page, split into its sections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextPage {
    pub title: String,
    pub tip: String,
    pub question: String,
    pub answers: Vec<String>,
    pub question_id: Option<u64>,
    pub pod_name: Option<String>,
    pub node_name: Option<String>,
    pub hostname: Option<String>,
    pub pod_ip: Option<String>,
    pub node_ip: Option<String>,
    pub client_ip: Option<String>,
    /// The `Served by:` line below the request info; `None` when the page has none.
    pub served_by: Option<ServedByLine>,
    /// Lines starting with `ERROR:` anywhere on the page.
    pub errors: Vec<String>,
}

impl TextPage {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut page = TextPage {
            title: text.lines().next().unwrap_or("").trim().to_owned(),
            ..Default::default()
        };
        if page.title.is_empty() {
            return Err("the page is empty".into());
        }
        let mut section: Option<String> = None;
        let mut sections_seen = Vec::new();
        let mut tip_lines = Vec::new();
        let mut question_lines = Vec::new();
        for line in text.lines().skip(1) {
            let trimmed = line.trim_end();
            if let Some(name) = trimmed.strip_prefix("==== ") {
                section = Some(name.trim().to_owned());
                sections_seen.push(name.trim().to_owned());
                continue;
            }
            if trimmed.starts_with("ERROR:") {
                page.errors.push(trimmed.to_owned());
            }
            match section.as_deref() {
                Some("TIP OF THE MINUTE") if !trimmed.is_empty() => {
                    tip_lines.push(trimmed.to_owned());
                }
                Some("POP QUIZ") => {
                    if let Some(rest) = trimmed.strip_prefix("Submit your answer to /question/") {
                        page.question_id = rest.split('/').next().and_then(|id| id.parse().ok());
                    } else if let Some(answer) = answer_line(trimmed, page.answers.len()) {
                        page.answers.push(answer);
                    } else if !trimmed.is_empty() && page.answers.is_empty() {
                        question_lines.push(trimmed.to_owned());
                    }
                }
                Some("REQUEST INFO") => {
                    if let Some(rest) = trimmed.strip_prefix("Request processed by Kiada") {
                        let quoted = quoted_strings(rest);
                        page.pod_name = quoted.first().cloned();
                        page.node_name = quoted.get(1).cloned();
                    } else if let Some(rest) = trimmed.strip_prefix("Served by: ") {
                        page.served_by = Some(ServedByLine::parse(rest));
                    } else if trimmed.starts_with("Pod hostname:") {
                        for field in trimmed.split("; ") {
                            if let Some((key, value)) = field.split_once(": ") {
                                let value = Some(value.trim().to_owned());
                                match key.trim() {
                                    "Pod hostname" => page.hostname = value,
                                    "Pod IP" => page.pod_ip = value,
                                    "Node IP" => page.node_ip = value,
                                    "Client IP" => page.client_ip = value,
                                    _ => {}
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for expected in ["TIP OF THE MINUTE", "POP QUIZ", "REQUEST INFO"] {
            if !sections_seen.iter().any(|s| s == expected) {
                return Err(format!("the page has no \"==== {expected}\" section"));
            }
        }
        page.tip = tip_lines.join("\n");
        page.question = question_lines.join("\n");
        Ok(page)
    }
}

/// The page's `Served by:` line: which backend pod, on which node, served the tip and
/// the question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServedByLine {
    /// `None` when the line says `no tip (quote failed)` (or names no pod).
    pub tip: Option<ServedBy>,
    pub question: Option<ServedBy>,
}

/// `tip from quote pod "quote-002" on node "kiada-worker"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedBy {
    /// The Service kiada called, as the page names it (`quote`, `quiz`).
    pub service: String,
    pub pod: String,
    pub node: String,
}

impl ServedByLine {
    /// What follows `Served by: `: `tip from quote pod "P" on node "N"; question from
    /// quiz pod "Q" on node "M".` (either part may be `no tip (quote failed)`).
    pub fn parse(rest: &str) -> Self {
        let mut line = ServedByLine::default();
        for part in rest.trim().trim_end_matches('.').split("; ") {
            let Some((what, from)) = part.split_once(" from ") else {
                continue;
            };
            let quoted = quoted_strings(from);
            let (Some(service), [pod, node, ..]) =
                (from.split_whitespace().next(), quoted.as_slice())
            else {
                continue;
            };
            let by = Some(ServedBy {
                service: service.to_owned(),
                pod: pod.clone(),
                node: node.clone(),
            });
            match what.trim() {
                "tip" => line.tip = by,
                "question" => line.question = by,
                _ => {}
            }
        }
        line
    }
}

/// `N) answer` where N is the expected next index.
fn answer_line(line: &str, expected_index: usize) -> Option<String> {
    let (index, answer) = line.split_once(") ")?;
    (index.parse::<usize>().ok()? == expected_index).then(|| answer.to_owned())
}

/// The contents of the double-quoted strings in a line, in order.
fn quoted_strings(line: &str) -> Vec<String> {
    line.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect()
}

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
    let host = if cluster_ip.contains(':') {
        format!("[{cluster_ip}]")
    } else {
        cluster_ip.to_owned()
    };
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
