//! The headers service-kit puts on every answer of every service, over real sockets:
//! `X-Content-Type-Options: nosniff` on all of them, the middleware's own answers
//! (injected faults) too, and no `Strict-Transport-Security` over plain HTTP. (HSTS over
//! HTTPS is tested with kiada, the service with a TLS listener.)

use std::time::Duration;

use actix_web::{HttpResponse, web};
use kiada_testkit::raw::{self, Exchange};
use service_kit::ControlSettings;

fn assert_nosniff_and_no_hsts(answer: &Exchange, what: &str) {
    assert_eq!(
        answer.header("x-content-type-options"),
        Some("nosniff"),
        "{what}: {}",
        answer.describe()
    );
    assert_eq!(answer.header("strict-transport-security"), None, "{what}");
}

#[tokio::test]
async fn every_answer_says_nosniff_the_middleware_s_own_too() {
    let controls = ControlSettings {
        faults_enabled: true,
        ..ControlSettings::default()
    };
    let (port, _stop) = kiada_testkit::server::serve(controls, |routes| {
        routes.route(
            "/hello",
            web::get().to(|| async { HttpResponse::Ok().body("hello") }),
        );
    });
    for (path, status) in [
        ("/hello", 200),
        ("/no/such/path", 404),
        ("/healthz/ready", 200),
        ("/metrics", 200),
        ("/admin/status", 200),
    ] {
        let answer = raw::get(port, path).await;
        assert_eq!(answer.status(), Some(status), "{path}");
        assert_nosniff_and_no_hsts(&answer, path);
    }

    // With a fault injected, the middleware answers /hello itself.
    let fault = br#"{"status": 503}"#;
    let mut request = raw::request(
        "POST",
        "/admin/faults",
        &format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            fault.len()
        ),
    );
    request.extend_from_slice(fault);
    let answer = raw::exchange(port, request, Duration::from_secs(10)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.describe());
    let answer = raw::get(port, "/hello").await;
    assert_eq!(
        (answer.status(), answer.body_text().as_str()),
        (Some(503), "injected fault (see /admin/faults)\n")
    );
    assert_nosniff_and_no_hsts(&answer, "an injected fault");
}
