//! Talking to quote and quiz: one pooled HTTP client with bounded timeouts, capped
//! response bodies, and failures described well enough to print on the page.
//!
//! - [`client`]: the pooled hyper client (one per server worker) and the one exchange
//!   every call makes: send, read a capped body, classify a failure.
//! - [`calls`]: what kiada asks for: the tip, a question, an answer's verdict.
//! - [`proxy`]: the calls `/proxy/quiz/...` forwards (an allowlist) and the forwarding.
//! - [`readiness`]: both backends' `/healthz/ready`, for `READINESS_REQUIRES_BACKENDS`.
//! - [`timing`]: the one wrapper that records a call's latency and failure.
//! - [`error`]: why a call failed; [`fetched`]: what a call returns;
//!   [`endpoint`]: where a call goes; [`call_context`]: what kiada passes on to quote
//!   and quiz from the request it answers.

mod call_context;
mod calls;
mod client;
mod endpoint;
mod error;
mod fetched;
mod proxy;
mod readiness;
mod settings;
mod timing;

use std::fmt;

use reqwest::Url;
use service_kit::Metrics;

pub use call_context::CallContext;
pub use endpoint::Endpoint;
pub use error::{BackendError, Cause};
pub use fetched::{AnswerOutcome, Fetched, ProxiedResponse};
pub use proxy::{FORWARDED_CALLS, NotForwarded, QuizProxyTarget};
pub use settings::BackendSettings;

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

/// The two backends and the one client used for both. Cheap to clone; clones share the
/// client's connection pool ([`Backends::for_worker`] makes one with its own).
#[derive(Clone)]
pub struct Backends {
    client: client::HttpClient,
    settings: BackendSettings,
    /// The page's two calls, made once: the page makes both on every request.
    quote: Endpoint,
    random_question: Endpoint,
    /// Where backend call latency and failures are recorded (`/metrics`).
    metrics: Option<Metrics>,
}

impl fmt::Debug for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backends")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Backends {
    /// One pooled client for both backends. Names are resolved by the system resolver
    /// (getaddrinfo), which follows the pod's `/etc/resolv.conf` (search list, `ndots`),
    /// so `http://quote` finds the Service of the pod's namespace. Idle connections are
    /// kept for `settings.pool_idle` (zero: never reused).
    pub fn new(settings: BackendSettings) -> Self {
        Self {
            client: client::build(settings.connect_timeout, settings.pool_idle),
            quote: Endpoint::new(settings.quote_url.clone()),
            random_question: Endpoint::new(quiz_endpoint(&settings.quiz_url, "questions/random")),
            settings,
            metrics: None,
        }
    }

    /// Records every call's latency and failures in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

/// `path` under quiz's base URL (which may carry a path prefix of its own).
fn quiz_endpoint(quiz_url: &Url, path: &str) -> Url {
    let mut url = quiz_url.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}/{path}"));
    url
}

/// Backends for unit tests: quote at `http://quote/quote`, quiz at `quiz`; nothing is
/// called until a test makes a call.
#[cfg(test)]
pub(crate) fn for_tests(quiz: &str) -> Backends {
    Backends::new(BackendSettings {
        quote_url: Url::parse("http://quote/quote").unwrap(),
        quiz_url: Url::parse(quiz).unwrap(),
        timeout: std::time::Duration::from_secs(2),
        connect_timeout: std::time::Duration::from_secs(1),
        pool_idle: std::time::Duration::from_secs(1),
    })
}
