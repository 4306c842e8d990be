//! The page in its three forms: text (`/`, `/text`), HTML (`/html`) and JSON (`/json`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::respond::{Wanted, html_response, text, wanted};
use crate::state::AppState;

use crate::backends::CallContext;
use crate::page;
use crate::view::{HtmlPage, PageView, render_text};

/// What a page handler takes: the request, the shared state and the call context.
type PageArgs = (HttpRequest, web::Data<AppState>, CallContext);

/// The page for this request in `form`, with everything it shows (the backends called
/// once).
async fn page_in(form: Wanted, (req, state, context): PageArgs) -> HttpResponse {
    let info = page::request_info(&req, &state.pod, &context.request_id);
    let color = state.ui_color.as_str();
    let page = page::build(&state.backends, info, &state.status, color, &context).await;
    match form {
        Wanted::Text => text(HttpResponse::Ok(), render_text(&page)),
        Wanted::Json => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(page),
        Wanted::Html => html_response(HtmlPage(PageView::of(&page)).render(), "/text"),
    }
}

/// `GET /`: browsers go to `/html`; JSON clients get JSON; everyone else gets text.
pub async fn root(args: PageArgs) -> HttpResponse {
    match wanted(&args.0) {
        Wanted::Html => HttpResponse::Found()
            .insert_header((header::LOCATION, "/html"))
            .content_type("text/plain; charset=utf-8")
            .body("Redirecting to /html\n"),
        form => page_in(form, args).await,
    }
}

/// `GET /text`: always text.
pub async fn text_page(args: PageArgs) -> HttpResponse {
    page_in(Wanted::Text, args).await
}

/// `GET /json`: always JSON.
pub async fn json(args: PageArgs) -> HttpResponse {
    page_in(Wanted::Json, args).await
}

/// `GET /html`.
pub async fn html(args: PageArgs) -> HttpResponse {
    page_in(Wanted::Html, args).await
}
