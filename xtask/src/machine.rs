//! What the benchmark ran on, and what else ran on it meanwhile.

use std::process::Command;

use procfs::{Current, CurrentSI, KernelStats, LoadAverage, Meminfo, process::Process};

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
    let model = procfs::CpuInfo::current()
        .ok()
        .and_then(|cpus| Some(cpus.model_name(0)?.to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let memory_gib = Meminfo::current().map_or(0.0, |m| m.mem_total as f64 / GIB);
    format!(
        "{} cores ({model}), {memory_gib:.0} GiB, Linux {}, {}, {wrk_version}",
        cores(),
        command_output("uname", &["-r"]),
        command_output("rustc", &["-V"]),
    )
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The 1-minute load average (/proc/loadavg).
pub fn load_average() -> f64 {
    LoadAverage::current().map_or(f64::NAN, |load| f64::from(load.one))
}

/// CPU seconds all cores spent busy so far (the `cpu` line of /proc/stat, less idle and
/// iowait; guest time is already in user).
pub fn busy_cpu_seconds() -> f64 {
    KernelStats::current().map_or(f64::NAN, |stats| {
        let cpu = stats.total;
        let optional = [cpu.irq, cpu.softirq, cpu.steal].map(|ticks| ticks.unwrap_or(0));
        let busy = cpu.user + cpu.nice + cpu.system + optional.iter().sum::<u64>();
        busy as f64 / procfs::ticks_per_second() as f64
    })
}

/// CPU seconds of this process and of the children it has waited for (wrk, cargo).
pub fn own_cpu_seconds() -> f64 {
    Process::myself()
        .and_then(|me| me.stat())
        .map_or(f64::NAN, |stat| {
            let children = u64::try_from(stat.cutime + stat.cstime).unwrap_or(0);
            (stat.utime + stat.stime + children) as f64 / procfs::ticks_per_second() as f64
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machine() {
        assert!(busy_cpu_seconds() > 0.0);
        assert!(load_average() >= 0.0);
        assert!(own_cpu_seconds() >= 0.0);
        assert!(description("wrk 4").contains("cores"));
    }
}
