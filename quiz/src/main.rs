use anyhow::Context;
use clap::Parser;
use quiz::{Application, Args, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let config = Config::load(args, &vars).context("invalid configuration")?;
    service_kit::telemetry::init(config.server.log_format);
    let application = Application::build(config)
        .await
        .context("the quiz service cannot start")?;
    application
        .run_until_stopped(service_kit::shutdown_on_signals())
        .await
        .context("the quiz service failed")?;
    Ok(())
}
