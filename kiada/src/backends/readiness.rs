//! Both backends' readiness, for `READINESS_REQUIRES_BACKENDS`.

use reqwest::Url;

use super::{BackendError, Backends, Cause, Service, quiz_endpoint};

impl Backends {
    /// Readiness of both backends (`/healthz/ready`), checked at the same time.
    pub async fn check_ready(&self) -> Result<(), String> {
        let mut quote = self.quote_url.clone();
        quote.set_path("/healthz/ready");
        quote.set_query(None);
        let quiz = quiz_endpoint(&self.quiz_url, "healthz/ready");
        let probe = |service: Service, url: Url| async move {
            let cause = match self.client.get(url.clone()).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => Cause::Status(response.status(), None),
                Err(failure) => self.classify(&failure),
            };
            Err(BackendError::new(service, &url, cause).to_string())
        };
        let (quote, quiz) = tokio::join!(probe(Service::Quote, quote), probe(Service::Quiz, quiz));
        match (quote, quiz) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(one), Ok(())) | (Ok(()), Err(one)) => Err(one),
            (Err(quote), Err(quiz)) => Err(format!("{quote}; {quiz}")),
        }
    }
}
