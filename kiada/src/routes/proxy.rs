//! `/proxy/quote` and `/proxy/quiz/...`: the browser reaches the backends only through
//! kiada, and only the configured quiz origin can be reached.

use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use reqwest::Method;

use crate::backends::{BackendError, CallContext};
use crate::respond::json_error;
use crate::state::AppState;
use kiada_wire::ServedBy;

/// Largest request body forwarded to quiz.
pub const MAX_PROXY_BODY: usize = 4 * 1024;

/// Headers telling the browser which backend pod answered (kiada's own `X-Pod-Name` is
/// on every answer already).
const UPSTREAM_POD_HEADER: &str = "x-upstream-pod-name";
const UPSTREAM_NODE_HEADER: &str = "x-upstream-node-name";

/// `GET /proxy/quote`: the tip as a JSON string.
pub async fn quote(state: web::Data<AppState>, context: CallContext) -> HttpResponse {
    match state.backends.tip(&context).await {
        Ok(tip) => {
            let mut response = HttpResponse::Ok();
            response.insert_header((header::CACHE_CONTROL, "no-store"));
            upstream_headers(&mut response, &tip.served_by);
            response.json(service_kit::clean_block(&tip.value))
        }
        Err(error) => backend_failure(&error, &context),
    }
}

/// `GET`/`POST /proxy/quiz/<path>`: the calls the HTML page makes (and quiz's public
/// counts) forwarded to quiz, status and body preserved; any other path is 404 here and
/// never reaches quiz (see [`crate::backends::FORWARDED_CALLS`]).
pub async fn quiz(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    context: CallContext,
) -> HttpResponse {
    let tail = req
        .uri()
        .path()
        .strip_prefix("/proxy/quiz/")
        .unwrap_or_default();
    let method = req.method().as_str();
    let target = match state
        .backends
        .quiz_proxy_target(method, tail, req.query_string())
    {
        Ok(target) => target,
        Err(refusal) => return json_error(HttpResponse::NotFound(), &refusal.to_string()),
    };
    let body = if target.method == Method::POST {
        let body = match read_body(&req, payload, MAX_PROXY_BODY).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("application/json")
            .to_owned();
        Some((content_type, body))
    } else {
        None
    };
    match state.backends.forward_to_quiz(target, &context, body).await {
        Ok(answer) => {
            let status =
                StatusCode::from_u16(answer.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response = HttpResponse::build(status);
            response.insert_header((header::CACHE_CONTROL, "no-store"));
            if let Some(content_type) = answer.content_type {
                response.insert_header((header::CONTENT_TYPE, content_type));
            }
            upstream_headers(&mut response, &answer.served_by);
            response.body(answer.body)
        }
        Err(error) => backend_failure(&error, &context),
    }
}

fn upstream_headers(response: &mut actix_web::HttpResponseBuilder, served_by: &ServedBy) {
    for (name, value) in [
        (UPSTREAM_POD_HEADER, &served_by.pod),
        (UPSTREAM_NODE_HEADER, &served_by.node),
    ] {
        if let Ok(value) = header::HeaderValue::from_str(value) {
            response.insert_header((name, value));
        }
    }
}

/// 504 when the backend was too slow, 502 for every other failure; logged with the
/// request id.
fn backend_failure(error: &BackendError, context: &CallContext) -> HttpResponse {
    let request_id = context.request_id.as_str();
    tracing::warn!(%error, request_id, "backend failed");
    let builder = if error.is_timeout() {
        HttpResponse::GatewayTimeout()
    } else {
        HttpResponse::BadGateway()
    };
    json_error(builder, &error.to_string())
}

/// Reads a request body of at most `limit` bytes; a bigger one gets 413 without being
/// read to the end.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, HttpResponse> {
    let too_large = || {
        json_error(
            HttpResponse::PayloadTooLarge(),
            &format!("the request body must be at most {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            json_error(
                HttpResponse::BadRequest(),
                &format!("cannot read the request body: {error}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
