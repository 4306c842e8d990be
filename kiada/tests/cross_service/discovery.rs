use kiada_testkit::suite::*;

#[tokio::test]
async fn kubernetes_service_variables_are_used_when_no_url_is_set() {
    let (quote, quiz) = spawn_backends().await;
    let (quote_port, quiz_port) = (quote.port.to_string(), quiz.port.to_string());
    let config = kiada_config(&[
        ("QUOTE_SERVICE_HOST", "127.0.0.1"),
        ("QUOTE_SERVICE_PORT", &quote_port),
        ("QUOTE_PORT", &format!("tcp://127.0.0.1:{quote_port}")),
        ("QUIZ_SERVICE_HOST", "127.0.0.1"),
        ("QUIZ_SERVICE_PORT", &quiz_port),
    ]);
    assert_eq!(config.quote_url_source, kiada::UrlSource::ServiceLinks);
    assert_eq!(
        config.backends.quote_url.as_str(),
        format!("http://127.0.0.1:{quote_port}/quote")
    );
    assert_eq!(config.quiz_url_source, kiada::UrlSource::ServiceLinks);
    assert_eq!(
        config.backends.quiz_url.as_str(),
        format!("http://127.0.0.1:{quiz_port}/")
    );
    let kiada = spawn_kiada(config).await;
    let page = kiada.get_text("/").await;
    assert!(
        page.contains(&format!("==== TIP OF THE MINUTE\n{TIP}\n")),
        "{page}"
    );
    assert!(
        page.contains(&format!("==== POP QUIZ\n{QUESTION_TEXT}\n")),
        "{page}"
    );
}

#[tokio::test]
async fn explicit_urls_win_over_service_variables() {
    let (quote, quiz) = spawn_backends().await;
    let dead = refused_url("");
    let dead_port = dead.rsplit(':').next().unwrap().to_owned();
    let config = kiada_config(&[
        ("QUOTE_URL", &quote.url),
        ("QUIZ_URL", &quiz.url),
        ("QUOTE_SERVICE_HOST", "127.0.0.1"),
        ("QUOTE_SERVICE_PORT", &dead_port),
        ("QUIZ_SERVICE_HOST", "127.0.0.1"),
        ("QUIZ_SERVICE_PORT", &dead_port),
    ]);
    assert_eq!(config.quote_url_source, kiada::UrlSource::Env);
    assert_eq!(config.quiz_url_source, kiada::UrlSource::Env);
    let kiada = spawn_kiada(config).await;
    let page = kiada.get_text("/").await;
    assert!(!page.contains("ERROR"), "{page}");
}

#[tokio::test]
async fn host_names_go_through_the_system_resolver() {
    // "localhost" is resolved by getaddrinfo (the resolver that reads /etc/hosts and the
    // pod's /etc/resolv.conf search list and ndots), not by a built-in one.
    let (quote, quiz) = spawn_backends().await;
    let kiada = spawn_kiada(kiada_config(&[
        (
            "QUOTE_URL",
            &format!("http://localhost:{}/quote", quote.port),
        ),
        ("QUIZ_URL", &format!("http://localhost:{}", quiz.port)),
    ]))
    .await;
    let page = kiada.get_text("/").await;
    assert!(!page.contains("ERROR"), "{page}");
    assert!(page.contains(TIP), "{page}");
}

#[tokio::test]
async fn in_cluster_defaults_are_used_when_nothing_is_set() {
    let config = kiada_config(&[]);
    assert_eq!(config.backends.quote_url.as_str(), "http://quote/quote");
    assert_eq!(config.quote_url_source, kiada::UrlSource::Default);
    assert_eq!(config.backends.quiz_url.as_str(), "http://quiz/");
    assert_eq!(config.quiz_url_source, kiada::UrlSource::Default);
    // Outside a cluster the short names do not resolve (or time out): the page says so.
    let kiada = spawn_kiada(config).await;
    let page = kiada.get_text("/").await;
    assert!(
        page.contains("\nERROR: quote service (http://quote/quote) "),
        "{page}"
    );
    assert!(
        page.contains("\nERROR: quiz service (http://quiz/questions/random) "),
        "{page}"
    );
}
