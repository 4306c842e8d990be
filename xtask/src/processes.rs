//! The measured server processes: started on free loopback ports in the manifests'
//! configuration, read through /proc while they run, killed when dropped.
//!
//! /proc/<pid>/stat and /proc/<pid>/status are read by the two small parsers below rather
//! than the procfs crate: procfs needs rustix's `param` and `thread` features, which the
//! services' build lacks, and as xtask is a member of the workspace its dependencies'
//! features are unified into every service's rustix (through gethostname): it would change
//! what ships.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::binaries;

/// A started server process, killed when dropped.
pub struct Server {
    pub name: &'static str,
    pub binary: PathBuf,
    /// Where its standard output (its log) goes.
    pub log: PathBuf,
    pub ready_after: Duration,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start one server.
pub struct Spec<'a> {
    pub name: &'static str,
    pub binary: &'a Path,
    pub args: &'a [String],
    pub env: &'a [(&'a str, String)],
    /// A URL that answers 200 once the server is ready.
    pub ready_url: &'a str,
}

impl Server {
    fn proc_file(&self, file: &str) -> anyhow::Result<String> {
        let path = format!("/proc/{}/{file}", self.child.id());
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))
    }

    /// Peak resident memory so far, in MiB.
    pub fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        Ok(status_kib(&self.proc_file("status")?, "VmHWM").context("no VmHWM")? / 1024.0)
    }

    /// Resident memory now, in MiB.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        Ok(status_kib(&self.proc_file("status")?, "VmRSS").context("no VmRSS")? / 1024.0)
    }

    /// CPU time used so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let ticks =
            stat_ticks(&self.proc_file("stat")?, false).context("short /proc/<pid>/stat")?;
        Ok(ticks as f64 / clock_ticks_per_second())
    }

    /// Lines in its log so far.
    pub fn log_lines(&self) -> anyhow::Result<u64> {
        let log = std::fs::read(&self.log)
            .with_context(|| format!("cannot read {}", self.log.display()))?;
        Ok(log.iter().filter(|&&byte| byte == b'\n').count() as u64)
    }
}

/// user + system CPU time in clock ticks from the text of /proc/<pid>/stat: the 14th and
/// 15th fields (proc(5)), counted after the command name, which is in parentheses and may
/// hold spaces and parentheses itself. With `children`, the 16th and 17th (the waited-for
/// children's) instead.
pub fn stat_ticks(stat: &str, children: bool) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // fields[0] is the 3rd field (state), so field n is fields[n - 3].
    let first = if children { 16 } else { 14 };
    let value = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(value(first)? + value(first + 1)?)
}

/// A `Field:   123 kB` line of /proc/<pid>/status, in KiB.
pub fn status_kib(status: &str, field: &str) -> Option<f64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().strip_suffix("kB")?.trim().parse().ok())
}

/// The kernel's clock tick rate for /proc CPU times (`getconf CLK_TCK`; 100 on Linux).
pub fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts a server with only the given environment (and the manifests' logging:
/// `RUST_LOG=info`, `LOG_FORMAT=text`), its standard output to `<work>/<name>.log`, and
/// measures the time until its ready URL answers 200 (at most 10 s).
pub fn start(spec: Spec, work: &Path) -> anyhow::Result<Server> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let log = work.join(format!("{}.log", spec.name));
    let stdout = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let started = Instant::now();
    let child = Command::new(spec.binary)
        .args(spec.args)
        .env_clear()
        .envs([("RUST_LOG", "info"), ("LOG_FORMAT", "text")])
        .envs(spec.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", spec.binary.display()))?;
    let mut server = Server {
        name: spec.name,
        binary: spec.binary.to_owned(),
        log,
        ready_after: Duration::ZERO,
        child,
    };
    let deadline = started + Duration::from_secs(10);
    loop {
        if client
            .get(spec.ready_url)
            .send()
            .is_ok_and(|response| response.status().is_success())
        {
            server.ready_after = started.elapsed();
            return Ok(server);
        }
        if let Some(status) = server.child.try_wait()? {
            bail!("{} exited with {status} before it was ready", spec.name);
        }
        ensure!(
            Instant::now() < deadline,
            "{} not ready after 10 s",
            spec.name
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// quote, quiz and kiada from target/release, on free loopback ports, kiada pointed at
/// the other two.
pub struct Suite {
    pub kiada: Server,
    pub quote: Server,
    pub quiz: Server,
    pub kiada_port: u16,
    pub quote_url: String,
    pub quiz_random_url: String,
}

pub fn start_suite(work: &Path) -> anyhow::Result<Suite> {
    let [kiada_binary, quote_binary, quiz_binary] = binaries::locate(binaries::SERVICES)?;
    let [quote_port, quiz_port, kiada_port, kiada_tls_port] =
        [free_port()?, free_port()?, free_port()?, free_port()?];
    let start_service = |name, binary: &Path, port: u16, env: &[(&str, String)]| {
        let mut env = env.to_vec();
        env.push(("LISTEN_PORT", port.to_string()));
        let ready_url = format!("http://127.0.0.1:{port}/healthz/ready");
        let (args, env) = (&[], &env[..]);
        start(
            Spec {
                name,
                binary,
                args,
                env,
                ready_url: &ready_url,
            },
            work,
        )
    };
    let quote = start_service("quote", &quote_binary, quote_port, &[])?;
    let quiz_db = work.join("quiz.db").display().to_string();
    let quiz = start_service(
        "quiz",
        &quiz_binary,
        quiz_port,
        &[("QUIZ_DB_PATH", quiz_db)],
    )?;
    let kiada = start_service(
        "kiada",
        &kiada_binary,
        kiada_port,
        &[
            ("TLS_LISTEN_PORT", kiada_tls_port.to_string()),
            ("QUOTE_URL", format!("http://127.0.0.1:{quote_port}/quote")),
            ("QUIZ_URL", format!("http://127.0.0.1:{quiz_port}")),
        ],
    )?;
    Ok(Suite {
        kiada,
        quote,
        quiz,
        kiada_port,
        quote_url: format!("http://127.0.0.1:{quote_port}/quote"),
        quiz_random_url: format!("http://127.0.0.1:{quiz_port}/questions/random"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A command name with a space and a parenthesis, as a process may call itself.
    const STAT: &str = "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 912 0 0 0 \
                        1234 567 89 10 20 0 9 0 133742 123456789 4321 18446744073709551615";

    #[test]
    fn reads_cpu_ticks_after_a_command_name_with_spaces() {
        assert_eq!(stat_ticks(STAT, false), Some(1234 + 567));
        assert_eq!(stat_ticks(STAT, true), Some(89 + 10));
    }

    #[test]
    fn a_short_stat_is_none() {
        assert_eq!(stat_ticks("4242 (kiada) S 1 2 3", false), None);
        assert_eq!(stat_ticks("no parentheses", false), None);
    }

    #[test]
    fn reads_memory_from_status() {
        let status =
            "Name:\tkiada\nVmPeak:\t  123456 kB\nVmHWM:\t   19404 kB\nVmRSS:\t   18000 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(19404.0));
        assert_eq!(status_kib(status, "VmRSS"), Some(18000.0));
        assert_eq!(status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn reads_this_process() {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(stat_ticks(&stat, false).is_some());
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(status_kib(&status, "VmHWM").unwrap() > 0.0);
    }
}
