//! The pooled HTTP client, one per server worker, and the one exchange every backend
//! call makes: send, read the answer up to [`MAX_BACKEND_BODY`], classify a failure.

use std::time::Duration;

use actix_web::web::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Client, Method, Url};
use service_kit::{REQUEST_ID_HEADER, SEED_HEADER};

use super::{
    BackendError, Backends, Cause, Forwarded, MAX_BACKEND_BODY, RawAnswer, ServedBy, Service,
};
use service_kit::clean_line;

/// One client for both backends: plain HTTP, bounded waits, no proxy, no redirects,
/// idle connections kept for `pool_idle` (zero: never reused).
pub(super) fn build(
    timeout: Duration,
    connect_timeout: Duration,
    pool_idle: Duration,
) -> reqwest::Result<Client> {
    // kiada talks plain HTTP, but when anything in the build enables reqwest's rustls
    // support without a provider (tests do, for HTTPS), building a client needs a
    // process-wide crypto provider: ring, as everywhere in the suite.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let builder = Client::builder()
        .user_agent(concat!("kiada/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none());
    let builder = if pool_idle.is_zero() {
        builder.pool_max_idle_per_host(0)
    } else {
        builder.pool_idle_timeout(pool_idle)
    };
    builder.build()
}

impl Backends {
    /// The same backends with a connection pool of their own, for one server worker
    /// thread. hyper runs each pooled connection as a task on the runtime that opened
    /// it, and every actix worker has its own runtime: with one shared pool, a call
    /// often rides a connection owned by the other worker, which costs a cross-thread
    /// wake-up and a context switch per call. Measured under load: about 10% less CPU
    /// per page in kiada. Should a client fail to build (it did not at start-up, so it
    /// should not now), the worker shares this one's pool.
    pub fn for_worker(&self) -> Self {
        match build(self.timeout, self.connect_timeout, self.pool_idle) {
            Ok(client) => Self {
                client,
                ..self.clone()
            },
            Err(error) => {
                tracing::warn!(%error, "cannot build a worker's backend client: sharing one");
                self.clone()
            }
        }
    }

    /// Sends one request and reads its whole answer, up to [`MAX_BACKEND_BODY`] bytes.
    pub(super) async fn call(
        &self,
        service: Service,
        method: Method,
        url: Url,
        forwarded: &Forwarded,
        body: Option<(String, Bytes)>,
    ) -> Result<RawAnswer, BackendError> {
        let fail = |cause| BackendError::new(service, &url, cause);
        let mut request = self
            .client
            .request(method, url.clone())
            .header(REQUEST_ID_HEADER, forwarded.request_id.as_str())
            .header(
                ACCEPT,
                match service {
                    Service::Quote => "text/plain",
                    Service::Quiz => "application/json",
                },
            );
        if let Some(seed) = forwarded.seed {
            request = request.header(SEED_HEADER, seed.to_string());
        }
        if let Some((content_type, body)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(body);
        }
        let mut response = request.send().await.map_err(|e| fail(self.classify(&e)))?;
        let status = response.status();
        let served_by = ServedBy::from_headers(response.headers());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        if response
            .content_length()
            .is_some_and(|length| length > MAX_BACKEND_BODY as u64)
        {
            return Err(fail(Cause::TooLarge));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fail(self.classify(&e)))?
        {
            if body.len() + chunk.len() > MAX_BACKEND_BODY {
                return Err(fail(Cause::TooLarge));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(
            service = service.name(),
            %url,
            status = status.as_u16(),
            pod = %served_by.pod,
            request_id = forwarded.request_id.as_str(),
            "backend answered"
        );
        Ok(RawAnswer {
            status,
            content_type,
            body: Bytes::from(body),
            served_by,
        })
    }

    /// What a reqwest failure means for the page.
    pub(super) fn classify(&self, error: &reqwest::Error) -> Cause {
        if error.is_connect() && error.is_timeout() {
            Cause::Unreachable(format!(
                "no connection within {}s",
                self.connect_timeout.as_secs_f64()
            ))
        } else if error.is_timeout() {
            Cause::Timeout(self.timeout)
        } else if error.is_connect() {
            Cause::Unreachable(root_cause(error))
        } else {
            Cause::Other(root_cause(error))
        }
    }
}

/// The innermost error's message ("Connection refused (os error 111)", "failed to
/// lookup address information: ..."), which says more than reqwest's outer wrapper.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    clean_line(&current.to_string(), 300)
}
