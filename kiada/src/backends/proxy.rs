//! The `/proxy/quiz/...` route's backend side: which quiz calls a proxied request may
//! make, and the forwarding itself.
//!
//! The proxy forwards only what the HTML page needs and quiz's public answer counts,
//! never quiz's probes, metrics or controls: an allowlist of method and path, decided
//! on the percent-decoded path segments, and the checked path is the one sent.

use actix_web::web::Bytes;
use percent_encoding::percent_decode_str;
use reqwest::{Method, Url};
use service_kit::clean_line;

use super::{
    BackendError, Backends, CallContext, Endpoint, ProxiedResponse, Service, quiz_endpoint,
};

/// What the proxy forwards, in the words of its refusals.
pub const FORWARDED_CALLS: &str = "GET questions/random, GET questions/<id>, \
     POST questions/<id>/answers and GET stats (<id> in decimal digits)";

/// Longest part of a refused path echoed in the refusal.
const MAX_SHOWN_PATH_CHARS: usize = 100;

/// A request the quiz proxy does not forward.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{method} /proxy/quiz/{path} is not forwarded to quiz: the proxy forwards only \
     {FORWARDED_CALLS}"
)]
pub struct NotForwarded {
    pub method: String,
    /// The path after `/proxy/quiz/` as it came, cut to a readable length.
    pub path: String,
}

/// Where a proxied request goes: the method and the whole quiz URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizProxyTarget {
    pub method: Method,
    pub url: Url,
}

impl Backends {
    /// Forwards a request to quiz (the `/proxy/quiz/...` route): `target` must come from
    /// [`Backends::quiz_proxy_target`].
    pub async fn forward_to_quiz(
        &self,
        target: QuizProxyTarget,
        context: &CallContext,
        body: Option<(String, Bytes)>,
    ) -> Result<ProxiedResponse, BackendError> {
        let QuizProxyTarget { method, url } = target;
        let endpoint = Endpoint::new(url);
        self.timed(
            Service::Quiz,
            self.call(Service::Quiz, method, &endpoint, context, body),
        )
        .await
    }

    /// The quiz call for a proxied request: `method`, and `raw_tail` as it came in the
    /// request (still percent-encoded, starting after `/proxy/quiz/`) with its query.
    /// Only [`FORWARDED_CALLS`] are; the target's path is their canonical form under
    /// quiz's base URL, the query is passed on as it came.
    pub fn quiz_proxy_target(
        &self,
        method: &str,
        raw_tail: &str,
        query: &str,
    ) -> Result<QuizProxyTarget, NotForwarded> {
        let (method, path) = forwarded_call(method, raw_tail).ok_or_else(|| NotForwarded {
            method: method.to_owned(),
            path: clean_line(raw_tail, MAX_SHOWN_PATH_CHARS),
        })?;
        let mut url = quiz_endpoint(&self.settings.quiz_url, &path);
        url.set_query((!query.is_empty()).then_some(query));
        Ok(QuizProxyTarget { method, url })
    }
}

/// The method and canonical quiz path of an allowed call. Each segment is decoded on
/// its own, after splitting on the literal `/`: an encoded slash (`questions%2frandom`)
/// stays inside one segment and matches nothing, and so do dot segments, backslashes
/// and anything decoded twice (`%2561dmin` is `%61dmin`, not `admin`).
fn forwarded_call(method: &str, raw_tail: &str) -> Option<(Method, String)> {
    // Four pieces at most: a fourth means more segments than any allowed path has.
    let decoded: Vec<Vec<u8>> = raw_tail
        .splitn(4, '/')
        .map(|segment| percent_decode_str(segment).collect())
        .collect();
    let segments: Vec<&[u8]> = decoded.iter().map(Vec::as_slice).collect();
    let id = |segment: &[u8]| {
        (!segment.is_empty() && segment.iter().all(u8::is_ascii_digit))
            .then(|| String::from_utf8_lossy(segment).into_owned())
    };
    match (method, segments.as_slice()) {
        ("GET", [b"questions", b"random"]) => Some((Method::GET, "questions/random".into())),
        ("GET", [b"questions", question]) => {
            id(question).map(|id| (Method::GET, format!("questions/{id}")))
        }
        ("POST", [b"questions", question, b"answers"]) => {
            id(question).map(|id| (Method::POST, format!("questions/{id}/answers")))
        }
        ("GET", [b"stats"]) => Some((Method::GET, "stats".into())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::for_tests as backends;

    /// The target's method and URL, or the refusal's message.
    fn target(base: &str, method: &str, tail: &str, query: &str) -> Result<String, String> {
        backends(base)
            .quiz_proxy_target(method, tail, query)
            .map(|target| format!("{} {}", target.method, target.url))
            .map_err(|refusal| refusal.to_string())
    }

    /// What the proxy sends for `request` (`METHOD tail?query`) under `base`.
    fn sent(base: &str, request: &str) -> Result<String, String> {
        let (method, rest) = request.split_once(' ').unwrap();
        let (tail, query) = rest.split_once('?').unwrap_or((rest, ""));
        target(base, method, tail, query)
    }

    #[test]
    fn the_page_s_calls_and_the_stats_are_forwarded_under_the_quiz_base_url() {
        let (quiz, api) = ("http://quiz", "http://quiz/api");
        for (base, request, expected) in [
            (
                quiz,
                "GET questions/random",
                "GET http://quiz/questions/random",
            ),
            (quiz, "GET questions/7", "GET http://quiz/questions/7"),
            (
                quiz,
                "POST questions/7/answers",
                "POST http://quiz/questions/7/answers",
            ),
            (quiz, "GET stats?a=1&b=2", "GET http://quiz/stats?a=1&b=2"),
            (
                "http://10.0.0.1:8082/api/",
                "GET questions/3",
                "GET http://10.0.0.1:8082/api/questions/3",
            ),
            // Ids too large for quiz are quiz's to explain.
            (
                quiz,
                "GET questions/99999999999",
                "GET http://quiz/questions/99999999999",
            ),
            // What is sent is the decoded path that was checked.
            (
                api,
                "GET %71uestions/random",
                "GET http://quiz/api/questions/random",
            ),
            (api, "GET questions/%37", "GET http://quiz/api/questions/7"),
            (api, "GET %73%74%61%74%73", "GET http://quiz/api/stats"),
        ] {
            assert_eq!(sent(base, request), Ok(expected.into()), "{request}");
        }
    }

    #[test]
    fn everything_else_is_refused_with_what_is_forwarded() {
        for (method, tail) in [
            ("GET", "admin/status"),
            ("GET", "%61dmin/status"),
            ("GET", "%2561dmin/status"),
            ("GET", "metrics"),
            ("GET", "healthz/ready"),
            ("POST", "admin/faults"),
            ("POST", "admin/probes/ready/fail"),
            ("GET", "questions%2frandom"),
            ("GET", "questions%2Frandom"),
            ("GET", "questions/7/answers"),
            ("POST", "questions/random"),
            ("POST", "questions/7"),
            ("POST", "stats"),
            ("GET", ""),
            ("GET", "questions"),
            ("GET", "questions/"),
            ("GET", "questions/random/"),
            ("GET", "/questions/random"),
            ("GET", "questions//random"),
            ("GET", "questions/-1"),
            ("GET", "questions/+7"),
            ("GET", "questions/7%20"),
            ("GET", "questions/%FF%FE"),
            ("GET", "questions/%e0%a5%a8"),
            ("GET", "Stats"),
            ("GET", "stats/x/y/z/w"),
            ("GET", "../admin"),
            ("GET", "questions/../../x"),
            ("GET", "questions/%2e%2e/admin/status"),
            ("GET", "%2E%2e/x"),
            ("GET", "./stats"),
            ("GET", "a%2f..%2fstats"),
            ("GET", "a\\..\\stats"),
            ("GET", "a%5c..%5cstats"),
            ("GET", "@evil.example/stats"),
            ("GET", "/evil.example/stats"),
            ("PUT", "questions/7"),
        ] {
            assert_eq!(
                target("http://quiz/api", method, tail, ""),
                Err(format!(
                    "{method} /proxy/quiz/{tail} is not forwarded to quiz: the proxy forwards \
                     only GET questions/random, GET questions/<id>, POST questions/<id>/answers \
                     and GET stats (<id> in decimal digits)"
                )),
                "{method} {tail}"
            );
        }
    }

    #[test]
    fn a_refusal_shows_at_most_100_characters_of_the_path() {
        let tail = format!("admin/{}", "x".repeat(10_000));
        let refusal = backends("http://quiz")
            .quiz_proxy_target("GET", &tail, "")
            .unwrap_err();
        assert_eq!(refusal.path, format!("admin/{}…", "x".repeat(93)));
    }
}
