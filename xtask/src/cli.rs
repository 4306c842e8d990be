//! The command line: `cargo xtask bench` and `cargo xtask soak`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "The Kiada suite's own tasks")]
pub struct Cli {
    #[command(subcommand)]
    pub task: Task,
}

#[derive(Subcommand)]
pub enum Task {
    /// Measure throughput, latency, CPU, memory and start-up of every service on loopback,
    /// beside the references (the hello ceiling and kiada's fan-out floor).
    Bench(BenchArgs),
    /// Send a fixed number of requests through kiada and watch every service's memory.
    Soak(SoakArgs),
}

impl Task {
    /// The task's name, as typed after `cargo xtask`.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Bench(_) => "bench",
            Task::Soak(_) => "soak",
        }
    }
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Seconds of load per target and concurrency.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Concurrent connections to measure at.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub concurrency: Vec<u32>,
    /// Where the Markdown report goes.
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub out: PathBuf,
    /// Use the binaries already in target/release (services and references).
    #[arg(long)]
    pub no_build: bool,
}

#[derive(clap::Args)]
pub struct SoakArgs {
    /// Requests to send through kiada's /text (each is three HTTP exchanges).
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// Stop after this many seconds even if not all requests were sent.
    #[arg(long, default_value_t = 1800)]
    pub max_seconds: u64,
    /// Use the binaries already in target/release.
    #[arg(long)]
    pub no_build: bool,
}
