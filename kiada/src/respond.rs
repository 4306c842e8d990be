//! The forms of an answer: which one a client asked for (its `Accept` header), and
//! text, HTML and JSON-error answers with the headers every answer of that form
//! carries. Shared by the page, `/spread` and the other routes.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use kiada_wire::ErrorBody;

/// What a client asked for with its `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Html,
    Json,
    Text,
}

/// HTML when `Accept` starts with `text/html` (browsers), JSON when its first type is
/// `application/json`, text for everyone else (curl sends `*/*`).
pub fn wanted(req: &HttpRequest) -> Wanted {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .trim_start()
        .to_ascii_lowercase();
    let first = accept
        .split(',')
        .next()
        .and_then(|range| range.split(';').next())
        .unwrap_or("")
        .trim();
    if accept.starts_with("text/html") {
        Wanted::Html
    } else if first == "application/json" {
        Wanted::Json
    } else {
        Wanted::Text
    }
}

/// A text answer that no cache keeps.
pub fn text(mut builder: actix_web::HttpResponseBuilder, body: String) -> HttpResponse {
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
pub fn html_response(rendered: askama::Result<String>, text_path: &str) -> HttpResponse {
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

pub fn json_error(mut builder: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ErrorBody {
            error: message.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn accept_header_decides_the_form() {
        let wants = |accept: &str| {
            wanted(
                &TestRequest::default()
                    .insert_header(("accept", accept))
                    .to_http_request(),
            )
        };
        assert_eq!(wants("*/*"), Wanted::Text);
        assert_eq!(wants(""), Wanted::Text);
        assert_eq!(
            wants("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Wanted::Html
        );
        assert_eq!(wants("application/json"), Wanted::Json);
        assert_eq!(wants("application/json; charset=utf-8, */*"), Wanted::Json);
        assert_eq!(wants("text/plain, application/json"), Wanted::Text);
        assert_eq!(
            wanted(&TestRequest::default().to_http_request()),
            Wanted::Text
        );
    }
}
