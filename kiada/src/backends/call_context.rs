//! The [`CallContext`] extractor: what kiada passes on to the backends.

use actix_web::FromRequest;
use service_kit::{RequestId, Seed};

/// What kiada passes on to the backends from the request it answers: the request id
/// (so one id ties the log lines together) and the deterministic-mode seed.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub request_id: RequestId,
    pub seed: Option<u64>,
}

impl FromRequest for CallContext {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, actix_web::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        // Both extractors answer at once (std::future::Ready).
        let result = RequestId::from_request(req, payload)
            .into_inner()
            .and_then(|request_id| {
                let Seed(seed) = Seed::from_request(req, payload).into_inner()?;
                Ok(Self { request_id, seed })
            });
        std::future::ready(result)
    }
}
