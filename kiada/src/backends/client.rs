//! The pooled HTTP client, one per server worker, and the one exchange every backend
//! call makes: send, read the answer up to [`MAX_BACKEND_BODY`], classify a failure.
//!
//! hyper's pooled client, not reqwest's: reqwest turns every request's URL into a
//! `Url` and back (its redirect policy parses it again even with redirects off) and runs
//! it through its tower layers, about a fifth of kiada's instructions per page under
//! callgrind. kiada needs none of that: plain HTTP/1.1 to two known origins, no proxy,
//! no redirects, one total timeout.

use std::time::Duration;

use actix_web::web::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use service_kit::{REQUEST_ID_HEADER, SEED_HEADER};

use super::error::shown_url;
use super::fetched;
use super::{
    BackendError, Backends, CallContext, Cause, Endpoint, MAX_BACKEND_BODY, ProxiedResponse,
    Service,
};
use service_kit::clean_line;

/// The client kiada calls quote and quiz with.
pub(super) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Sent with every request, as the reqwest client was built to.
pub(super) const KIADA_USER_AGENT: &str = concat!("kiada/", env!("CARGO_PKG_VERSION"));

/// What the connections are kept alive with, as reqwest's defaults did: TCP keepalive
/// probes after 15 s idle, and no Nagle delay on the small requests.
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);

/// One client for both backends: plain HTTP, bounded connect time, idle connections kept
/// for `pool_idle` (zero: never reused). The total timeout is the caller's.
pub(super) fn build(connect_timeout: Duration, pool_idle: Duration) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    connector.set_keepalive(Some(TCP_KEEPALIVE));
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new());
    if pool_idle.is_zero() {
        builder.pool_max_idle_per_host(0);
    } else {
        builder.pool_idle_timeout(pool_idle);
    }
    builder.build(connector)
}

impl Backends {
    /// The same backends with a connection pool of their own, for one server worker
    /// thread. hyper runs each pooled connection as a task on the runtime that opened
    /// it, and every actix worker has its own runtime: with one shared pool, a call
    /// often rides a connection owned by the other worker, which costs a cross-thread
    /// wake-up and a context switch per call. Measured under load: about 10% less CPU
    /// per page in kiada.
    pub fn for_worker(&self) -> Self {
        self.with_own_client(self.settings.pool_idle)
    }

    /// The same backends with a client of their own whose idle connections are kept for
    /// `pool_idle` (zero: each is closed after its one call).
    pub fn with_own_client(&self, pool_idle: Duration) -> Self {
        Self {
            client: build(self.settings.connect_timeout, pool_idle),
            ..self.clone()
        }
    }

    /// Sends one request to `endpoint` and reads its whole answer, up to
    /// [`MAX_BACKEND_BODY`] bytes, within the timeout.
    pub(super) async fn call(
        &self,
        service: Service,
        method: Method,
        endpoint: &Endpoint,
        context: &CallContext,
        body: Option<(String, Bytes)>,
    ) -> Result<ProxiedResponse, BackendError> {
        let url = endpoint.url();
        let exchange = async {
            let uri = endpoint.uri()?;
            let (content_type, body) = body.unzip();
            let mut request = Request::new(Full::new(body.unwrap_or_default()));
            *request.method_mut() = method;
            *request.uri_mut() = uri;
            // All headers are set here rather than some in `send`: with the user agent set
            // there, the build laid out the page's future so that actix copied about 10 KB
            // into its box per request (callgrind: 9,000 more instructions per page).
            let headers = request.headers_mut();
            headers.insert(USER_AGENT, HeaderValue::from_static(KIADA_USER_AGENT));
            let request_id = HeaderValue::from_str(context.request_id.as_str())
                .map_err(|error| Cause::Other(format!("invalid request id: {error}")))?;
            headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), request_id);
            headers.insert(
                ACCEPT,
                HeaderValue::from_static(match service {
                    Service::Quote => "text/plain",
                    Service::Quiz => "application/json",
                }),
            );
            if let Some(seed) = context.seed {
                headers.insert(
                    HeaderName::from_static(SEED_HEADER),
                    HeaderValue::from(seed),
                );
            }
            if let Some(content_type) = content_type {
                let value = HeaderValue::from_str(&content_type)
                    .map_err(|error| Cause::Other(format!("invalid content type: {error}")))?;
                headers.insert(CONTENT_TYPE, value);
            }
            let response = self.send(request).await?;
            read_capped(response).await
        };
        let answer = self
            .within_timeout(exchange)
            .await
            .map_err(|cause| BackendError::new(service, url, cause))?;
        tracing::debug!(
            service = service.name(),
            url = %shown_url(url),
            status = answer.status.as_u16(),
            pod = %answer.served_by.pod,
            request_id = context.request_id.as_str(),
            "backend answered"
        );
        Ok(answer)
    }

    /// Sends `request` and waits for the answer's head (no timeout of its own).
    pub(super) async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, Cause> {
        self.client
            .request(request)
            .await
            .map_err(|error| self.classify(&error))
    }

    /// `exchange`, or [`Cause::Timeout`] when it takes longer than the backend timeout.
    pub(super) async fn within_timeout<T>(
        &self,
        exchange: impl Future<Output = Result<T, Cause>>,
    ) -> Result<T, Cause> {
        tokio::time::timeout(self.settings.timeout, exchange)
            .await
            .unwrap_or(Err(Cause::Timeout(self.settings.timeout)))
    }

    /// What a failure to get an answer means for the page.
    fn classify(&self, error: &hyper_util::client::legacy::Error) -> Cause {
        if !error.is_connect() {
            return Cause::Other(root_cause(error));
        }
        // hyper's connect timeout is an io::Error of kind TimedOut in the chain.
        let mut current: &(dyn std::error::Error + 'static) = error;
        loop {
            if current
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            {
                return Cause::Unreachable(format!(
                    "no connection within {}s",
                    self.settings.connect_timeout.as_secs_f64()
                ));
            }
            match current.source() {
                Some(source) => current = source,
                None => return Cause::Unreachable(root_cause(error)),
            }
        }
    }
}

/// The answer's status, served-by headers, content type and whole body, refused when
/// the body is larger than [`MAX_BACKEND_BODY`].
async fn read_capped(response: Response<Incoming>) -> Result<ProxiedResponse, Cause> {
    let (head, mut body) = response.into_parts();
    let length = head
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if length.is_some_and(|length| length > MAX_BACKEND_BODY as u64) {
        return Err(Cause::TooLarge);
    }
    let mut bytes = Vec::with_capacity(length.unwrap_or(0) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| Cause::Other(root_cause(&error)))?;
        if let Ok(chunk) = frame.into_data() {
            if bytes.len() + chunk.len() > MAX_BACKEND_BODY {
                return Err(Cause::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    Ok(ProxiedResponse {
        status: head.status,
        content_type: head
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        served_by: fetched::served_by(&head.headers),
        body: Bytes::from(bytes),
    })
}

/// The innermost error's message ("Connection refused (os error 111)", "failed to
/// lookup address information: ..."), which says more than hyper's outer wrapper.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    clean_line(&current.to_string(), 300)
}
