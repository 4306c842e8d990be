//! `POST /question/{id}/answers/{index}`: the answer route the text page points to.

use std::fmt::{self, Write as _};

use actix_web::{HttpResponse, web};

use crate::backends::{AnswerOutcome, CallContext};
use crate::respond::text;
use crate::state::AppState;
use service_kit::clean_line;

pub async fn submit(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    context: CallContext,
) -> HttpResponse {
    let (raw_id, raw_index) = path.into_inner();
    let id = path_number(&raw_id, "question id", "a whole number", u32::MAX);
    let index = path_number(
        &raw_index,
        "answer index",
        "a whole number from 0",
        i64::MAX,
    );
    let (id, index) = match id.and_then(|id| Ok((id, index?))) {
        Ok(numbers) => numbers,
        Err(message) => return text(HttpResponse::BadRequest(), message),
    };

    // The question is fetched alongside, only to print the answers' text.
    let (outcome, question) = tokio::join!(
        state.backends.post_answer(id, index, &context),
        state.backends.question_by_id(id, &context)
    );
    let outcome = match outcome {
        Ok(fetched) => fetched.value,
        Err(error) => {
            let response = if error.is_timeout() {
                HttpResponse::GatewayTimeout()
            } else {
                HttpResponse::BadGateway()
            };
            return text(response, format!("ERROR: {error}\n"));
        }
    };
    let question = question.ok().map(|fetched| fetched.value);
    let answer_text = |i: usize| {
        question
            .as_ref()
            .and_then(|q| q.answers.get(i))
            .map(|answer| format!("{i}) {}", clean_line(answer, 1000)))
            .unwrap_or_else(|| format!("answer {i}"))
    };

    match outcome {
        AnswerOutcome::Checked(result) => {
            let mut out = String::new();
            if let Some(question) = &question {
                let _ = writeln!(out, "Question {}: {}", id, clean_line(&question.text, 1000));
            }
            let _ = writeln!(out, "Your answer: {}", answer_text(result.answer_index));
            if result.correct {
                let _ = writeln!(out, "Correct! Well done.");
            } else {
                let _ = writeln!(
                    out,
                    "Incorrect. The correct answer is {}.",
                    answer_text(result.correct_answer_index)
                );
            }
            text(HttpResponse::Ok(), out)
        }
        AnswerOutcome::Rejected(status, message) => {
            let status = actix_web::http::StatusCode::from_u16(status.as_u16())
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
            text(
                HttpResponse::build(status),
                format!("ERROR: the quiz service rejected the answer: {message}\n"),
            )
        }
    }
}

/// A number from the path, or the 400 answer's text that names the rule it breaks:
/// `whole` (what the digits must be), or at most `max` (what quiz can take).
fn path_number<T>(raw: &str, name: &str, whole: &str, max: T) -> Result<T, String>
where
    T: TryFrom<u64> + fmt::Display,
{
    let refuse = |rule: String| format!("ERROR: the {name} must be {rule}.\n");
    let number = raw
        .parse::<u64>()
        .map_err(|_| refuse(format!("{whole}, not {:?}", clean_line(raw, 40))))?;
    T::try_from(number).map_err(|_| refuse(format!("at most {max}, not {number}")))
}
