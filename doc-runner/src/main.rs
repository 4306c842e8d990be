//! `kiada-doc`: executable documentation. Runs every command of a markdown document's
//! ```` ```console ```` blocks against the real cluster (the kubeconfig in the
//! environment) and checks that each prints what the document shows after it.
//!
//! ```text
//! kiada-doc [--root DIR] [--timeout-seconds N] [--only-through LINE] FILE.md
//! ```
//!
//! # The document format
//!
//! **Blocks.** Only fenced blocks whose info string starts with the word `console` run;
//! ```` ```sh ````, ```` ```yaml ````, ```` ```text ```` and the rest are only shown.
//! Prose and HTML comments are ignored, and so is a fence inside an HTML comment. More
//! words after `console` are options; any other word is a format error.
//! - `retry=N`: each command of the block is run again every 2 s until its output and
//!   exit status are as shown, for at most N seconds. For eventual states: a restarted
//!   container, a Service's endpoints, a rollout.
//! - `background`: the block holds exactly one host command, which keeps running (see
//!   below). It cannot be combined with `retry=`.
//!
//! **Commands.** In a console block, a line starting with `$ ` is a command typed on the
//! host. A command line ending with ` \` goes on on the next line (the backslash and the
//! line end are dropped, as the shell does). The lines after a command, up to the next
//! command line or the end of the block, are its expected output. Non-blank lines before
//! a block's first command are a format error.
//!
//! **Inside a pod.** A line starting with `/ $ ` is a command typed in a pod's shell. The
//! pod is the one opened by the latest host command of exactly the form
//! `kubectl exec -it POD -- sh`, optionally with `-n NS` before or after the pod. That
//! opening command is not run (it would wait for a terminal), it only names the pod, and
//! it must show no output. The pod's shell stays open across blocks, until the next host
//! command (the reader typed `exit`) or a line `/ $ exit` (not run either). Each in-pod
//! command runs from the host shell as `kubectl exec -i POD [-n NS] -- sh -c 'COMMAND'`
//! (quoted for `sh`; the pod and namespace words as the document wrote them, so `$POD`
//! works). An in-pod command with no open pod is a format error.
//!
//! **The host shell.** All host commands, and the `kubectl exec -i` of the in-pod ones,
//! run in one persistent `bash --noprofile --norc` whose working directory is `--root`
//! (default: the current directory), with this process's environment plus `LC_ALL=C`
//! (so `sort` is the same everywhere), `TERM=dumb`, and `CURL_HOME` naming a
//! `.curlrc` with `silent` and `show-error` (curl adds a progress meter when its output is
//! not a terminal, and here it is a pipe; the reader's terminal shows none). So `X=$(...)`, `export` and `cd`
//! carry over to the next command as in a terminal, pipes and `$(...)` work, and output
//! is stdout and stderr together, in order. A command's stdin is `/dev/null`. A command
//! that has not finished after `--timeout-seconds` (default 60) fails as timed out: the
//! shell and everything it started are killed and the run stops, as does a command that
//! makes the shell exit.
//!
//! **Background commands.** The command of a `background` block starts in its own
//! `bash -c`, with the same directory and environment but not the variables or `cd` of
//! earlier commands. The runner waits (at most `--timeout-seconds`) until its output so
//! far matches the block's expected output, then goes on; the run goes on also when it
//! never does. It is stopped (SIGTERM, SIGKILL 3 s later, with everything it started)
//! when the run ends, whether the run passed or not.
//!
//! **Exit status.** A command must exit 0, unless the last line of its expected output is
//! `command terminated with exit code N` (what `kubectl exec` prints when the remote
//! command fails): then it must exit N. That line stands for the status, whether the
//! command printed it (kubectl) or not (`sh -c 'exit 3'`), and is left out of the output
//! comparison. In-pod commands follow the same rule, so a failing one shows that line.
//!
//! **Comparison.** Expected and actual output are normalised: CRLF to LF, blanks at line
//! ends removed, every run of spaces and tabs made one space (kubectl pads table columns
//! to widths that change with IPs and ages), blank lines at the start and the end
//! removed. Then `[..]` matches any text within a line and `...` on a line of its own
//! matches any number of lines (snapbox, trycmd's matcher). Empty expected output means
//! the command prints nothing; to accept any output write `...`.
//!
//! # Output
//!
//! First `FILE: N commands` (with `, running those through line L` under
//! `--only-through`), then one line per command as it finishes:
//! `PASS FILE:LINE COMMAND` or `FAIL FILE:LINE COMMAND` followed by indented lines with
//! the expected and the actual output and the exit status (or why it stopped). In-pod
//! commands show as `(pod POD) COMMAND`. A failure does not stop the run, except a
//! time-out. The last line is `N passed, M failed`. Progress goes to stderr.
//! `--only-through LINE` runs only the commands whose prompt is at or before that line.
//! Exit status: 0 when every command passed, 1 when one failed, 64 for a format error
//! (nothing is run; the message names FILE:LINE), 2 when the arguments are wrong, the
//! document cannot be read or bash cannot start.
//!
//! # Why not trycmd
//!
//! trycmd runs each command on its own, from an argument list, on the host. The
//! chapter's transcripts need a persistent shell (a variable set by one command is used
//! by the next), pipes and `$(...)`, and commands typed inside a pod's shell, none of
//! which trycmd's format can say. Its matcher, snapbox, is used as it is.

mod background;
mod capture;
mod compare;
mod markdown;
mod options;
mod pod;
mod process_group;
mod report;
mod runner;
mod script;
mod shell;

use std::fs;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

/// Exit codes besides success.
const FAILED: u8 = 1;
const CANNOT_RUN: u8 = 2;
const FORMAT_ERROR: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "kiada-doc",
    version,
    about = "Runs the commands of a markdown document's console blocks against the cluster your kubeconfig points to and checks their output",
    after_help = "The document format is described in doc-runner/src/main.rs.\nOutput: one line per command (PASS FILE:LINE COMMAND / FAIL ... with the expected and actual output), then `N passed, M failed`. Exit status 0 only if every command passed; 64 for a format error."
)]
struct Args {
    /// The working directory of the commands.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// The longest a command may take (then the run stops), and a background command to
    /// print what the document shows.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_seconds: u64,
    /// Run only the commands whose prompt is at or before this line of the document.
    #[arg(long, value_name = "LINE")]
    only_through: Option<usize>,
    /// The markdown document.
    file: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("kiada-doc: {error:#}");
            ExitCode::from(CANNOT_RUN)
        }
    }
}

fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let file = args.file.display().to_string();
    let source = fs::read_to_string(&args.file).with_context(|| format!("reading {file}"))?;
    let script = match script::parse(&source) {
        Ok(script) => script,
        Err(error) => {
            eprintln!("kiada-doc: {file}:{}: {}", error.line, error.problem);
            return Ok(ExitCode::from(FORMAT_ERROR));
        }
    };
    match args.only_through {
        None => println!("{file}: {} commands", script.commands.len()),
        Some(line) => println!(
            "{file}: {} commands, running those through line {line}",
            script.commands.len()
        ),
    }
    // What a terminal gives curl for free: no progress meter around the answer.
    let curl_home = tempfile::tempdir().context("creating a directory for curl's settings")?;
    fs::write(curl_home.path().join(".curlrc"), "silent\nshow-error\n")
        .context("writing curl's settings")?;
    let options = runner::Options {
        file,
        root: args.root.clone(),
        curl_home: Some(curl_home.path().to_owned()),
        timeout: Duration::from_secs(args.timeout_seconds),
        only_through: args.only_through,
    };
    let all_passed = runner::run(&script, &options, io::stdout().lock())?;
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    })
}
