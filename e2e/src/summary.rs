//! The readable result: one line per check, then `N passed, M failed` (and `, K skipped`
//! when a check could not apply to this cluster).

use std::fmt;

/// What became of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed, with what it saw (may be empty).
    Pass(String),
    /// Failed, and why.
    Fail(String),
    /// Cannot apply to this cluster (e.g. it enforces no NetworkPolicy), and why:
    /// neither passed nor failed.
    Skip(String),
}

/// The outcome of one check, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub name: String,
    pub outcome: Outcome,
}

impl CheckResult {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Outcome::Pass(detail.into()))
    }

    pub fn fail(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(name, Outcome::Fail(reason.into()))
    }

    pub fn skip(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(name, Outcome::Skip(reason.into()))
    }

    fn new(name: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            name: name.into(),
            outcome,
        }
    }

    pub fn from_result(name: impl Into<String>, result: Result<String, String>) -> Self {
        Self::new(name, result.map_or_else(Outcome::Fail, Outcome::Pass))
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match &self.outcome {
            Outcome::Pass(detail) if detail.is_empty() => write!(f, "PASS {name}"),
            Outcome::Pass(detail) => write!(f, "PASS {name} ({})", one_line(detail)),
            Outcome::Fail(reason) => write!(f, "FAIL {name}: {}", one_line(reason)),
            Outcome::Skip(reason) => write!(f, "SKIP {name}: {}", one_line(reason)),
        }
    }
}

/// Keeps a reason on one line: newlines become " | ", and very long text is cut.
pub fn one_line(text: &str) -> String {
    const MAX: usize = 600;
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" | ");
    if joined.chars().count() > MAX {
        let cut: String = joined.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

/// All results of a run, in the order the checks ran.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub results: Vec<CheckResult>,
}

impl Summary {
    pub fn push(&mut self, result: CheckResult) {
        eprintln!("[e2e] {result}");
        self.results.push(result);
    }

    /// How many checks had an outcome of the kind `is` picks.
    fn count(&self, is: fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| is(&r.outcome)).count()
    }

    pub fn all_passed(&self) -> bool {
        self.count(|o| matches!(o, Outcome::Fail(_))) == 0
    }

    /// One line per check, then exactly `N passed, M failed`, and `, K skipped` when any
    /// was.
    pub fn render(&self) -> String {
        let mut out: String = self.results.iter().map(|r| format!("{r}\n")).collect();
        let passed = self.count(|o| matches!(o, Outcome::Pass(_)));
        let failed = self.count(|o| matches!(o, Outcome::Fail(_)));
        out.push_str(&format!("{passed} passed, {failed} failed"));
        match self.count(|o| matches!(o, Outcome::Skip(_))) {
            0 => out + "\n",
            skipped => format!("{out}, {skipped} skipped\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_count() {
        let mut summary = Summary::default();
        summary.push(CheckResult::pass("services.quote", "cluster IP 10.96.0.5"));
        summary.push(CheckResult::fail("dns.quiz", "no address\nfor quiz"));
        summary.push(CheckResult::pass("env", ""));
        assert_eq!(
            summary.render(),
            "PASS services.quote (cluster IP 10.96.0.5)\nFAIL dns.quiz: no address | for quiz\nPASS env\n2 passed, 1 failed\n"
        );
        assert!(!summary.all_passed());
    }

    #[test]
    fn skipped_checks_are_neither_passed_nor_failed() {
        let mut summary = Summary::default();
        summary.push(CheckResult::pass("env", ""));
        summary.push(CheckResult::skip(
            "network-policy.quote",
            "not enforced\nhere",
        ));
        assert_eq!(
            summary.render(),
            "PASS env\nSKIP network-policy.quote: not enforced | here\n1 passed, 0 failed, 1 skipped\n"
        );
        assert!(summary.all_passed());
        assert!(!matches!(
            CheckResult::skip("a", "b").outcome,
            Outcome::Pass(_)
        ));
    }

    #[test]
    fn empty_summary_counts_zero() {
        let summary = Summary::default();
        assert_eq!(summary.render(), "0 passed, 0 failed\n");
        assert!(summary.all_passed());
    }

    #[test]
    fn long_reasons_are_cut() {
        let line = one_line(&"x".repeat(1000));
        assert_eq!(line.chars().count(), 601);
        assert!(line.ends_with('…'));
    }

    #[test]
    fn from_result_maps_both_ways() {
        let passed = CheckResult::from_result("a", Ok("fine".into()));
        assert_eq!(passed.outcome, Outcome::Pass("fine".into()));
        let failed = CheckResult::from_result("b", Err("broken".into()));
        assert_eq!(failed.to_string(), "FAIL b: broken");
    }
}
