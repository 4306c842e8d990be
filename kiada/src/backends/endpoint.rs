//! [`Endpoint`]: where one backend call goes, in both of its forms.

use http::Uri;
use reqwest::Url;

use super::Cause;

/// A backend URL and its hyper form, made once: the URL is what errors and logs show,
/// the URI what hyper sends. A URL without an HTTP form (no URL kiada is configured
/// with lacks one) keeps the reason, which each call then reports.
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: Url,
    uri: Result<Uri, Cause>,
}

impl Endpoint {
    pub fn new(url: Url) -> Self {
        let uri = Uri::try_from(url.as_str())
            .map_err(|error| Cause::Other(format!("invalid URL: {error}")));
        Self { url, uri }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub(super) fn uri(&self) -> Result<Uri, Cause> {
        self.uri.clone()
    }
}
