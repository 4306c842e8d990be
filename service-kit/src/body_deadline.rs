//! The deadline on a request's body, and keeping an unread body from holding the
//! connection open after the answer: actix bounds only the head.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpResponse};
use futures_util::Stream;

use crate::limits::CLIENT_REQUEST_TIMEOUT;

/// A request's body, shared by the handler that reads it (through [`BodyDeadline`]) and
/// the request middleware, which keeps it open until the answer is sent (see
/// [`HeldBody`]).
pub(crate) struct SharedBody {
    payload: RefCell<Payload>,
    timed_out: Cell<bool>,
}

impl SharedBody {
    /// Whether the body missed its deadline (the answer is then a 408).
    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out.get()
    }
}

/// The body as the handler sees it: it must arrive within [`CLIENT_REQUEST_TIMEOUT`]
/// of the first read that has to wait. actix bounds only the head, so without this a
/// client that stalls (or trickles) its body holds the connection and the handler for
/// as long as it likes. Past the deadline the read fails and `timed_out` is set.
///
struct BodyDeadline {
    body: Rc<SharedBody>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Stream for BodyDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.body.timed_out.get() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut *this.body.payload.borrow_mut()).poll_next(cx) {
            return Poll::Ready(item);
        }
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(CLIENT_REQUEST_TIMEOUT)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.body.timed_out.set(true);
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body did not arrive in time",
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Puts a [`BodyDeadline`] on the request's body, if it has one.
pub(crate) fn limit_body_time(req: &mut ServiceRequest) -> Option<Rc<SharedBody>> {
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        return None;
    }
    let body = Rc::new(SharedBody {
        payload: RefCell::new(payload),
        timed_out: Cell::new(false),
    });
    let limited: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(BodyDeadline {
            body: body.clone(),
            deadline: None,
        });
    req.set_payload(Payload::from(limited));
    Some(body)
}

/// An answer that keeps the request's body open until it has been sent. actix drains a
/// chunked body the handler left unread, with no time limit, to keep the connection
/// alive; a client that stalls that body would hold the connection for ever. A body
/// still open when the answer is done makes actix close the connection instead, after
/// its short disconnect timeout. A body that was read to the end changes nothing.
pub(crate) struct HeldBody {
    answer: BoxBody,
    _request_body: Rc<SharedBody>,
}

impl HeldBody {
    pub(crate) fn new(answer: BoxBody, request_body: Rc<SharedBody>) -> Self {
        Self {
            answer,
            _request_body: request_body,
        }
    }
}

impl MessageBody for HeldBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.answer.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().answer).poll_next(cx)
    }
}

/// The answer for a request whose body ran out of time, whatever the handler made of
/// the failed read: 408, and the connection is closed (the rest of the body is unread).
pub(crate) fn body_timeout_response() -> HttpResponse {
    HttpResponse::RequestTimeout()
        .force_close()
        .json(serde_json::json!({
            "error": format!(
                "the request body did not arrive within {} seconds",
                CLIENT_REQUEST_TIMEOUT.as_secs()
            )
        }))
}
