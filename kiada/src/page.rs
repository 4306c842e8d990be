//! What one page shows, gathered once per request and rendered as text, HTML or JSON.

use actix_web::HttpRequest;
use kiada_wire::Question;
use serde::Serialize;
use service_kit::{PodInfo, RequestId};

use crate::backends::{Backends, Fetched, Forwarded, ServedBy};
use crate::status::StatusMessage;
use service_kit::{clean_block, clean_line};

/// Longest `X-Forwarded-For` value shown.
const MAX_FORWARDED_FOR: usize = 256;

/// A backend's part of the page: its value and who served it, or why it is missing.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Part<T> {
    Ok {
        #[serde(flatten)]
        value: T,
        #[serde(rename = "servedBy")]
        served_by: ServedBy,
    },
    Failed {
        error: String,
    },
}

impl<T> Part<T> {
    fn from_result(result: Result<Fetched<T>, crate::backends::BackendError>) -> Self {
        match result {
            Ok(fetched) => Self::Ok {
                value: fetched.value,
                served_by: fetched.served_by,
            },
            Err(error) => Self::Failed {
                error: error.to_string(),
            },
        }
    }

    pub fn served_by(&self) -> Option<&ServedBy> {
        match self {
            Self::Ok { served_by, .. } => Some(served_by),
            Self::Failed { .. } => None,
        }
    }
}

/// The tip, wrapped so that its JSON form is `{"text": "...", "servedBy": {...}}`.
#[derive(Debug, Clone, Serialize)]
pub struct Tip {
    pub text: String,
}

/// Who asked and who answered.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestInfo {
    pub pod_name: String,
    pub node_name: String,
    pub pod_ip: String,
    pub node_ip: String,
    pub hostname: String,
    /// The connection's peer address (a proxy's or load balancer's, if there is one).
    pub client_ip: String,
    /// The `X-Forwarded-For` header as sent, when present. Shown, never trusted.
    pub forwarded_for: Option<String>,
    pub request_id: String,
}

impl RequestInfo {
    pub fn new(req: &HttpRequest, pod: &PodInfo, request_id: &RequestId) -> Self {
        let forwarded_for = req
            .headers()
            .get_all("x-forwarded-for")
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        let forwarded_for = clean_line(&forwarded_for, MAX_FORWARDED_FOR);
        Self {
            pod_name: pod.pod_name().to_owned(),
            node_name: pod.node_name().to_owned(),
            pod_ip: pod.pod_ip().to_owned(),
            node_ip: pod.node_ip().to_owned(),
            hostname: pod.hostname.clone(),
            client_ip: service_kit::client_ip(req)
                .map(service_kit::ip_text)
                .unwrap_or_else(|| service_kit::UNKNOWN.to_owned()),
            forwarded_for: (!forwarded_for.is_empty()).then_some(forwarded_for),
            request_id: request_id.as_str().to_owned(),
        }
    }
}

/// Everything the page shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub version: &'static str,
    /// The accent colour configured for this kiada (`UI_COLOR`), so a rolling update
    /// shows which version answered.
    pub color: &'static str,
    pub tip: Part<Tip>,
    pub question: Part<Question>,
    pub request: RequestInfo,
    pub status_message: Option<String>,
}

impl Page {
    /// Fetches the tip and a question at the same time; each backend's failure only
    /// affects its own part.
    pub async fn gather(
        backends: &Backends,
        request: RequestInfo,
        status: &StatusMessage,
        forwarded: &Forwarded,
    ) -> Self {
        let (tip, question) =
            tokio::join!(backends.tip(forwarded), backends.random_question(forwarded));
        let tip = tip.map(|fetched| Fetched {
            value: Tip {
                text: clean_block(&fetched.value),
            },
            served_by: fetched.served_by,
        });
        let question = question.map(|fetched| Fetched {
            value: Question {
                id: fetched.value.id,
                text: clean_block(&fetched.value.text),
                answers: fetched
                    .value
                    .answers
                    .iter()
                    .map(|answer| clean_line(answer, 1000))
                    .collect(),
            },
            served_by: fetched.served_by,
        });
        Self {
            version: service_kit::VERSION,
            color: crate::config::UiColor::default().as_str(),
            tip: Part::from_result(tip),
            question: Part::from_result(question),
            request,
            status_message: status.get(),
        }
    }

    /// The line naming the quote and quiz pods (and nodes) that served this page.
    pub fn served_by_line(&self) -> String {
        let describe = |part: Option<&ServedBy>, what: &str, service: &str| match part {
            Some(by) => format!(
                "{what} from {service} pod \"{}\" on node \"{}\"",
                by.pod, by.node
            ),
            None => format!("no {what} ({service} failed)"),
        };
        format!(
            "Served by: {}; {}.",
            describe(self.tip.served_by(), "tip", "quote"),
            describe(self.question.served_by(), "question", "quiz"),
        )
    }

    /// The plain-text page (`templates/page.txt`).
    pub fn to_text(&self) -> String {
        use askama::Template as _;
        crate::view::TextPage(crate::view::PageView::of(self))
            .render()
            // Rendering writes into a String and every value is a plain string: it
            // cannot fail, but a page must never be lost to a panic.
            .unwrap_or_else(|error| {
                format!("ERROR: the text page could not be rendered: {error}\n")
            })
    }
}
