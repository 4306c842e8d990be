//! The measured server processes: started on free loopback ports in the manifests'
//! configuration, read through /proc (the procfs crate) while they run, killed when
//! dropped.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use procfs::process::Process;

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
    fn process(&self) -> anyhow::Result<Process> {
        let pid = i32::try_from(self.child.id()).context("a pid beyond i32")?;
        Process::new(pid).with_context(|| format!("cannot read /proc/{pid} ({})", self.name))
    }

    /// Peak resident memory so far, in MiB.
    pub fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        let kib = self.process()?.status()?.vmhwm.context("no VmHWM")?;
        Ok(kib as f64 / 1024.0)
    }

    /// Resident memory now, in MiB.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        let kib = self.process()?.status()?.vmrss.context("no VmRSS")?;
        Ok(kib as f64 / 1024.0)
    }

    /// CPU time used so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = self.process()?.stat()?;
        Ok((stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64)
    }

    /// Lines in its log so far.
    pub fn log_lines(&self) -> anyhow::Result<u64> {
        let log = std::fs::read(&self.log)
            .with_context(|| format!("cannot read {}", self.log.display()))?;
        Ok(log.iter().filter(|&&byte| byte == b'\n').count() as u64)
    }
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

    /// Memory and CPU time of a real child process, through the same methods as the
    /// servers'.
    #[test]
    fn reads_a_child_process() {
        let child = Command::new("sleep").arg("5").spawn().unwrap();
        let server = Server {
            name: "sleep",
            binary: PathBuf::from("sleep"),
            log: PathBuf::from("/dev/null"),
            ready_after: Duration::ZERO,
            child,
        };
        // Until the child has exec'd sleep, it is a copy of this test binary whose
        // figures exec replaces (VmHWM starts again): read them after.
        let comm = || server.process().and_then(|p| Ok(p.stat()?.comm));
        for _ in 0..200 {
            if comm().is_ok_and(|comm| comm == "sleep") {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(comm().unwrap(), "sleep");
        // Resident now, then the peak: the peak read later cannot be below it.
        let now = server.rss_mib().unwrap();
        let peak = server.peak_rss_mib().unwrap();
        assert!(
            peak > 0.0 && now > 0.0 && now <= peak,
            "{now} MiB of {peak} MiB"
        );
        assert!(server.cpu_seconds().unwrap() >= 0.0);
    }
}
