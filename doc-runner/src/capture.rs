//! Collects what a child process prints, on a thread of its own, so that the runner can
//! wait for a marker or a pattern with a deadline instead of blocking on a read.

use std::io::Read;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Instant;

/// The output of one child so far; the reading thread appends to it until the pipe ends.
pub struct Capture {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    bytes: Vec<u8>,
    ended: bool,
}

/// How a wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited<T> {
    Ready(T),
    /// The pipe closed (every process holding it exited) before the output was ready.
    Ended,
    TimedOut,
}

impl Capture {
    /// Starts reading `pipe` until it ends.
    pub fn start(mut pipe: impl Read + Send + 'static) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let writer = Arc::clone(&shared);
        // Never joined: a grandchild that escaped its process group may hold the pipe
        // open for ever, and the runner must not wait for it.
        thread::Builder::new()
            .name("kiada-doc-output".into())
            .spawn(move || {
                let mut chunk = [0u8; 8192];
                loop {
                    let read = pipe.read(&mut chunk);
                    let mut state = writer.lock();
                    match read {
                        Ok(0) | Err(_) => {
                            state.ended = true;
                            writer.changed.notify_all();
                            return;
                        }
                        Ok(n) => state.bytes.extend_from_slice(&chunk[..n]),
                    }
                    writer.changed.notify_all();
                }
            })?;
        Ok(Self { shared })
    }

    /// Waits until `ready` finds what it looks for in the output so far, the pipe ends
    /// or `deadline` passes. `ready` is called again after each new piece of output.
    pub fn wait_for<T>(
        &self,
        deadline: Instant,
        mut ready: impl FnMut(&[u8]) -> Option<T>,
    ) -> Waited<T> {
        let mut state = self.shared.lock();
        loop {
            if let Some(found) = ready(&state.bytes) {
                return Waited::Ready(found);
            }
            if state.ended {
                return Waited::Ended;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Waited::TimedOut;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Removes the first `len` bytes from the output and returns them.
    pub fn take(&self, len: usize) -> Vec<u8> {
        let mut state = self.shared.lock();
        let len = len.min(state.bytes.len());
        state.bytes.drain(..len).collect()
    }

    /// The output so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock().bytes).into_owned()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere leaves the bytes as valid as before; keep using them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn waits_for_a_pattern_then_for_the_end() {
        let capture = Capture::start(&b"one\ntwo\n"[..]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let found = capture.wait_for(deadline, |bytes| bytes.windows(3).position(|w| w == b"two"));
        assert_eq!(found, Waited::Ready(4));
        assert_eq!(capture.take(4), b"one\n");
        assert_eq!(capture.text(), "two\n");
        let never = capture.wait_for(deadline, |_| None::<()>);
        assert_eq!(never, Waited::Ended);
    }

    #[test]
    fn a_silent_pipe_times_out() {
        let (reader, _writer) = std::io::pipe().unwrap();
        let capture = Capture::start(reader).unwrap();
        let started = Instant::now();
        let waited = capture.wait_for(started + Duration::from_millis(200), |_| None::<()>);
        assert_eq!(waited, Waited::TimedOut);
        // Far below forever (the writer is never closed), far above 200 ms.
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
