//! The `/proxy/quiz/...` route's backend side: which quiz URL a proxied path may reach,
//! and the forwarding itself.

use actix_web::web::Bytes;
use reqwest::{Method, Url};

use super::{BackendError, Backends, Forwarded, RawAnswer, Service};

impl Backends {
    /// Forwards a request to quiz (the `/proxy/quiz/...` route): `target` must come from
    /// [`Backends::quiz_proxy_target`].
    pub async fn forward_to_quiz(
        &self,
        method: Method,
        target: Url,
        forwarded: &Forwarded,
        body: Option<(String, Bytes)>,
    ) -> Result<RawAnswer, BackendError> {
        self.timed(
            Service::Quiz,
            self.call(Service::Quiz, method, &target, None, forwarded, body),
        )
        .await
    }

    /// The quiz URL for a proxied path (`raw_tail` as it came in the request, still
    /// percent-encoded, starting after `/proxy/quiz/`) and query. Anything that would
    /// leave quiz's origin or base path is refused.
    pub fn quiz_proxy_target(&self, raw_tail: &str, query: &str) -> Result<Url, String> {
        let base = &self.quiz_url;
        let prefix = base.path().trim_end_matches('/');
        let lowered = raw_tail.to_ascii_lowercase();
        let dot_segment =
            |segment: &str| matches!(segment, "." | ".." | "%2e" | ".%2e" | "%2e." | "%2e%2e");
        if lowered.contains('\\')
            || lowered.contains("%5c")
            || lowered.contains("%2f")
            || lowered.split('/').any(dot_segment)
        {
            return Err("the path must not contain dot segments or encoded slashes".into());
        }
        let mut target = base.clone();
        target.set_path(&format!("{prefix}/{raw_tail}"));
        target.set_query((!query.is_empty()).then_some(query));
        target.set_fragment(None);
        if target.origin() != base.origin() || !target.path().starts_with(&format!("{prefix}/")) {
            return Err("the path leaves the quiz service".into());
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::super::for_tests as backends;

    #[test]
    fn proxy_targets_stay_under_the_quiz_base_url() {
        let b = backends("http://quiz");
        assert_eq!(
            b.quiz_proxy_target("questions/random", "")
                .unwrap()
                .as_str(),
            "http://quiz/questions/random"
        );
        assert_eq!(
            b.quiz_proxy_target("stats", "a=1&b=2").unwrap().as_str(),
            "http://quiz/stats?a=1&b=2"
        );
        let b = backends("http://10.0.0.1:8082/api/");
        assert_eq!(
            b.quiz_proxy_target("questions/3", "").unwrap().as_str(),
            "http://10.0.0.1:8082/api/questions/3"
        );
    }

    #[test]
    fn proxy_targets_that_would_escape_are_refused() {
        let b = backends("http://quiz/api");
        for tail in [
            "../admin",
            "questions/../../x",
            "%2e%2e/x",
            "%2E%2e/x",
            ".%2E/x",
            "a/%2f/b",
            "a\\..\\b",
            "a%5c..%5cb",
            "./x",
        ] {
            assert!(b.quiz_proxy_target(tail, "").is_err(), "{tail}");
        }
        // A leading slash is a path on quiz, not another host.
        let target = b.quiz_proxy_target("/evil.example/x", "").unwrap();
        assert_eq!(target.host_str(), Some("quiz"));
        assert_eq!(target.path(), "/api//evil.example/x");
        let target = b.quiz_proxy_target("@evil.example/x", "").unwrap();
        assert_eq!(target.host_str(), Some("quiz"));
    }
}
