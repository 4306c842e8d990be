//! The ceiling for benchmarks: the smallest actix-web server, with none of the suite's
//! middleware, answering `GET /` with "hello". `cargo xtask bench` measures it beside the
//! services to show what this machine can do at all.
//!
//! Usage: `kiada-bench-hello <port>`.

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|port| port.parse().ok())
        .unwrap_or(8090);
    HttpServer::new(|| {
        App::new().route(
            "/",
            web::get().to(|| async { HttpResponse::Ok().body("hello") }),
        )
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
