use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use quiz::{Application, Args, Config};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quiz: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let config = Config::load(args, &vars).context("invalid configuration")?;
    service_kit::telemetry::init(config.server.log_format);
    let shutdown = service_kit::shutdown_on_signals();
    let application = Application::build(config)
        .await
        .context("the quiz service cannot start")?;
    application
        .run_until_stopped(shutdown)
        .await
        .context("the quiz service failed")
}

/// One line with the chain of causes, without a backtrace, leaving out a cause that an
/// outer message already quotes.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
