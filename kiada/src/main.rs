use anyhow::Context;
use clap::Parser;
use kiada::{Application, Args, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let config = Config::load(args, &vars).context("invalid configuration")?;
    service_kit::telemetry::init(config.server.log_format);
    let application = Application::build(config)
        .await
        .context("kiada could not start")?;
    let shutdown = service_kit::shutdown_on_signals();
    application.run_until_stopped(shutdown).await?;
    Ok(())
}
