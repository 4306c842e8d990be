//! Route helpers that every service's route table uses.

use actix_web::{guard, web};

/// A route for GET and HEAD (same status and headers, no body: `curl -I`, and load
/// balancers' health checks). actix's 405 for other methods then says `Allow: GET, HEAD`.
pub fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}
