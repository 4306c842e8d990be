//! [`NodeTally`]: the answers of in-pod request loops to the quote Service, by the
//! node and pod each names, held against where the API says each pod runs.

use std::collections::BTreeMap;

use crate::nodes::Placement;
use crate::parse::quote_identity;

/// The answers of request loops to the quote Service, by the node and pod each names.
#[derive(Debug, Default)]
pub(super) struct NodeTally {
    by_node: BTreeMap<String, BTreeMap<String, usize>>,
    no_answer: usize,
    unexpected: Vec<String>,
    /// Answers whose pod or node is not what the API says.
    wrong: Vec<String>,
}

impl NodeTally {
    /// Counts quote's identity lines (`... running in pod P on node N`) in `output`.
    pub(super) fn add(&mut self, output: &str, placement: &Placement) {
        for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line == crate::shell::NO_ANSWER {
                self.no_answer += 1;
            } else if let Some((pod, node)) = quote_identity(line) {
                match placement.confirm("quote", &pod, &node) {
                    Ok(()) => {
                        *self
                            .by_node
                            .entry(node)
                            .or_default()
                            .entry(pod)
                            .or_default() += 1;
                    }
                    Err(problem) => self.wrong.push(problem),
                }
            } else {
                self.unexpected.push(line.to_owned());
            }
        }
    }

    /// Whether a quote pod on `node` answered.
    pub(super) fn has_node(&self, node: &str) -> bool {
        self.by_node.contains_key(node)
    }

    pub(super) fn answers(&self) -> usize {
        self.by_node.values().flat_map(BTreeMap::values).sum()
    }

    /// What makes the tally a failure: a request not answered, an answer that is not
    /// quote's, or one that names another node than the API's.
    pub(super) fn problem(&self) -> Option<String> {
        let mut problems = Vec::new();
        if self.no_answer > 0 {
            problems.push(format!("{} requests without answer", self.no_answer));
        }
        if let Some(first) = self.unexpected.first() {
            problems.push(format!(
                "{} answers not from quote (first: {first:?})",
                self.unexpected.len()
            ));
        }
        if let Some(first) = self.wrong.first() {
            problems.push(format!(
                "{} answers not as the API has it (first: {first})",
                self.wrong.len()
            ));
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// `kiada-worker (another node): quote-001×5, quote-003×4; kiada-worker2 (the
    /// client's node): quote-002×6`.
    pub(super) fn describe(&self, home: &str) -> String {
        if self.by_node.is_empty() {
            return "no answers yet".into();
        }
        self.by_node
            .iter()
            .map(|(node, pods)| {
                let whose = if node == home {
                    "the client's node"
                } else {
                    "another node"
                };
                format!("{node} ({whose}): {}", crate::shell::counts(pods))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
pub(super) mod tests {
    use k8s_openapi::api::core::v1::Pod;

    use super::*;

    /// A client on w2, quote-001 on w1, quote-002 on w2 (the multi-node tests share it).
    pub(in crate::checks) fn placement() -> Placement {
        let pods: Vec<Pod> = serde_json::from_value(serde_json::json!([
            {"metadata": {"name": "client", "labels": {"app": "client"}}, "spec": {"nodeName": "w2", "containers": []}},
            {"metadata": {"name": "quote-001", "labels": {"app": "quote"}}, "spec": {"nodeName": "w1", "containers": []}},
            {"metadata": {"name": "quote-002", "labels": {"app": "quote"}}, "spec": {"nodeName": "w2", "containers": []}}
        ]))
        .unwrap();
        Placement::of(&pods)
    }

    fn line(pod: &str, node: &str) -> String {
        format!("This is the quote service running in pod {pod} on node {node}\n")
    }

    #[test]
    fn node_tally_counts_by_node_and_holds_nodes_against_the_api() {
        let placement = placement();
        let mut tally = NodeTally::default();
        tally.add(
            &[
                line("quote-001", "w1"),
                line("quote-002", "w2"),
                line("quote-001", "w1"),
            ]
            .concat(),
            &placement,
        );
        assert_eq!(tally.answers(), 3);
        assert_eq!(tally.problem(), None);
        assert_eq!(
            tally.describe("w2"),
            "w1 (another node): quote-001×2; w2 (the client's node): quote-002×1"
        );
        // A pod that names the wrong node, no answer, and a stranger's line.
        tally.add(
            &format!(
                "{}{}\nhello\n",
                line("quote-002", "w1"),
                crate::shell::NO_ANSWER
            ),
            &placement,
        );
        let problem = tally.problem().unwrap();
        assert!(problem.contains("1 requests without answer"), "{problem}");
        assert!(
            problem.contains("1 answers not from quote (first: \"hello\")"),
            "{problem}"
        );
        assert!(
            problem
                .contains("quote pod quote-002 named node \"w1\", the API says it runs on \"w2\""),
            "{problem}"
        );
        assert_eq!(tally.answers(), 3);
        assert_eq!(NodeTally::default().describe("w1"), "no answers yet");
    }
}
