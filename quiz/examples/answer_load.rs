//! A small load generator for `POST /questions/{id}/answers`, to check throughput:
//!
//!     cargo run -p quiz --example answer_load -- http://127.0.0.1:8082 16 10
//!
//! Arguments: base URL, concurrency (default 16), seconds (default 10). Prints answers
//! per second and latency percentiles; exits non-zero if any request failed.

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8082".into());
    let concurrency: usize = args.next().map_or(16, |a| a.parse().expect("concurrency"));
    let seconds: u64 = args.next().map_or(10, |a| a.parse().expect("seconds"));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("{base}/questions/1/answers");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (client, url) = (client.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
            let mut i = worker;
            while Instant::now() < deadline {
                let body = format!(r#"{{"questionId": 1, "answerIndex": {}}}"#, i % 3);
                i += 1;
                let sent = Instant::now();
                match client.post(&url).body(body).send().await {
                    Ok(response) if response.status() == 200 => {
                        let _ = response.bytes().await;
                        ok += 1;
                        latencies.push(sent.elapsed());
                    }
                    _ => failed += 1,
                }
            }
            (ok, failed, latencies)
        }));
    }
    let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
    for worker in workers {
        let (o, f, l) = worker.await.unwrap();
        ok += o;
        failed += f;
        latencies.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{ok} answers acknowledged, {failed} failed, in {elapsed:.1} s at concurrency {concurrency}: {:.0} answers/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ok as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
