//! `cargo xtask bench`: builds the release binaries, starts quote, quiz, kiada and a
//! bare actix-web "hello" server (the ceiling of this machine) on loopback, drives each
//! with wrk at several concurrencies, and prints and writes the results.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "The Kiada suite's own tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Measure throughput, latency, memory and start-up of every service on loopback.
    Bench(BenchArgs),
    /// Send a fixed number of requests through kiada and watch every service's memory.
    Soak(SoakArgs),
}

#[derive(clap::Args)]
struct SoakArgs {
    /// Requests to send through kiada's /text (each is three HTTP exchanges).
    #[arg(long, default_value_t = 1_000_000)]
    requests: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Stop after this many seconds even if not all requests were sent.
    #[arg(long, default_value_t = 1800)]
    max_seconds: u64,
    /// Use the binaries already in target/release.
    #[arg(long)]
    no_build: bool,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Seconds of load per target and concurrency.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Concurrent connections to measure at.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<u32>,
    /// Where the Markdown report goes.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// Use the binaries already in target/release.
    #[arg(long)]
    no_build: bool,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Bench(args) => bench(args),
        Task::Soak(args) => soak(args),
    }
}

/// A started server process, killed when dropped.
struct Server {
    name: &'static str,
    child: Child,
    ready_after: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// A memory figure from /proc/<pid>/status (`VmHWM`, `VmRSS`), in MiB.
    fn memory_mib(&self, field: &str) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} in /proc/<pid>/status"))?;
        Ok(kib / 1024.0)
    }

    /// Peak resident memory so far, in MiB.
    fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        self.memory_mib("VmHWM")
    }

    /// Resident memory now, in MiB.
    fn rss_mib(&self) -> anyhow::Result<f64> {
        self.memory_mib("VmRSS")
    }

    /// CPU time used so far (user + system), in seconds.
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name, which is in parentheses and may hold spaces:
        // utime and stime are the 12th and 13th of them (proc(5)), in clock ticks.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |index: usize| -> anyhow::Result<f64> {
            Ok(fields
                .get(index)
                .context("short /proc/<pid>/stat")?
                .parse::<f64>()?)
        };
        Ok((ticks(11)? + ticks(12)?) / clock_ticks_per_second())
    }
}

/// The kernel's clock tick rate for /proc CPU times (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        command_output("getconf", &["CLK_TCK"])
            .parse()
            .unwrap_or(100.0)
    })
}

/// quote, quiz and kiada from target/release, on free loopback ports, kiada pointed at
/// the other two.
struct Suite {
    quote: Server,
    quiz: Server,
    kiada: Server,
    quote_port: u16,
    quiz_port: u16,
    kiada_port: u16,
}

fn start_suite(release: &Path, work: &Path) -> anyhow::Result<Suite> {
    let [quote_port, quiz_port, kiada_port, kiada_tls_port] =
        [free_port()?, free_port()?, free_port()?, free_port()?];
    let quote = start(
        "quote",
        &release.join("quote"),
        &[],
        &[("LISTEN_PORT", quote_port.to_string())],
        &format!("http://127.0.0.1:{quote_port}/healthz/ready"),
    )?;
    let quiz = start(
        "quiz",
        &release.join("quiz"),
        &[],
        &[
            ("LISTEN_PORT", quiz_port.to_string()),
            ("QUIZ_DB_PATH", work.join("quiz.db").display().to_string()),
        ],
        &format!("http://127.0.0.1:{quiz_port}/healthz/ready"),
    )?;
    let kiada = start(
        "kiada",
        &release.join("kiada"),
        &[],
        &[
            ("LISTEN_PORT", kiada_port.to_string()),
            ("TLS_LISTEN_PORT", kiada_tls_port.to_string()),
            ("QUOTE_URL", format!("http://127.0.0.1:{quote_port}/quote")),
            ("QUIZ_URL", format!("http://127.0.0.1:{quiz_port}")),
        ],
        &format!("http://127.0.0.1:{kiada_port}/healthz/ready"),
    )?;
    Ok(Suite {
        quote,
        quiz,
        kiada,
        quote_port,
        quiz_port,
        kiada_port,
    })
}

fn build_release() -> anyhow::Result<()> {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--workspace", "--bins", "--examples"])
        .status()?;
    ensure!(status.success(), "release build failed");
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `binary` and measures the time until `ready_url` answers 200.
fn start(
    name: &'static str,
    binary: &Path,
    args: &[String],
    env: &[(&str, String)],
    ready_url: &str,
) -> anyhow::Result<Server> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let started = Instant::now();
    let child = Command::new(binary)
        .args(args)
        .envs(env.iter().map(|(key, value)| (*key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let mut server = Server {
        name,
        child,
        ready_after: Duration::ZERO,
    };
    let deadline = started + Duration::from_secs(10);
    loop {
        if client
            .get(ready_url)
            .send()
            .is_ok_and(|response| response.status().is_success())
        {
            server.ready_after = started.elapsed();
            return Ok(server);
        }
        if let Some(status) = server.child.try_wait()? {
            bail!("{name} exited with {status} before it was ready");
        }
        ensure!(Instant::now() < deadline, "{name} not ready after 10 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[derive(Debug, Clone, PartialEq)]
struct LoadResult {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
}

/// Parses a wrk latency such as `812.00us`, `1.52ms` or `2.01s` into milliseconds.
fn parse_latency_ms(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// Reads what `wrk --latency` prints.
fn parse_wrk(output: &str) -> anyhow::Result<LoadResult> {
    let mut result = LoadResult {
        requests_per_second: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        requests: 0,
        errors: 0,
    };
    for line in output.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", latency] => result.p50_ms = parse_latency_ms(latency).unwrap_or(f64::NAN),
            ["99%", latency] => result.p99_ms = parse_latency_ms(latency).unwrap_or(f64::NAN),
            ["Requests/sec:", rate] => result.requests_per_second = rate.parse()?,
            [count, "requests", "in", ..] => result.requests = count.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                result.errors += count.parse::<u64>()?
            }
            ["Socket", "errors:", rest @ ..] => {
                for count in rest.iter().skip(1).step_by(2) {
                    result.errors += count.trim_end_matches(',').parse::<u64>()?;
                }
            }
            _ => {}
        }
    }
    ensure!(
        result.requests_per_second.is_finite() && result.p99_ms.is_finite(),
        "cannot read wrk's output:\n{output}"
    );
    Ok(result)
}

fn wrk(
    url: &str,
    concurrency: u32,
    seconds: u64,
    script: Option<&Path>,
) -> anyhow::Result<LoadResult> {
    let threads = concurrency.clamp(1, 2);
    let mut command = Command::new("wrk");
    command.args([
        "--latency",
        "-t",
        &threads.to_string(),
        "-c",
        &concurrency.to_string(),
        "-d",
        &format!("{seconds}s"),
        "--timeout",
        "5s",
    ]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command
        .arg(url)
        .output()
        .context("cannot run wrk (apt-get install wrk)")?;
    ensure!(
        output.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_wrk(&String::from_utf8_lossy(&output.stdout))
}

/// `hello (ceiling)` -> `hello`, for narrow table cells.
fn short_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!(
        "{} cores ({model}), {memory_gib:.0} GiB, Linux {}, {}, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        command_output("uname", &["-r"]),
        command_output("rustc", &["-V"]),
        command_output("sh", &["-c", "wrk -v 2>&1 | head -n 1"]),
    )
}

struct Target {
    label: &'static str,
    url: String,
    script: Option<PathBuf>,
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    ensure!(
        Command::new("wrk").arg("-v").output().is_ok(),
        "wrk is missing: apt-get install wrk"
    );
    if !args.no_build {
        build_release()?;
    }
    let release = Path::new("target/release");
    let work = tempfile::tempdir()?;
    let Suite {
        quote,
        quiz,
        kiada,
        quote_port,
        quiz_port,
        kiada_port,
    } = start_suite(release, work.path())?;
    let hello_port = free_port()?;
    let hello = start(
        "hello (ceiling)",
        &release.join("examples/hello"),
        &[hello_port.to_string()],
        &[],
        &format!("http://127.0.0.1:{hello_port}/"),
    )?;

    let post_script = work.path().join("post-answer.lua");
    std::fs::write(
        &post_script,
        "wrk.method = \"POST\"\n\
         wrk.body = '{\"questionId\": 1, \"answerIndex\": 0}'\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n",
    )?;
    let targets = [
        Target {
            label: "hello GET / (ceiling)",
            url: format!("http://127.0.0.1:{hello_port}/"),
            script: None,
        },
        Target {
            label: "kiada GET /text",
            url: format!("http://127.0.0.1:{kiada_port}/text"),
            script: None,
        },
        Target {
            label: "quote GET /quote",
            url: format!("http://127.0.0.1:{quote_port}/quote"),
            script: None,
        },
        Target {
            label: "quiz GET /questions/random",
            url: format!("http://127.0.0.1:{quiz_port}/questions/random"),
            script: None,
        },
        Target {
            label: "quiz POST /questions/1/answers",
            url: format!("http://127.0.0.1:{quiz_port}/questions/1/answers"),
            script: Some(post_script.clone()),
        },
    ];

    let servers = [&kiada, &quote, &quiz, &hello];
    let cpu_now = || -> anyhow::Result<Vec<f64>> {
        servers.iter().map(|server| server.cpu_seconds()).collect()
    };
    let mut rows = Vec::new();
    for target in &targets {
        for &concurrency in &args.concurrency {
            let cpu_before = cpu_now()?;
            let result = wrk(
                &target.url,
                concurrency,
                args.duration,
                target.script.as_deref(),
            )
            .with_context(|| format!("{} at concurrency {concurrency}", target.label))?;
            // Which processes worked for this row, and how hard: CPU time per request
            // is what a row costs, independent of what else shares the machine.
            let cpu_per_request = cpu_now()?
                .iter()
                .zip(&cpu_before)
                .zip(&servers)
                .map(|((after, before), server)| {
                    (
                        server.name,
                        (after - before) * 1e6 / result.requests.max(1) as f64,
                    )
                })
                .filter(|(_, micros)| *micros >= 1.0)
                .map(|(name, micros)| format!("{} {micros:.0}", short_name(name)))
                .collect::<Vec<_>>()
                .join(", ");
            println!(
                "{:<32} c={concurrency:<3} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}  CPU µs/request: {cpu_per_request}",
                target.label,
                result.requests_per_second,
                result.p50_ms,
                result.p99_ms,
                result.errors
            );
            rows.push((target.label, concurrency, result, cpu_per_request));
        }
    }

    let mut report = String::new();
    writeln!(report, "# Benchmarks\n")?;
    writeln!(
        report,
        "Made by `cargo xtask bench` (release build, loopback, wrk {} s per row; the load \
         generator shares the machine with the services).\n",
        args.duration
    )?;
    writeln!(report, "Machine: {}\n", machine_description())?;
    writeln!(
        report,
        "CPU µs per request: user + system CPU time of each server process during the row \
         (from /proc), divided by the requests wrk completed; the load generator's own \
         share is not included.\n"
    )?;
    writeln!(
        report,
        "| target | connections | requests/s | p50 ms | p99 ms | errors | CPU µs per request |"
    )?;
    writeln!(report, "| --- | ---: | ---: | ---: | ---: | ---: | --- |")?;
    for (label, concurrency, result, cpu_per_request) in &rows {
        writeln!(
            report,
            "| {label} | {concurrency} | {:.0} | {:.2} | {:.2} | {} | {cpu_per_request} |",
            result.requests_per_second, result.p50_ms, result.p99_ms, result.errors
        )?;
    }
    writeln!(
        report,
        "\n| service | ready after start (ms) | peak RSS (MiB) | binary (MiB) |"
    )?;
    writeln!(report, "| --- | ---: | ---: | ---: |")?;
    for server in servers {
        let binary = match server.name {
            "hello (ceiling)" => release.join("examples/hello"),
            name => release.join(name),
        };
        let size = std::fs::metadata(&binary).map(|m| m.len() as f64 / 1048576.0)?;
        writeln!(
            report,
            "| {} | {:.1} | {:.1} | {size:.1} |",
            server.name,
            server.ready_after.as_secs_f64() * 1000.0,
            server.peak_rss_mib()?
        )?;
    }
    let images: Vec<_> = std::fs::read_dir("target/images")
        .map(|dir| dir.filter_map(Result::ok).collect())
        .unwrap_or_default();
    if !images.is_empty() {
        writeln!(report, "\n| image archive (target/images) | MiB |")?;
        writeln!(report, "| --- | ---: |")?;
        let mut images: Vec<_> = images
            .iter()
            .filter_map(|entry| Some((entry.file_name(), entry.metadata().ok()?.len())))
            .collect();
        images.sort();
        for (name, size) in images {
            writeln!(
                report,
                "| {} | {:.1} |",
                name.to_string_lossy(),
                size as f64 / 1048576.0
            )?;
        }
    }

    let at = |label: &str, concurrency: u32| {
        rows.iter()
            .find(|(l, c, _, _)| *l == label && *c == concurrency)
            .map(|(_, _, result, _)| result.clone())
    };
    writeln!(report, "\n## Targets\n")?;
    let mut checks: Vec<(String, bool)> = Vec::new();
    if let (Some(kiada64), Some(ceiling64)) =
        (at("kiada GET /text", 64), at("hello GET / (ceiling)", 64))
    {
        let ratio = kiada64.requests_per_second / ceiling64.requests_per_second;
        checks.push((
            format!(
                "kiada /text at 64 connections is {:.0}% of the ceiling (target at least 25%)",
                ratio * 100.0
            ),
            ratio >= 0.25,
        ));
        checks.push((
            format!(
                "kiada /text p99 at 64 connections is {:.2} ms (target at most 20 ms)",
                kiada64.p99_ms
            ),
            kiada64.p99_ms <= 20.0,
        ));
    }
    let errors: u64 = rows.iter().map(|(_, _, result, _)| result.errors).sum();
    checks.push((
        format!("{errors} errors in all rows (target 0)"),
        errors == 0,
    ));
    for server in [&kiada, &quote, &quiz] {
        let rss = server.peak_rss_mib()?;
        checks.push((
            format!(
                "{} peak RSS {rss:.1} MiB (target at most 20 MB = 19.1 MiB)",
                server.name
            ),
            rss <= 20e6 / 1048576.0,
        ));
        let ready_ms = server.ready_after.as_secs_f64() * 1000.0;
        checks.push((
            format!(
                "{} ready {ready_ms:.1} ms after start (target at most 100 ms)",
                server.name
            ),
            ready_ms <= 100.0,
        ));
    }
    if let Some(answers) = at("quiz POST /questions/1/answers", 16) {
        checks.push((
            format!(
                "quiz answers at 16 connections: {:.0}/s (target at least 2,000/s)",
                answers.requests_per_second
            ),
            answers.requests_per_second >= 2000.0,
        ));
    }
    for (text, met) in &checks {
        writeln!(
            report,
            "- {} {text}",
            if *met { "met:" } else { "NOT met:" }
        )?;
    }
    std::fs::write(&args.out, &report)?;
    println!("\n{report}\nwritten to {}", args.out.display());
    Ok(())
}

fn soak(args: SoakArgs) -> anyhow::Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    if !args.no_build {
        build_release()?;
    }
    let work = tempfile::tempdir()?;
    let suite = start_suite(Path::new("target/release"), work.path())?;
    let url = format!("http://127.0.0.1:{}/text", suite.kiada_port);
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..args.connections.max(1))
        .map(|_| {
            let (url, sent, failed) = (url.clone(), sent.clone(), failed.clone());
            let total = args.requests;
            std::thread::spawn(move || -> anyhow::Result<()> {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()?;
                while sent.fetch_add(1, Ordering::Relaxed) < total && Instant::now() < deadline {
                    let ok = client
                        .get(&url)
                        .send()
                        .and_then(|response| response.error_for_status()?.bytes())
                        .is_ok_and(|body| !body.windows(6).any(|w| w == b"ERROR:"));
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(())
            })
        })
        .collect();

    let servers = [&suite.kiada, &suite.quote, &suite.quiz];
    println!("requests sent | kiada RSS MiB | quote RSS MiB | quiz RSS MiB | failed");
    let mut samples: Vec<(u64, Vec<f64>)> = Vec::new();
    let mut next_report = 0;
    loop {
        let done = sent.load(Ordering::Relaxed).min(args.requests);
        let finished = workers.iter().all(|worker| worker.is_finished());
        if done >= next_report || finished {
            let rss = servers
                .iter()
                .map(|server| server.rss_mib())
                .collect::<anyhow::Result<Vec<_>>>()?;
            println!(
                "{done:>13} | {:>13.1} | {:>13.1} | {:>12.1} | {}",
                rss[0],
                rss[1],
                rss[2],
                failed.load(Ordering::Relaxed)
            );
            samples.push((done, rss));
            next_report = done + (args.requests / 10).max(1);
        }
        if finished {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for worker in workers {
        worker.join().expect("a load thread panicked")?;
    }
    let failed = failed.load(Ordering::Relaxed);
    // Compare after warm-up (the first tenth) with the end: a leak grows with requests.
    let warm = samples.get(1).or(samples.first()).context("no samples")?;
    let last = samples.last().context("no samples")?;
    for (index, server) in servers.iter().enumerate() {
        println!(
            "{}: {:.1} MiB after warm-up, {:.1} MiB at the end (peak {:.1} MiB)",
            server.name,
            warm.1[index],
            last.1[index],
            server.peak_rss_mib()?
        );
    }
    println!(
        "soak: {} requests through kiada /text, {failed} failed",
        last.0
    );
    ensure!(failed == 0, "{failed} requests failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_OUTPUT: &str = "Running 5s test @ http://127.0.0.1:8080/text
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    1.20ms  30.00ms   90.00%
    Req/Sec     7.80k   400.00     8.50k    70.00%
  Latency Distribution
     50%  812.00us
     75%    4.50ms
     90%    5.20ms
     99%    1.02s
  77901 requests in 5.00s, 81.23MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  15580.12
Transfer/sec:     16.25MB
";

    #[test]
    fn reads_wrk_output() {
        assert_eq!(
            parse_wrk(WRK_OUTPUT).unwrap(),
            LoadResult {
                requests_per_second: 15580.12,
                p50_ms: 0.812,
                p99_ms: 1020.0,
                requests: 77901,
                errors: 6,
            }
        );
    }

    #[test]
    fn unreadable_output_is_an_error() {
        assert!(parse_wrk("wrk: connection refused").is_err());
    }
}
