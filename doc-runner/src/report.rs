//! What the runner prints on stdout: `PASS FILE:LINE COMMAND`, or `FAIL FILE:LINE COMMAND`
//! followed by an indented explanation, and at the end `N passed, M failed`.

use std::io::{self, Write};

/// The indentation of an explanation, and of the text blocks inside it.
const EXPLAIN: &str = "    ";
const QUOTE: &str = "      ";

/// How one command went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(Explanation),
}

/// The lines printed under a `FAIL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explanation {
    lines: Vec<String>,
}

impl Explanation {
    /// A line of explanation.
    pub fn say(mut self, text: impl Into<String>) -> Self {
        self.lines.push(format!("{EXPLAIN}{}", text.into()));
        self
    }

    /// `title:` and then `text`, indented, or `(nothing)` when it is empty.
    pub fn quote(mut self, title: &str, text: &str) -> Self {
        self.lines.push(format!("{EXPLAIN}{title}:"));
        let shown = shown_lines(text);
        if shown.is_empty() {
            self.lines.push(format!("{QUOTE}(nothing)"));
        }
        for line in shown {
            self.lines
                .push(format!("{QUOTE}{line}").trim_end().to_owned());
        }
        self
    }

    /// The document's output against the command's, and the exit status.
    pub fn mismatch(self, shown: &str, output: &str, status: i32, expected_status: i32) -> Self {
        let explanation = self
            .quote("expected output", shown)
            .quote("actual output", output);
        if status == expected_status {
            explanation.say(format!("exit status: {status}"))
        } else {
            explanation.say(format!(
                "exit status: {status}, but the document expects {expected_status}"
            ))
        }
    }
}

/// The lines of `text` as written, without the blank lines at either end.
fn shown_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let first = lines.iter().position(|line| !line.is_empty());
    let last = lines.iter().rposition(|line| !line.is_empty());
    match (first, last) {
        (Some(first), Some(last)) => lines[first..=last].to_vec(),
        _ => Vec::new(),
    }
}

/// Writes each result as it comes, and counts them.
pub struct Report<'a, W: Write> {
    out: W,
    file: &'a str,
    passed: usize,
    failed: usize,
}

impl<'a, W: Write> Report<'a, W> {
    pub fn new(out: W, file: &'a str) -> Self {
        Self {
            out,
            file,
            passed: 0,
            failed: 0,
        }
    }

    pub fn record(&mut self, line: usize, label: &str, outcome: &Outcome) -> io::Result<()> {
        let file = self.file;
        match outcome {
            Outcome::Pass => {
                self.passed += 1;
                writeln!(self.out, "PASS {file}:{line} {label}")?;
            }
            Outcome::Fail(explanation) => {
                self.failed += 1;
                writeln!(self.out, "FAIL {file}:{line} {label}")?;
                for text in &explanation.lines {
                    writeln!(self.out, "{text}")?;
                }
            }
        }
        // Results show up as they happen, also when stdout is a file in CI.
        self.out.flush()
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }

    /// Exactly `N passed, M failed`.
    pub fn count_line(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }

    /// Writes the count line.
    pub fn finish(mut self) -> io::Result<()> {
        let count = self.count_line();
        writeln!(self.out, "{count}")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_and_fail_lines_then_the_count() {
        let mut out = Vec::new();
        let mut report = Report::new(&mut out, "docs/a.md");
        report.record(3, "echo hi", &Outcome::Pass).unwrap();
        let explanation = Explanation::default().mismatch("\nhi\n\n", "  hello\n", 1, 0);
        report
            .record(5, "echo hello", &Outcome::Fail(explanation))
            .unwrap();
        let (all_passed, count) = (report.all_passed(), report.count_line());
        assert!(!all_passed);
        assert_eq!(count, "1 passed, 1 failed");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "PASS docs/a.md:3 echo hi\n\
             FAIL docs/a.md:5 echo hello\n    \
             expected output:\n      \
             hi\n    \
             actual output:\n        \
             hello\n    \
             exit status: 1, but the document expects 0\n"
        );
    }

    #[test]
    fn empty_text_is_shown_as_nothing() {
        let explanation = Explanation::default().quote("actual output", "\n\n");
        assert_eq!(
            explanation.lines,
            vec!["    actual output:", "      (nothing)"]
        );
    }
}
