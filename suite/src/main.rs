//! `cargo run --release` at the repository root: kiada, quote and quiz in one process on
//! this machine, no cluster needed. kiada listens on 8080 (HTTP) and 8443 (HTTPS),
//! quote on 8081 and quiz on 8082, and kiada is pointed at the other two.
//!
//! Each service reads the same environment variables as in a pod (LOG_FORMAT, RUST_LOG,
//! QUOTE_INTERVAL, QUIZ_DB_PATH, INITIAL_STATUS_MESSAGE, ...); only the ports and
//! kiada's backend URLs are fixed here.

use anyhow::Context;
use clap::Parser;
use tokio_util::sync::CancellationToken;

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
    std::env::vars()
        .filter(|(name, _)| !overrides.iter().any(|(key, _)| key == name))
        .chain(
            overrides
                .iter()
                .map(|(key, value)| (key.to_string(), value.clone())),
        )
        .collect()
}

/// mimalloc instead of the C library's malloc: a page fan-out allocates and frees many
/// small buffers on two worker threads, and glibc's allocator spent about 10% of
/// kiada's CPU under load (perf); mimalloc cuts kiada's CPU per page by about 10%.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    SuiteArgs::parse();
    let shutdown: CancellationToken = service_kit::shutdown_on_signals();
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
    service_kit::telemetry::init(kiada_config.server.log_format);

    let quote = quote::Application::build(quote_config)
        .await
        .context("quote failed to start")?;
    let quiz = quiz::Application::build(quiz_config)
        .await
        .context("quiz failed to start")?;
    let kiada = kiada::Application::build(kiada_config)
        .await
        .context("kiada failed to start")?;

    println!(
        "\nThe Kiada suite is running:\n  \
         kiada  http://localhost:{KIADA_PORT}/  (text; /html in a browser, /json)\n  \
         kiada  https://localhost:{KIADA_TLS_PORT}/  (self-signed unless TLS_CERT_FILE/TLS_KEY_FILE are set)\n  \
         quote  http://localhost:{QUOTE_PORT}/quote\n  \
         quiz   http://localhost:{QUIZ_PORT}/questions/random\n\
         Try: curl localhost:{KIADA_PORT}   Stop: Ctrl-C\n"
    );

    // When one service stops on its own (an error), stop the others too instead of
    // leaving a half-working suite behind.
    let run =
        |name: &'static str,
         service: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>>>>| {
            let shutdown = shutdown.clone();
            async move {
                let result = service.await;
                shutdown.cancel();
                result.with_context(|| format!("{name} failed"))
            }
        };
    let (kiada, quote, quiz) = tokio::join!(
        run("kiada", Box::pin(kiada.run_until_stopped(shutdown.clone()))),
        run("quote", Box::pin(quote.run_until_stopped(shutdown.clone()))),
        run("quiz", Box::pin(quiz.run_until_stopped(shutdown.clone()))),
    );
    kiada?;
    quote?;
    quiz?;
    Ok(())
}
