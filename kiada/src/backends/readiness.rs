//! Both backends' readiness, for `READINESS_REQUIRES_BACKENDS`.

use reqwest::Url;

use super::{BackendError, Backends, Cause, Endpoint, Service, client, quiz_endpoint};

impl Backends {
    /// Readiness of both backends (`/healthz/ready`), checked at the same time.
    pub async fn check_ready(&self) -> Result<(), String> {
        let mut quote = self.settings.quote_url.clone();
        quote.set_path("/healthz/ready");
        quote.set_query(None);
        let quiz = quiz_endpoint(&self.settings.quiz_url, "healthz/ready");
        let probe = |service: Service, url: Url| async move {
            let endpoint = Endpoint::new(url);
            let status = self
                .within_timeout(async {
                    let mut request = http::Request::new(Default::default());
                    *request.uri_mut() = endpoint.uri()?;
                    request.headers_mut().insert(
                        http::header::USER_AGENT,
                        http::HeaderValue::from_static(client::KIADA_USER_AGENT),
                    );
                    Ok(self.send(request).await?.status())
                })
                .await;
            let cause = match status {
                Ok(status) if status.is_success() => return Ok(()),
                Ok(status) => Cause::Status(status, None),
                Err(cause) => cause,
            };
            Err(BackendError::new(service, endpoint.url(), cause).to_string())
        };
        let (quote, quiz) = tokio::join!(probe(Service::Quote, quote), probe(Service::Quiz, quiz));
        match (quote, quiz) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(one), Ok(())) | (Ok(()), Err(one)) => Err(one),
            (Err(quote), Err(quiz)) => Err(format!("{quote}; {quiz}")),
        }
    }
}
