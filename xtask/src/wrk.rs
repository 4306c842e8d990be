//! Load from wrk, read through JSON: the Lua script given to wrk (`-s`) has a `done()`
//! hook that writes wrk's own summary and latency percentiles to a file as one JSON
//! object, so nothing depends on how wrk lays out its text report.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, ensure};
use serde::Deserialize;

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadResult {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// Socket errors (connect, read, write, timeout) and answers other than 2xx or 3xx.
    pub errors: u64,
}

/// A request other than a plain GET.
pub struct Request {
    pub method: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// What the `done()` hook writes: wrk's `summary` (times in microseconds) and two
/// percentiles of its latency histogram.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    duration_us: u64,
    requests: u64,
    errors: Errors,
    latency_us: Percentiles,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Errors {
    connect: u64,
    read: u64,
    write: u64,
    status: u64,
    timeout: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Percentiles {
    p50: f64,
    p99: f64,
}

/// The Lua script for one run: the request to send, and a `done()` that writes the summary
/// to `result` as JSON.
pub fn script(result: &Path, request: Option<&Request>) -> anyhow::Result<String> {
    let path = result.to_str().context("a result path that is not UTF-8")?;
    // A Lua long string takes the path as it is, unless the path closes it.
    ensure!(!path.contains("]==]"), "a result path that holds ]==]");
    let mut script = String::new();
    if let Some(request) = request {
        script += &format!(
            "wrk.method = [==[{}]==]\nwrk.body = [==[{}]==]\nwrk.headers[\"Content-Type\"] = [==[{}]==]\n",
            request.method, request.body, request.content_type
        );
    }
    script += &format!(
        r#"done = function(summary, latency, requests)
  local e = summary.errors
  local out = assert(io.open([==[{path}]==], "w"))
  out:write(string.format(
    '{{"duration_us": %d, "requests": %d, "errors": {{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}, "latency_us": {{"p50": %d, "p99": %d}}}}\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
  out:close()
end
"#
    );
    Ok(script)
}

/// Reads what the script's `done()` wrote.
pub fn parse_summary(json: &str) -> anyhow::Result<LoadResult> {
    let summary: Summary = serde_json::from_str(json)
        .with_context(|| format!("cannot read wrk's summary {:?}", json.trim()))?;
    ensure!(summary.duration_us > 0, "wrk ran for no time");
    let Errors {
        connect,
        read,
        write,
        status,
        timeout,
    } = summary.errors;
    Ok(LoadResult {
        requests_per_second: summary.requests as f64 * 1e6 / summary.duration_us as f64,
        p50_ms: summary.latency_us.p50 / 1000.0,
        p99_ms: summary.latency_us.p99 / 1000.0,
        requests: summary.requests,
        errors: connect + read + write + status + timeout,
    })
}

/// Drives `url` for `seconds` at `connections` (on at most 2 threads, one per core here),
/// each request timing out after 5 s; `work` holds the script and its result.
pub fn run(
    url: &str,
    connections: u32,
    seconds: u64,
    request: Option<&Request>,
    work: &Path,
) -> anyhow::Result<LoadResult> {
    let result = work.join("wrk-result.json");
    let script_path = work.join("wrk-script.lua");
    let _ = std::fs::remove_file(&result);
    std::fs::write(&script_path, script(&result, request)?)?;
    let output = Command::new("wrk")
        .args(["-t", &connections.clamp(1, 2).to_string()])
        .args(["-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s"), "--timeout", "5s", "-s"])
        .arg(&script_path)
        .arg(url)
        .output()
        .context("cannot run wrk (apt-get install wrk)")?;
    ensure!(
        output.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json =
        std::fs::read_to_string(&result).context("wrk wrote no summary (is it wrk 4 with Lua?)")?;
    parse_summary(&json)
}

/// wrk's version line, for the report.
pub fn version() -> anyhow::Result<String> {
    // `wrk -v` prints its version and usage on stdout and exits 1.
    let output = Command::new("wrk")
        .arg("-v")
        .output()
        .context("wrk is missing: apt-get install wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().next().unwrap_or("wrk").trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = r#"{"duration_us": 5000000, "requests": 77901, "errors": {"connect": 0, "read": 2, "write": 0, "status": 3, "timeout": 1}, "latency_us": {"p50": 812, "p99": 1020000}}"#;

    #[test]
    fn reads_the_summary() {
        assert_eq!(
            parse_summary(SUMMARY).unwrap(),
            LoadResult {
                requests_per_second: 15580.2,
                p50_ms: 0.812,
                p99_ms: 1020.0,
                requests: 77901,
                errors: 6,
            }
        );
    }

    #[test]
    fn an_unexpected_summary_is_an_error() {
        assert!(parse_summary("").is_err());
        assert!(parse_summary(r#"{"duration_us": 1}"#).is_err());
        let zero = SUMMARY.replace("5000000", "0");
        assert!(parse_summary(&zero).is_err());
    }

    #[test]
    fn the_script_writes_to_the_result_path_and_sets_the_request() {
        let post = Request {
            method: "POST",
            content_type: "application/json",
            body: r#"{"questionId": 1, "answerIndex": 0}"#,
        };
        let script = script(Path::new("/tmp/x y/result.json"), Some(&post)).unwrap();
        assert!(script.contains(r#"io.open([==[/tmp/x y/result.json]==], "w")"#));
        assert!(script.contains(r#"wrk.body = [==[{"questionId": 1, "answerIndex": 0}]==]"#));
        assert!(script.contains("wrk.method = [==[POST]==]"));
        let get = super::script(Path::new("/tmp/r.json"), None).unwrap();
        assert!(!get.contains("wrk.method"));
        assert!(super::script(Path::new("/tmp/]==]"), None).is_err());
    }
}
