//! What kiada asks the backends for: the tip, a question, a verdict on an answer, and
//! (for `/spread`) just who answered. Each call is timed once, by [`Backends::timed`].

use actix_web::web::Bytes;
use kiada_wire::{AnswerRequest, AnswerResponse, ErrorBody, Question, ServedBy};
use reqwest::{Method, StatusCode};

use super::{
    AnswerOutcome, BackendError, Backends, CallContext, Cause, Endpoint, Fetched, Service,
    quiz_endpoint,
};
use service_kit::clean_line;

impl Backends {
    /// The tip of the minute.
    pub async fn tip(&self, context: &CallContext) -> Result<Fetched<String>, BackendError> {
        self.timed(Service::Quote, async {
            let answer = self
                .call(Service::Quote, Method::GET, &self.quote, context, None)
                .await?;
            let fail = |cause| BackendError::new(Service::Quote, self.quote.url(), cause);
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
        self.timed(Service::Quiz, self.question(&self.random_question, context))
            .await
    }

    /// The question with this id.
    pub async fn question_by_id(
        &self,
        id: u32,
        context: &CallContext,
    ) -> Result<Fetched<Question>, BackendError> {
        let url = quiz_endpoint(&self.settings.quiz_url, &format!("questions/{id}"));
        self.timed(Service::Quiz, self.question(&Endpoint::new(url), context))
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
            let endpoint = Endpoint::new(quiz_endpoint(
                &self.settings.quiz_url,
                &format!("questions/{question_id}/answers"),
            ));
            let body = serde_json::to_vec(&AnswerRequest {
                question_id: question_id.into(),
                answer_index,
            })
            .expect("an answer request always serializes");
            let answer = self
                .call(
                    Service::Quiz,
                    Method::POST,
                    &endpoint,
                    context,
                    Some(("application/json".into(), Bytes::from(body))),
                )
                .await?;
            let fail = |cause| BackendError::new(Service::Quiz, endpoint.url(), cause);
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

    /// Where `/spread` calls `service`: the page's call to it.
    pub fn page_endpoint(&self, service: Service) -> &Endpoint {
        match service {
            Service::Quote => &self.quote,
            Service::Quiz => &self.random_question,
        }
    }

    /// One timed GET of `service`'s [`page_endpoint`](Self::page_endpoint), for
    /// `/spread`: who answered, when the answer is a 2xx; any other answer is a failure
    /// that names the pod.
    pub async fn who_answers(
        &self,
        service: Service,
        context: &CallContext,
    ) -> Result<ServedBy, BackendError> {
        let endpoint = self.page_endpoint(service);
        self.timed(service, async {
            let answer = self
                .call(service, Method::GET, endpoint, context, None)
                .await?;
            if answer.status.is_success() {
                return Ok(answer.served_by);
            }
            let from = format!("from pod {}", answer.served_by.pod);
            let cause = Cause::Status(answer.status, Some(from));
            Err(BackendError::new(service, endpoint.url(), cause))
        })
        .await
    }

    /// Fetches and checks the question at `endpoint` (untimed: the callers time it).
    async fn question(
        &self,
        endpoint: &Endpoint,
        context: &CallContext,
    ) -> Result<Fetched<Question>, BackendError> {
        let answer = self
            .call(Service::Quiz, Method::GET, endpoint, context, None)
            .await?;
        let fail = |cause| BackendError::new(Service::Quiz, endpoint.url(), cause);
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
