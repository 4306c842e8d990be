//! `background` blocks: a command that keeps running (`kubectl port-forward ...`),
//! started beside the persistent shell, waited for until it prints what the document
//! shows, and stopped when the run ends.
//!
//! It runs through its own `bash -c`, with the persistent shell's directory and
//! environment at start (`--root`, `LC_ALL=C`, `TERM=dumb`) but not the variables or
//! `cd` of earlier commands: those live in the persistent shell only.

use std::io;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::capture::Waited;
use crate::compare;
use crate::process_group::GroupChild;
use crate::shell;

/// How far a background command got.
pub enum Readiness {
    /// It printed what the document shows.
    Ready,
    /// Its output ended (it exited) before it did.
    Ended { output: String },
    /// Still running, but its output did not match in time.
    NotReady { output: String, waited: Duration },
}

/// Starts `command_line` and waits at most `timeout` for its output so far to match
/// `shown`. The returned child keeps running, whatever the readiness; dropping it stops
/// it.
pub fn start(
    root: &Path,
    curl_home: Option<&Path>,
    command_line: &str,
    shown: &str,
    timeout: Duration,
) -> io::Result<(GroupChild, Readiness)> {
    let mut command = shell::bash(root, curl_home);
    command.args(["-c", command_line]);
    let child = GroupChild::spawn(command, Stdio::null())?;
    let deadline = Instant::now() + timeout;
    let waited = child.output.wait_for(deadline, |bytes| {
        compare::output_matches(shown, &String::from_utf8_lossy(bytes)).then_some(())
    });
    let readiness = match waited {
        Waited::Ready(()) => Readiness::Ready,
        Waited::Ended => Readiness::Ended {
            output: child.output.text(),
        },
        Waited::TimedOut => Readiness::NotReady {
            output: child.output.text(),
            waited: timeout,
        },
    };
    Ok((child, readiness))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(20);

    #[test]
    fn ready_once_the_output_matches() {
        let (mut child, readiness) = start(
            &std::env::temp_dir(),
            None,
            "echo starting; sleep 0.2; echo 'Forwarding from 127.0.0.1:8080 -> 8080'; sleep 30",
            "starting\nForwarding from [..] -> 8080",
            TIMEOUT,
        )
        .unwrap();
        assert!(matches!(readiness, Readiness::Ready));
        child.stop(Duration::from_secs(3));
    }

    #[test]
    fn a_command_that_exits_is_never_ready() {
        let (_child, readiness) =
            start(&std::env::temp_dir(), None, "echo nope", "ready", TIMEOUT).unwrap();
        match readiness {
            Readiness::Ended { output } => assert_eq!(output, "nope\n"),
            _ => panic!("expected Ended"),
        }
    }

    #[test]
    fn a_silent_command_is_not_ready_in_time() {
        let started = Instant::now();
        let (child, readiness) = start(
            &std::env::temp_dir(),
            None,
            "sleep 30",
            "ready",
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(matches!(readiness, Readiness::NotReady { .. }));
        drop(child);
        // Far below the 30 s the sleep would take.
        assert!(started.elapsed() < Duration::from_secs(15));
    }
}
