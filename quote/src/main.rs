use anyhow::Context;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let shutdown = service_kit::shutdown_on_signals();
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let config =
        quote::Config::load(quote::Args::parse(), &vars).context("invalid configuration")?;
    service_kit::telemetry::init(config.server.log_format);
    let app = quote::Application::build(config)
        .await
        .context("quote service failed to start")?;
    app.run_until_stopped(shutdown)
        .await
        .context("quote service failed")?;
    Ok(())
}
