//! The page in its three forms: text (`/`, `/text`), HTML (`/html`) and JSON (`/json`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{AppState, html_response, text};
use kiada_wire::Page;

use crate::backends::CallContext;
use crate::page;
use crate::view::{HtmlPage, PageView, render_text};

/// What a client asked for with its `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wanted {
    Html,
    Json,
    Text,
}

pub(super) fn wanted(req: &HttpRequest) -> Wanted {
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

/// The page for this request, with everything it shows (the backends called once).
async fn page_for_request(req: &HttpRequest, state: &AppState, context: &CallContext) -> Page {
    let info = page::request_info(req, &state.pod, &context.request_id);
    let color = state.ui_color.as_str();
    page::build(&state.backends, info, &state.status, color, context).await
}

/// `GET /`: browsers go to `/html`; JSON clients get JSON; everyone else gets text.
pub async fn root(
    req: HttpRequest,
    state: web::Data<AppState>,
    context: CallContext,
) -> HttpResponse {
    match wanted(&req) {
        Wanted::Html => HttpResponse::Found()
            .insert_header((header::LOCATION, "/html"))
            .content_type("text/plain; charset=utf-8")
            .body("Redirecting to /html\n"),
        Wanted::Json => json_page(page_for_request(&req, &state, &context).await),
        Wanted::Text => text(
            HttpResponse::Ok(),
            render_text(&page_for_request(&req, &state, &context).await),
        ),
    }
}

/// `GET /text`: always text.
pub async fn text_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    context: CallContext,
) -> HttpResponse {
    text(
        HttpResponse::Ok(),
        render_text(&page_for_request(&req, &state, &context).await),
    )
}

/// `GET /json`: always JSON.
pub async fn json(
    req: HttpRequest,
    state: web::Data<AppState>,
    context: CallContext,
) -> HttpResponse {
    json_page(page_for_request(&req, &state, &context).await)
}

fn json_page(page: Page) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(page)
}

/// `GET /html`.
pub async fn html(
    req: HttpRequest,
    state: web::Data<AppState>,
    context: CallContext,
) -> HttpResponse {
    let page = page_for_request(&req, &state, &context).await;
    html_response(HtmlPage(PageView::of(&page)).render(), "/text")
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
