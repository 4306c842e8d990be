//! The real `quote` binary: its command line, start-up errors and exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use kiada_testkit::process::{assert_help_mentions, sigterm, wait_with_timeout};

const BINARY: &str = env!("CARGO_BIN_EXE_quote");

/// What `command` (quote, given a bad setting) printed on standard error as it failed
/// to start: exit code 1.
fn start_up_error(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    String::from_utf8(output.stderr).expect("standard error is UTF-8")
}

#[test]
fn help_documents_flags_and_environment() {
    assert_help_mentions(
        BINARY,
        &[
            "--listen-port",
            "LISTEN_PORT",
            "--interval",
            "QUOTE_INTERVAL",
            "--tips-file",
            "QUOTE_TIPS_FILE",
            "LOG_FORMAT",
        ],
    );
}

#[test]
fn variables_that_are_not_utf8_are_an_error_or_ignored_never_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let not_utf8 = std::ffi::OsStr::from_bytes(b"80\xff");
    // One of ours: an error that names it.
    let stderr = start_up_error(Command::new(BINARY).env("LISTEN_PORT", not_utf8));
    assert!(
        stderr.starts_with("quote: invalid configuration"),
        "{stderr}"
    );
    assert!(stderr.contains("LISTEN_PORT"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Someone else's: not read at all; the next error is the tips file's.
    assert_a_missing_tips_file_stops_start_up(
        Command::new(BINARY).env("SOME_OTHER_VARIABLE", not_utf8),
    );
}

#[test]
fn a_bad_setting_stops_start_up_with_a_clear_message() {
    assert_a_missing_tips_file_stops_start_up(&mut Command::new(BINARY));
}

/// `command` (quote) given a tips file that does not exist stops with an error that
/// names the file.
fn assert_a_missing_tips_file_stops_start_up(command: &mut Command) {
    let stderr = start_up_error(
        command
            .env("QUOTE_TIPS_FILE", "/nonexistent/tips.txt")
            .env("LISTEN_PORT", "0"),
    );
    assert!(
        stderr.contains("cannot read tips file /nonexistent/tips.txt"),
        "{stderr}"
    );
}

#[test]
fn sigterm_stops_the_service_with_exit_code_zero() {
    let mut child = Command::new(BINARY)
        .env("LISTEN_PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = lines
        .next()
        .expect("a start-up line")
        .expect("readable output");
    let started: serde_json::Value = serde_json::from_str(&started).unwrap();
    assert_eq!(started["message"], "quote service starting");
    let port = started["port"].as_u64().expect("the bound port is logged");
    assert!(port > 0);

    sigterm(&child);
    let exit = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(exit.code(), Some(0));
}
