//! The stylesheet, script and artwork, compiled into the binary.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// One file: where it is served, its type and its bytes.
type Asset = (&'static str, &'static str, &'static [u8]);

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

const ASSETS: &[Asset] = &[
    (
        "/static/style.css",
        CSS,
        include_bytes!("../../assets/style.css"),
    ),
    ("/static/app.js", JS, include_bytes!("../../assets/app.js")),
    (
        "/static/spread.js",
        JS,
        include_bytes!("../../assets/spread.js"),
    ),
    (
        "/static/favicon.svg",
        SVG,
        include_bytes!("../../assets/favicon.svg"),
    ),
    (
        "/static/cover.svg",
        SVG,
        include_bytes!("../../assets/cover.svg"),
    ),
    // Browsers that ignore the page's icon link ask for this.
    (
        "/favicon.ico",
        SVG,
        include_bytes!("../../assets/favicon.svg"),
    ),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    for &(path, content_type, body) in ASSETS {
        cfg.service(
            web::resource(path).route(service_kit::get_or_head().to(move || async move {
                HttpResponse::Ok()
                    .content_type(content_type)
                    .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
                    .body(body)
            })),
        );
    }
}
