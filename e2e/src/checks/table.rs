//! The one table of checks: each one's name, what it proves, the checks inside it and
//! the function that runs it. The same table gives the order of a run, what `--only`
//! accepts and selects, and the list in `--help`. To add a check: write its function
//! in the module of its topic and add a row here.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use super::Run;

/// A check's future, boxed so that every row of the table has one type.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A check: a pass with what it saw, or why it failed.
pub type CheckFn = for<'a, 'r> fn(&'a Run<'r>) -> BoxFuture<'a, Result<String, String>>;
/// What a check leaves behind, deleted.
pub type CleanupFn = for<'a, 'r> fn(&'a Run<'r>) -> BoxFuture<'a, anyhow::Result<()>>;

/// How a row runs.
#[derive(Clone, Copy)]
pub enum Body {
    /// The deployment itself: always first, always run, needs the run mutably.
    Deploy,
    /// One check, recorded under the row's name.
    One(CheckFn),
    /// One check and its cleanup, which runs after it whether it passed or not; the
    /// two are recorded as one result by the one rule, [`super::after_cleanup`].
    Cleaned(CheckFn, CleanupFn),
    /// A group that records its own checks (`dns.short`, `dns.fqdn`, ...), or a
    /// single check that records its own result (see [`own`]).
    Group(for<'a, 'r> fn(&'a Run<'r>) -> BoxFuture<'a, ()>),
}

/// One row of [`CHECKS`].
#[derive(Clone, Copy)]
pub struct Check {
    pub name: &'static str,
    /// What a pass proves.
    pub proves: &'static str,
    /// The names of the checks a group records, each `<name>.<part>`; empty for a
    /// single check.
    pub parts: &'static [&'static str],
    pub body: Body,
}

/// Every check, in the order they run: name, the function, what it proves (and for a
/// group, the checks it records).
pub const CHECKS: &[Check] = &[
    Check {
        name: "deploy",
        proves: "the base deploys into a fresh restricted namespace and every pod gets ready (always runs)",
        parts: &[],
        body: Body::Deploy,
    },
    group(
        "quiz-steps",
        &["exposed", "selector", "port"],
        |run| Box::pin(run.quiz_steps()),
        "the quiz Service as `kubectl expose` makes it, with the selector set to app=quiz, then port 80 -> 8080, each verified by traffic",
    ),
    group(
        "services",
        &["quote", "quiz", "kiada"],
        |run| Box::pin(run.services()),
        "each Service has a cluster IP and its type, selector and ports match the manifests",
    ),
    one(
        "quiz-ip",
        |run| Box::pin(run.quiz_ip()),
        "the quiz Service's cluster IP answers with quiz's identity line from inside a pod",
    ),
    one(
        "quote-balance",
        |run| Box::pin(run.quote_balance()),
        "repeated requests to the quote Service reach every quote pod",
    ),
    one(
        "session-affinity",
        |run| Box::pin(run.session_affinity()),
        "with sessionAffinity: ClientIP every request from one pod reaches the same pod",
    ),
    group(
        "dns",
        &["resolv-conf", "short", "namespace", "svc", "fqdn"],
        |run| Box::pin(run.dns()),
        "resolv.conf has the search line; quiz, quiz.<ns>, quiz.<ns>.svc and the FQDN resolve to the cluster IP and answer",
    ),
    group(
        "env",
        &["service-links", "no-service-links"],
        |run| Box::pin(run.env()),
        "a pod created after the Services has the QUIZ_* service variables; one with enableServiceLinks: false has none",
    ),
    group(
        "chapter",
        &["quote-port-80", "ping", "labels"],
        |run| Box::pin(run.chapter()),
        "the quote pods answer on port 80 as user 65532, ping quiz from quote-001 and the client resolves the cluster IP and loses every packet, every pod carries exactly app and rel",
    ),
    group(
        "kiada",
        &["text", "html", "https", "answer"],
        |run| Box::pin(run.kiada()),
        "through an API port-forward: the text page (tip, question, request info equal to the API's), the HTML page, HTTPS with the Secret's certificate, an answer counted by quiz",
    ),
    group(
        "spread",
        &["new-connection", "reuse", "affinity"],
        |run| Box::pin(run.spread()),
        "kiada's /spread: 40 calls on new connections reach at least 3 of the 4 quote pods, 40 over one kept-alive connection exactly 1, and a kiada whose QUOTE_URL is the session-affinity Service exactly 1",
    ),
    one(
        "nodeport",
        |run| Box::pin(run.nodeport()),
        "kiada answers on its NodePort at the node's InternalIP",
    ),
    group(
        "multi-node",
        &[
            "quote-pods",
            "spread",
            "nodeport",
            "cross-node",
            "served-by",
        ],
        |run| Box::pin(run.multi_node()),
        "across nodes: the quote Service's ready endpoints on at least two nodes, kiada's spread view naming two, kiada's NodePort answering at every node's InternalIP, the client reaching quote pods on other nodes through the Service, kiada's pages naming nodes as the API does; skipped with fewer than two schedulable nodes",
    ),
    cleaned(
        "endpoints-by-hand",
        |run| Box::pin(run.endpoints_by_hand()),
        |run| Box::pin(run.endpoints_by_hand_cleanup()),
        "a Service without a selector and an EndpointSlice written by hand: requests to the Service reach exactly the hand-written address (a pod no Service selects), the Service port mapped to the endpoint's port",
    ),
    cleaned(
        "externalname-cname",
        |run| Box::pin(run.externalname_cname()),
        |run| Box::pin(run.cluster.delete_service(run.objects.book.time_api.name())),
        "an ExternalName Service pointing at the quote Service's FQDN: DNS answers a CNAME to it, and requests through its name reach quote",
    ),
    cleaned(
        "headless-records",
        |run| Box::pin(run.headless_records()),
        |run| {
            Box::pin(
                run.cluster
                    .delete_service(run.objects.book.quote_headless.name()),
            )
        },
        "the headless quote Service's A record lists exactly the ready quote pods' IPs, its SRV record one answer per pod on port 80; the quote Service's SRV record names port 80 and its own host",
    ),
    cleaned(
        "pod-hostname-records",
        |run| Box::pin(run.pod_hostname_records()),
        |run| Box::pin(run.pod_hostname_cleanup()),
        "pods with hostname and subdomain get <hostname>.quote-headless records with their IPs; a pod with only a subdomain gets none (NXDOMAIN)",
    ),
    own(
        "internal-traffic-local",
        |run| Box::pin(run.internal_traffic_local()),
        "with internalTrafficPolicy: Local every call from a kiada pod reaches a quote pod on its own node, and a pod on a node without quote pods gets no answer; skipped on one node",
    ),
    own(
        "external-traffic-local",
        |run| Box::pin(run.external_traffic_local()),
        "with externalTrafficPolicy: Local a node without kiada pods does not answer on the node port, one with answers from its own pod and kiada sees the caller's address; with Cluster that node answers and kiada sees the node's address; skipped on one node",
    ),
    group(
        "readiness",
        &["off", "publish-not-ready", "on"],
        |run| Box::pin(run.readiness()),
        "a quote pod whose readiness is forced off turns not ready in the quote Service's EndpointSlice and gets no traffic, a publishNotReadyAddresses Service still sends it traffic, and back on it is ready and gets traffic again",
    ),
    group(
        "readiness-file",
        &["initial", "publish-not-ready", "touch", "rm"],
        |run| Box::pin(run.readiness_file()),
        "kiada-mock-readiness (an exec probe for /var/ready) is not ready at first and ready=false in the kiada Service's EndpointSlice while kiada-publish-not-ready-addresses lists it ready and sends it traffic; touch /var/ready makes it ready, rm unready again",
    ),
    one(
        "quote-pod-deleted",
        |run| Box::pin(run.quote_pod_deleted()),
        "after a quote pod is deleted the Service keeps answering from the others",
    ),
    cleaned(
        "kiada-pod-deleted",
        |run| Box::pin(run.kiada_pod_deleted()),
        |run| {
            Box::pin(
                run.cluster
                    .delete_pod(super::pod_deleted::DOOMED_KIADA, Duration::from_secs(90)),
            )
        },
        "a kiada pod deleted (default grace period) while a load runs through the kiada Service: every request answered 200",
    ),
    one(
        "quiz-pvc",
        |run| Box::pin(run.quiz_pvc()),
        "after the quiz pod is deleted and recreated, the posted answers are still there",
    ),
    group(
        "network-policy",
        &["quote", "quiz"],
        |run| Box::pin(run.network_policy()),
        "with the NetworkPolicy variant applied, quote and quiz answer the client pod and kiada but refuse another pod; skipped where the cluster enforces no NetworkPolicy (a canary policy shows which)",
    ),
];

/// A row for one check.
const fn one(name: &'static str, run: CheckFn, proves: &'static str) -> Check {
    Check {
        name,
        proves,
        parts: &[],
        body: Body::One(run),
    }
}

/// A row for one check and its cleanup.
const fn cleaned(
    name: &'static str,
    run: CheckFn,
    cleanup: CleanupFn,
    proves: &'static str,
) -> Check {
    Check {
        name,
        proves,
        parts: &[],
        body: Body::Cleaned(run, cleanup),
    }
}

/// A row for one check that records its own result, so that it can be skipped where
/// the cluster cannot show what it looks for.
const fn own(
    name: &'static str,
    run: for<'a, 'r> fn(&'a Run<'r>) -> BoxFuture<'a, ()>,
    proves: &'static str,
) -> Check {
    group(name, &[], run, proves)
}

/// A row for a group that records the checks `<name>.<part>`.
const fn group(
    name: &'static str,
    parts: &'static [&'static str],
    run: for<'a, 'r> fn(&'a Run<'r>) -> BoxFuture<'a, ()>,
    proves: &'static str,
) -> Check {
    Check {
        name,
        proves,
        parts,
        body: Body::Group(run),
    }
}

impl Check {
    /// The names this row records: its own, or `<name>.<part>` for each part.
    pub fn names(&self) -> Vec<String> {
        if self.parts.is_empty() {
            vec![self.name.to_owned()]
        } else {
            self.parts
                .iter()
                .map(|part| format!("{}.{part}", self.name))
                .collect()
        }
    }
}

/// What the run was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub manifests_dir: PathBuf,
    /// Bound for each readiness wait.
    pub timeout: Duration,
    /// Check groups or names to run (empty: all).
    pub only: Vec<String>,
    /// Where to reach the node ports instead of the node's InternalIP (e.g. 127.0.0.1
    /// for kind with extraPortMappings on a machine that cannot reach the node).
    pub node_address: Option<String>,
}

impl Options {
    pub fn selected(&self, name: &str) -> bool {
        if name == "deploy" || self.only.is_empty() {
            return true;
        }
        let group = name.split('.').next().unwrap_or(name);
        // A check runs when it, its group or one of its own checks is named.
        self.only.iter().any(|o| {
            o == name
                || o == group
                || name.starts_with(&format!("{o}."))
                || o.starts_with(&format!("{name}."))
        })
    }
}

/// Whether every name in `only` is a check of [`CHECKS`] or a check inside one.
pub fn validate_only(only: &[String]) -> Result<(), String> {
    for name in only {
        let known = CHECKS
            .iter()
            .any(|check| check.name == name || check.names().contains(name));
        if !known {
            let groups: Vec<&str> = CHECKS.iter().map(|check| check.name).collect();
            return Err(format!(
                "unknown check {name:?}; known: {} (or a check inside one, see --help)",
                groups.join(", ")
            ));
        }
    }
    Ok(())
}

/// The list of checks for `--help`: one line per row with what it proves, and the
/// checks inside a group.
pub fn help() -> String {
    let width = CHECKS.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::from(
        "Checks, in the order they run (for --only: a name below, or a single check such as kiada.https or readiness.off):\n",
    );
    for check in CHECKS {
        out.push_str(&format!("  {:<width$}  {}\n", check.name, check.proves));
        if !check.parts.is_empty() {
            out.push_str(&format!(
                "  {:<width$}  ({})\n",
                "",
                check.names().join(", ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_selects_groups_and_names() {
        let options = Options {
            manifests_dir: "manifests".into(),
            timeout: Duration::from_secs(1),
            only: vec!["dns".into(), "kiada.https".into()],
            node_address: None,
        };
        assert!(options.selected("deploy"));
        assert!(options.selected("dns.short"));
        assert!(options.selected("dns"));
        assert!(options.selected("kiada"));
        assert!(options.selected("kiada.https"));
        assert!(!options.selected("kiada.text"));
        assert!(!options.selected("quote-balance"));
        assert!(validate_only(&["dns".into(), "kiada.text".into()]).is_ok());
        assert!(validate_only(&["nope".into()]).is_err());
        assert!(validate_only(&["dns.nope".into()]).is_err());
    }

    #[test]
    fn the_table_names_each_check_once_and_deploy_first() {
        assert_eq!(CHECKS[0].name, "deploy");
        assert!(matches!(CHECKS[0].body, Body::Deploy));
        let mut names: Vec<String> = CHECKS.iter().flat_map(Check::names).collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "a name twice in {names:?}");
        assert!(CHECKS[1..].iter().all(|c| !matches!(c.body, Body::Deploy)));
    }

    #[test]
    fn help_lists_every_check() {
        let text = help();
        for check in CHECKS {
            assert!(text.contains(&format!("  {} ", check.name)), "{text}");
            for name in check.names() {
                assert!(text.contains(&name), "{name} in {text}");
            }
        }
        assert!(text.contains("kiada.https") && text.contains("readiness.off"));
    }

    /// The README's table under `## Checks` names exactly the checks of [`CHECKS`]
    /// (which `--help` lists, see above): a check added, renamed or dropped in one
    /// place and not the other fails here.
    #[test]
    fn the_readme_lists_exactly_the_checks_of_the_table() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("\n## Checks\n")
            .nth(1)
            .expect("e2e/README.md has a ## Checks section");
        let section = section.split("\n## ").next().unwrap_or(section);
        let mut listed = std::collections::BTreeSet::new();
        for row in section.lines().filter(|line| line.starts_with("| `")) {
            let first_cell = row
                .trim_start_matches('|')
                .split(" | ")
                .next()
                .unwrap_or("");
            for name in first_cell.split('`').skip(1).step_by(2) {
                assert!(listed.insert(name.to_owned()), "{name} twice in the README");
            }
        }
        let names: std::collections::BTreeSet<String> =
            CHECKS.iter().flat_map(Check::names).collect();
        assert_eq!(
            listed, names,
            "e2e/README.md's checks (left) against the table's (right)"
        );
    }
}
