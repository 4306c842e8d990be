//! The real `quote` binary: its command line, start-up errors and exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_quote");

#[test]
fn help_documents_flags_and_environment() {
    let output = Command::new(BINARY).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--listen-port",
        "LISTEN_PORT",
        "--interval",
        "QUOTE_INTERVAL",
        "--tips-file",
        "QUOTE_TIPS_FILE",
        "LOG_FORMAT",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn variables_that_are_not_utf8_are_an_error_or_ignored_never_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let not_utf8 = std::ffi::OsStr::from_bytes(b"80\xff");
    // One of ours: an error that names it.
    let output = Command::new(BINARY)
        .env("LISTEN_PORT", not_utf8)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("quote: invalid configuration"),
        "{stderr}"
    );
    assert!(stderr.contains("LISTEN_PORT"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Someone else's: not read at all; the next error is the tips file's.
    let output = Command::new(BINARY)
        .env("SOME_OTHER_VARIABLE", not_utf8)
        .env("QUOTE_TIPS_FILE", "/nonexistent/tips.txt")
        .env("LISTEN_PORT", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read tips file /nonexistent/tips.txt"),
        "{stderr}"
    );
}

#[test]
fn a_bad_setting_stops_start_up_with_a_clear_message() {
    let output = Command::new(BINARY)
        .env("QUOTE_TIPS_FILE", "/nonexistent/tips.txt")
        .env("LISTEN_PORT", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
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

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0));
}
