//! The teaching and testing controls that are kiada's own: deterministic mode passed on
//! to the backends, the UI colour, and readiness that follows the backends; and that
//! the probe and fault controls, when enabled, are out of reach of other web sites.

use serde_json::Value;

use kiada_testkit::suite::*;

use crate::bad_input::send;

/// Twenty tips and twenty questions, so that different seeds pick different ones.
fn many_tips_and_questions() -> (String, String) {
    let tips: String = (0..20).map(|n| format!("Tip number {n}\n")).collect();
    let questions: Vec<String> = (1..=20)
        .map(|id| {
            format!(
                r#"{{"id": {id}, "text": "Question number {id}?", "answers": ["a", "b", "c"], "correctAnswerIndex": 0}}"#
            )
        })
        .collect();
    (tips, format!("[{}]", questions.join(",")))
}

async fn json_with_seed(app: &KiadaApp, seed: u64) -> Value {
    let response = app
        .get_with("/json", &[("x-kiada-seed", &seed.to_string())])
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_seed_makes_the_tip_and_question_deterministic() {
    let (tips, questions) = many_tips_and_questions();
    let suite = spawn_suite_with(&tips, &questions).await;
    let mut tips_seen = std::collections::HashSet::new();
    for seed in [0u64, 1, 2, 3, 42, 4_000_000_000] {
        let first = json_with_seed(&suite.kiada, seed).await;
        let second = json_with_seed(&suite.kiada, seed).await;
        assert_eq!(first["tip"], second["tip"], "seed {seed}");
        assert_eq!(first["question"], second["question"], "seed {seed}");
        // kiada passed the seed on: quote answers the same tip for it directly.
        let direct = reqwest::Client::new()
            .get(&suite.quote.url)
            .header("x-kiada-seed", seed.to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(first["tip"]["text"], direct.trim_end(), "seed {seed}");
        tips_seen.insert(first["tip"]["text"].as_str().unwrap().to_owned());
    }
    assert!(tips_seen.len() > 1, "different seeds pick different tips");

    let bad = suite
        .kiada
        .get_with("/text", &[("x-kiada-seed", "many")])
        .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn ui_color_reaches_the_html_page_and_the_json_form() {
    let suite = spawn_suite_env(&[("UI_COLOR", "green")]).await;
    let green = &suite.kiada;
    let html = green.get_text("/html").await;
    assert!(
        html.contains(r#"<body class="theme-green" data-version="0.1.0">"#),
        "{html}"
    );
    let json: Value = green.get("/json").await.json().await.unwrap();
    assert_eq!(json["color"], "green");
    assert_eq!(json["version"], "0.1.0");

    let default = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &suite.quote.url),
        ("QUIZ_URL", &suite.quiz.url),
    ]))
    .await;
    let json: Value = default.get("/json").await.json().await.unwrap();
    assert_eq!(json["color"], "blue");
}

#[test]
fn an_unknown_ui_color_is_a_configuration_error() {
    let error = kiada::Config::load(
        <kiada::Args as clap::Parser>::parse_from(["kiada"]),
        &[("UI_COLOR".to_owned(), "#ff0000".to_owned())],
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with(
            r##"invalid environment variable UI_COLOR="#ff0000": unknown variant `#ff0000`"##
        ),
        "{error}"
    );
}

#[tokio::test]
async fn readiness_can_require_the_backends() {
    let quiz = spawn_test_quiz().await;
    let quote_down = refused_url("/quote");

    // By default kiada is ready whatever its backends do: its page shows their errors.
    let independent = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &quote_down),
        ("QUIZ_URL", &quiz.url),
    ]))
    .await;
    assert_eq!(independent.get("/healthz/ready").await.status(), 200);

    let dependent = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &quote_down),
        ("QUIZ_URL", &quiz.url),
        ("READINESS_REQUIRES_BACKENDS", "true"),
    ]))
    .await;
    let response = dependent.get("/healthz/ready").await;
    assert_eq!(response.status(), 503);
    let body = response.text().await.unwrap();
    let quote_origin = quote_down.trim_end_matches("/quote");
    assert!(
        body.starts_with(&format!(
            "not ready: quote service ({quote_origin}/healthz/ready) could not be reached"
        )),
        "{body}"
    );

    let quote = spawn_quote(TIP).await;
    let healthy = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &quote.url),
        ("QUIZ_URL", &quiz.url),
        ("READINESS_REQUIRES_BACKENDS", "true"),
    ]))
    .await;
    let response = healthy.get("/healthz/ready").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ready\n");
}

#[tokio::test]
async fn a_page_on_another_site_cannot_fail_kiada_s_probes_or_inject_faults() {
    let suite = spawn_suite_env(&[
        ("PROBE_CONTROLS_ENABLED", "true"),
        ("FAULTS_ENABLED", "true"),
    ])
    .await;
    let kiada = suite.kiada.port;
    let from_elsewhere = |content_type: &str| {
        format!("Origin: https://elsewhere.example\r\nContent-Type: {content_type}\r\n")
    };
    // What a plain HTML form and a no-cors fetch send, as a browser would.
    for (path, content_type, body) in [
        (
            "/admin/probes/ready/fail?seconds=600",
            "application/x-www-form-urlencoded",
            &b""[..],
        ),
        (
            "/admin/faults",
            "text/plain;charset=UTF-8",
            br#"{"status": 500}"#,
        ),
    ] {
        let headers = from_elsewhere(content_type);
        let answer = send(kiada, "POST", path, headers.as_bytes(), body).await;
        assert_eq!(answer.status(), Some(415), "{path}: {}", answer.describe());
    }
    assert_eq!(suite.kiada.get("/healthz/ready").await.status(), 200);
    assert_eq!(suite.kiada.get("/text").await.status(), 200);

    // JSON a browser sends only after a preflight, and kiada grants none.
    let preflight = b"Origin: https://elsewhere.example\r\n\
        Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n";
    let answer = send(kiada, "OPTIONS", "/admin/faults", preflight, b"").await;
    assert_eq!(answer.status(), Some(405), "{}", answer.describe());
    assert_eq!(answer.header("access-control-allow-origin"), None);
    // Sent as JSON (curl through kubectl port-forward), the control works.
    let json = b"Content-Type: application/json\r\n";
    let answer = send(kiada, "POST", "/admin/probes/ready/fail", json, b"").await;
    assert_eq!(answer.status(), Some(200), "{}", answer.describe());
    assert_eq!(suite.kiada.get("/healthz/ready").await.status(), 503);
}
