//! The persistent host shell: one `bash` that reads the document's commands from a pipe,
//! so that variables, `export` and `cd` carry over from one command to the next as in
//! the reader's terminal.
//!
//! Each command is written as `{ COMMAND\n} </dev/null` followed by a `printf` of a
//! marker line with a per-run nonce and `$?`; its output is everything bash prints before
//! the marker. `</dev/null` because bash's own stdin is the pipe the commands arrive on:
//! a command that reads stdin would otherwise eat the commands after it.

use std::io::{self, Write};
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::capture::Waited;
use crate::process_group::GroupChild;

/// The record separator starts the marker line: no command prints it by chance.
const MARKER_START: char = '\u{1e}';

/// A `bash --noprofile --norc` in `root`, with the environment of this process plus what
/// makes output deterministic. The background commands start from the same.
///
/// `curl_home`, when given, becomes `CURL_HOME`: a directory whose `.curlrc` stands in
/// for the reader's terminal. curl prints a progress meter when its output is not a
/// terminal, and here it never is (a pipe to the runner).
pub fn bash(root: &Path, curl_home: Option<&Path>) -> Command {
    let mut bash = Command::new("bash");
    if let Some(dir) = curl_home {
        bash.env("CURL_HOME", dir);
    }
    bash.args(["--noprofile", "--norc"])
        .current_dir(root)
        // `sort`, `ls` and error messages the same on every machine.
        .env("LC_ALL", "C")
        // No colours or cursor movement from tools that look at TERM.
        .env("TERM", "dumb")
        // Read by non-interactive bash even with --norc.
        .env_remove("BASH_ENV");
    bash
}

/// What a finished command printed (stdout and stderr, in order) and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub output: String,
    pub status: i32,
}

/// Why a command has no result. After any of these the shell is gone.
#[derive(Debug, Error)]
pub enum ShellError {
    #[error("could not start bash")]
    Start(#[source] io::Error),
    #[error("could not hand the command to the shell")]
    Write(#[source] io::Error),
    #[error("did not finish within {} s: the shell was killed", .after.as_secs())]
    TimedOut { after: Duration, output: String },
    #[error("the shell exited (the command ran `exit`, or bash died)")]
    Exited { output: String },
}

impl ShellError {
    /// What the command printed before it failed this way.
    pub fn output(&self) -> &str {
        match self {
            Self::TimedOut { output, .. } | Self::Exited { output } => output,
            Self::Start(_) | Self::Write(_) => "",
        }
    }
}

/// The running shell. Dropping it stops bash and everything it started.
pub struct Shell {
    // Declared before `child`, so dropped first: bash sees the end of its input and
    // exits before the group is signalled.
    stdin: ChildStdin,
    child: GroupChild,
    nonce: String,
}

impl Shell {
    pub fn start(root: &Path, curl_home: Option<&Path>) -> Result<Self, ShellError> {
        let mut child =
            GroupChild::spawn(bash(root, curl_home), Stdio::piped()).map_err(ShellError::Start)?;
        let stdin = child
            .take_stdin()
            .ok_or_else(|| ShellError::Start(io::Error::other("bash has no stdin pipe")))?;
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let nonce = format!("kiada-doc-{}-{since_epoch}", std::process::id());
        Ok(Self {
            stdin,
            child,
            nonce,
        })
    }

    /// Runs `command_line` and waits for it at most `timeout`. On a time-out the whole
    /// process group is killed: what the command left behind cannot be trusted.
    pub fn run(&mut self, command_line: &str, timeout: Duration) -> Result<Finished, ShellError> {
        // The marker's leading newline puts it on a line of its own even after output
        // without a line end; it is taken off again below.
        let script = format!(
            "{{ {command_line}\n}} </dev/null\nprintf '\\n\\x1e%s %d\\n' {nonce} \"$?\"\n",
            nonce = self.nonce
        );
        self.stdin
            .write_all(script.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(ShellError::Write)?;
        let marker = format!("\n{MARKER_START}{} ", self.nonce);
        let deadline = Instant::now() + timeout;
        // Where the marker can start at the earliest, so that a long output is scanned
        // once rather than again after each piece of it.
        let mut unsearched = 0;
        let found = self.child.output.wait_for(deadline, |bytes| {
            let found = find_marker(bytes, marker.as_bytes(), unsearched);
            unsearched = bytes.len().saturating_sub(marker.len() + MAX_STATUS_LEN);
            found
        });
        match found {
            Waited::Ready(found) => {
                let taken = self.child.output.take(found.end);
                let output = String::from_utf8_lossy(&taken[..found.output_len]).into_owned();
                Ok(Finished {
                    output,
                    status: found.status,
                })
            }
            Waited::Ended => Err(ShellError::Exited {
                output: self.child.output.text(),
            }),
            Waited::TimedOut => {
                self.child.kill();
                Err(ShellError::TimedOut {
                    after: timeout,
                    output: self.child.output.text(),
                })
            }
        }
    }
}

/// Where a complete marker line is in the shell's output.
#[derive(Debug, PartialEq, Eq)]
struct Marker {
    /// The command's output is the bytes before this.
    output_len: usize,
    status: i32,
    /// Just past the marker line.
    end: usize,
}

/// The longest status a marker line ends with, its line end included: `-2147483648\n`.
const MAX_STATUS_LEN: usize = 12;

/// The first marker line that starts at `from` or later.
fn find_marker(bytes: &[u8], marker: &[u8], from: usize) -> Option<Marker> {
    let output_len = from
        + bytes
            .get(from..)?
            .windows(marker.len())
            .position(|window| window == marker)?;
    let status_start = output_len + marker.len();
    let line_len = bytes[status_start..].iter().position(|&b| b == b'\n')?;
    let status = std::str::from_utf8(&bytes[status_start..status_start + line_len])
        .ok()?
        .parse()
        .ok()?;
    Some(Marker {
        output_len,
        status,
        end: status_start + line_len + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(20);

    #[test]
    fn finds_a_complete_marker_only() {
        let marker = b"\n\x1enonce ";
        assert_eq!(find_marker(b"out\n\n\x1enonce 0", marker, 0), None);
        assert_eq!(find_marker(b"out\n\n\x1enonce 0\n", marker, 5), None);
        assert_eq!(
            find_marker(b"out\n\n\x1enonce 12\nlater", marker, 2),
            Some(Marker {
                output_len: 4,
                status: 12,
                end: 15
            })
        );
    }

    #[test]
    fn state_carries_over_and_output_is_exact() {
        let dir = std::env::temp_dir();
        let mut shell = Shell::start(&dir, None).unwrap();
        let run = |shell: &mut Shell, line: &str| shell.run(line, TIMEOUT).unwrap();
        assert_eq!(
            run(&mut shell, "X=carried; cd /"),
            Finished {
                output: String::new(),
                status: 0
            }
        );
        assert_eq!(run(&mut shell, "echo $X; pwd").output, "carried\n/\n");
        assert_eq!(
            run(&mut shell, "printf 'no line end'").output,
            "no line end"
        );
        assert_eq!(
            run(
                &mut shell,
                "echo oops >&2; exit_code() { return 3; }; exit_code"
            )
            .status,
            3
        );
        // Reads EOF, and the next command is still there.
        assert_eq!(
            run(&mut shell, "cat; read -r line; echo read $?").output,
            "read 1\n"
        );
        assert_eq!(run(&mut shell, "echo still here").output, "still here\n");
        // Arrives in many pieces; the marker is still found once, at the end.
        let long = run(&mut shell, "seq 1 100000").output;
        assert_eq!(long.lines().count(), 100_000);
        assert!(long.ends_with("\n99999\n100000\n"));
    }

    #[test]
    fn exit_ends_the_shell() {
        let mut shell = Shell::start(&std::env::temp_dir(), None).unwrap();
        let error = shell.run("echo bye; exit 0", TIMEOUT).unwrap_err();
        assert!(matches!(error, ShellError::Exited { .. }), "{error:?}");
        assert_eq!(error.output(), "bye\n");
    }

    #[test]
    fn a_hanging_command_times_out() {
        let mut shell = Shell::start(&std::env::temp_dir(), None).unwrap();
        let started = Instant::now();
        let error = shell
            .run("echo waiting; sleep 30", Duration::from_millis(500))
            .unwrap_err();
        assert!(matches!(error, ShellError::TimedOut { .. }), "{error:?}");
        assert_eq!(error.output(), "waiting\n");
        // Far below the 30 s the sleep would take.
        assert!(started.elapsed() < Duration::from_secs(15));
    }
}
