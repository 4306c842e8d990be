//! The one wrapper that times a backend call for `/metrics`.

use std::time::Instant;

use super::{BackendError, Backends, Service};

impl Backends {
    /// Runs `call` to `service` and records its latency and, if it failed, the cause's
    /// label (`backend_request_duration_seconds`, `backend_errors_total`).
    pub(super) async fn timed<T>(
        &self,
        service: Service,
        call: impl Future<Output = Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        let started = Instant::now();
        let result = call.await;
        if let Some(metrics) = &self.metrics {
            metrics.observe_backend(
                service.name(),
                started.elapsed(),
                result.as_ref().err().map(|error| error.cause.label()),
            );
        }
        result
    }
}
