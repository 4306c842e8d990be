//! kiada's `/proxy/quiz/{tail}`: whatever the method, tail and query, a target is one of
//! the forwarded calls on the configured quiz origin, under its base path.
#![no_main]
use std::sync::LazyLock;
use std::time::Duration;

use kiada::backends::{BackendSettings, Backends};
use libfuzzer_sys::fuzz_target;

static BACKENDS: LazyLock<Backends> = LazyLock::new(|| {
    Backends::new(BackendSettings {
        quote_url: "http://quote/quote".parse().unwrap(),
        quiz_url: "http://quiz/base".parse().unwrap(),
        timeout: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(1),
        pool_idle: Duration::from_secs(1),
    })
});

fuzz_target!(|input: (bool, &str, &str)| {
    let (post, tail, query) = input;
    let method = if post { "POST" } else { "GET" };
    if let Ok(call) = BACKENDS.quiz_proxy_target(method, tail, query) {
        let target = call.url;
        assert_eq!(call.method.as_str(), method);
        let path = target.path().strip_prefix("/base/").unwrap_or_default();
        let id = |segment: &str| !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
        let allowed = match (method, path.split('/').collect::<Vec<_>>().as_slice()) {
            ("GET", ["questions", "random"] | ["stats"]) => true,
            ("GET", ["questions", question]) => id(question),
            ("POST", ["questions", question, "answers"]) => id(question),
            _ => false,
        };
        assert!(allowed, "{method} {target}");
        assert_eq!(target.host_str(), Some("quiz"));
        assert_eq!(target.scheme(), "http");
        assert_eq!(target.port_or_known_default(), Some(80));
        assert!(target.path().starts_with("/base/"), "{target}");
        assert!(target.username().is_empty() && target.password().is_none());
    }
});
