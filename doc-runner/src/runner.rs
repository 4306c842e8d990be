//! Runs a parsed document: each command in the persistent shell (again and again for a
//! `retry=` block), `background` commands beside it, one result line per command.

use std::io::{self, Write};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::background::{self, Readiness};
use crate::compare::Expected;
use crate::options::Mode;
use crate::process_group::{GroupChild, STOP_GRACE};
use crate::report::{Explanation, Outcome, Report};
use crate::script::{Command, Script};
use crate::shell::{Shell, ShellError};

/// The pause between two attempts of a `retry=` command.
const RETRY_PAUSE: Duration = Duration::from_secs(2);

pub struct Options {
    /// How the result lines name the document.
    pub file: String,
    /// The working directory of every command.
    pub root: PathBuf,
    /// `CURL_HOME` of every command (see [`crate::shell::bash`]).
    pub curl_home: Option<PathBuf>,
    /// The longest one command may take, and a background command to get ready.
    pub timeout: Duration,
    /// Run only the commands up to this line.
    pub only_through: Option<usize>,
}

/// A run that could not take place or could not be reported.
#[derive(Debug, Error)]
pub enum RunError {
    #[error("could not start the shell")]
    Shell(#[source] ShellError),
    #[error("could not write the results")]
    Output(#[source] io::Error),
}

/// The result of one command, and whether the run can go on after it.
struct Step {
    outcome: Outcome,
    stops_run: bool,
}

impl Step {
    fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            stops_run: false,
        }
    }
}

/// Runs the commands of `script` in order and writes a line for each to `out`, then the
/// count line. Returns whether every command passed.
pub fn run(script: &Script, options: &Options, out: impl Write) -> Result<bool, RunError> {
    let mut report = Report::new(out, &options.file);
    let mut shell =
        Shell::start(&options.root, options.curl_home.as_deref()).map_err(RunError::Shell)?;
    // Kept until the end of the run; dropping them stops them, on every path out.
    let mut background: Vec<GroupChild> = Vec::new();
    let through = options.only_through.unwrap_or(usize::MAX);
    for command in script.commands.iter().filter(|c| c.line <= through) {
        eprintln!(
            "[kiada-doc] {}:{} {}",
            options.file,
            command.line,
            command.label()
        );
        let step = match command.mode {
            Mode::Once => in_shell(&mut shell, command, options, None),
            Mode::Retry(window) => in_shell(&mut shell, command, options, Some(window)),
            Mode::Background => beside_shell(command, options, &mut background),
        };
        report
            .record(command.line, &command.label(), &step.outcome)
            .map_err(RunError::Output)?;
        if step.stops_run {
            break;
        }
    }
    drop(shell);
    for mut child in background {
        child.stop(STOP_GRACE);
    }
    let all_passed = report.all_passed();
    report.finish().map_err(RunError::Output)?;
    Ok(all_passed)
}

/// Runs `command` in the persistent shell until it matches; once, or for `retry`.
fn in_shell(
    shell: &mut Shell,
    command: &Command,
    options: &Options,
    retry: Option<Duration>,
) -> Step {
    let expected = Expected::parse(&command.expected);
    let started = Instant::now();
    let mut attempt = 0;
    // Bounded by the retry window: each pass either returns or sleeps RETRY_PAUSE of it.
    loop {
        attempt += 1;
        let finished = match shell.run(&command.shell_line, options.timeout) {
            Ok(finished) => finished,
            Err(error) => return shell_lost(&error),
        };
        let judgement = expected.judge(&finished.output, finished.status);
        if judgement.passed() {
            return Step::new(Outcome::Pass);
        }
        let explanation = Explanation::default();
        let explanation = match retry {
            Some(window) if started.elapsed() + RETRY_PAUSE <= window => {
                eprintln!(
                    "[kiada-doc] {}:{} attempt {attempt} did not match; again in {} s",
                    options.file,
                    command.line,
                    RETRY_PAUSE.as_secs()
                );
                thread::sleep(RETRY_PAUSE);
                continue;
            }
            Some(window) => explanation.say(format!(
                "not as shown in {attempt} attempts within {} s; the last one:",
                window.as_secs()
            )),
            None => explanation,
        };
        return Step::new(Outcome::Fail(explanation.mismatch(
            &command.expected,
            &finished.output,
            finished.status,
            expected.status,
        )));
    }
}

/// The shell is gone (time-out, exit): nothing after this command can be trusted.
fn shell_lost(error: &ShellError) -> Step {
    let explanation = Explanation::default()
        .say(format!("{error}; the run stops here"))
        .quote("output so far", error.output());
    Step {
        outcome: Outcome::Fail(explanation),
        stops_run: true,
    }
}

/// Starts a background command and waits until its output is as shown.
fn beside_shell(command: &Command, options: &Options, running: &mut Vec<GroupChild>) -> Step {
    let started = background::start(
        &options.root,
        options.curl_home.as_deref(),
        &command.shell_line,
        &command.expected,
        options.timeout,
    );
    let (child, readiness) = match started {
        Ok(started) => started,
        Err(error) => {
            let explanation = Explanation::default().say(format!("could not start it: {error}"));
            return Step::new(Outcome::Fail(explanation));
        }
    };
    running.push(child);
    let (why, output) = match readiness {
        Readiness::Ready => return Step::new(Outcome::Pass),
        Readiness::Ended { output } => (
            "its output ended (it exited) before it was as shown".to_owned(),
            output,
        ),
        Readiness::NotReady { output, waited } => (
            format!(
                "its output was not as shown within {} s (it keeps running until the run ends)",
                waited.as_secs()
            ),
            output,
        ),
    };
    let explanation = Explanation::default()
        .say(why)
        .quote("expected output", &command.expected)
        .quote("actual output", &output);
    Step::new(Outcome::Fail(explanation))
}
