//! What the benchmark ran on, and what else ran on it meanwhile.

use std::process::Command;

use crate::processes::{clock_ticks_per_second, stat_ticks, status_kib};

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// `2 cores (AMD EPYC), 24 GiB, Linux 6.1, rustc 1.95.0 (...), wrk 4.1.0 ...`.
pub fn description(wrk_version: &str) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = status_kib(&meminfo, "MemTotal").unwrap_or(0.0) / 1024.0 / 1024.0;
    format!(
        "{} cores ({model}), {memory_gib:.0} GiB, Linux {}, {}, {wrk_version}",
        cores(),
        command_output("uname", &["-r"]),
        command_output("rustc", &["-V"]),
    )
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The 1-minute load average (/proc/loadavg).
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// CPU seconds all cores spent busy so far (the `cpu` line of /proc/stat, less idle and
/// iowait).
pub fn busy_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    busy_ticks(&stat).map_or(f64::NAN, |ticks| ticks as f64 / clock_ticks_per_second())
}

fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice, already in user]
    let total: u64 = ticks.iter().take(8).sum();
    Some(total - ticks.get(3)? - ticks.get(4)?)
}

/// CPU seconds of this process and of the children it has waited for (wrk, cargo).
pub fn own_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    match (stat_ticks(&stat, false), stat_ticks(&stat, true)) {
        (Some(own), Some(children)) => (own + children) as f64 / clock_ticks_per_second(),
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 7 3 2 1 40 0\ncpu0 50 2 25 500 3 1 1 0 20 0\n";
        assert_eq!(busy_ticks(stat), Some(100 + 5 + 50 + 3 + 2 + 1));
        assert_eq!(busy_ticks("intr 1 2 3"), None);
    }

    #[test]
    fn reads_this_machine() {
        assert!(busy_cpu_seconds() > 0.0);
        assert!(load_average() >= 0.0);
        assert!(own_cpu_seconds() >= 0.0);
        assert!(description("wrk 4").contains("cores"));
    }
}
