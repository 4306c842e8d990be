//! Request plumbing shared by every service: request ids, the access log line, the
//! pod identity headers and the client address.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::web::Bytes;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::Stream;

use crate::health::Health;
use crate::metrics::InFlight;
use crate::pod::PodInfo;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
pub const POD_NAME_HEADER: &str = "x-pod-name";
pub const NODE_NAME_HEADER: &str = "x-node-name";
pub const SEED_HEADER: &str = "x-kiada-seed";

/// Longest request id taken from a client; longer ones are replaced, so a client cannot
/// make every log line huge.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of the current request: the caller's `X-Request-Id` when it is sane, else a
/// fresh UUID. Handlers extract it to pass it on to other services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    fn from_request(req: &ServiceRequest) -> Self {
        req.headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| {
                !id.is_empty()
                    && id.len() <= MAX_REQUEST_ID_LEN
                    && id.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|id| Self(id.to_owned()))
            .unwrap_or_else(Self::fresh)
    }

    /// A random (version 4) UUID from the thread's userspace generator: `Uuid::new_v4`
    /// asks the kernel (getrandom) every time, a system call on every request.
    fn fresh() -> Self {
        Self(
            uuid::Builder::from_random_bytes(rand::random())
                .into_uuid()
                .to_string(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromRequest for RequestId {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // Present whenever `request_telemetry` wraps the app; a fresh id otherwise.
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(Self::fresh);
        std::future::ready(Ok(id))
    }
}

/// Deterministic mode for tests and demos: a request with `X-Kiada-Seed: <number>` gets
/// the tip and question that number picks, the same on every pod. Extracting it fails
/// with 400 when the header is not an unsigned integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seed(pub Option<u64>);

impl FromRequest for Seed {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let seed = match req.headers().get(SEED_HEADER) {
            None => Ok(Seed(None)),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .map(|seed| Seed(Some(seed)))
                .ok_or_else(|| {
                    actix_web::error::ErrorBadRequest(
                        "X-Kiada-Seed must be an unsigned integer (0 to 18446744073709551615)\n",
                    )
                }),
        };
        std::future::ready(seed)
    }
}

/// Picks an index below `len` from `seed`, the same way in every service and process.
pub fn index_for_seed(seed: u64, len: usize) -> usize {
    use rand::{Rng, SeedableRng};
    rand::rngs::SmallRng::seed_from_u64(seed).random_range(0..len.max(1))
}

/// The address of the peer that opened the connection, with IPv4-mapped IPv6 addresses
/// (what a dual-stack socket reports for IPv4 clients) shown as plain IPv4.
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|addr| addr.ip().to_canonical())
}

/// Paths that faults and `FAIL_AFTER_SECONDS` never touch: they must keep telling the
/// truth about the service (liveness and startup) or steer it.
/// A route for GET and HEAD (same status and headers, no body: `curl -I`, and load
/// balancers' health checks). actix's 405 for other methods then says `Allow: GET, HEAD`.
pub fn get_or_head() -> actix_web::Route {
    web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
}

/// Paths longer than this are cut in the access log: a client must not be able to
/// write 64 KiB log lines (the longest URI actix accepts).
const MAX_LOGGED_PATH_CHARS: usize = 512;

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

fn is_control_path(path: &str) -> bool {
    path == "/metrics"
        || path == "/healthz/live"
        || path == "/healthz/startup"
        || path.starts_with("/admin/")
}

/// A request's body, shared by the handler that reads it (through [`BodyDeadline`]) and
/// [`request_telemetry`], which keeps it open until the answer is sent (see
/// [`HeldBody`]).
struct SharedBody {
    payload: RefCell<Payload>,
    timed_out: Cell<bool>,
}

/// The body as the handler sees it: it must arrive within [`CLIENT_REQUEST_TIMEOUT`]
/// of the first read that has to wait. actix bounds only the head, so without this a
/// client that stalls (or trickles) its body holds the connection and the handler for
/// as long as it likes. Past the deadline the read fails and `timed_out` is set.
///
/// [`CLIENT_REQUEST_TIMEOUT`]: crate::server::CLIENT_REQUEST_TIMEOUT
struct BodyDeadline {
    body: Rc<SharedBody>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Stream for BodyDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.body.timed_out.get() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut *this.body.payload.borrow_mut()).poll_next(cx) {
            return Poll::Ready(item);
        }
        let deadline = this.deadline.get_or_insert_with(|| {
            Box::pin(tokio::time::sleep(crate::server::CLIENT_REQUEST_TIMEOUT))
        });
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.body.timed_out.set(true);
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body did not arrive in time",
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Puts a [`BodyDeadline`] on the request's body, if it has one.
fn limit_body_time(req: &mut ServiceRequest) -> Option<Rc<SharedBody>> {
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        return None;
    }
    let body = Rc::new(SharedBody {
        payload: RefCell::new(payload),
        timed_out: Cell::new(false),
    });
    let limited: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(BodyDeadline {
            body: body.clone(),
            deadline: None,
        });
    req.set_payload(Payload::from(limited));
    Some(body)
}

/// An answer that keeps the request's body open until it has been sent. actix drains a
/// chunked body the handler left unread, with no time limit, to keep the connection
/// alive; a client that stalls that body would hold the connection for ever. A body
/// still open when the answer is done makes actix close the connection instead, after
/// its short disconnect timeout. A body that was read to the end changes nothing.
struct HeldBody {
    answer: BoxBody,
    _request_body: Rc<SharedBody>,
}

impl MessageBody for HeldBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.answer.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().answer).poll_next(cx)
    }
}

/// The answer for a request whose body ran out of time, whatever the handler made of
/// the failed read: 408, and the connection is closed (the rest of the body is unread).
fn body_timeout_response() -> HttpResponse {
    HttpResponse::RequestTimeout()
        .force_close()
        .json(serde_json::json!({
            "error": format!(
                "the request body did not arrive within {} seconds",
                crate::server::CLIENT_REQUEST_TIMEOUT.as_secs()
            )
        }))
}

/// Middleware: assigns the request id, echoes it in the response, applies injected
/// faults and `FAIL_AFTER_SECONDS`, bounds the time a client may take to send the body
/// (408 past [`CLIENT_REQUEST_TIMEOUT`]), records metrics, and writes one log line per
/// request with method, path, status, latency, client IP and request id. Faults and
/// metrics need `web::Data<Health>` in the app.
///
/// [`CLIENT_REQUEST_TIMEOUT`]: crate::server::CLIENT_REQUEST_TIMEOUT
pub async fn request_telemetry(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let started = Instant::now();
    let request_id = RequestId::from_request(&req);
    req.extensions_mut().insert(request_id.clone());
    let method = req.method().clone();
    let path = req.path().to_owned();
    let client = client_ip(req.request());
    let health = req.app_data::<web::Data<Health>>().cloned();
    let _in_flight = health
        .as_ref()
        .map(|health| InFlight::start(health.metrics().in_flight()));

    let mut fail_with = None;
    if let Some(health) = health.as_ref().filter(|_| !is_control_path(&path)) {
        if let Some(decision) = health.faults().decide() {
            if !decision.delay.is_zero() {
                tokio::time::sleep(decision.delay).await;
            }
            fail_with = decision
                .fail_with
                .map(|status| (status, "injected fault (see /admin/faults)"));
        }
        if fail_with.is_none() && health.failing_on_purpose() {
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
            let response = if request_body.timed_out.get() {
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
                .map_body(|_, answer| HeldBody {
                    answer,
                    _request_body: request_body,
                })
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
    if let Some(health) = &health {
        let route = match &result {
            Ok(response) => response.request().match_pattern(),
            Err(_) => None,
        };
        health.metrics().observe_request(
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
                client_ip = %client.map(|ip| ip.to_string()).unwrap_or_default(),
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
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}

/// Middleware that stamps every answer with `X-Pod-Name` and `X-Node-Name`, so a client
/// can see which pod behind a Service answered.
pub fn identity_headers(pod: &PodInfo) -> DefaultHeaders {
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
