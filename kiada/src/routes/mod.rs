//! kiada's HTTP routes.

mod answer;
mod assets;
mod pages;
mod proxy;
mod spread;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use kiada_wire::ErrorBody;
use service_kit::{PodInfo, get_or_head};

use crate::backends::Backends;
use crate::status::StatusMessage;

/// What every handler shares.
pub struct AppState {
    pub backends: Backends,
    pub pod: PodInfo,
    pub status: StatusMessage,
    pub ui_color: crate::config::UiColor,
}

/// Registers every route of kiada except the probes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(readable("/", pages::root))
        .service(readable("/text", pages::text_page))
        .service(readable("/json", pages::json))
        .service(readable("/html", pages::html))
        .service(readable("/spread", spread::spread))
        .service(
            web::resource("/question/{id}/answers/{index}")
                .post(answer::submit)
                .default_service(web::to(|| method_not_allowed("POST"))),
        )
        .service(readable("/proxy/quote", proxy::quote))
        .service(
            web::resource("/proxy/quiz/{tail:.*}")
                .get(proxy::quiz)
                .post(proxy::quiz)
                .default_service(web::to(|| method_not_allowed("GET, POST"))),
        )
        .configure(assets::configure);
}

/// A resource that answers GET and HEAD with `handler`, and any other method with 405.
fn readable<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(get_or_head().to(handler))
        .default_service(web::to(|| method_not_allowed("GET, HEAD")))
}

/// The answer for any path kiada does not serve.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    text(
        HttpResponse::NotFound(),
        format!(
            "Not found: {}\nTry / (text), /html (browser) or /json.\n",
            service_kit::clean_line(req.path(), 200)
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

/// Only our own files: no inline script or style, no other origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// A rendered HTML page under [`CONTENT_SECURITY_POLICY`]; should rendering fail, a
/// 500 that points to the page's text form at `text_path`. (`X-Content-Type-Options`
/// is on every answer already: service-kit's middleware adds it.)
fn html_response(rendered: askama::Result<String>, text_path: &str) -> HttpResponse {
    match rendered {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .body(body),
        Err(error) => {
            tracing::error!(%error, "cannot render an HTML page");
            text(
                HttpResponse::InternalServerError(),
                format!("ERROR: the HTML page could not be rendered; try {text_path}\n"),
            )
        }
    }
}

fn json_error(mut builder: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ErrorBody {
            error: message.to_owned(),
        })
}
