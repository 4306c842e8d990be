//! Talking to quote and quiz: one pooled HTTP client with bounded timeouts, capped
//! response bodies, and failures described well enough to print on the page.

use std::fmt;
use std::time::{Duration, Instant};

use actix_web::FromRequest;
use actix_web::web::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Client, Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use service_kit::http::{NODE_NAME_HEADER, POD_NAME_HEADER, REQUEST_ID_HEADER, SEED_HEADER};
use service_kit::{Health, RequestId, Seed};

use crate::text::clean_line;

/// Largest backend answer kiada reads; anything bigger is a failure, never buffered.
pub const MAX_BACKEND_BODY: usize = 64 * 1024;

/// Which backend a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Quote,
    Quiz,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Self::Quote => "quote",
            Self::Quiz => "quiz",
        }
    }
}

/// Why a backend call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// No connection: refused, unreachable, name not resolved.
    Unreachable(String),
    /// No complete answer within the timeout.
    Timeout(Duration),
    /// An answer with a status other than 2xx (with the backend's error message, if any).
    Status(StatusCode, Option<String>),
    /// An answer larger than [`MAX_BACKEND_BODY`].
    TooLarge,
    /// An answer that is not what the API promises.
    BadBody(String),
    /// Anything else reqwest reports.
    Other(String),
}

/// A failed backend call, printed as `<service> service (<url>) <cause>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    pub service: Service,
    pub url: String,
    pub cause: Cause,
}

impl Cause {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "unreachable",
            Self::Timeout(_) => "timeout",
            Self::Status(..) => "status",
            Self::TooLarge => "too_large",
            Self::BadBody(_) => "bad_body",
            Self::Other(_) => "other",
        }
    }
}

impl BackendError {
    /// Whether the failure was the backend's slowness (the proxy answers 504 then).
    pub fn is_timeout(&self) -> bool {
        matches!(self.cause, Cause::Timeout(_))
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} service ({}) ", self.service.name(), self.url)?;
        match &self.cause {
            Cause::Unreachable(detail) => write!(f, "could not be reached: {detail}"),
            Cause::Timeout(limit) => {
                write!(f, "did not answer within {}s", limit.as_secs_f64())
            }
            Cause::Status(status, Some(message)) => {
                write!(f, "answered with HTTP {status}: {message}")
            }
            Cause::Status(status, None) => write!(f, "answered with HTTP {status}"),
            Cause::TooLarge => write!(
                f,
                "sent an answer larger than {} KiB",
                MAX_BACKEND_BODY / 1024
            ),
            Cause::BadBody(detail) => write!(f, "sent an unusable answer: {detail}"),
            Cause::Other(detail) => write!(f, "request failed: {detail}"),
        }
    }
}

impl std::error::Error for BackendError {}

/// Which pod (and node) answered, from the `X-Pod-Name`/`X-Node-Name` headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServedBy {
    pub pod: String,
    pub node: String,
}

impl ServedBy {
    fn from_headers(headers: &HeaderMap) -> Self {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(|value| clean_line(value, 253))
                .filter(|value| !value.is_empty())
                .unwrap_or_else(|| service_kit::pod::UNKNOWN.to_owned())
        };
        Self {
            pod: get(POD_NAME_HEADER),
            node: get(NODE_NAME_HEADER),
        }
    }
}

/// A successful call's value and who served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched<T> {
    pub value: T,
    pub served_by: ServedBy,
}

/// A quiz question as quiz sends it (without the correct answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: u64,
    pub text: String,
    pub answers: Vec<String>,
}

/// quiz's verdict on an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerResult {
    pub question_id: u64,
    pub answer_index: usize,
    pub correct_answer_index: usize,
    pub correct: bool,
}

/// What quiz said about a posted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerOutcome {
    Checked(AnswerResult),
    /// quiz refused the answer (400 or 404) with this status and message.
    Rejected(StatusCode, String),
}

/// A backend answer passed through as it came (for the quiz proxy).
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub served_by: ServedBy,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// What kiada passes on to the backends from the request it answers: the request id
/// (so one id ties the log lines together) and the deterministic-mode seed.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub request_id: RequestId,
    pub seed: Option<u64>,
}

impl FromRequest for Forwarded {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, actix_web::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        // Both extractors answer at once (std::future::Ready).
        let result = RequestId::from_request(req, payload)
            .into_inner()
            .and_then(|request_id| {
                let Seed(seed) = Seed::from_request(req, payload).into_inner()?;
                Ok(Self { request_id, seed })
            });
        std::future::ready(result)
    }
}

/// The two backends and the one client used for both. Cheap to clone; clones share the
/// client's connection pool ([`Backends::for_worker`] makes one with its own).
#[derive(Clone)]
pub struct Backends {
    client: Client,
    quote_url: Url,
    quiz_url: Url,
    /// Built once: the page asks for a random question on every request.
    random_question_url: Url,
    timeout: Duration,
    connect_timeout: Duration,
    pool_idle: Duration,
    /// Where backend call latency and failures are recorded (`/metrics`).
    health: Option<Health>,
}

impl fmt::Debug for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backends")
            .field("quote_url", &self.quote_url.as_str())
            .field("quiz_url", &self.quiz_url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Backends {
    /// One pooled client for both backends. Names are resolved by the system resolver
    /// (getaddrinfo), which follows the pod's `/etc/resolv.conf` (search list, `ndots`),
    /// so `http://quote` finds the Service of the pod's namespace. Idle connections are
    /// kept for `pool_idle` (zero: never reused).
    pub fn new(
        quote_url: Url,
        quiz_url: Url,
        timeout: Duration,
        connect_timeout: Duration,
        pool_idle: Duration,
    ) -> reqwest::Result<Self> {
        let connect_timeout = connect_timeout.min(timeout);
        let client = build_client(timeout, connect_timeout, pool_idle)?;
        let random_question_url = quiz_endpoint(&quiz_url, "questions/random");
        Ok(Self {
            client,
            quote_url,
            quiz_url,
            random_question_url,
            timeout,
            connect_timeout,
            pool_idle,
            health: None,
        })
    }

    /// The same backends with a connection pool of their own, for one server worker
    /// thread. hyper runs each pooled connection as a task on the runtime that opened
    /// it, and every actix worker has its own runtime: with one shared pool, a call
    /// often rides a connection owned by the other worker, which costs a cross-thread
    /// wake-up and a context switch per call. Measured under load: about 10% less CPU
    /// per page in kiada. Should a client fail to build (it did not at start-up, so it
    /// should not now), the worker shares this one's pool.
    pub fn for_worker(&self) -> Self {
        match build_client(self.timeout, self.connect_timeout, self.pool_idle) {
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

    /// Records every call's latency and failures in `health`'s metrics.
    pub fn with_metrics(mut self, health: Health) -> Self {
        self.health = Some(health);
        self
    }

    fn record<T>(&self, service: Service, started: Instant, result: &Result<T, BackendError>) {
        if let Some(health) = &self.health {
            health.metrics().observe_backend(
                service.name(),
                started.elapsed(),
                result.as_ref().err().map(|error| error.cause.label()),
            );
        }
    }

    pub fn quote_url(&self) -> &Url {
        &self.quote_url
    }

    pub fn quiz_url(&self) -> &Url {
        &self.quiz_url
    }

    /// The tip of the minute.
    pub async fn tip(&self, forwarded: &Forwarded) -> Result<Fetched<String>, BackendError> {
        let started = Instant::now();
        let result = self.fetch_tip(forwarded).await;
        self.record(Service::Quote, started, &result);
        result
    }

    async fn fetch_tip(&self, forwarded: &Forwarded) -> Result<Fetched<String>, BackendError> {
        let url = self.quote_url.clone();
        let answer = self
            .call(Service::Quote, Method::GET, url.clone(), forwarded, None)
            .await?;
        let fail = |cause| error(Service::Quote, &url, cause);
        if !answer.status.is_success() {
            return Err(fail(Cause::Status(answer.status, None)));
        }
        let text = std::str::from_utf8(&answer.body)
            .map_err(|_| fail(Cause::BadBody("not UTF-8 text".into())))?;
        let text = text.trim_end();
        if text.trim().is_empty() {
            return Err(fail(Cause::BadBody("an empty tip".into())));
        }
        Ok(Fetched {
            value: text.to_owned(),
            served_by: answer.served_by,
        })
    }

    /// A random question.
    pub async fn random_question(
        &self,
        forwarded: &Forwarded,
    ) -> Result<Fetched<Question>, BackendError> {
        self.question(self.random_question_url.clone(), forwarded)
            .await
    }

    /// The question with this id.
    pub async fn question_by_id(
        &self,
        id: u64,
        forwarded: &Forwarded,
    ) -> Result<Fetched<Question>, BackendError> {
        let url = quiz_endpoint(&self.quiz_url, &format!("questions/{id}"));
        self.question(url, forwarded).await
    }

    async fn question(
        &self,
        url: Url,
        forwarded: &Forwarded,
    ) -> Result<Fetched<Question>, BackendError> {
        let started = Instant::now();
        let result = self.fetch_question(url, forwarded).await;
        self.record(Service::Quiz, started, &result);
        result
    }

    async fn fetch_question(
        &self,
        url: Url,
        forwarded: &Forwarded,
    ) -> Result<Fetched<Question>, BackendError> {
        let answer = self
            .call(Service::Quiz, Method::GET, url.clone(), forwarded, None)
            .await?;
        let fail = |cause| error(Service::Quiz, &url, cause);
        if !answer.status.is_success() {
            return Err(fail(Cause::Status(
                answer.status,
                error_message(&answer.body),
            )));
        }
        let question: Question = serde_json::from_slice(&answer.body)
            .map_err(|e| fail(Cause::BadBody(format!("not a question: {e}"))))?;
        if question.answers.is_empty() {
            return Err(fail(Cause::BadBody("a question without answers".into())));
        }
        Ok(Fetched {
            value: question,
            served_by: answer.served_by,
        })
    }

    /// Posts an answer to quiz.
    pub async fn post_answer(
        &self,
        question_id: u64,
        answer_index: usize,
        forwarded: &Forwarded,
    ) -> Result<Fetched<AnswerOutcome>, BackendError> {
        let started = Instant::now();
        let result = self.send_answer(question_id, answer_index, forwarded).await;
        self.record(Service::Quiz, started, &result);
        result
    }

    async fn send_answer(
        &self,
        question_id: u64,
        answer_index: usize,
        forwarded: &Forwarded,
    ) -> Result<Fetched<AnswerOutcome>, BackendError> {
        let url = quiz_endpoint(&self.quiz_url, &format!("questions/{question_id}/answers"));
        let body = serde_json::json!({ "questionId": question_id, "answerIndex": answer_index });
        let answer = self
            .call(
                Service::Quiz,
                Method::POST,
                url.clone(),
                forwarded,
                Some((
                    "application/json".into(),
                    Bytes::from(body.to_string().into_bytes()),
                )),
            )
            .await?;
        let fail = |cause| error(Service::Quiz, &url, cause);
        let outcome = match answer.status {
            status if status.is_success() => {
                let result: AnswerResult = serde_json::from_slice(&answer.body)
                    .map_err(|e| fail(Cause::BadBody(format!("not an answer result: {e}"))))?;
                AnswerOutcome::Checked(result)
            }
            status @ (StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND) => {
                let message = error_message(&answer.body)
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or("rejected").into());
                AnswerOutcome::Rejected(status, message)
            }
            status => {
                return Err(fail(Cause::Status(status, error_message(&answer.body))));
            }
        };
        Ok(Fetched {
            value: outcome,
            served_by: answer.served_by,
        })
    }

    /// Forwards a request to quiz (the `/proxy/quiz/...` route): `target` must come from
    /// [`Backends::quiz_proxy_target`].
    pub async fn forward_to_quiz(
        &self,
        method: Method,
        target: Url,
        forwarded: &Forwarded,
        body: Option<(String, Bytes)>,
    ) -> Result<RawAnswer, BackendError> {
        let started = Instant::now();
        let result = self
            .call(Service::Quiz, method, target, forwarded, body)
            .await;
        self.record(Service::Quiz, started, &result);
        result
    }

    /// The quiz URL for a proxied path (`raw_tail` as it came in the request, still
    /// percent-encoded, starting after `/proxy/quiz/`) and query. Anything that would
    /// leave quiz's origin or base path is refused.
    pub fn quiz_proxy_target(&self, raw_tail: &str, query: &str) -> Result<Url, String> {
        let base = &self.quiz_url;
        let prefix = base.path().trim_end_matches('/');
        let lowered = raw_tail.to_ascii_lowercase();
        let dot_segment =
            |segment: &str| matches!(segment, "." | ".." | "%2e" | ".%2e" | "%2e." | "%2e%2e");
        if lowered.contains('\\')
            || lowered.contains("%5c")
            || lowered.contains("%2f")
            || lowered.split('/').any(dot_segment)
        {
            return Err("the path must not contain dot segments or encoded slashes".into());
        }
        let mut target = base.clone();
        target.set_path(&format!("{prefix}/{raw_tail}"));
        target.set_query((!query.is_empty()).then_some(query));
        target.set_fragment(None);
        if target.origin() != base.origin() || !target.path().starts_with(&format!("{prefix}/")) {
            return Err("the path leaves the quiz service".into());
        }
        Ok(target)
    }

    /// Readiness of both backends (`/healthz/ready`), checked at the same time; for
    /// `READINESS_REQUIRES_BACKENDS`.
    pub async fn check_ready(&self) -> Result<(), String> {
        let mut quote = self.quote_url.clone();
        quote.set_path("/healthz/ready");
        quote.set_query(None);
        let quiz = quiz_endpoint(&self.quiz_url, "healthz/ready");
        let probe = |service: Service, url: Url| async move {
            let cause = match self.client.get(url.clone()).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => Cause::Status(response.status(), None),
                Err(failure) => self.classify(&failure),
            };
            Err(error(service, &url, cause).to_string())
        };
        let (quote, quiz) = tokio::join!(probe(Service::Quote, quote), probe(Service::Quiz, quiz));
        match (quote, quiz) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(one), Ok(())) | (Ok(()), Err(one)) => Err(one),
            (Err(quote), Err(quiz)) => Err(format!("{quote}; {quiz}")),
        }
    }

    /// Sends one request and reads its whole answer, up to [`MAX_BACKEND_BODY`] bytes.
    async fn call(
        &self,
        service: Service,
        method: Method,
        url: Url,
        forwarded: &Forwarded,
        body: Option<(String, Bytes)>,
    ) -> Result<RawAnswer, BackendError> {
        let fail = |cause| error(service, &url, cause);
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

    fn classify(&self, error: &reqwest::Error) -> Cause {
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

/// One client for both backends: plain HTTP, bounded waits, no proxy, no redirects,
/// idle connections kept for `pool_idle` (zero: never reused).
fn build_client(
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

/// `path` under quiz's base URL (which may carry a path prefix of its own).
fn quiz_endpoint(quiz_url: &Url, path: &str) -> Url {
    let mut url = quiz_url.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}/{path}"));
    url
}

fn error(service: Service, url: &Url, cause: Cause) -> BackendError {
    BackendError {
        service,
        url: url.to_string(),
        cause,
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

/// quiz's `{"error": "..."}` message, if the body is one.
fn error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|body| clean_line(&body.error, 300))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(quiz: &str) -> Backends {
        Backends::new(
            Url::parse("http://quote/quote").unwrap(),
            Url::parse(quiz).unwrap(),
            Duration::from_secs(2),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    #[test]
    fn proxy_targets_stay_under_the_quiz_base_url() {
        let b = backends("http://quiz");
        assert_eq!(
            b.quiz_proxy_target("questions/random", "")
                .unwrap()
                .as_str(),
            "http://quiz/questions/random"
        );
        assert_eq!(
            b.quiz_proxy_target("stats", "a=1&b=2").unwrap().as_str(),
            "http://quiz/stats?a=1&b=2"
        );
        let b = backends("http://10.0.0.1:8082/api/");
        assert_eq!(
            b.quiz_proxy_target("questions/3", "").unwrap().as_str(),
            "http://10.0.0.1:8082/api/questions/3"
        );
    }

    #[test]
    fn proxy_targets_that_would_escape_are_refused() {
        let b = backends("http://quiz/api");
        for tail in [
            "../admin",
            "questions/../../x",
            "%2e%2e/x",
            "%2E%2e/x",
            ".%2E/x",
            "a/%2f/b",
            "a\\..\\b",
            "a%5c..%5cb",
            "./x",
        ] {
            assert!(b.quiz_proxy_target(tail, "").is_err(), "{tail}");
        }
        // A leading slash is a path on quiz, not another host.
        let target = b.quiz_proxy_target("/evil.example/x", "").unwrap();
        assert_eq!(target.host_str(), Some("quiz"));
        assert_eq!(target.path(), "/api//evil.example/x");
        let target = b.quiz_proxy_target("@evil.example/x", "").unwrap();
        assert_eq!(target.host_str(), Some("quiz"));
    }

    #[test]
    fn errors_name_the_service_and_the_cause() {
        let e = BackendError {
            service: Service::Quote,
            url: "http://quote/quote".into(),
            cause: Cause::Timeout(Duration::from_millis(1500)),
        };
        assert_eq!(
            e.to_string(),
            "quote service (http://quote/quote) did not answer within 1.5s"
        );
        let e = BackendError {
            service: Service::Quiz,
            url: "http://quiz/questions/random".into(),
            cause: Cause::Status(StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        assert_eq!(
            e.to_string(),
            "quiz service (http://quiz/questions/random) answered with HTTP 500 Internal Server Error"
        );
    }
}
