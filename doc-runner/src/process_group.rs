//! Children in a process group of their own, with stdout and stderr in one pipe.
//!
//! A group so that stopping a child also stops what it started: bash forks a process for
//! each pipeline stage, and `bash -c 'kubectl port-forward ...'` keeps kubectl under it.
//! One pipe for both streams so that the output reads in the order it was written, as
//! on a terminal.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

use crate::capture::Capture;

/// How long a stopped child has between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// A running child and its combined output; stopped (the whole group) when dropped.
pub struct GroupChild {
    child: Child,
    pub output: Capture,
    /// Set once the child is waited for: its pid, and so the group id, may then be
    /// reused, and no signal may be sent to it any more.
    reaped: bool,
}

impl GroupChild {
    /// Starts `command` with `stdin`, in a new process group. `command` is consumed
    /// because it holds the pipe's write ends: the output ends only once this process
    /// has closed its copies.
    pub fn spawn(mut command: Command, stdin: Stdio) -> io::Result<Self> {
        let (reader, writer) = io::pipe()?;
        // Reading starts first so that nothing is left to clean up if a step below
        // fails: the write ends then close with `command` and the reader just ends.
        let output = Capture::start(reader)?;
        command
            .stdin(stdin)
            .stdout(writer.try_clone()?)
            .stderr(writer)
            .process_group(0);
        let child = command.spawn()?;
        drop(command);
        Ok(Self {
            child,
            output,
            reaped: false,
        })
    }

    /// The write end of the child's stdin, when it was spawned with `Stdio::piped()`.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// SIGKILL to the whole group at once, then waits for the child.
    pub fn kill(&mut self) {
        if self.reaped {
            return;
        }
        self.signal(Signal::KILL);
        let _ = self.child.wait();
        self.reaped = true;
    }

    /// SIGTERM to the whole group; SIGKILL if the child is still there after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.reaped {
            return;
        }
        // Signal before any wait: until the child is reaped its pid cannot be reused.
        self.signal(Signal::TERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => {
                    self.reaped = true;
                    return;
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
            }
        }
        self.kill();
    }

    fn signal(&self, signal: Signal) {
        // Fails only when the group is already gone, which is what we want anyway.
        let _ = kill_process_group(Pid::from_child(&self.child), signal);
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        self.stop(STOP_GRACE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Waited;

    #[test]
    fn output_of_both_streams_in_order_and_the_group_is_stopped() {
        let mut command = Command::new("bash");
        command.args(["-c", "echo out; echo err >&2; sleep 30 & wait"]);
        let mut child = GroupChild::spawn(command, Stdio::null()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let ready = child.output.wait_for(deadline, |bytes| {
            bytes.ends_with(b"out\nerr\n").then_some(())
        });
        assert_eq!(ready, Waited::Ready(()));
        child.stop(STOP_GRACE);
        // The pipe ends only when the backgrounded sleep, too, is gone.
        let ended = child.output.wait_for(deadline, |_| None::<()>);
        assert_eq!(ended, Waited::Ended);
    }
}
