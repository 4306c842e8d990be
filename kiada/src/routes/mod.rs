//! kiada's HTTP routes.

mod answer;
mod assets;
mod pages;
mod proxy;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use service_kit::PodInfo;

use crate::backends::Backends;
use crate::status::StatusMessage;

/// What every handler shares.
pub struct AppState {
    pub backends: Backends,
    pub pod: PodInfo,
    pub status: StatusMessage,
}

/// Registers every route of kiada except the probes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .get(pages::root)
            .default_service(web::to(|| method_not_allowed("GET"))),
    )
    .service(
        web::resource("/text")
            .get(pages::text_page)
            .default_service(web::to(|| method_not_allowed("GET"))),
    )
    .service(
        web::resource("/json")
            .get(pages::json)
            .default_service(web::to(|| method_not_allowed("GET"))),
    )
    .service(
        web::resource("/html")
            .get(pages::html)
            .default_service(web::to(|| method_not_allowed("GET"))),
    )
    .service(
        web::resource("/question/{id}/answers/{index}")
            .post(answer::submit)
            .default_service(web::to(|| method_not_allowed("POST"))),
    )
    .service(
        web::resource("/proxy/quote")
            .get(proxy::quote)
            .default_service(web::to(|| method_not_allowed("GET"))),
    )
    .service(
        web::resource("/proxy/quiz/{tail:.*}")
            .get(proxy::quiz)
            .post(proxy::quiz)
            .default_service(web::to(|| method_not_allowed("GET, POST"))),
    )
    .configure(assets::configure);
}

/// The answer for any path kiada does not serve.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    text(
        HttpResponse::NotFound(),
        format!(
            "Not found: {}\nTry / (text), /html (browser) or /json.\n",
            crate::text::clean_line(req.path(), 200)
        ),
    )
}

async fn method_not_allowed(allowed: &'static str) -> HttpResponse {
    let mut response = text(
        HttpResponse::MethodNotAllowed(),
        format!("Method not allowed here; use {allowed}.\n"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allowed));
    response
}

fn text(mut builder: actix_web::HttpResponseBuilder, body: String) -> HttpResponse {
    builder
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

fn json_error(mut builder: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": message }))
}
