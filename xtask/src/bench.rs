//! `cargo xtask bench`: what to measure, in which order, and the figures of each row.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::cli::BenchArgs;
use crate::processes::{self, Server, Spec};
use crate::report::{Conditions, FLOOR, HELLO, KIADA, QUIZ_POST, Report, Row, Service};
use crate::wrk::{self, Request};
use crate::{binaries, machine, markdown};

const ANSWER: Request = Request {
    method: "POST",
    content_type: "application/json",
    body: r#"{"questionId": 1, "answerIndex": 0}"#,
};

struct Target {
    label: &'static str,
    url: String,
    request: Option<&'static Request>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let wrk_version = wrk::version()?;
    if !args.no_build {
        binaries::build_shipped()?;
        binaries::build_references()?;
    }
    binaries::check_same_stack(Path::new("."))?;
    let [hello_binary, floor_binary] = binaries::locate(binaries::REFERENCES)?;
    binaries::locate(binaries::SERVICES)?;

    let work = tempfile::tempdir()?;
    let suite = processes::start_suite(work.path())?;
    let hello_port = processes::free_port()?;
    let hello = processes::start(
        Spec {
            name: "hello",
            binary: &hello_binary,
            args: &[hello_port.to_string()],
            env: &[],
            ready_url: &format!("http://127.0.0.1:{hello_port}/"),
        },
        work.path(),
    )?;
    let floor_port = processes::free_port()?;
    let floor_url = format!("http://127.0.0.1:{floor_port}/");
    let floor = processes::start(
        Spec {
            name: "floor",
            binary: &floor_binary,
            args: &[
                floor_port.to_string(),
                suite.quote_url.clone(),
                suite.quiz_random_url.clone(),
            ],
            env: &[],
            ready_url: &floor_url,
        },
        work.path(),
    )?;

    let quiz_base = suite.quiz_random_url.trim_end_matches("/questions/random");
    let target = |label, url: String, request| Target {
        label,
        url,
        request,
    };
    let hello_target = target(HELLO, format!("http://127.0.0.1:{hello_port}/"), None);
    let floor_target = target(FLOOR, floor_url.clone(), None);
    let kiada_target = target(
        KIADA,
        format!("http://127.0.0.1:{}/text", suite.kiada_port),
        None,
    );
    let others = [
        target("quote GET /quote", suite.quote_url.clone(), None),
        target(
            "quiz GET /questions/random",
            suite.quiz_random_url.clone(),
            None,
        ),
        target(
            QUIZ_POST,
            format!("{quiz_base}/questions/1/answers"),
            Some(&ANSWER),
        ),
    ];
    // kiada right after the floor at each concurrency, so that the two rows compared
    // share the machine's conditions as closely as possible.
    let mut plan: Vec<(&Target, u32)> = Vec::new();
    plan.extend(args.concurrency.iter().map(|&c| (&hello_target, c)));
    for &c in &args.concurrency {
        plan.extend([(&floor_target, c), (&kiada_target, c)]);
    }
    for other in &others {
        plan.extend(args.concurrency.iter().map(|&c| (other, c)));
    }

    // The front processes first: each row's CPU figures name the process it drives first.
    let servers = [&suite.kiada, &floor, &hello, &suite.quote, &suite.quiz];
    let cpu_now = || -> anyhow::Result<Vec<f64>> {
        servers.iter().map(|server| server.cpu_seconds()).collect()
    };
    let load_before = machine::load_average();
    let started = Instant::now();
    let (busy_before, own_before, servers_before) = (
        machine::busy_cpu_seconds(),
        machine::own_cpu_seconds(),
        cpu_now()?.iter().sum::<f64>(),
    );
    let mut rows = Vec::new();
    for (target, connections) in plan {
        let before = cpu_now()?;
        let load = wrk::run(
            &target.url,
            connections,
            args.duration,
            target.request,
            work.path(),
        )
        .with_context(|| format!("{} at {connections} connections", target.label))?;
        // Which processes worked for this row, and how hard: CPU time per request is what
        // a row costs, nearly independent of what else shares the machine.
        let cpu_us = cpu_now()?
            .iter()
            .zip(&before)
            .zip(&servers)
            .map(|((after, before), server)| {
                (
                    server.name,
                    (after - before) * 1e6 / load.requests.max(1) as f64,
                )
            })
            .collect();
        let row = Row {
            label: target.label,
            connections,
            load,
            cpu_us,
        };
        println!(
            "{:<32} c={connections:<3} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}  CPU µs/request: {}",
            row.label,
            row.load.requests_per_second,
            row.load.p50_ms,
            row.load.p99_ms,
            row.load.errors,
            row.cpu_text()
        );
        rows.push(row);
    }
    let wall = started.elapsed().as_secs_f64();
    let ours = (machine::own_cpu_seconds() - own_before)
        + (cpu_now()?.iter().sum::<f64>() - servers_before);
    let others = machine::busy_cpu_seconds() - busy_before - ours;
    let conditions = Conditions {
        seconds_per_row: args.duration,
        machine: machine::description(&wrk_version),
        load_before,
        load_after: machine::load_average(),
        others_cpu_share: (others / (wall * machine::cores() as f64)).max(0.0),
    };
    // Rows of one target together, in the order measured.
    let mut labels: Vec<&str> = Vec::new();
    for row in &rows {
        if !labels.contains(&row.label) {
            labels.push(row.label);
        }
    }
    rows.sort_by_key(|row| labels.iter().position(|label| *label == row.label));
    let report = Report {
        conditions,
        rows,
        services: servers
            .iter()
            .map(|server| service_facts(server))
            .collect::<anyhow::Result<_>>()?,
        images: images()?,
    };
    let text = markdown::render(&report);
    std::fs::write(&args.out, &text)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("\n{text}\nwritten to {}", args.out.display());
    Ok(())
}

fn service_facts(server: &Server) -> anyhow::Result<Service> {
    let binary_mib = std::fs::metadata(&server.binary)
        .with_context(|| format!("cannot read {}", server.binary.display()))?
        .len() as f64
        / 1048576.0;
    Ok(Service {
        name: server.name,
        ready_ms: server.ready_after.as_secs_f64() * 1000.0,
        peak_rss_mib: server.peak_rss_mib()?,
        binary_mib,
        log_lines: server.log_lines()?,
    })
}

/// The image archives in target/images, if any were built, with their size in MiB.
fn images() -> anyhow::Result<Vec<(String, f64)>> {
    let Ok(dir) = std::fs::read_dir("target/images") else {
        return Ok(Vec::new());
    };
    let mut images = Vec::new();
    for entry in dir {
        let entry = entry?;
        let mib = entry.metadata()?.len() as f64 / 1048576.0;
        images.push((entry.file_name().to_string_lossy().into_owned(), mib));
    }
    images.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(images)
}
