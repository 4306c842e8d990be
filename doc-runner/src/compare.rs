//! Whether a command printed what the document shows after it, and exited as the
//! document implies.
//!
//! Both sides are normalised first (line ends, blanks at line ends, runs of blanks inside
//! a line, blank lines at both ends), because kubectl's tables pad columns to widths that
//! change with IPs and ages. snapbox, trycmd's engine, then matches the `[..]` and `...`
//! wildcards.

use snapbox::Data;
use snapbox::filter::NormalizeToExpected;

/// The last line kubectl exec prints when the remote command fails; in the document it
/// also states the exit status a host command must have.
const STATUS_LINE_PREFIX: &str = "command terminated with exit code ";

/// What the document shows after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Normalised, without the status line.
    text: String,
    /// The exit status the command must have.
    pub status: i32,
}

/// The result of comparing one run with the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    pub output_matches: bool,
    pub status_matches: bool,
}

impl Judgement {
    pub fn passed(self) -> bool {
        self.output_matches && self.status_matches
    }
}

impl Expected {
    pub fn parse(shown: &str) -> Self {
        let text = normalise(shown);
        match split_status_line(&text) {
            Some((rest, status)) => Self {
                text: rest.to_owned(),
                status,
            },
            None => Self { text, status: 0 },
        }
    }

    /// Compares a finished command's output and exit status with the document.
    pub fn judge(&self, output: &str, status: i32) -> Judgement {
        let output = normalise(output);
        // kubectl exec prints the status line itself, a plain host command does not:
        // either way the line stands for the status, which is compared on its own.
        let output = match split_status_line(&output) {
            Some((rest, printed)) if printed == status => rest,
            _ => output.as_str(),
        };
        Judgement {
            output_matches: wildcard_match(&self.text, output),
            status_matches: status == self.status,
        }
    }
}

/// Whether `output` matches `shown`, both normalised here (for background commands,
/// whose exit status does not count).
pub fn output_matches(shown: &str, output: &str) -> bool {
    wildcard_match(&normalise(shown), &normalise(output))
}

/// CRLF to LF, no blanks at line ends, one space for each run of spaces and tabs,
/// no blank lines at either end; a non-empty result ends with a line end.
pub fn normalise(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(collapse_blanks).collect();
    let first = lines.iter().position(|line| !line.is_empty());
    let last = lines.iter().rposition(|line| !line.is_empty());
    match (first, last) {
        (Some(first), Some(last)) => {
            let mut joined = lines[first..=last].join("\n");
            joined.push('\n');
            joined
        }
        _ => String::new(),
    }
}

fn collapse_blanks(line: &str) -> String {
    let mut collapsed = String::with_capacity(line.len());
    for c in line.trim_end().chars() {
        let blank = c == ' ' || c == '\t';
        if !(blank && collapsed.ends_with(' ')) {
            collapsed.push(if blank { ' ' } else { c });
        }
    }
    collapsed
}

/// The text before the last line, and the status, when that line is
/// `command terminated with exit code N`.
fn split_status_line(normalised: &str) -> Option<(&str, i32)> {
    let body = normalised.strip_suffix('\n')?;
    let (rest, last) = match body.rfind('\n') {
        Some(at) => (&normalised[..=at], &body[at + 1..]),
        None => ("", body),
    };
    let status = last.strip_prefix(STATUS_LINE_PREFIX)?.parse().ok()?;
    Some((rest, status))
}

fn wildcard_match(expected: &str, actual: &str) -> bool {
    let expected = Data::text(expected.to_owned());
    let normalised = NormalizeToExpected::new()
        .redact()
        .normalize(Data::text(actual.to_owned()), &expected);
    normalised.render() == expected.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising() {
        assert_eq!(normalise(""), "");
        assert_eq!(normalise("\n \n"), "");
        assert_eq!(
            normalise("\r\nNAME    READY\tSTATUS  \r\nquiz    1/1     Running\r\n\n"),
            "NAME READY STATUS\nquiz 1/1 Running\n"
        );
        assert_eq!(normalise("a\n\n\nb"), "a\n\n\nb\n");
        assert_eq!(normalise("    indented"), " indented\n");
    }

    #[test]
    fn table_spacing_does_not_matter() {
        let shown =
            "NAME   TYPE        CLUSTER-IP     PORT(S)\nquiz   ClusterIP   10.96.136.190   80/TCP";
        let actual = "NAME   TYPE        CLUSTER-IP      PORT(S)\nquiz   ClusterIP   10.96.1.19      80/TCP\n";
        let expected = Expected::parse(&shown.replace("10.96.136.190", "[..]"));
        assert!(expected.judge(actual, 0).passed());
    }

    #[test]
    fn wildcards() {
        assert!(output_matches("1\n...\n10", "1\n2\n3\n10\n"));
        assert!(output_matches("1\n...\n10", "1\n10\n"));
        assert!(output_matches("...", ""));
        // Page 11.3: a mirrored EndpointSlice lists its addresses in either order.
        let slice = "external-service-[..] IPv4 88 172.18.255.10[..],172.18.255.10[..] [..]";
        for actual in [
            "external-service-sqgn2 IPv4 88 172.18.255.102,172.18.255.101 29s\n",
            "external-service-abcde IPv4 88 172.18.255.101,172.18.255.102 5s\n",
        ] {
            assert!(output_matches(slice, actual), "{actual}");
        }
        assert!(!output_matches(
            slice,
            "external-service-x IPv4 88 172.18.255.101 5s\n"
        ));
        assert!(output_matches(
            "pod [..] on node [..]",
            "pod quote-001 on node kind"
        ));
        assert!(!output_matches("pod [..]", "pod a\nmore"));
        // snapbox's other placeholders are not wildcards here.
        assert!(!output_matches("[EXE]", ""));
    }

    #[test]
    fn empty_expected_means_no_output() {
        let expected = Expected::parse("\n");
        assert!(expected.judge("", 0).passed());
        assert!(expected.judge(" \n", 0).passed());
        assert!(!expected.judge("x", 0).output_matches);
    }

    #[test]
    fn a_command_must_exit_zero_unless_the_document_shows_its_status() {
        let silent = Expected::parse("");
        assert_eq!(
            silent.judge("", 1),
            Judgement {
                output_matches: true,
                status_matches: false
            }
        );
        let failing = Expected::parse("x\ncommand terminated with exit code 3\n");
        assert_eq!(failing.status, 3);
        // A plain host command does not print the status line...
        assert!(failing.judge("x\n", 3).passed());
        // ...kubectl exec does; both count the same.
        assert!(
            failing
                .judge("x\ncommand terminated with exit code 3\n", 3)
                .passed()
        );
        assert!(!failing.judge("x\n", 0).passed());
        assert!(!failing.judge("x\n", 4).passed());
        // A status line that disagrees with the real status stays part of the output.
        assert!(
            !failing
                .judge("x\ncommand terminated with exit code 3\n", 4)
                .output_matches
        );
    }

    #[test]
    fn status_line_alone() {
        let expected = Expected::parse("command terminated with exit code 1");
        assert_eq!(expected.status, 1);
        assert!(
            expected
                .judge("command terminated with exit code 1\n", 1)
                .passed()
        );
        assert!(expected.judge("", 1).passed());
    }
}
