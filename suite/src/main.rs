//! `cargo run --release` at the repository root: kiada, quote and quiz in one process on
//! this machine, no cluster needed. kiada listens on 8080 (HTTP) and 8443 (HTTPS),
//! quote on 8081 and quiz on 8082, and kiada is pointed at the other two.
//!
//! Each service reads the same environment variables as in a pod (LOG_FORMAT, RUST_LOG,
//! QUOTE_INTERVAL, QUIZ_DB_PATH, INITIAL_STATUS_MESSAGE, ...); only the ports and
//! kiada's backend URLs are fixed here.

use anyhow::Context;
use clap::Parser;
use service_kit::Service;
use tokio_util::sync::CancellationToken;

service_kit::global_allocator!();

const KIADA_PORT: u16 = 8080;
const KIADA_TLS_PORT: u16 = 8443;
const QUOTE_PORT: u16 = 8081;
const QUIZ_PORT: u16 = 8082;

/// Runs kiada (8080 HTTP, 8443 HTTPS), quote (8081) and quiz (8082) together on this
/// machine. Lines typed on standard input replace kiada's status message; Ctrl-C stops
/// all three.
#[derive(Parser)]
#[command(name = "kiada-suite", version)]
struct SuiteArgs {}

/// The process environment with `overrides` replacing any variable of the same name.
fn environment_with(overrides: &[(&str, String)]) -> Vec<(String, String)> {
    service_kit::process_environment()
        .into_iter()
        .filter(|(name, _)| !overrides.iter().any(|(key, _)| key == name))
        .chain(
            overrides
                .iter()
                .map(|(key, value)| (key.to_string(), value.clone())),
        )
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    SuiteArgs::parse();
    let shutdown = service_kit::shutdown_on_signals();
    let quote_config = quote::Config::load(
        quote::Args::parse_from(["quote"]),
        &environment_with(&[("LISTEN_PORT", QUOTE_PORT.to_string())]),
    )
    .context("invalid quote configuration")?;
    let quiz_config = quiz::Config::load(
        quiz::Args::parse_from(["quiz"]),
        &environment_with(&[("LISTEN_PORT", QUIZ_PORT.to_string())]),
    )
    .context("invalid quiz configuration")?;
    let kiada_config = kiada::Config::load(
        kiada::Args::parse_from(["kiada"]),
        &environment_with(&[
            ("LISTEN_PORT", KIADA_PORT.to_string()),
            ("TLS_LISTEN_PORT", KIADA_TLS_PORT.to_string()),
            ("QUOTE_URL", format!("http://127.0.0.1:{QUOTE_PORT}/quote")),
            ("QUIZ_URL", format!("http://127.0.0.1:{QUIZ_PORT}")),
        ]),
    )
    .context("invalid kiada configuration")?;
    // Kept to the end of main: dropping it writes the pending log lines.
    let _logs = service_kit::init_logging(kiada_config.server.log_format);

    let quote = build::<quote::Application>(quote_config).await?;
    let quiz = build::<quiz::Application>(quiz_config).await?;
    let kiada = build::<kiada::Application>(kiada_config).await?;

    println!(
        "\nThe Kiada suite is running:\n  \
         kiada  http://localhost:{KIADA_PORT}/  (text; /html in a browser, /json)\n  \
         kiada  https://localhost:{KIADA_TLS_PORT}/  (self-signed unless TLS_CERT_FILE/TLS_KEY_FILE are set)\n  \
         quote  http://localhost:{QUOTE_PORT}/quote\n  \
         quiz   http://localhost:{QUIZ_PORT}/questions/random\n\
         Try: curl localhost:{KIADA_PORT}   Stop: Ctrl-C\n"
    );

    let (kiada, quote, quiz) = tokio::join!(
        run(kiada, shutdown.clone()),
        run(quote, shutdown.clone()),
        run(quiz, shutdown.clone()),
    );
    kiada?;
    quote?;
    quiz?;
    Ok(())
}

async fn build<S: Service>(config: S::Config) -> anyhow::Result<S> {
    S::build(config)
        .await
        .with_context(|| format!("{} failed to start", S::NAME))
}

/// Runs `service` until `shutdown`; when it stops on its own (an error), stops the others
/// too instead of leaving a half-working suite behind.
async fn run<S: Service>(service: S, shutdown: CancellationToken) -> anyhow::Result<()> {
    let result = service.run_until_stopped(shutdown.clone()).await;
    shutdown.cancel();
    result.with_context(|| format!("{} failed", S::NAME))
}
