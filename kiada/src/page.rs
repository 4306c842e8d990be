//! The page (a [`kiada_wire::Page`]), built once per request: the tip and a question,
//! fetched at the same time, and who asked and who answered. [`crate::view`] renders it
//! as text and HTML; `/json` serves it as it is.

use actix_web::HttpRequest;
use kiada_wire::{Page, Part, Question, RequestInfo, Tip};
use service_kit::{PodInfo, RequestId, clean_block, clean_line};

use crate::backends::{BackendError, Backends, CallContext, Fetched};
use crate::status::StatusMessage;

/// Longest `X-Forwarded-For` value shown.
const MAX_FORWARDED_FOR: usize = 256;

/// Longest answer shown.
const MAX_ANSWER: usize = 1000;

/// Who asked (the connection's peer, and the `X-Forwarded-For` it claims) and which pod
/// and node answered.
pub fn request_info(req: &HttpRequest, pod: &PodInfo, request_id: &RequestId) -> RequestInfo {
    let forwarded_for = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    let forwarded_for = clean_line(&forwarded_for, MAX_FORWARDED_FOR);
    RequestInfo {
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

/// The whole page: fetches the tip and a question at the same time; each backend's
/// failure only affects its own part. Every text from a backend is cleaned of control
/// characters here, so no view has to.
pub async fn build(
    backends: &Backends,
    request: RequestInfo,
    status: &StatusMessage,
    color: &str,
    context: &CallContext,
) -> Page {
    let (tip, question) = tokio::join!(backends.tip(context), backends.random_question(context));
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
                .map(|answer| clean_line(answer, MAX_ANSWER))
                .collect(),
        },
        served_by: fetched.served_by,
    });
    Page {
        version: service_kit::VERSION.to_owned(),
        color: color.to_owned(),
        tip: part(tip),
        question: part(question),
        request,
        status_message: status.get(),
    }
}

fn part<T>(result: Result<Fetched<T>, BackendError>) -> Part<T> {
    match result {
        Ok(fetched) => Part::Ok {
            value: fetched.value,
            served_by: fetched.served_by,
        },
        Err(error) => Part::Failed {
            error: error.to_string(),
        },
    }
}
