//! Reading the DNS records busybox `nslookup` shows beyond addresses: SRV answers,
//! CNAMEs, and a name that does not exist.

use super::{shell_quote, unique};

/// busybox `nslookup -type=SRV name`, bounded by `timeout 10`, read by [`srv_records`].
/// Give it an FQDN: busybox tries every search domain for a shorter name.
pub fn nslookup_srv(name: &str) -> String {
    format!(
        "timeout 10 nslookup -type=SRV {} 2>&1 || true",
        shell_quote(name)
    )
}

/// One SRV answer as busybox `nslookup -type=SRV` prints it:
/// `NAME\tservice = PRIORITY WEIGHT PORT TARGET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// The target host, without the trailing dot.
    pub target: String,
}

/// The SRV answers in busybox `nslookup -type=SRV` output (each once).
pub fn srv_records(output: &str) -> Vec<SrvRecord> {
    unique(output.lines().filter_map(|line| {
        let (_, rest) = line.split_once("service = ")?;
        let words: Vec<&str> = rest.split_whitespace().collect();
        let &[priority, weight, port, target] = words.as_slice() else {
            return None;
        };
        Some(SrvRecord {
            priority: priority.parse().ok()?,
            weight: weight.parse().ok()?,
            port: port.parse().ok()?,
            target: target.trim_end_matches('.').to_owned(),
        })
    }))
}

/// The CNAMEs in busybox `nslookup` output, `NAME\tcanonical name = TARGET`, as
/// (name, target) pairs without trailing dots (each once).
pub fn nslookup_cnames(output: &str) -> Vec<(String, String)> {
    let bare = |name: &str| name.trim().trim_end_matches('.').to_owned();
    unique(output.lines().filter_map(|line| {
        let (name, target) = line.split_once("canonical name = ")?;
        Some((bare(name), bare(target)))
    }))
}

/// Whether busybox `nslookup` output says the name does not exist.
pub fn nslookup_nxdomain(output: &str) -> bool {
    output
        .lines()
        .any(|line| line.contains("can't find") && line.contains("NXDOMAIN"))
}
