//! kiada's HTTP routes.

mod answer;
mod assets;
mod pages;
mod proxy;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use service_kit::get_or_head;

use crate::respond::text;
use crate::spread;

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

#[cfg(test)]
mod tests {
    use actix_web::{App, test, web};

    use super::*;
    use crate::state::AppState;

    /// The route table without a socket: an unknown path gets the text 404, a known
    /// path with a method it does not take the text 405 with `Allow`, and a malformed
    /// answer path a 400 naming the rule it breaks, before quiz is asked (the state's
    /// quiz is never reached).
    #[actix_web::test]
    async fn the_table_answers_without_a_socket() {
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(AppState::for_tests()))
                .configure(configure)
                .default_service(web::to(not_found)),
        )
        .await;
        let cases = [
            (
                test::TestRequest::get().uri("/nope"),
                404,
                None,
                "Not found: /nope\nTry / (text), /html (browser) or /json.\n",
            ),
            (
                test::TestRequest::post().uri("/text"),
                405,
                Some("GET, HEAD"),
                "Method not allowed here; use GET, HEAD.\n",
            ),
            (
                test::TestRequest::get().uri("/question/7/answers/0"),
                405,
                Some("POST"),
                "Method not allowed here; use POST.\n",
            ),
            (
                test::TestRequest::delete().uri("/proxy/quiz/stats"),
                405,
                Some("GET, POST"),
                "Method not allowed here; use GET, POST.\n",
            ),
            (
                test::TestRequest::post().uri("/question/seven/answers/1"),
                400,
                None,
                "ERROR: the question id must be a whole number, not \"seven\".\n",
            ),
            (
                test::TestRequest::post().uri("/question/7/answers/-1"),
                400,
                None,
                "ERROR: the answer index must be a whole number from 0, not \"-1\".\n",
            ),
            (
                test::TestRequest::post().uri("/question/4294967296/answers/0"),
                400,
                None,
                "ERROR: the question id must be at most 4294967295, not 4294967296.\n",
            ),
        ];
        for (request, status, allow, body) in cases {
            let response = test::call_service(&app, request.to_request()).await;
            assert_eq!(response.status().as_u16(), status, "{body}");
            let allowed = response.headers().get(header::ALLOW);
            assert_eq!(allowed.and_then(|v| v.to_str().ok()), allow, "{body}");
            assert_eq!(test::read_body(response).await, body.as_bytes());
        }
    }
}
