//! The HTTP API.

use std::num::IntErrorKind;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder, web};
use kiada_wire::{AnswerRequest, AnswerResponse, QuestionStats, Stats};
use service_kit::{PodInfo, RequestId};

use crate::error::ApiError;
use crate::questions::{Question, QuestionSet};
use crate::store::{NewAnswer, Store};

/// Largest answer body accepted (a real one is about 40 bytes).
pub const MAX_BODY_BYTES: usize = 4096;

/// What the handlers share.
pub struct AppState {
    pub questions: Arc<QuestionSet>,
    pub store: Store,
    pub pod: PodInfo,
}

/// Registers the quiz routes; needs `web::Data<AppState>`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(readable("/", index))
        .service(readable("/questions/random", random_question))
        .service(readable("/questions/{id}", question))
        .service(resource("/questions/{id}/answers", "POST").route(web::post().to(answer)))
        .service(readable("/stats", stats));
}

/// A resource for GET, and HEAD (`curl -I`; actix leaves the body out).
fn readable<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    resource(path, "GET, HEAD").route(service_kit::get_or_head().to(handler))
}

/// A resource that answers other methods with a JSON 405 and an `Allow` header.
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allow,
        })
    }))
}

/// For paths that match no route.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = service_kit::clean_line(req.path(), 200);
    Err(ApiError::NotFound(format!("no such path: {path}")))
}

async fn index(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!(
            "This is the quiz service running in pod {}\n",
            state.pod.pod_name()
        ))
}

/// A random question, or with `X-Kiada-Seed` the question the seed picks.
async fn random_question(state: web::Data<AppState>, seed: service_kit::Seed) -> HttpResponse {
    let question = match seed.0 {
        Some(seed) => state.questions.for_seed(seed),
        None => state.questions.random(),
    };
    HttpResponse::Ok().json(&question.public)
}

async fn question(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let question = find(&state.questions, &id)?;
    Ok(HttpResponse::Ok().json(&question.public))
}

const BODY_FORMAT: &str = r#"expected a JSON object like {"questionId": 1, "answerIndex": 0}"#;

async fn answer(
    state: web::Data<AppState>,
    id: web::Path<String>,
    request_id: RequestId,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let question = find(&state.questions, &id)?;
    let body = read_body(&req, payload).await?;
    // Parsed as JSON whatever the Content-Type says: `curl -d` sends a form type.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(format!(
            "the request body is empty; {BODY_FORMAT}"
        )));
    }
    let request = parse_answer(&body)?;
    if request.question_id != i64::from(question.public.id) {
        return Err(ApiError::BadRequest(format!(
            "questionId {} in the body does not match question {} in the URL",
            request.question_id, question.public.id
        )));
    }
    let count = question.public.answers.len();
    let answer_index = u32::try_from(request.answer_index)
        .ok()
        .filter(|&index| (index as usize) < count)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "answerIndex {} is out of range: question {} has answers 0 to {}",
                request.answer_index,
                question.public.id,
                count - 1
            ))
        })?;
    let correct = answer_index as usize == question.correct_answer_index;
    let timestamp = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    state
        .store
        .record(NewAnswer {
            question_id: question.public.id,
            answer_index,
            correct,
            timestamp: timestamp.clone(),
            request_id: request_id.as_str().to_owned(),
        })
        .await?;
    Ok(HttpResponse::Ok().json(AnswerResponse {
        timestamp,
        question_id: question.public.id,
        answer_index: answer_index as usize,
        correct_answer_index: question.correct_answer_index,
        correct,
    }))
}

async fn stats(state: web::Data<AppState>) -> HttpResponse {
    let counts = state.store.counts();
    let questions = state
        .questions
        .all()
        .iter()
        .map(|q| {
            let tally = counts
                .per_question
                .get(&q.public.id)
                .copied()
                .unwrap_or_default();
            QuestionStats {
                id: q.public.id,
                answers: tally.answers,
                correct: tally.correct,
            }
        })
        .collect();
    HttpResponse::Ok().json(Stats {
        questions,
        totals: counts.total,
    })
}

/// Parses an answer body: JSON syntax first, then the shape, each with its own message.
pub fn parse_answer(body: &[u8]) -> Result<AnswerRequest, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!("the body is not valid JSON: {e}; {BODY_FORMAT}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::BadRequest(format!(
            "the body must be a JSON object; {BODY_FORMAT}"
        )));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("invalid answer: {e}; {BODY_FORMAT}")))
}

/// The question named by a path segment: 400 for what is not an id, 404 when unknown.
fn find<'a>(questions: &'a QuestionSet, raw: &str) -> Result<&'a Question, ApiError> {
    let id = parse_id(raw)?;
    questions
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("there is no question with id {id}")))
}

/// A question id from a path segment: 400 with a message for anything but a `u32`.
pub fn parse_id(raw: &str) -> Result<u32, ApiError> {
    raw.parse::<u32>().map_err(|error| {
        let shown: String = raw.chars().take(40).collect();
        ApiError::BadRequest(match error.kind() {
            IntErrorKind::PosOverflow => {
                format!(
                    "question id {shown} is too large: ids go up to {}",
                    u32::MAX
                )
            }
            _ if raw.starts_with('-') => {
                format!("question id {shown} is negative: ids are whole numbers from 1")
            }
            _ => format!("question id {shown:?} is not a number: ids are whole numbers from 1"),
        })
    })
}

async fn read_body(req: &HttpRequest, payload: web::Payload) -> Result<web::Bytes, ApiError> {
    let too_large = ApiError::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(too_large);
    }
    match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(error)) => Err(ApiError::BadRequest(format!(
            "could not read the request body: {error}"
        ))),
        Err(_) => Err(too_large),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(raw: &str) -> String {
        parse_id(raw).unwrap_err().to_string()
    }

    #[test]
    fn ids_parse_with_clear_errors() {
        assert_eq!(parse_id("7").unwrap(), 7);
        assert_eq!(parse_id("4294967295").unwrap(), u32::MAX);
        assert!(message("4294967296").contains("too large"));
        assert!(message("-1").contains("negative"));
        assert!(message("abc").contains("\"abc\" is not a number"));
        assert!(message("1.5").contains("not a number"));
    }
}
