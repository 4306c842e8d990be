//! Errors: what stops the service from starting, and what a request gets back.

use actix_web::http::StatusCode;
use actix_web::http::header::ALLOW;
use actix_web::{HttpResponse, ResponseError};

use crate::questions::QuestionsError;
use crate::store::{StoreError, WriteError};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum QuizError {
    #[error(transparent)]
    Questions(#[from] QuestionsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] service_kit::BindError),
    #[error("cannot start the HTTP server")]
    Io(#[from] std::io::Error),
    #[error("the database start-up task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// An error answer: JSON `{"error": "..."}` with the matching status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method {method} is not allowed here; use {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("request body too large: the limit is {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The store did not record an answer: 507 when it is full (retrying will not help
    /// until someone makes room, and questions are still served), else 503.
    #[error(transparent)]
    NotSaved(#[from] WriteError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotSaved(WriteError::StoreFull) => StatusCode::INSUFFICIENT_STORAGE,
            Self::NotSaved(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Self::MethodNotAllowed { allow, .. } = self {
            response.insert_header((ALLOW, *allow));
        }
        response.json(kiada_wire::ErrorBody {
            error: self.to_string(),
        })
    }
}
