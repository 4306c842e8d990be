//! Turns a document's console blocks into the list of commands to run, each with the
//! output the document shows after it, and rejects what the format does not allow.

use thiserror::Error;

use crate::markdown::{self, FencedBlock};
use crate::options::{self, Mode, OptionError};
use crate::pod::PodSession;

/// The commands of one document, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<Command>,
}

/// One command the runner runs and checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The line of its prompt.
    pub line: usize,
    /// As the reader types it, continuation lines joined.
    pub text: String,
    /// The pod it is typed in, for an in-pod (`/ $ `) command.
    pub pod: Option<String>,
    /// What the host shell runs: `text` itself, or the `kubectl exec -i` for a pod.
    pub shell_line: String,
    /// The lines the document shows after it, joined with `\n`.
    pub expected: String,
    pub mode: Mode,
}

impl Command {
    /// How the result lines name it.
    pub fn label(&self) -> String {
        match &self.pod {
            None => self.text.clone(),
            Some(pod) => format!("(pod {pod}) {}", self.text),
        }
    }
}

/// A document that does not follow the format; nothing of it is run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {problem}")]
pub struct FormatError {
    pub line: usize,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    #[error("{0}")]
    Option(OptionError),
    #[error("output before the block's first command (commands start with `$ ` or `/ $ `)")]
    OutputBeforeCommand,
    #[error("the command ends with ` \\` but the block ends before its next line")]
    ContinuationAtEnd,
    #[error("a prompt without a command")]
    EmptyCommand,
    #[error(
        "a command typed in a pod's shell (`/ $ `) but no pod is open: open one with `$ kubectl exec -it POD -- sh`"
    )]
    NoOpenPod,
    #[error("`{0}` prints nothing in the document's form; put its output after a command")]
    OutputAfterSilentLine(String),
    #[error("a background block holds exactly one host command (`$ `), and not `kubectl exec -it`")]
    BackgroundNotOneCommand,
    #[error("the command cannot be quoted for `sh -c` (it holds a NUL character)")]
    Unquotable,
}

/// Where a command line was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    Host,
    Pod,
}

/// A command line of a block, before it is interpreted.
struct Typed {
    line: usize,
    prompt: Prompt,
    text: String,
    expected: Vec<String>,
}

/// Parses every console block of `source`.
pub fn parse(source: &str) -> Result<Script, FormatError> {
    let mut commands = Vec::new();
    // The reader's terminal lives on from one block to the next, and so does a pod shell.
    let mut pod: Option<PodSession> = None;
    for block in markdown::fenced_blocks(source) {
        let at_fence = |problem| FormatError {
            line: block.fence_line,
            problem,
        };
        let Some(mode) =
            options::console_mode(&block.info).map_err(|error| at_fence(Problem::Option(error)))?
        else {
            continue;
        };
        let typed = split_commands(&block)?;
        if mode == Mode::Background && !is_one_plain_host_command(&typed) {
            return Err(at_fence(Problem::BackgroundNotOneCommand));
        }
        for entry in typed {
            if let Some(command) = interpret(entry, mode, &mut pod)? {
                commands.push(command);
            }
        }
    }
    Ok(Script { commands })
}

fn is_one_plain_host_command(typed: &[Typed]) -> bool {
    matches!(typed, [only] if only.prompt == Prompt::Host && PodSession::opened_by(&only.text).is_none())
}

/// The block's command lines, each with the lines that follow it.
fn split_commands(block: &FencedBlock) -> Result<Vec<Typed>, FormatError> {
    let mut typed: Vec<Typed> = Vec::new();
    let mut lines = block.lines.iter();
    while let Some((line, content)) = lines.next() {
        let error = |problem| FormatError {
            line: *line,
            problem,
        };
        let Some((prompt, first)) = prompt_of(content) else {
            match typed.last_mut() {
                Some(last) => last.expected.push(content.clone()),
                None if content.trim().is_empty() => {}
                None => return Err(error(Problem::OutputBeforeCommand)),
            }
            continue;
        };
        let mut text = first.to_owned();
        // The shell drops a backslash-newline pair and reads on, and so do we.
        while text.ends_with(" \\") {
            text.pop();
            let (_, next) = lines
                .next()
                .ok_or_else(|| error(Problem::ContinuationAtEnd))?;
            text.push_str(next);
        }
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(error(Problem::EmptyCommand));
        }
        typed.push(Typed {
            line: *line,
            prompt,
            text,
            expected: Vec::new(),
        });
    }
    Ok(typed)
}

fn prompt_of(line: &str) -> Option<(Prompt, &str)> {
    if let Some(rest) = line.strip_prefix("$ ") {
        Some((Prompt::Host, rest))
    } else {
        line.strip_prefix("/ $ ").map(|rest| (Prompt::Pod, rest))
    }
}

/// The command to run for one typed line, or `None` for the lines that only open or
/// close a pod's shell.
fn interpret(
    entry: Typed,
    mode: Mode,
    pod: &mut Option<PodSession>,
) -> Result<Option<Command>, FormatError> {
    let error = |problem| FormatError {
        line: entry.line,
        problem,
    };
    let silent = || {
        if entry.expected.iter().all(|line| line.trim().is_empty()) {
            Ok(None)
        } else {
            Err(error(Problem::OutputAfterSilentLine(entry.text.clone())))
        }
    };
    let (pod_name, shell_line) = match entry.prompt {
        Prompt::Host => {
            // A host prompt means the reader left the pod's shell.
            *pod = PodSession::opened_by(&entry.text);
            if pod.is_some() {
                // Not run: it would wait for a terminal. It only says where the `/ $ `
                // commands that follow are typed.
                return silent();
            }
            (None, entry.text.clone())
        }
        Prompt::Pod if entry.text == "exit" => {
            *pod = None;
            return silent();
        }
        Prompt::Pod => {
            let session = pod.as_ref().ok_or_else(|| error(Problem::NoOpenPod))?;
            let shell_line = session
                .command_line(&entry.text)
                .map_err(|_| error(Problem::Unquotable))?;
            (Some(session.pod.clone()), shell_line)
        }
    };
    Ok(Some(Command {
        line: entry.line,
        text: entry.text,
        pod: pod_name,
        shell_line,
        expected: entry.expected.join("\n"),
        mode,
    }))
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
