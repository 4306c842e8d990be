//! kiada's `/proxy/quiz/{tail}`: whatever the tail and query, the target stays on the
//! configured quiz origin and under its base path.
#![no_main]
use std::sync::LazyLock;
use std::time::Duration;

use kiada::backends::Backends;
use libfuzzer_sys::fuzz_target;

static BACKENDS: LazyLock<Backends> = LazyLock::new(|| {
    Backends::new(
        "http://quote/quote".parse().unwrap(),
        "http://quiz/base".parse().unwrap(),
        Duration::from_secs(1),
        Duration::from_secs(1),
        Duration::from_secs(1),
    )
});

fuzz_target!(|input: (&str, &str)| {
    let (tail, query) = input;
    if let Ok(target) = BACKENDS.quiz_proxy_target(tail, query) {
        assert_eq!(target.host_str(), Some("quiz"));
        assert_eq!(target.scheme(), "http");
        assert_eq!(target.port_or_known_default(), Some(80));
        assert!(target.path().starts_with("/base/"), "{target}");
        assert!(target.username().is_empty() && target.password().is_none());
    }
});
