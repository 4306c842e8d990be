//! What kiada asks the backends for: the tip, a question, and a verdict on an answer.
//! Each call is timed once, by [`Backends::timed`].

use actix_web::web::Bytes;
use http::Uri;
use kiada_wire::{AnswerRequest, AnswerResponse, ErrorBody, Question};
use reqwest::{Method, StatusCode, Url};

use super::{
    AnswerOutcome, BackendError, Backends, CallContext, Cause, Fetched, Service, quiz_endpoint,
};
use service_kit::clean_line;

impl Backends {
    /// The tip of the minute.
    pub async fn tip(&self, context: &CallContext) -> Result<Fetched<String>, BackendError> {
        self.timed(Service::Quote, async {
            let url = &self.settings.quote_url;
            let uri = self.quote_uri.as_ref();
            let answer = self
                .call(Service::Quote, Method::GET, url, uri, context, None)
                .await?;
            let fail = |cause| BackendError::new(Service::Quote, url, cause);
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
        })
        .await
    }

    /// A random question.
    pub async fn random_question(
        &self,
        context: &CallContext,
    ) -> Result<Fetched<Question>, BackendError> {
        let (url, uri) = (&self.random_question_url, self.random_question_uri.as_ref());
        self.timed(Service::Quiz, self.question(url, uri, context))
            .await
    }

    /// The question with this id.
    pub async fn question_by_id(
        &self,
        id: u32,
        context: &CallContext,
    ) -> Result<Fetched<Question>, BackendError> {
        let url = quiz_endpoint(&self.settings.quiz_url, &format!("questions/{id}"));
        self.timed(Service::Quiz, self.question(&url, None, context))
            .await
    }

    /// Posts an answer to quiz.
    pub async fn post_answer(
        &self,
        question_id: u32,
        answer_index: i64,
        context: &CallContext,
    ) -> Result<Fetched<AnswerOutcome>, BackendError> {
        self.timed(Service::Quiz, async {
            let url = quiz_endpoint(
                &self.settings.quiz_url,
                &format!("questions/{question_id}/answers"),
            );
            let body = serde_json::to_vec(&AnswerRequest {
                question_id: question_id.into(),
                answer_index,
            })
            .expect("an answer request always serializes");
            let answer = self
                .call(
                    Service::Quiz,
                    Method::POST,
                    &url,
                    None,
                    context,
                    Some(("application/json".into(), Bytes::from(body))),
                )
                .await?;
            let fail = |cause| BackendError::new(Service::Quiz, &url, cause);
            let outcome = match answer.status {
                status if status.is_success() => {
                    let result: AnswerResponse = serde_json::from_slice(&answer.body)
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
        })
        .await
    }

    /// Fetches and checks the question at `url` (untimed: the callers time it).
    async fn question(
        &self,
        url: &Url,
        uri: Option<&Uri>,
        context: &CallContext,
    ) -> Result<Fetched<Question>, BackendError> {
        let answer = self
            .call(Service::Quiz, Method::GET, url, uri, context, None)
            .await?;
        let fail = |cause| BackendError::new(Service::Quiz, url, cause);
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
}

/// quiz's `{"error": "..."}` message, if the body is one.
fn error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|body| clean_line(&body.error, 300))
}
