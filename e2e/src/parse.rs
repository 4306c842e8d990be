//! Reading what the services and the toolbox commands print: kiada's text page, the
//! identity lines of quote and quiz, busybox `nslookup`, `/etc/resolv.conf`, `env`,
//! quiz's `/stats` and the assets an HTML page refers to.

use std::collections::{BTreeMap, BTreeSet};

/// The marker the in-pod request loops print for a request that got no answer.
pub const NO_ANSWER: &str = "E2E-NO-ANSWER";

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

/// What a loop of requests from inside a pod saw: the quote pods that answered, how
/// often each, and how many requests got no answer (or an unexpected one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub pods: BTreeMap<String, usize>,
    pub no_answer: usize,
    pub unexpected: Vec<String>,
}

impl Tally {
    pub fn answered(&self) -> usize {
        self.pods.values().sum()
    }

    pub fn describe(&self) -> String {
        let pods: Vec<String> = self.pods.iter().map(|(p, n)| format!("{p}×{n}")).collect();
        let mut out = format!("{} answers from [{}]", self.answered(), pods.join(", "));
        if self.no_answer > 0 {
            out.push_str(&format!(", {} without answer", self.no_answer));
        }
        if !self.unexpected.is_empty() {
            out.push_str(&format!(
                ", {} unexpected lines (first: {:?})",
                self.unexpected.len(),
                self.unexpected[0]
            ));
        }
        out
    }
}

/// Counts quote identity lines in the output of a request loop.
pub fn tally_quote_lines(output: &str) -> Tally {
    tally_lines(output, |line| quote_identity(line).map(|(pod, _node)| pod))
}

/// Counts quiz identity lines in the output of a request loop.
pub fn tally_quiz_lines(output: &str) -> Tally {
    tally_lines(output, quiz_identity)
}

fn tally_lines(output: &str, pod_of: impl Fn(&str) -> Option<String>) -> Tally {
    let mut tally = Tally::default();
    for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == NO_ANSWER {
            tally.no_answer += 1;
        } else if let Some(pod) = pod_of(line) {
            *tally.pods.entry(pod).or_default() += 1;
        } else {
            tally.unexpected.push(line.to_owned());
        }
    }
    tally
}

/// The addresses busybox `nslookup` printed for the name asked about (not the
/// server's own address). Handles both the old (`Address 1: IP name`) and the new
/// (`Name:` then `Address: IP`) formats.
pub fn nslookup_addresses(output: &str) -> Vec<String> {
    let mut addresses = Vec::new();
    let mut in_answer = false;
    for line in output.lines().map(str::trim) {
        if line.starts_with("Name:") {
            in_answer = true;
            continue;
        }
        if line.is_empty() || line.starts_with("Server:") || line.starts_with("***") {
            if line.starts_with("Server:") {
                in_answer = false;
            }
            continue;
        }
        if in_answer && line.starts_with("Address") {
            if let Some((_, rest)) = line.split_once(':')
                && let Some(address) = rest.split_whitespace().next()
                && address.parse::<std::net::IpAddr>().is_ok()
                && !addresses.iter().any(|a| a == address)
            {
                addresses.push(address.to_owned());
            }
        } else if !line.starts_with("Address") {
            in_answer = false;
        }
    }
    addresses
}

/// The address busybox `wget` connected to, from its `Connecting to HOST (IP:PORT)`
/// line on stderr: how the pod's own resolver (search list and ndots included)
/// resolved the name.
pub fn wget_connect_ip(output: &str) -> Option<String> {
    let line = output
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Connecting to "))?;
    let inner = &line[line.rfind('(')? + 1..line.rfind(')')?];
    let host = match inner.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => inner,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>().ok()?;
    Some(host.to_owned())
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

/// The total number of answers in quiz's `/stats` JSON. Accepts the shapes a stats
/// document plausibly has: a `totals`/`total` object with an `answers`-like count, a
/// top-level `totalAnswers`/`answers` number, or else the sum of per-question counts.
pub fn stats_total_answers(stats: &serde_json::Value) -> Option<u64> {
    const COUNT_KEYS: &[&str] = &[
        "answers",
        "answered",
        "answerCount",
        "answersPosted",
        "posted",
        "count",
        "total",
    ];
    for totals_key in ["totals", "total"] {
        if let Some(totals) = stats.get(totals_key) {
            if let Some(n) = totals.as_u64() {
                return Some(n);
            }
            for key in COUNT_KEYS {
                if let Some(n) = totals.get(*key).and_then(serde_json::Value::as_u64) {
                    return Some(n);
                }
            }
        }
    }
    for key in ["totalAnswers", "total_answers", "answersTotal", "answers"] {
        if let Some(n) = stats.get(key).and_then(serde_json::Value::as_u64) {
            return Some(n);
        }
    }
    // Per-question entries: an array, or an object keyed by id, under "questions"
    // (or the document itself when it is an array).
    let entries: Vec<&serde_json::Value> = match stats.get("questions").unwrap_or(stats) {
        serde_json::Value::Array(items) => items.iter().collect(),
        serde_json::Value::Object(map) if stats.get("questions").is_some() => {
            map.values().collect()
        }
        _ => return None,
    };
    let mut sum = 0;
    let mut found = false;
    for entry in entries {
        if let Some(n) = COUNT_KEYS
            .iter()
            .find_map(|key| entry.get(*key).and_then(serde_json::Value::as_u64))
        {
            sum += n;
            found = true;
        }
    }
    found.then_some(sum)
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

/// Shell-quotes a value for `sh -c` (single quotes).
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A shell loop that sends `count` GET requests to `url` with busybox wget (each
/// bounded by `timeout 5`), one answer line per request, or [`NO_ANSWER`].
pub fn request_loop(url: &str, count: u32) -> String {
    format!(
        "i=0; while [ $i -lt {count} ]; do out=$(timeout 5 wget -qO- {url} 2>/dev/null) && [ -n \"$out\" ] && echo \"$out\" || echo {NO_ANSWER}; i=$((i+1)); done",
        url = shell_quote(url)
    )
}

/// The first word of each answer line of [`load_loop`].
pub const LOAD_ANSWER: &str = "E2E-LOAD";
/// The first word of the closing line of [`load_loop`], followed by the request count.
pub const LOAD_END: &str = "E2E-LOAD-END";

/// A shell loop for the toolbox that keeps sending GET requests to `url` until `max`
/// requests are sent or `seconds` have passed. Each round is one curl process that
/// sends `batch` requests one after the other, each on a new connection (`Connection:
/// close`, so the Service balances every request) and bounded by `--max-time 5`; a
/// pause of `pause_ms` follows each round. It prints `E2E-LOAD <status> <X-Pod-Name>`
/// per request (status 000 when no HTTP answer came) and `E2E-LOAD-END <count>` last.
pub fn load_loop(url: &str, seconds: u32, max: u32, batch: u32, pause_ms: u32) -> String {
    let targets = vec![format!("-o /dev/null {}", shell_quote(url)); batch.max(1) as usize];
    format!(
        "end=$(($(date +%s) + {seconds})); i=0; while [ $i -lt {max} ] && [ $(date +%s) -lt $end ]; do curl -s --max-time 5 -H 'Connection: close' -w '{LOAD_ANSWER} %{{http_code}} %header{{x-pod-name}}\\n' {targets} 2>/dev/null; i=$((i+{batch})); usleep {pause_us}; done; echo \"{LOAD_END} $i\"",
        targets = targets.join(" "),
        batch = batch.max(1),
        pause_us = u64::from(pause_ms) * 1000
    )
}

/// One answer of [`load_loop`]: the HTTP status (0 when none came) and the pod that
/// answered, from its `X-Pod-Name` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadAnswer {
    pub status: u16,
    pub pod: Option<String>,
}

/// What one line of [`load_loop`]'s output is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadLine {
    Answer(LoadAnswer),
    /// The closing line, with the number of requests the loop sent.
    End(usize),
    Other(String),
}

pub fn load_line(line: &str) -> LoadLine {
    let mut words = line.split_whitespace();
    let first = words.next();
    let second = words.next();
    let third = words.next();
    let rest = words.next();
    match (first, second, third, rest) {
        (Some(LOAD_END), Some(count), None, None) => match count.parse() {
            Ok(count) => LoadLine::End(count),
            Err(_) => LoadLine::Other(line.to_owned()),
        },
        (Some(LOAD_ANSWER), Some(status), pod, None)
            if status.len() == 3 && status.chars().all(|c| c.is_ascii_digit()) =>
        {
            LoadLine::Answer(LoadAnswer {
                status: status.parse().unwrap_or(0),
                pod: pod.map(str::to_owned),
            })
        }
        _ => LoadLine::Other(line.to_owned()),
    }
}

/// Counts of a run of [`LoadAnswer`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadTally {
    pub requests: usize,
    /// Answers by HTTP status (0: no answer).
    pub statuses: BTreeMap<u16, usize>,
    /// Answers by the pod that sent them.
    pub pods: BTreeMap<String, usize>,
}

impl LoadTally {
    pub fn add(&mut self, answer: &LoadAnswer) {
        self.requests += 1;
        *self.statuses.entry(answer.status).or_default() += 1;
        if let Some(pod) = &answer.pod {
            *self.pods.entry(pod.clone()).or_default() += 1;
        }
    }

    /// Requests that did not get a 200.
    pub fn failed(&self) -> usize {
        self.requests - self.statuses.get(&200).copied().unwrap_or(0)
    }

    pub fn served_by(&self, pod: &str) -> usize {
        self.pods.get(pod).copied().unwrap_or(0)
    }

    /// `12 requests, 11 × 200, 1 × 000; by pod: a×6, b×5`.
    pub fn describe(&self) -> String {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{n} × {status:03}"))
            .collect();
        let pods: Vec<String> = self.pods.iter().map(|(p, n)| format!("{p}×{n}")).collect();
        format!(
            "{} requests, {}; by pod: {}",
            self.requests,
            if statuses.is_empty() {
                "no answers".to_owned()
            } else {
                statuses.join(", ")
            },
            if pods.is_empty() {
                "none".to_owned()
            } else {
                pods.join(", ")
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "KUBERNETES IN ACTION DEMO APPLICATION v0.1.0

==== TIP OF THE MINUTE
Use kubectl explain pod.spec to read the docs offline.

==== POP QUIZ
Which object gives a set of pods one stable address?
0) A ConfigMap
1) A Service
2) A Secret

Submit your answer to /question/7/answers/<index of answer> using the POST method.

==== REQUEST INFO
Request processed by Kiada 0.1.0 running in pod \"kiada-001\" on node \"kind-control-plane\".
Pod hostname: kiada-001; Pod IP: 10.244.0.12; Node IP: 172.18.0.2; Client IP: 127.0.0.1
Served by: tip from quote pod \"quote-002\" on node \"kind-control-plane\"; question from quiz pod \"quiz\" on node \"kind-control-plane\".
This is the stable release of Kiada.

HTML version of this content is available at /html
";

    #[test]
    fn parses_the_text_page() {
        let page = TextPage::parse(PAGE).unwrap();
        assert_eq!(page.title, "KUBERNETES IN ACTION DEMO APPLICATION v0.1.0");
        assert_eq!(
            page.tip,
            "Use kubectl explain pod.spec to read the docs offline."
        );
        assert_eq!(
            page.question,
            "Which object gives a set of pods one stable address?"
        );
        assert_eq!(page.answers, ["A ConfigMap", "A Service", "A Secret"]);
        assert_eq!(page.question_id, Some(7));
        assert_eq!(page.pod_name.as_deref(), Some("kiada-001"));
        assert_eq!(page.node_name.as_deref(), Some("kind-control-plane"));
        assert_eq!(page.hostname.as_deref(), Some("kiada-001"));
        assert_eq!(page.pod_ip.as_deref(), Some("10.244.0.12"));
        assert_eq!(page.node_ip.as_deref(), Some("172.18.0.2"));
        assert_eq!(page.client_ip.as_deref(), Some("127.0.0.1"));
        assert!(page.errors.is_empty());
    }

    #[test]
    fn text_page_with_backend_errors() {
        let page = TextPage::parse(
            "TITLE v1\n\n==== TIP OF THE MINUTE\nERROR: quote: connection refused\n\n==== POP QUIZ\nERROR: quiz: timed out\n\n==== REQUEST INFO\nRequest processed by Kiada 1 running in pod \"p\" on node \"n\".\n",
        )
        .unwrap();
        assert_eq!(page.errors.len(), 2);
        assert!(page.answers.is_empty());
        assert_eq!(page.question_id, None);
        assert_eq!(page.pod_name.as_deref(), Some("p"));
        assert!(TextPage::parse("").is_err());
        assert!(TextPage::parse("TITLE\n==== TIP OF THE MINUTE\nx\n").is_err());
    }

    #[test]
    fn identity_lines() {
        assert_eq!(
            quote_identity(
                "This is the quote service running in pod quote-001 on node kiada-node\n"
            ),
            Some(("quote-001".into(), "kiada-node".into()))
        );
        assert_eq!(quote_identity("hello"), None);
        assert_eq!(
            quiz_identity("This is the quiz service running in pod quiz\n"),
            Some("quiz".into())
        );
        assert_eq!(
            quiz_identity("This is the quote service running in pod x"),
            None
        );
    }

    #[test]
    fn tallies_request_loops() {
        let output = format!(
            "This is the quote service running in pod quote-001 on node n\nThis is the quote service running in pod quote-002 on node n\n{NO_ANSWER}\nThis is the quote service running in pod quote-001 on node n\n<html>oops\n\n"
        );
        let quiz = tally_quiz_lines(&format!(
            "This is the quiz service running in pod quiz\nThis is the quiz service running in pod quiz-canary\n{NO_ANSWER}\n"
        ));
        assert_eq!(quiz.pods["quiz"], 1);
        assert_eq!(quiz.pods["quiz-canary"], 1);
        assert_eq!(quiz.no_answer, 1);
        let tally = tally_quote_lines(&output);
        assert_eq!(tally.pods.len(), 2);
        assert_eq!(tally.pods["quote-001"], 2);
        assert_eq!(tally.answered(), 3);
        assert_eq!(tally.no_answer, 1);
        assert_eq!(tally.unexpected, ["<html>oops"]);
        let text = tally.describe();
        assert!(
            text.contains("quote-001×2") && text.contains("1 without answer"),
            "{text}"
        );
    }

    #[test]
    fn nslookup_new_format() {
        let output = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tquiz.e2e.svc.cluster.local\nAddress: 10.96.23.4\n\n*** Can't find quiz.e2e.svc.cluster.local: No answer\n\n";
        assert_eq!(nslookup_addresses(output), ["10.96.23.4"]);
    }

    #[test]
    fn nslookup_with_search_domains() {
        // busybox 1.35 for a dotless name: every search domain, A and AAAA.
        let output = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nNon-authoritative answer:\nName:\tquiz.ns1.svc.cluster.local\nAddress: 10.96.7.7\n\n** server can't find quiz.svc.cluster.local: NXDOMAIN\n\n** server can't find quiz.cluster.local: NXDOMAIN\n\n** server can't find quiz.ns1.svc.cluster.local: NXDOMAIN\n";
        assert_eq!(nslookup_addresses(output), ["10.96.7.7"]);
    }

    #[test]
    fn nslookup_old_format_and_failures() {
        let old = "Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\nName:      quiz\nAddress 1: 10.96.23.4 quiz.e2e.svc.cluster.local\n";
        assert_eq!(nslookup_addresses(old), ["10.96.23.4"]);
        let failed = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n** server can't find quiz.nowhere: NXDOMAIN\n";
        assert!(nslookup_addresses(failed).is_empty());
        let v6 = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tq\nAddress: fd00:10:96::a\nName:\tq\nAddress: 10.96.0.7\n";
        assert_eq!(nslookup_addresses(v6), ["fd00:10:96::a", "10.96.0.7"]);
    }

    #[test]
    fn wget_connect_lines() {
        let out = "Connecting to quiz.ns1:8099 (10.96.7.7:8099)\nwriting to stdout\n-    100% |****|    99  0:00:00 ETA\nwritten to stdout\n";
        assert_eq!(wget_connect_ip(out).as_deref(), Some("10.96.7.7"));
        assert_eq!(
            wget_connect_ip("Connecting to quiz (10.96.0.12:80)\n").as_deref(),
            Some("10.96.0.12")
        );
        assert_eq!(
            wget_connect_ip("Connecting to q ([fd00::a]:80)\n").as_deref(),
            Some("fd00::a")
        );
        assert_eq!(wget_connect_ip("wget: bad address 'quiz.nowhere'\n"), None);
    }

    #[test]
    fn resolv_conf() {
        let conf = ResolvConf::parse(
            "search e2e-1.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
        );
        assert_eq!(conf.nameservers, ["10.96.0.10"]);
        assert_eq!(conf.options, ["ndots:5"]);
        assert_eq!(
            conf.cluster_domain("e2e-1").as_deref(),
            Some("cluster.local")
        );
        assert!(conf.has_kubernetes_search("e2e-1", "cluster.local"));
        assert!(!conf.has_kubernetes_search("other", "cluster.local"));
        let custom =
            ResolvConf::parse("search ns.svc.corp.example svc.corp.example corp.example lan\n");
        assert_eq!(custom.cluster_domain("ns").as_deref(), Some("corp.example"));
        assert!(custom.has_kubernetes_search("ns", "corp.example"));
        assert_eq!(ResolvConf::parse("").cluster_domain("ns"), None);
    }

    #[test]
    fn service_environment() {
        let expected = expected_service_env(
            "quiz",
            "10.96.5.6",
            &[EnvPort {
                name: Some("http".into()),
                port: 80,
                protocol: "TCP".into(),
            }],
        );
        let want: BTreeMap<String, String> = [
            ("QUIZ_SERVICE_HOST", "10.96.5.6"),
            ("QUIZ_SERVICE_PORT", "80"),
            ("QUIZ_SERVICE_PORT_HTTP", "80"),
            ("QUIZ_PORT", "tcp://10.96.5.6:80"),
            ("QUIZ_PORT_80_TCP", "tcp://10.96.5.6:80"),
            ("QUIZ_PORT_80_TCP_PROTO", "tcp"),
            ("QUIZ_PORT_80_TCP_PORT", "80"),
            ("QUIZ_PORT_80_TCP_ADDR", "10.96.5.6"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(expected, want);

        let env = parse_env(
            "PATH=/bin\nQUIZ_SERVICE_HOST=10.96.5.6\nQUIZ_SERVICE_PORT=8080\nHOSTNAME=client\nnot a var\nA=b=c\n",
        );
        assert_eq!(env["A"], "b=c");
        let mismatches = env_mismatches(&env, &want);
        assert!(mismatches.contains(&"QUIZ_SERVICE_PORT=8080, expected 80".to_owned()));
        assert!(mismatches.contains(&"QUIZ_PORT is missing".to_owned()));
        assert!(
            !mismatches
                .iter()
                .any(|m| m.starts_with("QUIZ_SERVICE_HOST"))
        );

        let links = service_link_vars(&env, &["quiz", "quote", "kiada-x"]);
        assert_eq!(links, ["QUIZ_SERVICE_HOST", "QUIZ_SERVICE_PORT"]);
        let none = parse_env("KUBERNETES_SERVICE_HOST=10.96.0.1\nQUIZ_URL=http://quiz\n");
        assert!(service_link_vars(&none, &["quiz", "quote", "kiada"]).is_empty());
        assert!(expected_service_env("x", "1.2.3.4", &[]).is_empty());
    }

    #[test]
    fn stats_shapes() {
        use serde_json::json;
        assert_eq!(
            stats_total_answers(&json!({"totals": {"answers": 5, "correct": 2}})),
            Some(5)
        );
        assert_eq!(
            stats_total_answers(&json!({"total": {"answered": 3}})),
            Some(3)
        );
        assert_eq!(stats_total_answers(&json!({"totalAnswers": 4})), Some(4));
        assert_eq!(
            stats_total_answers(
                &json!({"questions": [{"id": 1, "answers": 2, "correct": 1}, {"id": 2, "answers": 1}]})
            ),
            Some(3)
        );
        assert_eq!(
            stats_total_answers(
                &json!({"questions": {"1": {"answered": 2}, "2": {"answered": 0}}})
            ),
            Some(2)
        );
        assert_eq!(
            stats_total_answers(&json!([{"id": 1, "count": 6}])),
            Some(6)
        );
        assert_eq!(stats_total_answers(&json!({"hello": "world"})), None);
        // What quiz serves.
        assert_eq!(
            stats_total_answers(
                &json!({"questions": [{"id": 1, "answers": 3, "correct": 1}], "totals": {"answers": 3, "correct": 1}})
            ),
            Some(3)
        );
    }

    #[test]
    fn html_assets() {
        let html = r#"<html><head><link rel="stylesheet" href="/static/style.css"><link rel="icon" href="/favicon.ico"></head>
<body><img src="/static/cover.png"><a href="/text">text</a><a href="https://example.org/">x</a><a href="//cdn/x">y</a>
<script src="/static/app.js"></script><a href="/proxy/quote">q</a></body></html>"#;
        assert_eq!(
            html_asset_paths(html),
            [
                "/favicon.ico",
                "/static/app.js",
                "/static/cover.png",
                "/static/style.css",
                "/text"
            ]
        );
    }

    #[test]
    fn load_loop_script() {
        let script = load_loop("http://kiada/text", 30, 2000, 3, 20);
        assert_eq!(
            script,
            "end=$(($(date +%s) + 30)); i=0; while [ $i -lt 2000 ] && [ $(date +%s) -lt $end ]; do \
             curl -s --max-time 5 -H 'Connection: close' -w 'E2E-LOAD %{http_code} %header{x-pod-name}\\n' \
             -o /dev/null 'http://kiada/text' -o /dev/null 'http://kiada/text' -o /dev/null 'http://kiada/text' 2>/dev/null; \
             i=$((i+3)); usleep 20000; done; echo \"E2E-LOAD-END $i\""
        );
        // At least one request a round.
        assert!(load_loop("http://q/", 1, 1, 0, 0).contains("i=$((i+1))"));
    }

    #[test]
    fn load_lines() {
        assert_eq!(
            load_line("E2E-LOAD 200 kiada-001"),
            LoadLine::Answer(LoadAnswer {
                status: 200,
                pod: Some("kiada-001".into())
            })
        );
        // No HTTP answer: curl writes 000 and no header.
        assert_eq!(
            load_line("E2E-LOAD 000 "),
            LoadLine::Answer(LoadAnswer {
                status: 0,
                pod: None
            })
        );
        assert_eq!(load_line("E2E-LOAD-END 412"), LoadLine::End(412));
        assert_eq!(
            load_line("E2E-LOAD-END many"),
            LoadLine::Other("E2E-LOAD-END many".into())
        );
        assert_eq!(
            load_line("E2E-LOAD 20x p"),
            LoadLine::Other("E2E-LOAD 20x p".into())
        );
        assert_eq!(
            load_line("E2E-LOAD 200 a b"),
            LoadLine::Other("E2E-LOAD 200 a b".into())
        );
        assert_eq!(
            load_line("curl: (7) refused"),
            LoadLine::Other("curl: (7) refused".into())
        );
    }

    #[test]
    fn load_tallies() {
        let mut tally = LoadTally::default();
        assert_eq!(tally.describe(), "0 requests, no answers; by pod: none");
        for line in [
            "E2E-LOAD 200 kiada-001",
            "E2E-LOAD 200 kiada-drain",
            "E2E-LOAD 503 kiada-drain",
            "E2E-LOAD 000",
            "E2E-LOAD 200 kiada-001",
        ] {
            let LoadLine::Answer(answer) = load_line(line) else {
                panic!("{line}")
            };
            tally.add(&answer);
        }
        assert_eq!(tally.requests, 5);
        assert_eq!(tally.failed(), 2);
        assert_eq!(tally.served_by("kiada-drain"), 2);
        assert_eq!(tally.served_by("kiada-002"), 0);
        assert_eq!(
            tally.describe(),
            "5 requests, 1 × 000, 3 × 200, 1 × 503; by pod: kiada-001×2, kiada-drain×2"
        );
    }

    #[test]
    fn shell_snippets() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        let script = request_loop("http://quote/", 3);
        assert!(script.contains("-lt 3"));
        assert!(script.contains("timeout 5 wget -qO- 'http://quote/'"));
        assert!(script.contains(NO_ANSWER));
    }
}
