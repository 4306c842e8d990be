//! Where log lines go: standard output, written in batches by one thread of their own.
//!
//! Writing each line with its own `write(2)` under the stdout lock cost kiada a system
//! call per request and, at 64 connections, a futex wait whenever its two workers logged
//! at the same time (0.4 futex calls per request, half of them contended, under strace).
//! A channel to a writer thread (tracing-appender) moves the `write(2)` but wakes the
//! thread for nearly every line at these rates, a futex wake and two context switches per
//! request. Here a line is only appended to a shared buffer; the writer thread, woken
//! once per batch, lets lines gather for [`GATHER`] and writes them with one system call.
//! Nothing is lost on a graceful exit: [`LogGuard`] writes what is pending when dropped,
//! and [`flush`] does before an abrupt exit.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long lines gather before the writer thread writes them: short enough for
/// `kubectl logs -f` to look immediate, long enough for one write per few hundred lines
/// under load.
const GATHER: Duration = Duration::from_millis(10);

/// Pending bytes past which the line's writer writes the batch itself: when standard
/// output blocks (nobody reads the pipe), logging slows the requests down as a blocking
/// write would, instead of growing the buffer without bound.
const MAX_PENDING: usize = 256 * 1024;

/// The writer thread needs little stack: it only moves buffers.
const THREAD_STACK: usize = 64 * 1024;

type Output = Box<dyn Write + Send>;

struct Pending {
    bytes: Vec<u8>,
    /// Set by [`LogGuard`]: from then on every line is written at once.
    stopped: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer thread when the first line of a batch arrives or on stop.
    wake: Condvar,
    /// Held while a batch is written, so that batches leave in the order taken.
    output: Mutex<Output>,
}

/// A poisoned lock only means a thread panicked while logging: the bytes are still good.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Writes everything pending, in order; `spare` is the buffer swapped in for it.
    fn write_pending(&self, spare: &mut Vec<u8>) {
        let mut output = lock(&self.output);
        std::mem::swap(&mut lock(&self.pending).bytes, spare);
        if !spare.is_empty() {
            // A log that cannot be written has nowhere to report it: the line is dropped,
            // as the standard writer drops it.
            let _ = output.write_all(spare);
            let _ = output.flush();
            spare.clear();
        }
    }

    fn append(&self, line: &[u8]) {
        let mut pending = lock(&self.pending);
        let first = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        let write_now = pending.stopped || pending.bytes.len() >= MAX_PENDING;
        drop(pending);
        if write_now {
            self.write_pending(&mut Vec::new());
        } else if first {
            self.wake.notify_one();
        }
    }

    /// The writer thread: sleeps until a batch begins, lets it gather, writes it.
    fn run(&self) {
        let mut spare = Vec::new();
        loop {
            let mut pending = lock(&self.pending);
            while pending.bytes.is_empty() && !pending.stopped {
                pending = self
                    .wake
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            let stopped = pending.stopped;
            drop(pending);
            if !stopped {
                std::thread::sleep(GATHER);
            }
            self.write_pending(&mut spare);
            if stopped {
                return;
            }
        }
    }
}

/// The writer the log subscriber is given; clones share one buffer and thread.
#[derive(Clone)]
pub(crate) struct BatchedWriter(Arc<Shared>);

impl io::Write for &BatchedWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.0.append(line);
        Ok(line.len())
    }

    /// Lines are written by the writer thread; [`LogGuard`] and [`flush`] force them out.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedWriter {
    type Writer = &'a BatchedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// Writes what is pending and stops the writer thread when dropped; lines logged after
/// that are written at once. Keep it until the program ends.
#[must_use = "dropping the guard stops batching: keep it until the program ends"]
pub struct LogGuard {
    writer: Option<(BatchedWriter, JoinHandle<()>)>,
}

impl LogGuard {
    /// A guard for a subscriber that was not installed: nothing to write.
    pub(crate) fn none() -> Self {
        Self { writer: None }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some((BatchedWriter(shared), thread)) = self.writer.take() {
            lock(&shared.pending).stopped = true;
            shared.wake.notify_one();
            let _ = thread.join();
            shared.write_pending(&mut Vec::new());
        }
    }
}

/// The writer of the installed subscriber, for [`flush`].
static INSTALLED: OnceLock<BatchedWriter> = OnceLock::new();

/// A writer to `output` with its thread, and the guard that stops it. Without a thread
/// (the system refused one) lines are written at once.
pub(crate) fn batched(output: Output) -> (BatchedWriter, LogGuard) {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending {
            bytes: Vec::new(),
            stopped: false,
        }),
        wake: Condvar::new(),
        output: Mutex::new(output),
    });
    let writer = BatchedWriter(shared.clone());
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .stack_size(THREAD_STACK)
        .spawn(move || shared.run());
    match thread {
        Ok(thread) => (
            writer.clone(),
            LogGuard {
                writer: Some((writer, thread)),
            },
        ),
        Err(_) => {
            lock(&writer.0.pending).stopped = true;
            (writer, LogGuard::none())
        }
    }
}

/// Remembers `writer` as the installed subscriber's, for [`flush`].
pub(crate) fn installed(writer: BatchedWriter) {
    let _ = INSTALLED.set(writer);
}

/// Writes the pending log lines now: before `std::process::exit`, which runs no drops.
pub fn flush() {
    if let Some(BatchedWriter(shared)) = INSTALLED.get() {
        shared.write_pending(&mut Vec::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(lock(&self.0).clone()).unwrap()
        }
    }

    #[test]
    fn lines_from_several_threads_are_all_written_whole_and_in_order_per_thread() {
        let sink = Sink::default();
        let (writer, guard) = batched(Box::new(sink.clone()));
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let writer = &writer;
                scope.spawn(move || {
                    for line in 0..2000 {
                        (&*writer)
                            .write_all(format!("{thread} {line}\n").as_bytes())
                            .unwrap();
                    }
                });
            }
        });
        drop(guard);
        let text = sink.text();
        let mut next = [0; 4];
        for line in text.lines() {
            let (thread, number) = line.split_once(' ').unwrap();
            let thread: usize = thread.parse().unwrap();
            assert_eq!(number.parse::<usize>().unwrap(), next[thread], "{line}");
            next[thread] += 1;
        }
        assert_eq!(next, [2000; 4]);
    }

    #[test]
    fn lines_appear_within_a_few_gather_intervals_without_a_flush() {
        let sink = Sink::default();
        let (writer, _guard) = batched(Box::new(sink.clone()));
        (&writer).write_all(b"one\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.text().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.text(), "one\n");
    }

    #[test]
    fn after_the_guard_is_dropped_lines_are_written_at_once() {
        let sink = Sink::default();
        let (writer, guard) = batched(Box::new(sink.clone()));
        (&writer).write_all(b"before\n").unwrap();
        drop(guard);
        assert_eq!(sink.text(), "before\n");
        (&writer).write_all(b"after\n").unwrap();
        assert_eq!(sink.text(), "before\nafter\n");
    }

    #[test]
    fn a_full_buffer_is_written_by_the_line_that_fills_it() {
        let sink = Sink::default();
        let (writer, _guard) = batched(Box::new(sink.clone()));
        let line = vec![b'x'; MAX_PENDING];
        (&writer).write_all(&line).unwrap();
        assert_eq!(lock(&sink.0).len(), MAX_PENDING);
    }
}
