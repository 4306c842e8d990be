//! `cargo xtask`: the project's own tasks.
//!
//! - `bench` ([`bench`]): builds the release binaries exactly as CI and the images do, and
//!   the benchmark's references apart from them ([`binaries`]); starts quote, quiz, kiada,
//!   the hello ceiling and kiada's fan-out floor on loopback ([`processes`]); drives each
//!   with wrk ([`wrk`]); writes BENCHMARKS.md ([`report`], [`markdown`], [`machine`]).
//! - `soak` ([`soak`]): a fixed number of requests through kiada, watching memory.
//!
//! Errors are printed as one line, `cargo xtask <task>: <cause>: <cause>...`, exit status 1.

mod bench;
mod binaries;
mod cli;
mod machine;
mod markdown;
mod processes;
mod report;
mod soak;
mod wrk;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

fn main() -> ExitCode {
    let cli::Cli { task } = cli::Cli::parse();
    let name = task.name();
    let result = std::env::set_current_dir(binaries::workspace_root())
        .context("cannot enter the workspace root")
        .and_then(|()| match task {
            cli::Task::Bench(args) => bench::run(args),
            cli::Task::Soak(args) => soak::run(args),
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cargo xtask {name}: {}", one_line(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

/// An error chain on one line, whatever a tool's message that it quotes holds.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_chain_prints_as_one_line() {
        let error = anyhow::anyhow!("wrk failed:\nunable to connect\n")
            .context("kiada GET /text at 64 connections");
        assert_eq!(
            super::one_line(&format!("{error:#}")),
            "kiada GET /text at 64 connections: wrk failed: unable to connect"
        );
    }
}
