use std::time::{Duration, Instant};

use kiada_testkit::suite::*;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A fake backend answering every request with this status, content type and body:
/// for what a backend answers. Broken connections (silence, a stalled body) stay raw
/// sockets ([`never_answers`], [`stalls_mid_body`], [`raw_backend_sending`]).
async fn answering(status: u16, content_type: &str, body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(status).set_body_raw(body, content_type))
        .mount(&server)
        .await;
    server
}

/// The text page's tip and quiz sections, and the served-by line.
fn sections(page: &str) -> (String, String, String) {
    let between = |start: &str, end: &str| {
        let from = page
            .find(start)
            .unwrap_or_else(|| panic!("{start} in {page}"))
            + start.len();
        let to = page[from..]
            .find(end)
            .unwrap_or_else(|| panic!("{end} in {page}"))
            + from;
        page[from..to].trim().to_owned()
    };
    let served = page
        .lines()
        .find(|line| line.starts_with("Served by: "))
        .unwrap_or_else(|| panic!("served-by line in {page}"))
        .to_owned();
    (
        between("==== TIP OF THE MINUTE\n", "\n\n==== POP QUIZ"),
        between("==== POP QUIZ\n", "\n\n==== REQUEST INFO"),
        served,
    )
}

#[tokio::test]
async fn both_backends_down_still_renders_the_page() {
    let quote_url = refused_url("/quote");
    let quiz_url = refused_url("");
    let kiada = kiada_in_front_of(&quote_url, &quiz_url).await;
    let page = kiada.get_text("/").await;
    let (tip, quiz, served) = sections(&page);
    assert_eq!(
        tip,
        format!(
            "ERROR: quote service ({quote_url}) could not be reached: Connection refused (os error 111)"
        )
    );
    assert_eq!(
        quiz,
        format!(
            "ERROR: quiz service ({quiz_url}/questions/random) could not be reached: Connection refused (os error 111)"
        )
    );
    assert_eq!(
        served,
        "Served by: no tip (quote failed); no question (quiz failed)."
    );
    assert!(page.starts_with("KUBERNETES IN ACTION DEMO APPLICATION v"));
    assert!(page.contains(&format!(
        "running in pod \"{KIADA_POD}\" on node \"{KIADA_NODE}\""
    )));
    assert!(page.ends_with("\nHTML version of this content is available at /html\n"));

    // The proxies report the failure as a bad gateway.
    let response = kiada.get("/proxy/quote").await;
    assert_eq!(response.status().as_u16(), 502);
    let response = kiada.get("/proxy/quiz/questions/random").await;
    assert_eq!(response.status().as_u16(), 502);
    let error: serde_json::Value = response.json().await.unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .starts_with("quiz service ("),
        "{error}"
    );
}

#[tokio::test]
async fn a_failed_call_with_a_huge_query_shows_and_logs_its_url_cut_short() {
    let quiz_url = refused_url("");
    let kiada = kiada_in_front_of(&refused_url("/quote"), &quiz_url).await;
    let id = "a-huge-query-to-a-quiz-that-is-down";
    let query = format!("q={}", "a".repeat(60_000));
    let response = kiada
        .get_with(
            &format!("/proxy/quiz/stats?{query}"),
            &[("x-request-id", id)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 502);
    let error: serde_json::Value = response.json().await.unwrap();
    let error = error["error"].as_str().unwrap().to_owned();
    // The URL kiada called, cut to 200 characters with a visible mark.
    let called = format!("{quiz_url}/stats?{query}");
    let shown: String = called.chars().take(199).chain(['…']).collect();
    assert_eq!(
        error,
        format!("quiz service ({shown}) could not be reached: Connection refused (os error 111)")
    );
    // The one warning about it, found by the request id, says the same in one bounded line.
    let mut logged = Vec::new();
    for _ in 0..50 {
        logged = logs_with_request_id(id)
            .into_iter()
            .filter(|line| line["message"] == "backend failed")
            .collect();
        if !logged.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["error"], error.as_str());
    let line = logged[0].to_string();
    assert!(
        line.len() < 600,
        "a log line of {} bytes: {line}",
        line.len()
    );
}

#[tokio::test]
async fn one_backend_down_does_not_affect_the_other() {
    let quote = spawn_quote(TIP).await;
    let quiz_url = refused_url("");
    let kiada = kiada_in_front_of(&quote.url, &quiz_url).await;
    let (tip, quiz, served) = sections(&kiada.get_text("/").await);
    assert_eq!(tip, TIP);
    assert!(quiz.starts_with("ERROR: quiz service ("), "{quiz}");
    assert_eq!(
        served,
        format!(
            "Served by: tip from quote pod \"{QUOTE_POD}\" on node \"{QUOTE_NODE}\"; no question (quiz failed)."
        )
    );
}

#[tokio::test]
async fn silent_backends_cost_at_most_the_timeout() {
    let (quote_url, _quote) = never_answers().await;
    let (quiz_url, _quiz) = stalls_mid_body().await;
    let kiada = kiada_in_front_of_waiting(
        &format!("{quote_url}/quote"),
        &quiz_url,
        Duration::from_secs(1),
    )
    .await;

    let started = Instant::now();
    let page = kiada.get_text("/").await;
    let elapsed = started.elapsed();
    // Both waits run at the same time: about one timeout, not two.
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1900), "{elapsed:?}");
    let (tip, quiz, _) = sections(&page);
    assert_eq!(
        tip,
        format!("ERROR: quote service ({quote_url}/quote) did not answer within 1s")
    );
    assert_eq!(
        quiz,
        format!("ERROR: quiz service ({quiz_url}/questions/random) did not answer within 1s")
    );

    let started = Instant::now();
    let response = kiada.get("/proxy/quote").await;
    assert_eq!(response.status().as_u16(), 504);
    assert!(started.elapsed() < Duration::from_millis(1900));
}

#[tokio::test]
async fn error_statuses_are_reported_with_the_backends_message() {
    let quote = answering(500, "text/plain", b"oops".to_vec()).await;
    let quiz = answering(
        503,
        "application/json",
        br#"{"error":"database is locked"}"#.to_vec(),
    )
    .await;
    let (quote_url, quiz_url) = (quote.uri(), quiz.uri());
    let kiada = kiada_in_front_of(&format!("{quote_url}/quote"), &quiz_url).await;
    let (tip, quiz, _) = sections(&kiada.get_text("/").await);
    assert_eq!(
        tip,
        format!(
            "ERROR: quote service ({quote_url}/quote) answered with HTTP 500 Internal Server Error"
        )
    );
    assert_eq!(
        quiz,
        format!(
            "ERROR: quiz service ({quiz_url}/questions/random) answered with HTTP 503 Service Unavailable: database is locked"
        )
    );
}

#[tokio::test]
async fn undecodable_answers_are_reported() {
    let quote = answering(200, "text/plain", vec![0xff, 0xfe, b'x']).await;
    let quiz = answering(200, "application/json", b"<html>not json</html>".to_vec()).await;
    let (quote_url, quiz_url) = (quote.uri(), quiz.uri());
    let kiada = kiada_in_front_of(&format!("{quote_url}/quote"), &quiz_url).await;
    let (tip, quiz, _) = sections(&kiada.get_text("/").await);
    assert_eq!(
        tip,
        format!("ERROR: quote service ({quote_url}/quote) sent an unusable answer: not UTF-8 text")
    );
    assert_eq!(
        quiz,
        format!(
            "ERROR: quiz service ({quiz_url}/questions/random) sent an unusable answer: not a question: expected value at line 1 column 1"
        )
    );
}

#[tokio::test]
async fn huge_answers_are_refused_without_buffering_them() {
    let quote = answering(200, "text/plain", vec![b'a'; 1024 * 1024]).await;
    let quote_url = quote.uri();
    // Chunked, so no Content-Length warns in advance; the stream then stalls, so only
    // the size cap (not the end of the body) can end the read before the timeout.
    let mut chunked =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(b"8000\r\n");
        chunked.extend_from_slice(&[b' '; 0x8000]);
        chunked.extend_from_slice(b"\r\n");
    }
    let (quiz_url, _quiz) = raw_backend_sending(Box::leak(chunked.into_boxed_slice())).await;
    // A long timeout, so that only the size cap can end the stalled read in time.
    let kiada = kiada_in_front_of_waiting(
        &format!("{quote_url}/quote"),
        &quiz_url,
        Duration::from_secs(10),
    )
    .await;
    let started = Instant::now();
    let (tip, quiz, _) = sections(&kiada.get_text("/").await);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        tip,
        format!("ERROR: quote service ({quote_url}/quote) sent an answer larger than 64 KiB")
    );
    assert_eq!(
        quiz,
        format!(
            "ERROR: quiz service ({quiz_url}/questions/random) sent an answer larger than 64 KiB"
        )
    );
}

#[tokio::test]
async fn backend_calls_and_failures_are_counted_in_metrics() {
    let quote = spawn_quote(TIP).await;
    let kiada = kiada_in_front_of(&quote.url, &refused_url("")).await;
    kiada.get_text("/").await;
    kiada.get_text("/").await;
    let metrics = kiada.get_text("/metrics").await;
    let line = |prefix: &str| {
        metrics
            .lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in {metrics}"))
            .to_owned()
    };
    assert_eq!(
        line("backend_request_duration_seconds_count{backend=\"quote\"}"),
        "backend_request_duration_seconds_count{backend=\"quote\"} 2"
    );
    assert_eq!(
        line("backend_request_duration_seconds_count{backend=\"quiz\"}"),
        "backend_request_duration_seconds_count{backend=\"quiz\"} 2"
    );
    assert_eq!(
        line("backend_errors_total{backend=\"quiz\",cause=\"unreachable\"}"),
        "backend_errors_total{backend=\"quiz\",cause=\"unreachable\"} 2"
    );
    assert!(
        !metrics.contains("backend_errors_total{backend=\"quote\""),
        "{metrics}"
    );
}

/// kiada with these quote and quiz URLs (`QUOTE_URL`, `QUIZ_URL`) and nothing else set.
async fn kiada_in_front_of(quote_url: &str, quiz_url: &str) -> KiadaApp {
    spawn_kiada(backend_config(quote_url, quiz_url)).await
}

/// The same, waiting at most `timeout` for each backend's answer.
async fn kiada_in_front_of_waiting(quote_url: &str, quiz_url: &str, timeout: Duration) -> KiadaApp {
    let mut config = backend_config(quote_url, quiz_url);
    config.backends.timeout = timeout;
    spawn_kiada(config).await
}

/// kiada's configuration with these backend URLs.
fn backend_config(quote_url: &str, quiz_url: &str) -> kiada::Config {
    kiada_config(&[("QUOTE_URL", quote_url), ("QUIZ_URL", quiz_url)])
}
