//! The `kiada` binary itself: help, start-up log, status messages from standard input,
//! start-up errors and SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kiada_testkit::process::{assert_help_mentions, sigterm, version_line, wait_with_timeout};
use kiada_testkit::suite::*;

const KIADA: &str = env!("CARGO_BIN_EXE_kiada");

#[test]
fn help_documents_every_setting() {
    assert_help_mentions(
        KIADA,
        &[
            "--listen-port",
            "--tls-port",
            "--tls-cert-file",
            "--tls-key-file",
            "--quote-url",
            "--quiz-url",
            "--backend-timeout",
            "--initial-status-message",
            "--no-stdin",
            "LISTEN_PORT",
            "TLS_LISTEN_PORT",
            "TLS_CERT_FILE",
            "TLS_KEY_FILE",
            "QUOTE_URL",
            "QUIZ_URL",
            "QUOTE_SERVICE_HOST",
            "QUIZ_SERVICE_HOST",
            "BACKEND_TIMEOUT_SECONDS",
            "BACKEND_CONNECT_TIMEOUT_SECONDS",
            "BACKEND_POOL_IDLE_SECONDS",
            "POD_NAME",
            "POD_IP",
            "NODE_NAME",
            "NODE_IP",
            "INITIAL_STATUS_MESSAGE",
            "kubectl attach",
            "LOG_FORMAT",
            "RUST_LOG",
            "SHUTDOWN_DRAIN_SECONDS",
            "SHUTDOWN_TIMEOUT_SECONDS",
        ],
    );
    assert_eq!(
        version_line(KIADA),
        format!("kiada {}\n", service_kit::VERSION)
    );
}

/// The real kiada binary with only the environment given here: both ports picked by the
/// system, JSON logs at info, and these backend URLs.
pub(crate) fn kiada_command(quote_url: &str, quiz_url: &str) -> Command {
    let mut command = Command::new(KIADA);
    command.env_clear().envs([
        ("LISTEN_PORT", "0"),
        ("TLS_LISTEN_PORT", "0"),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
        ("QUOTE_URL", quote_url),
        ("QUIZ_URL", quiz_url),
    ]);
    command
}

/// Kills the child if the test fails before it exits.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Forwards a pipe's lines to a channel from a thread.
fn lines_of(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn next_line(lines: &mpsc::Receiver<String>, deadline: Instant) -> Option<String> {
    lines
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .ok()
}

#[tokio::test]
async fn status_message_from_stdin_logs_and_sigterm() {
    install_crypto_provider();
    let quote_url = refused_url("/quote");
    let quiz_url = refused_url("");
    let child = kiada_command(&quote_url, &quiz_url)
        .envs([
            ("POD_NAME", KIADA_POD),
            ("NODE_NAME", KIADA_NODE),
            ("POD_IP", KIADA_POD_IP),
            ("NODE_IP", KIADA_NODE_IP),
            ("INITIAL_STATUS_MESSAGE", "Starting up"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut stdin = child.0.stdin.take().unwrap();
    let stdout = lines_of(child.0.stdout.take().unwrap());
    let stderr = lines_of(child.0.stderr.take().unwrap());

    // The start-up log, up to the line with the ports.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut startup = Vec::new();
    let port = loop {
        let line = next_line(&stdout, deadline).expect("start-up log within 20 s");
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(port) = json["http_port"].as_u64() {
            assert!(json["https_port"].as_u64().is_some_and(|p| p > 0), "{line}");
            break port;
        }
        startup.push(json);
    };
    let field = |name: &str| {
        startup
            .iter()
            .find_map(|line| line[name].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("{name} in {startup:?}"))
    };
    assert_eq!(field("version"), service_kit::VERSION);
    assert_eq!(field("pod_name"), KIADA_POD);
    assert_eq!(field("node_name"), KIADA_NODE);
    assert_eq!(field("pod_ip"), KIADA_POD_IP);
    assert_eq!(field("node_ip"), KIADA_NODE_IP);
    assert!(!field("hostname").is_empty());
    assert_eq!(field("status_message"), "Starting up");
    let urls: Vec<(String, String)> = startup
        .iter()
        .filter(|line| line["url"].is_string())
        .map(|line| {
            (
                line["url"].as_str().unwrap().to_owned(),
                line["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        urls,
        [
            (quote_url.clone(), "environment variable".to_owned()),
            (format!("{quiz_url}/"), "environment variable".to_owned()),
        ]
    );
    assert!(
        startup.iter().any(|line| line["message"]
            .as_str()
            .is_some_and(|m| m.contains("self-signed certificate"))),
        "{startup:?}"
    );

    let client = reqwest::Client::new();
    let page = |client: reqwest::Client| async move {
        client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(page(client.clone()).await.contains("\nStarting up\n"));

    // A line too long and one not UTF-8 are skipped with a warning; a typed line replaces
    // the message; an empty one prints a hint on stderr.
    stdin.write_all(&vec![b'x'; 1024 * 1024]).unwrap();
    stdin
        .write_all(b"\nCaf\xe9 closed\nMaintenance at noon\n\n")
        .unwrap();
    stdin.flush().unwrap();
    let mut body = String::new();
    for _ in 0..100 {
        body = page(client.clone()).await;
        if body.contains("\nMaintenance at noon\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(body.contains("\nMaintenance at noon\n"), "{body}");
    assert!(!body.contains("Starting up"), "{body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let hint = loop {
        let line = next_line(&stderr, deadline).expect("a hint on stderr");
        if line.contains("status message") {
            break line;
        }
    };
    assert_eq!(
        hint,
        "Type a message and press Enter to set the status message shown on every page."
    );
    // The access log has one line per request, with the client IP; the skipped lines
    // have a warning each.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut access, mut warnings) = (None, Vec::new());
    while access.is_none() || warnings.len() < 2 {
        let line = next_line(&stdout, deadline).expect("an access log line and 2 warnings");
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        if json["target"] == "access" {
            access.get_or_insert(json);
        } else if json["level"] == "WARN" {
            warnings.push(json["message"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        warnings,
        [
            "a line of more than 4096 bytes on standard input was ignored: the status \
             message is unchanged",
            "a line on standard input that is not UTF-8 was ignored: the status message is \
             unchanged"
        ]
    );
    let access = access.unwrap();
    assert_eq!(access["client_ip"], "127.0.0.1");
    assert_eq!(access["path"], "/");

    // SIGTERM: a clean exit.
    sigterm(&child.0);
    let exit = wait_with_timeout(&mut child.0, Duration::from_secs(15));
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn start_up_errors_are_clear_and_fail_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.crt");
    let output = Command::new(KIADA)
        .env_clear()
        .envs([
            ("LISTEN_PORT", "0"),
            ("TLS_LISTEN_PORT", "0"),
            ("TLS_CERT_FILE", missing.to_str().unwrap()),
            ("TLS_KEY_FILE", missing.to_str().unwrap()),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "HTTPS: cannot read certificate file {}",
            missing.display()
        )),
        "{stderr}"
    );

    let output = Command::new(KIADA)
        .env_clear()
        .envs([("QUOTE_URL", "ftp://quote/quote")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("QUOTE_URL"), "{stderr}");
    assert!(stderr.contains("only http:// URLs"), "{stderr}");
}
