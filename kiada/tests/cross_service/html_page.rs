use kiada_testkit::suite::*;

#[tokio::test]
async fn html_page_shows_tip_question_answers_and_request_info() {
    let suite = spawn_suite().await;
    let response = suite
        .kiada
        .get_ok("/html", "text/html; charset=utf-8")
        .await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = response.text().await.unwrap();

    assert!(
        html.contains(&format!(r#"<p class="tip" id="tip">{TIP}</p>"#)),
        "{html}"
    );
    assert!(html.contains(&format!(
        r#"<div id="quiz" data-question-id="{QUESTION_ID}">"#
    )));
    assert!(html.contains(&format!(
        r#"<p class="question" id="question-text">{QUESTION_TEXT}</p>"#
    )));
    for (index, answer) in ANSWERS.iter().enumerate() {
        assert!(
            html.contains(&format!(
                r#"<form method="post" action="/question/{QUESTION_ID}/answers/{index}">"#
            )),
            "{html}"
        );
        assert!(html.contains(&format!(r#"<span class="answer-text">{answer}</span>"#)));
    }
    assert_eq!(html.matches(r#"class="answer""#).count(), ANSWERS.len());
    for (id, value) in [
        ("pod-name", KIADA_POD),
        ("node-name", KIADA_NODE),
        ("pod-ip", KIADA_POD_IP),
        ("node-ip", KIADA_NODE_IP),
        ("client-ip", "127.0.0.1"),
    ] {
        assert!(
            html.contains(&format!(r#"<dd id="{id}">{value}</dd>"#)),
            "{id}: {html}"
        );
    }
    assert!(html.contains(&format!(
        r#"<p class="served-by" id="served-by">Served by: tip from quote pod &#34;{QUOTE_POD}&#34; on node &#34;{QUOTE_NODE}&#34;; question from quiz pod &#34;{QUIZ_POD}&#34; on node &#34;{QUIZ_NODE}&#34;.</p>"#
    )), "{html}");
    assert!(html.contains(r#"<a href="/text">Text version</a>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="/static/style.css">"#));
    assert!(html.contains(r#"<script src="/static/app.js" defer></script>"#));
    assert!(html.contains(r#"<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">"#));
    assert!(html.contains(r#"<img class="cover" src="/static/cover.svg""#));
}

#[tokio::test]
async fn html_page_shows_the_status_message_and_backend_errors() {
    let kiada = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &refused_url("/quote")),
        ("QUIZ_URL", &refused_url("")),
        ("INITIAL_STATUS_MESSAGE", "Back in 5 minutes"),
    ]))
    .await;
    let html = kiada.get_text("/html").await;
    assert!(html.contains("Back in 5 minutes</p>"), "{html}");
    assert!(
        html.contains(r#"<p class="tip error" id="tip">ERROR: quote service ("#),
        "{html}"
    );
    assert!(
        html.contains(r#"<p class="question error" id="question-text">ERROR: quiz service ("#),
        "{html}"
    );
    assert!(html.contains(r#"<div id="quiz" data-question-id="">"#));
}

#[tokio::test]
async fn everything_from_backends_and_clients_is_escaped() {
    let tip = r#"<script>alert("tip")</script> & <b>bold</b>"#;
    let question = r#"Is <img src=x onerror=alert(1)> an image?"#;
    let answers = ["<i>yes</i>", "\"no\" & 'maybe'", "no"];
    let suite = spawn_suite_with(tip, &questions_json(3, question, &answers, 0)).await;
    let html = suite
        .kiada
        .get_with(
            "/html",
            &[("x-forwarded-for", "<script>alert('xff')</script>")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(
        "&#60;script&#62;alert(&#34;tip&#34;)&#60;/script&#62; &#38; &#60;b&#62;bold&#60;/b&#62;"
    ), "{html}");
    assert!(
        html.contains("Is &#60;img src=x onerror=alert(1)&#62; an image?"),
        "{html}"
    );
    assert!(html.contains("&#60;i&#62;yes&#60;/i&#62;"), "{html}");
    assert!(
        html.contains("&#34;no&#34; &#38; &#39;maybe&#39;"),
        "{html}"
    );
    assert!(
        html.contains("&#60;script&#62;alert(&#39;xff&#39;)&#60;/script&#62;"),
        "{html}"
    );
    for raw in ["<script>alert", "<img src=x", "<i>yes", "<b>bold"] {
        assert!(!html.contains(raw), "{raw} unescaped in {html}");
    }
    // The only script elements are our own two.
    let scripts: Vec<&str> = html
        .split("<script")
        .skip(1)
        .map(|rest| rest.split("</script>").next().unwrap())
        .collect();
    assert_eq!(
        scripts,
        [
            r#" src="/static/app.js" defer>"#,
            r#" src="/static/spread.js" defer>"#
        ]
    );
}

#[tokio::test]
async fn assets_are_served_from_the_binary() {
    let suite = spawn_suite().await;
    for (path, content_type, needle) in [
        (
            "/static/style.css",
            "text/css; charset=utf-8",
            ".answer.correct",
        ),
        (
            "/static/app.js",
            "text/javascript; charset=utf-8",
            "/proxy/quiz/questions/random",
        ),
        (
            "/static/spread.js",
            "text/javascript; charset=utf-8",
            "fetch(\"/spread?\"",
        ),
        ("/static/favicon.svg", "image/svg+xml", "<svg"),
        ("/static/cover.svg", "image/svg+xml", "<svg"),
        ("/favicon.ico", "image/svg+xml", "<svg"),
    ] {
        let response = suite.kiada.get_ok(path, content_type).await;
        assert!(response.text().await.unwrap().contains(needle), "{path}");
    }
}
