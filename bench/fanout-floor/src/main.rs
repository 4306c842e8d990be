//! The floor for kiada's benchmark: the least a fan-out written with kiada's stack does.
//! One actix-web handler GETs the two backend URLs kiada calls for a page (quote's
//! `/quote`, quiz's `/questions/random`) concurrently through one shared reqwest client,
//! and answers the two bodies concatenated; a backend that fails makes a 502. No logging,
//! metrics, request ids, templates or parsing: what kiada spends above this, per request,
//! is what its features cost.
//!
//! Usage: `kiada-bench-floor <port> <quote url> <quiz url>`.

use actix_web::{App, HttpResponse, HttpServer, web};

/// The services' allocator (see kiada's main.rs), so that the comparison is of the work
/// done, not of two allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Backends {
    client: reqwest::Client,
    quote: String,
    quiz: String,
}

async fn page(backends: web::Data<Backends>) -> HttpResponse {
    let (quote, quiz) = futures_util::future::join(
        fetch(&backends.client, &backends.quote),
        fetch(&backends.client, &backends.quiz),
    )
    .await;
    match (quote, quiz) {
        (Ok(quote), Ok(quiz)) => {
            let mut body = Vec::with_capacity(quote.len() + quiz.len());
            body.extend_from_slice(&quote);
            body.extend_from_slice(&quiz);
            HttpResponse::Ok().content_type("text/plain").body(body)
        }
        _ => HttpResponse::BadGateway().finish(),
    }
}

/// The body of a 2xx answer to `GET url`.
async fn fetch(client: &reqwest::Client, url: &str) -> reqwest::Result<web::Bytes> {
    client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(quote), Some(quiz)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: kiada-bench-floor <port> <quote url> <quiz url>");
        std::process::exit(2);
    };
    let port: u16 = port.parse().map_err(std::io::Error::other)?;
    // The settings kiada's client runs with by default (BACKEND_TIMEOUT_SECONDS=2,
    // BACKEND_CONNECT_TIMEOUT_SECONDS=1, BACKEND_POOL_IDLE_SECONDS=1, no proxy): they
    // decide how connections are opened and reused, so the floor must share them.
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .connect_timeout(std::time::Duration::from_secs(1))
        .pool_idle_timeout(std::time::Duration::from_secs(1))
        .no_proxy()
        .build()
        .map_err(std::io::Error::other)?;
    let backends = web::Data::new(Backends {
        client,
        quote,
        quiz,
    });
    HttpServer::new(move || {
        App::new()
            .app_data(backends.clone())
            .route("/", web::get().to(page))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
