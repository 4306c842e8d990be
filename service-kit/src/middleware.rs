//! The middleware every service's `App` is wrapped in: the request id, injected faults
//! and `FAIL_AFTER_SECONDS`, the body deadline, metrics, one access-log line per request
//! and the security headers (`request_telemetry`), and the pod identity headers
//! (`identity_headers`).

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    HeaderMap, HeaderName, HeaderValue, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpMessage, HttpResponse, web};

use crate::body_deadline::{HeldBody, body_timeout_response, limit_body_time};
use crate::extract::{NODE_NAME_HEADER, POD_NAME_HEADER, REQUEST_ID_HEADER, RequestId, client_ip};
use crate::faults::Faults;
use crate::limits::MAX_LOGGED_PATH_CHARS;
use crate::metrics::{InFlight, Metrics};
use crate::pod::PodInfo;
use crate::probes::Health;

/// The path as the access log shows it: cut at [`MAX_LOGGED_PATH_CHARS`].
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    if path.len() <= MAX_LOGGED_PATH_CHARS {
        path.into()
    } else {
        crate::text::clean_line(path, MAX_LOGGED_PATH_CHARS).into()
    }
}

/// Paths that machines call on a schedule (probes, metrics scrapes) or that operate the
/// service (admin): their access-log lines are at debug level, every other request's at
/// info.
fn is_housekeeping_path(path: &str) -> bool {
    path.starts_with("/healthz/") || path == "/metrics" || path.starts_with("/admin/")
}

/// A latency in milliseconds, rounded to the microsecond: `0.032`, not
/// `0.031869999999999996`. Dividing whole microseconds by 1000 yields the double
/// nearest to a three-decimal number, which prints as that number.
fn latency_ms(elapsed: std::time::Duration) -> f64 {
    elapsed.as_micros() as f64 / 1000.0
}

/// Paths that faults and `FAIL_AFTER_SECONDS` never touch: they must keep telling the
/// truth about the service (liveness and startup) or steer it.
fn is_control_path(path: &str) -> bool {
    path == "/metrics"
        || path == "/healthz/live"
        || path == "/healthz/startup"
        || path.starts_with("/admin/")
}

/// Browsers must take every answer as the type it says (a JSON error echoing a client's
/// text is never run as a script or a page); and over HTTPS they must come back only
/// over HTTPS for a year. Whether the answer goes over HTTPS is the listener's (actix's
/// `AppConfig::secure`), never what a client's headers claim.
fn add_security_headers(headers: &mut HeaderMap, over_https: bool) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if over_https {
        headers.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// Middleware: assigns the request id, echoes it in the response, applies injected
/// faults and `FAIL_AFTER_SECONDS`, bounds the time a client may take to send the body
/// (408 past [`CLIENT_REQUEST_TIMEOUT`]), records metrics, writes one log line per
/// request with method, path, status, latency, client IP and request id, and adds the
/// security headers to every answer, its own (faults, timeouts) too. Faults and
/// metrics need `web::Data<Health>`, `web::Data<Faults>` and `web::Data<Metrics>` in the
/// app (the `App` builder adds them).
///
/// [`CLIENT_REQUEST_TIMEOUT`]: crate::limits::CLIENT_REQUEST_TIMEOUT
pub(crate) async fn request_telemetry(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let started = Instant::now();
    let request_id = RequestId::from_headers(req.headers());
    req.extensions_mut().insert(request_id.clone());
    let method = req.method().clone();
    let path = req.path().to_owned();
    let over_https = req.app_config().secure();
    let client = client_ip(req.request());
    let health = req.app_data::<web::Data<Health>>().cloned();
    let faults = req.app_data::<web::Data<Faults>>().cloned();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let _in_flight = metrics
        .as_ref()
        .map(|metrics| InFlight::start(metrics.in_flight()));

    let mut fail_with = None;
    if !is_control_path(&path) {
        if let Some(decision) = faults.as_ref().and_then(|faults| faults.decide()) {
            if !decision.delay.is_zero() {
                tokio::time::sleep(decision.delay).await;
            }
            fail_with = decision
                .fail_with
                .map(|status| (status, "injected fault (see /admin/faults)"));
        }
        if fail_with.is_none()
            && health
                .as_ref()
                .is_some_and(|health| health.failing_on_purpose())
        {
            fail_with = Some((500, "failing on purpose: FAIL_AFTER_SECONDS has passed"));
        }
    }

    let request_body = limit_body_time(&mut req);
    let result = match fail_with {
        Some((status, reason)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let response = HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(format!("{reason}\n"));
            Ok(req.into_response(response).map_into_right_body())
        }
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
    };
    let result = match (result, request_body) {
        (Ok(response), Some(request_body)) => {
            let response = if request_body.timed_out() {
                let mut timeout = body_timeout_response();
                for name in [POD_NAME_HEADER, NODE_NAME_HEADER] {
                    if let Some(value) = response.headers().get(name) {
                        let value = value.clone();
                        timeout
                            .headers_mut()
                            .insert(HeaderName::from_static(name), value);
                    }
                }
                response.into_response(timeout)
            } else {
                response.map_into_boxed_body()
            };
            Ok(response
                .map_body(|_, answer| HeldBody::new(answer, request_body))
                .map_into_boxed_body()
                .map_into_right_body())
        }
        (result, _) => result.map(ServiceResponse::map_into_left_body),
    };
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let elapsed = started.elapsed();
    if let Some(metrics) = &metrics {
        let route = match &result {
            Ok(response) => response.request().match_pattern(),
            Err(_) => None,
        };
        metrics.observe_request(
            route.as_deref().unwrap_or("unmatched"),
            method.as_str(),
            status.as_u16(),
            elapsed,
        );
    }
    // Probes, scrapes and admin calls arrive every few seconds: at info they would bury
    // the requests that `kubectl logs` is read for (which pod served which call).
    macro_rules! access_log {
        ($level:expr) => {
            tracing::event!(
                target: "access",
                $level,
                method = %method,
                path = %logged_path(&path),
                status = status.as_u16(),
                latency_ms = latency_ms(elapsed),
                client_ip = %client.map(crate::extract::ip_text).unwrap_or_default(),
                request_id = request_id.as_str(),
                "request"
            )
        };
    }
    if is_housekeeping_path(&path) {
        access_log!(tracing::Level::DEBUG);
    } else {
        access_log!(tracing::Level::INFO);
    }
    let mut response = result?;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    add_security_headers(headers, over_https);
    Ok(response)
}

/// Middleware that stamps every answer with `X-Pod-Name` and `X-Node-Name`, so a client
/// can see which pod behind a Service answered.
pub(crate) fn identity_headers(pod: &PodInfo) -> DefaultHeaders {
    let mut headers = DefaultHeaders::new();
    for (name, value) in [
        (POD_NAME_HEADER, pod.pod_name()),
        (NODE_NAME_HEADER, pod.node_name()),
    ] {
        // A value that is not a valid header (never the case for real pod names) is
        // left out rather than failing every response.
        if let Ok(value) = HeaderValue::from_str(value) {
            headers = headers.add((HeaderName::from_static(name), value));
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_print_with_at_most_three_decimals() {
        use std::time::Duration;
        assert_eq!(
            latency_ms(Duration::from_nanos(31_870)).to_string(),
            "0.031"
        );
        assert_eq!(
            latency_ms(Duration::from_micros(31_870)).to_string(),
            "31.87"
        );
        assert_eq!(
            latency_ms(Duration::from_micros(1_234_567)).to_string(),
            "1234.567"
        );
        for micros in [1_u64, 7, 99, 123, 100_001, 2_999_999] {
            let text = latency_ms(Duration::from_micros(micros)).to_string();
            let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 3, "{micros} µs printed as {text}");
        }
    }

    #[test]
    fn probes_metrics_and_admin_are_housekeeping() {
        for path in [
            "/healthz/ready",
            "/healthz/live",
            "/healthz/startup",
            "/metrics",
            "/admin/status",
        ] {
            assert!(is_housekeeping_path(path), "{path}");
        }
        for path in [
            "/",
            "/quote",
            "/text",
            "/questions/random",
            "/metricsx",
            "/healthz",
        ] {
            assert!(!is_housekeeping_path(path), "{path}");
        }
    }

    #[test]
    fn access_log_paths_are_cut_at_512_characters() {
        let short = format!("/{}", "a".repeat(MAX_LOGGED_PATH_CHARS - 1));
        assert!(matches!(logged_path(&short), std::borrow::Cow::Borrowed(p) if p == short));
        let long = format!("/{}", "b".repeat(65_000));
        let logged = logged_path(&long);
        assert_eq!(logged.chars().count(), MAX_LOGGED_PATH_CHARS);
        assert_eq!(logged, format!("/{}…", "b".repeat(510)));
    }
}
