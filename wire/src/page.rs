//! kiada's page (`GET /json`, and what its text and HTML forms show): the tip, a question,
//! who asked and who answered.

use serde::{Deserialize, Serialize};

use crate::Question;

/// Everything one page shows, built once per request.
///
/// `{"version": "0.1.0", "color": "...", "tip": {...}, "question": {...},
/// "request": {...}, "statusMessage": null}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub version: String,
    /// The accent colour configured for this kiada (`UI_COLOR`), so a rolling update
    /// shows which version answered.
    pub color: String,
    pub tip: Part<Tip>,
    pub question: Part<Question>,
    pub request: RequestInfo,
    /// The message set with `kubectl attach` (or the initial one), if any.
    pub status_message: Option<String>,
}

/// A backend's part of the page: its value and who served it, or why it is missing.
///
/// `{"text": "...", "servedBy": {"pod": "...", "node": "..."}}` or `{"error": "..."}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The value, when the backend answered.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Ok { value, .. } => Some(value),
            Self::Failed { .. } => None,
        }
    }

    /// Who answered, when the backend answered.
    pub fn served_by(&self) -> Option<&ServedBy> {
        match self {
            Self::Ok { served_by, .. } => Some(served_by),
            Self::Failed { .. } => None,
        }
    }

    /// Why the part is missing, when the backend failed.
    pub fn error(&self) -> Option<&str> {
        match self {
            Self::Ok { .. } => None,
            Self::Failed { error } => Some(error),
        }
    }
}

/// Which pod (and node) answered, from the backend's `X-Pod-Name`/`X-Node-Name`
/// headers ("unknown" without them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedBy {
    pub pod: String,
    pub node: String,
}

/// quote's tip: `{"text": "..."}` inside its [`Part`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    pub text: String,
}

/// Who asked and who answered: the kiada pod (from the Downward API) and the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn page(tip: Part<Tip>) -> Page {
        Page {
            version: "0.1.0".into(),
            color: "#1f6feb".into(),
            tip,
            question: Part::Failed {
                error: "quiz timed out".into(),
            },
            request: RequestInfo {
                pod_name: "kiada-001".into(),
                node_name: "node-a".into(),
                pod_ip: "10.244.1.5".into(),
                node_ip: "172.18.0.3".into(),
                hostname: "kiada-001".into(),
                client_ip: "10.244.2.9".into(),
                forwarded_for: None,
                request_id: "abc".into(),
            },
            status_message: Some("hello".into()),
        }
    }

    #[test]
    fn a_page_serializes_with_the_documented_names_and_order_and_reads_back() {
        let page = page(Part::Ok {
            value: Tip {
                text: "Use labels".into(),
            },
            served_by: ServedBy {
                pod: "quote-001".into(),
                node: "node-b".into(),
            },
        });
        let json = serde_json::to_string(&page).unwrap();
        assert_eq!(
            json,
            r##"{"version":"0.1.0","color":"#1f6feb","tip":{"text":"Use labels","servedBy":{"pod":"quote-001","node":"node-b"}},"question":{"error":"quiz timed out"},"request":{"podName":"kiada-001","nodeName":"node-a","podIp":"10.244.1.5","nodeIp":"172.18.0.3","hostname":"kiada-001","clientIp":"10.244.2.9","forwardedFor":null,"requestId":"abc"},"statusMessage":"hello"}"##
        );
        assert_eq!(serde_json::from_str::<Page>(&json).unwrap(), page);
    }

    #[test]
    fn a_failed_part_reads_back_as_failed() {
        let page = page(Part::Failed {
            error: "quote refused the connection".into(),
        });
        let back: Page = serde_json::from_str(&serde_json::to_string(&page).unwrap()).unwrap();
        assert_eq!(back.tip.error(), Some("quote refused the connection"));
        assert_eq!(back.tip.value(), None);
        assert_eq!(back.question.served_by(), None);
    }
}
