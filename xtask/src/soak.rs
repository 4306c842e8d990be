//! `cargo xtask soak`: a fixed number of requests through kiada's /text, bounded in time,
//! watching every service's resident memory for growth.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use crate::binaries;
use crate::cli::SoakArgs;
use crate::processes;

pub fn run(args: SoakArgs) -> anyhow::Result<()> {
    if !args.no_build {
        binaries::build_shipped()?;
    }
    let work = tempfile::tempdir()?;
    let suite = processes::start_suite(work.path())?;
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
