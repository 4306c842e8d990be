//! Why a backend call failed, in words fit for the page.

use std::fmt;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use service_kit::clean_line;

use super::{MAX_BACKEND_BODY, Service};

/// Longest URL a backend error or log line shows. The proxy passes a client's query on,
/// and a 60,000-character query would otherwise make a log line and an error body as
/// long.
pub const MAX_SHOWN_URL_CHARS: usize = 200;

/// `url` as errors and log lines show it: cut at [`MAX_SHOWN_URL_CHARS`], with `…` where
/// it was cut.
pub(super) fn shown_url(url: &Url) -> String {
    clean_line(url.as_str(), MAX_SHOWN_URL_CHARS)
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
    /// Anything else the HTTP client reports (a connection closed mid-answer, ...).
    Other(String),
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

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable(detail) => write!(f, "could not be reached: {detail}"),
            Self::Timeout(limit) => write!(f, "did not answer within {}s", limit.as_secs_f64()),
            Self::Status(status, Some(message)) => {
                write!(f, "answered with HTTP {status}: {message}")
            }
            Self::Status(status, None) => write!(f, "answered with HTTP {status}"),
            Self::TooLarge => write!(
                f,
                "sent an answer larger than {} KiB",
                MAX_BACKEND_BODY / 1024
            ),
            Self::BadBody(detail) => write!(f, "sent an unusable answer: {detail}"),
            Self::Other(detail) => write!(f, "request failed: {detail}"),
        }
    }
}

/// A failed backend call, printed as `<service> service (<url>) <cause>`. The cause is
/// part of the message, not a source: the page prints this one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} service ({url}) {cause}", service.name())]
pub struct BackendError {
    pub service: Service,
    /// The URL called, as [`shown_url`] cuts it.
    pub url: String,
    pub cause: Cause,
}

impl BackendError {
    pub(super) fn new(service: Service, url: &Url, cause: Cause) -> Self {
        Self {
            service,
            url: shown_url(url),
            cause,
        }
    }

    /// Whether the failure was the backend's slowness (the proxy answers 504 then).
    pub fn is_timeout(&self) -> bool {
        matches!(self.cause, Cause::Timeout(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn long_urls_are_cut_at_200_characters() {
        let short = Url::parse(&format!("http://quiz/stats?q={}", "a".repeat(180))).unwrap();
        assert_eq!(shown_url(&short), short.as_str());
        let long = Url::parse(&format!("http://quiz/stats?q={}", "a".repeat(60_000))).unwrap();
        let e = BackendError::new(Service::Quiz, &long, Cause::TooLarge);
        // 199 characters of the URL and the mark.
        assert_eq!(e.url, format!("http://quiz/stats?q={}…", "a".repeat(179)));
        assert_eq!(e.url.chars().count(), 200);
    }
}
