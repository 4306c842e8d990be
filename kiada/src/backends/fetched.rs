//! What a successful backend call returns.

use actix_web::web::Bytes;
use kiada_wire::AnswerResponse;
use kiada_wire::ServedBy;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use service_kit::{NODE_NAME_HEADER, POD_NAME_HEADER};

use service_kit::clean_line;

/// Which pod (and node) answered, from the `X-Pod-Name`/`X-Node-Name` headers
/// ("unknown" for a missing or empty one).
pub(super) fn served_by(headers: &HeaderMap) -> ServedBy {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(|value| clean_line(value, 253))
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| service_kit::UNKNOWN.to_owned())
    };
    ServedBy {
        pod: get(POD_NAME_HEADER),
        node: get(NODE_NAME_HEADER),
    }
}

/// A successful call's value and who served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched<T> {
    pub value: T,
    pub served_by: ServedBy,
}

/// What quiz said about a posted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerOutcome {
    Checked(AnswerResponse),
    /// quiz refused the answer (400 or 404) with this status and message.
    Rejected(StatusCode, String),
}

/// A backend answer passed through as it came (for the quiz proxy).
#[derive(Debug, Clone)]
pub struct ProxiedResponse {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub served_by: ServedBy,
}
