//! The stylesheet, script and artwork, compiled into the binary.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/static/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/style.css"),
    },
    Asset {
        path: "/static/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/app.js"),
    },
    Asset {
        path: "/static/spread.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/spread.js"),
    },
    Asset {
        path: "/static/favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../assets/favicon.svg"),
    },
    Asset {
        path: "/static/cover.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../assets/cover.svg"),
    },
    // Browsers that ignore the page's icon link ask for this.
    Asset {
        path: "/favicon.ico",
        content_type: "image/svg+xml",
        body: include_bytes!("../../assets/favicon.svg"),
    },
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    for asset in ASSETS {
        cfg.service(
            web::resource(asset.path).route(service_kit::get_or_head().to(move || async move {
                HttpResponse::Ok()
                    .content_type(asset.content_type)
                    .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
                    .body(asset.body)
            })),
        );
    }
}
