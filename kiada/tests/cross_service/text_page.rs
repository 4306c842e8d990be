use kiada_testkit::suite::*;

fn expected_page(client_ip: &str, extra_info: &[String]) -> String {
    let hostname = gethostname();
    let mut info = vec![
        format!(
            "Request processed by Kiada {} running in pod \"{KIADA_POD}\" on node \"{KIADA_NODE}\".",
            service_kit::VERSION
        ),
        format!(
            "Pod hostname: {hostname}; Pod IP: {KIADA_POD_IP}; Node IP: {KIADA_NODE_IP}; Client IP: {client_ip}"
        ),
    ];
    info.extend_from_slice(extra_info);
    info.push(format!(
        "Served by: tip from quote pod \"{QUOTE_POD}\" on node \"{QUOTE_NODE}\"; \
         question from quiz pod \"{QUIZ_POD}\" on node \"{QUIZ_NODE}\"."
    ));
    format!(
        "KUBERNETES IN ACTION DEMO APPLICATION v{version}\n\
         \n\
         ==== TIP OF THE MINUTE\n\
         {TIP}\n\
         \n\
         ==== POP QUIZ\n\
         {QUESTION_TEXT}\n\
         0) {a0}\n\
         1) {a1}\n\
         2) {a2}\n\
         \n\
         Submit your answer to /question/{QUESTION_ID}/answers/<index of answer> using the POST method.\n\
         \n\
         ==== REQUEST INFO\n\
         {info}\n\
         \n\
         HTML version of this content is available at /html\n",
        version = service_kit::VERSION,
        a0 = ANSWERS[0],
        a1 = ANSWERS[1],
        a2 = ANSWERS[2],
        info = info.join("\n"),
    )
}

fn gethostname() -> String {
    service_kit::PodInfo::from_vars(Vec::new()).hostname
}

#[tokio::test]
async fn text_page_has_every_section_in_order() {
    let suite = spawn_suite().await;
    let response = suite.kiada.get_ok("/", "text/plain; charset=utf-8").await;
    assert_eq!(response.headers()["x-pod-name"], KIADA_POD);
    assert_eq!(response.headers()["x-node-name"], KIADA_NODE);
    let body = response.text().await.unwrap();
    assert_eq!(body, expected_page("127.0.0.1", &[]));
    // /text is the same page, whatever the client accepts.
    let body = suite
        .kiada
        .get_text_with("/text", &[("accept", "text/html")])
        .await;
    assert_eq!(body, expected_page("127.0.0.1", &[]));
}

#[tokio::test]
async fn status_message_ends_the_request_info() {
    let suite = spawn_suite_env(&[("INITIAL_STATUS_MESSAGE", "Quiz night starts at 8!")]).await;
    let body = suite.kiada.get_text("/").await;
    let expected = expected_page("127.0.0.1", &[]).replace(
        "\n\nHTML version",
        "\nQuiz night starts at 8!\n\nHTML version",
    );
    assert_eq!(body, expected);
}

#[tokio::test]
async fn forwarded_for_is_shown_separately_from_the_client_ip() {
    let suite = spawn_suite().await;
    let body = suite
        .kiada
        .get_text_with("/", &[("x-forwarded-for", "203.0.113.9, 10.0.0.1")])
        .await;
    assert_eq!(
        body,
        expected_page(
            "127.0.0.1",
            &["X-Forwarded-For (as sent by the client): 203.0.113.9, 10.0.0.1".to_owned()]
        )
    );
}

#[tokio::test]
async fn browsers_are_redirected_to_the_html_page() {
    let suite = spawn_suite().await;
    let response = suite
        .kiada
        .client
        .get(format!("{}/", suite.kiada.address))
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(response.headers()["location"], "/html");
}

#[tokio::test]
async fn unknown_paths_and_methods_get_clear_errors() {
    let suite = spawn_suite().await;
    let response = suite.kiada.get("/nope").await;
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.text().await.unwrap(),
        "Not found: /nope\nTry / (text), /html (browser) or /json.\n"
    );
    let response = suite.kiada.post("/").await;
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    // HEAD (curl -I): the headers without the body.
    let response = suite
        .kiada
        .client
        .head(format!("{}/", suite.kiada.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.headers()["x-pod-name"], KIADA_POD);
    assert_eq!(response.text().await.unwrap(), "");
}

#[tokio::test]
async fn probes_answer() {
    let suite = spawn_suite().await;
    assert_eq!(suite.kiada.get_text("/healthz/live").await, "live\n");
    // Ready once the server runs: bounded wait.
    let mut ready = String::new();
    for _ in 0..50 {
        ready = suite
            .kiada
            .get("/healthz/ready")
            .await
            .text()
            .await
            .unwrap();
        if ready == "ready\n" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(ready, "ready\n");
}
