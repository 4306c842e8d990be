//! The shell loops the checks run inside the pods (busybox `wget` request loops, the
//! `curl` load loop, `wget`/`nslookup` probes of a name) and the readers of what those
//! loops print. What the services themselves print is read in [`crate::parse`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::net::{IpAddr, SocketAddr};

use crate::parse::{quiz_identity, quote_identity};

mod dns;

pub use dns::{SrvRecord, nslookup_cnames, nslookup_nxdomain, nslookup_srv, srv_records};

/// The marker the in-pod request loops print for a request that got no answer.
pub const NO_ANSWER: &str = "E2E-NO-ANSWER";

/// `a×6, b×5`: how often each pod answered (or each status came).
pub fn counts<K: Display>(by_key: &BTreeMap<K, usize>) -> String {
    let counts: Vec<String> = by_key.iter().map(|(key, n)| format!("{key}×{n}")).collect();
    counts.join(", ")
}

/// Shell-quotes a value for `sh -c` (single quotes).
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// One GET of `url` with busybox wget, bounded by `timeout 5`; prints the body.
pub fn wget_get(url: &str) -> String {
    format!("timeout 5 wget -qO- {}", shell_quote(url))
}

/// One POST of the JSON `body` to `url` with busybox wget, bounded by `timeout 5`.
pub fn wget_post_json(url: &str, body: &str) -> String {
    format!(
        "timeout 5 wget -qO- --header 'Content-Type: application/json' --post-data {} {}",
        shell_quote(body),
        shell_quote(url)
    )
}

/// One GET of `url` with busybox wget that prints only wget's own lines (stderr),
/// whatever the answer: its `Connecting to` line is read by [`wget_connect_ip`].
pub fn wget_connect(url: &str) -> String {
    format!(
        "timeout 5 wget -O- {} 2>&1 >/dev/null || true",
        shell_quote(url)
    )
}

/// busybox `nslookup name`, bounded by `timeout 10`, read by [`nslookup_addresses`].
pub fn nslookup(name: &str) -> String {
    format!("timeout 10 nslookup {} 2>&1 || true", shell_quote(name))
}

/// The marker [`curl_loop`] prints for a request that got no answer, followed by
/// curl's exit status (28: timed out, 7: refused).
pub const CURL_FAILED: &str = "E2E-CURL-FAILED";

/// A shell loop that sends `count` GET requests to `url` with curl, each on a new
/// connection and bounded by `--max-time {max_time}`: one line per request, the
/// answer or `E2E-CURL-FAILED <exit status>`.
pub fn curl_loop(url: &str, count: u32, max_time: u32) -> String {
    format!(
        "i=0; while [ $i -lt {count} ]; do out=$(curl -s --max-time {max_time} {url} 2>/dev/null); rc=$?; if [ $rc -eq 0 ] && [ -n \"$out\" ]; then echo \"$out\"; else echo \"{CURL_FAILED} $rc\"; fi; i=$((i+1)); done",
        url = shell_quote(url)
    )
}

/// What a [`curl_loop`] printed: the answer lines, and the failed requests by curl's
/// exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurlLoop {
    pub answers: Vec<String>,
    pub failures: BTreeMap<i32, usize>,
}

impl CurlLoop {
    pub fn read(output: &str) -> Self {
        let mut read = Self::default();
        for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.strip_prefix(CURL_FAILED) {
                Some(status) => {
                    let status = status.trim().parse().unwrap_or(-1);
                    *read.failures.entry(status).or_default() += 1;
                }
                None => read.answers.push(line.to_owned()),
            }
        }
        read
    }

    pub fn failed(&self) -> usize {
        self.failures.values().sum()
    }

    /// `10 answered, 2 failed (exit 28×2)`.
    pub fn describe(&self) -> String {
        let answered = format!("{} answered", self.answers.len());
        match self.failed() {
            0 => answered,
            failed => format!(
                "{answered}, {failed} failed (exit {})",
                counts(&self.failures)
            ),
        }
    }
}

/// A shell loop that sends `count` GET requests to `url` with busybox wget (each
/// bounded by `timeout 5`), one answer line per request, or [`NO_ANSWER`].
pub fn request_loop(url: &str, count: u32) -> String {
    format!(
        "i=0; while [ $i -lt {count} ]; do out=$(timeout 5 wget -qO- {url} 2>/dev/null) && [ -n \"$out\" ] && echo \"$out\" || echo {NO_ANSWER}; i=$((i+1)); done",
        url = shell_quote(url)
    )
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
    /// Adds the counts of another tally to this one.
    pub fn merge(&mut self, other: Tally) {
        for (pod, n) in other.pods {
            *self.pods.entry(pod).or_default() += n;
        }
        self.no_answer += other.no_answer;
        self.unexpected.extend(other.unexpected);
    }

    pub fn answered(&self) -> usize {
        self.pods.values().sum()
    }

    /// Every request answered, by a quote or quiz pod.
    pub fn is_clean(&self) -> bool {
        self.no_answer == 0 && self.unexpected.is_empty()
    }

    /// The pods that answered.
    pub fn seen(&self) -> BTreeSet<String> {
        self.pods.keys().cloned().collect()
    }

    pub fn describe(&self) -> String {
        let mut out = format!("{} answers from [{}]", self.answered(), counts(&self.pods));
        if self.no_answer > 0 {
            out.push_str(&format!(", {} without answer", self.no_answer));
        }
        if let Some(first) = self.unexpected.first() {
            let n = self.unexpected.len();
            out.push_str(&format!(", {n} unexpected lines (first: {first:?})"));
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
        } else if line.starts_with("Address") {
            if in_answer
                && let Some((_, rest)) = line.split_once(':')
                && let Some(address) = rest.split_whitespace().next()
                && address.parse::<IpAddr>().is_ok()
            {
                addresses.push(address.to_owned());
            }
        } else if !line.is_empty() && !line.starts_with("***") {
            // Any other line (the next `Server:` included) ends the answer.
            in_answer = false;
        }
    }
    unique(addresses)
}

/// The items in their first order, each once.
fn unique<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut once = Vec::new();
    for item in items {
        if !once.contains(&item) {
            once.push(item);
        }
    }
    once
}

/// The address busybox `wget` connected to, from its `Connecting to HOST (IP:PORT)`
/// line on stderr: how the pod's own resolver (search list and ndots included)
/// resolved the name.
pub fn wget_connect_ip(output: &str) -> Option<String> {
    let line = output
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Connecting to "))?;
    // `get`, not indexing: a `)` before the `(` is no address, not a panic.
    let inner = line.get(line.rfind('(')? + 1..line.rfind(')')?)?;
    let ip = inner.parse::<SocketAddr>().map(|address| address.ip());
    Some(ip.or_else(|_| inner.parse::<IpAddr>()).ok()?.to_string())
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
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [LOAD_END, count] => count
            .parse()
            .map_or_else(|_| LoadLine::Other(line.to_owned()), LoadLine::End),
        [LOAD_ANSWER, status, pod @ ..]
            if pod.len() <= 1
                && status.len() == 3
                && status.chars().all(|c| c.is_ascii_digit()) =>
        {
            LoadLine::Answer(LoadAnswer {
                status: status.parse().unwrap_or(0),
                pod: pod.first().map(|pod| (*pod).to_owned()),
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

    /// `12 requests, by status (0: no answer): 0×1, 200×11; by pod: a×6, b×5`.
    pub fn describe(&self) -> String {
        let or_none = |counts: String| {
            if counts.is_empty() {
                "none".into()
            } else {
                counts
            }
        };
        format!(
            "{} requests, by status (0: no answer): {}; by pod: {}",
            self.requests,
            or_none(counts(&self.statuses)),
            or_none(counts(&self.pods))
        )
    }
}

#[cfg(test)]
mod tests;
