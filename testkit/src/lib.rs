//! Test support shared by the suite's tests (a `[dev-dependencies]` entry of service-kit,
//! quote, quiz and kiada): everything here speaks to real sockets on loopback and real
//! binaries.
//!
//! - [`raw`]: HTTP/1.1 written by hand over a socket, for what a client library will not
//!   send and for seeing exactly how and when a server answers and closes.
//! - [`balancer`]: a TCP relay that spreads connections over several servers, as a
//!   Service does, and counts them.
//! - [`server`]: [`server::TestServer`], a real service started in the test's process
//!   with a client for it and stopped when the test ends (quote's, quiz's and the
//!   suite's tests), and a bare server built the way every service builds its own.
//! - [`process`]: a service's real binary started on a free port, its port learnt from
//!   its log, readiness waited for, killed when the test ends.
//! - [`shutdown`]: SIGTERM under a bounded load, against a real binary.
//! - [`logs`]: the in-process services' JSON log lines, captured for a test to read.
//! - `suite` (feature `suite`, kiada's tests): the real quote, quiz and kiada started in
//!   the test's process, kiada pointed at the other two, and broken stand-in backends.
//! - [`vars`] and [`lock`]: the two small helpers every test file wrote again, and
//!   [`assert_left_alone`] for files a service refused.
//! - `module_graph` (a test of its own): no import cycle among the top-level modules
//!   of any crate of the workspace.

pub mod balancer;
pub mod logs;
#[cfg(test)]
mod module_graph;
pub mod process;
pub mod raw;
pub mod server;
pub mod shutdown;
#[cfg(feature = "suite")]
pub mod suite;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Owned `(name, value)` pairs, as an environment-reading loader takes them.
pub fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts that `dir` holds `file` and nothing else, and that the file still holds
/// `contents`: what a service that refused the file at start-up must leave behind.
pub fn assert_left_alone(dir: &Path, file: &Path, contents: &[u8]) {
    assert_eq!(std::fs::read(file).unwrap(), contents, "{}", file.display());
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(entries, [file], "what {} holds", dir.display());
}

/// Locks `mutex` even when a panicking test poisoned it: what it guards (collected log
/// lines) stays readable, and the first panic is the one to report.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
