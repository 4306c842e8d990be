//! `/spread` against three real quote servers behind a round-robin TCP balancer (a
//! Service's stand-in): new connections spread over every pod, one kept-alive
//! connection lands on one, failures are counted per cause, and the view is bounded.

use std::time::Duration;

use kiada_testkit::balancer::Balancer;
use kiada_testkit::suite::*;
use kiada_wire::{ErrorCalls, Spread, SpreadMode};

const PODS: [&str; 3] = ["quote-a", "quote-b", "quote-c"];
const NODE: &str = "node-1";

/// Three quote pods behind one balancer, and kiada with `QUOTE_URL` at the balancer.
struct Cluster {
    kiada: KiadaApp,
    balancer: Balancer,
    _quotes: Vec<Backend>,
    _quiz: Backend,
}

async fn three_quote_pods(extra: &[(&str, &str)]) -> Cluster {
    let mut quotes = Vec::new();
    for pod in PODS {
        quotes.push(spawn_quote_pod(pod, NODE, TIP).await);
    }
    let ports: Vec<u16> = quotes.iter().map(|quote| quote.port).collect();
    let balancer = Balancer::round_robin(&ports).await;
    let quiz = spawn_test_quiz().await;
    let quote_url = balancer.url("/quote");
    let mut env = vec![
        ("QUOTE_URL", quote_url.as_str()),
        ("QUIZ_URL", quiz.url.as_str()),
    ];
    env.extend_from_slice(extra);
    let kiada = spawn_kiada(kiada_config(&env)).await;
    Cluster {
        kiada,
        balancer,
        _quotes: quotes,
        _quiz: quiz,
    }
}

async fn spread_json(kiada: &KiadaApp, query: &str) -> Spread {
    let response = kiada
        .get_with(
            &format!("/spread{query}"),
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "GET /spread{query}");
    response.json().await.expect("a Spread")
}

fn calls_per_pod(spread: &Spread) -> Vec<(&str, u32)> {
    spread
        .pods
        .iter()
        .map(|pod| (pod.pod.as_str(), pod.calls))
        .collect()
}

#[tokio::test]
async fn a_new_connection_per_call_reaches_every_pod() {
    let cluster = three_quote_pods(&[]).await;
    let spread = spread_json(&cluster.kiada, "").await;
    // Round robin over connections: 20 connections, 7 + 7 + 6.
    assert_eq!(
        calls_per_pod(&spread),
        [("quote-a", 7), ("quote-b", 7), ("quote-c", 6)]
    );
    assert_eq!(cluster.balancer.connections(), 20);
    assert_eq!(spread.mode, SpreadMode::NewConnection);
    assert_eq!((spread.calls, spread.answered), (20, 20));
    assert!(spread.errors.is_empty(), "{:?}", spread.errors);
    assert!(spread.pods.iter().all(|pod| pod.node == NODE));
    assert_eq!(spread.service, "quote");
    assert_eq!(spread.url, cluster.balancer.url("/quote"));
    let latency = spread.latency_ms.expect("latencies of answered calls");
    assert!(
        latency.min <= latency.median
            && latency.median <= latency.p90
            && latency.p90 <= latency.max
    );
}

#[tokio::test]
async fn one_kept_alive_connection_lands_on_one_pod() {
    let cluster = three_quote_pods(&[]).await;
    let spread = spread_json(&cluster.kiada, "?reuse=true&n=30").await;
    assert_eq!(calls_per_pod(&spread), [("quote-a", 30)]);
    assert_eq!(cluster.balancer.connections(), 1);
    assert_eq!(spread.mode, SpreadMode::Reuse);
    assert_eq!(
        spread.summary,
        "All 30 calls went over one kept-alive connection, so the Service chose a pod only \
         once: it balances connections, not requests."
    );
    // The next view opens a connection of its own: the next pod in turn.
    let again = spread_json(&cluster.kiada, "?reuse=true&n=5").await;
    assert_eq!(calls_per_pod(&again), [("quote-b", 5)]);
}

#[tokio::test]
async fn quiz_can_be_spread_too() {
    let cluster = three_quote_pods(&[]).await;
    let spread = spread_json(&cluster.kiada, "?service=quiz&n=5").await;
    assert_eq!(calls_per_pod(&spread), [(QUIZ_POD, 5)]);
    assert_eq!(spread.service, "quiz");
    assert!(spread.url.ends_with("/questions/random"), "{}", spread.url);
    assert_eq!(cluster.balancer.connections(), 0);
}

#[tokio::test]
async fn the_text_view_draws_a_bar_per_pod() {
    let cluster = three_quote_pods(&[]).await;
    let response = cluster.kiada.get("/spread?n=6").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[2],
        format!(
            "==== SPREAD: 6 CALLS TO THE QUOTE SERVICE ({})",
            cluster.balancer.url("/quote")
        )
    );
    assert_eq!(
        lines[3],
        "Each of the 6 calls opened a new connection, so the Service chose a pod for every call."
    );
    for (line, pod) in lines[5..8].iter().zip(PODS) {
        let bar = "#".repeat(13);
        assert!(
            line.starts_with(&format!("{pod}  node {NODE}    2  {bar} ")),
            "{line:?}"
        );
        assert!(line.contains("  33%  median "), "{line:?}");
    }
    assert_eq!(lines[8], "");
    assert!(
        lines[9].starts_with("6 of 6 calls answered by 3 pods in "),
        "{}",
        lines[9]
    );
}

#[tokio::test]
async fn the_html_view_draws_svg_bars_under_the_page_policy() {
    let cluster = three_quote_pods(&[]).await;
    let response = cluster
        .kiada
        .get_with("/spread?n=3&reuse=true", &[("accept", "text/html")])
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.starts_with("default-src 'none'; script-src 'self'"),
        "{policy}"
    );
    let html = response.text().await.unwrap();
    assert_eq!(
        html.matches(r#"<tr class="spread-pod">"#).count(),
        1,
        "{html}"
    );
    assert!(
        html.contains(r#"<rect width="100" height="10"></rect>"#),
        "{html}"
    );
    assert!(html.contains(r#"id="spread-reuse" checked"#), "{html}");
    assert!(html.contains(">Call quote 3 times</button>"), "{html}");
    assert!(html.contains(r#"<script src="/static/spread.js" defer></script>"#));
    // The main page carries the same control, drawn in place by the script.
    let page = cluster
        .kiada
        .get_with("/html", &[("accept", "text/html")])
        .await;
    let page = page.text().await.unwrap();
    assert!(page.contains(">Call quote 20 times</button>"), "{page}");
    assert!(page.contains(
        r#"<div class="spread-result" id="spread-result" aria-live="polite" hidden></div>"#
    ));
}

#[tokio::test]
async fn failures_are_counted_per_cause_not_a_failed_page() {
    let quote = spawn_quote_pod("quote-a", NODE, TIP).await;
    let closed = refused_url("");
    let closed_port: u16 = closed.rsplit(':').next().unwrap().parse().unwrap();
    // Every other connection goes to a port where nothing listens: the balancer
    // closes those unanswered.
    let balancer = Balancer::round_robin(&[quote.port, closed_port]).await;
    let quiz = spawn_test_quiz().await;
    let kiada = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &balancer.url("/quote")),
        ("QUIZ_URL", &quiz.url),
    ]))
    .await;
    let spread = spread_json(&kiada, "?n=10").await;
    assert_eq!(calls_per_pod(&spread), [("quote-a", 5)]);
    assert_eq!(spread.answered, 5);
    // The closed connections show as "connection closed before message completed" or
    // as a reset, depending on when the close lands (a row for each cause seen).
    let failed: u32 = spread.errors.iter().map(|error| error.calls).sum();
    assert_eq!(failed, 5, "{:?}", spread.errors);
    for error in &spread.errors {
        assert!(error.cause.starts_with("request failed: "), "{error:?}");
    }
}

#[tokio::test]
async fn a_slow_backend_is_cut_by_the_timeout_and_the_views_budget() {
    let (silent, _stop) = never_answers().await;
    let quiz = spawn_test_quiz().await;
    let kiada = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &format!("{silent}/quote")),
        ("QUIZ_URL", &quiz.url),
        ("BACKEND_TIMEOUT_SECONDS", "2"),
    ]))
    .await;
    let spread = spread_json(&kiada, "?n=100").await;
    // 4 calls at a time, each cut at 2 s: two rounds time out by themselves, the third
    // is cut by the 5 s budget, and the rest are never answered within it.
    assert_eq!(spread.answered, 0);
    assert!(spread.pods.is_empty());
    assert_eq!(
        spread.errors,
        [
            ErrorCalls {
                cause: "not answered within the view's 5s budget".into(),
                calls: 92
            },
            ErrorCalls {
                cause: "did not answer within 2s".into(),
                calls: 8
            }
        ]
    );
    assert!(spread.latency_ms.is_none());
    assert!(
        (5000.0..6000.0).contains(&spread.elapsed_ms),
        "{}",
        spread.elapsed_ms
    );
}

#[tokio::test]
async fn at_most_two_views_run_at_once() {
    let (silent, _stop) = never_answers().await;
    let silent_port: u16 = silent.rsplit(':').next().unwrap().parse().unwrap();
    let balancer = Balancer::round_robin(&[silent_port]).await;
    let quiz = spawn_test_quiz().await;
    let kiada = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &balancer.url("/quote")),
        ("QUIZ_URL", &quiz.url),
        ("BACKEND_TIMEOUT_SECONDS", "2"),
    ]))
    .await;
    let first = spread_json(&kiada, "?n=4");
    let second = spread_json(&kiada, "?n=4");
    let third = async {
        // Both views are running once their 8 calls have connected.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while balancer.connections() < 8 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the two views never connected"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let response = kiada
            .get_with("/spread", &[("accept", "application/json")])
            .await;
        let status = response.status().as_u16();
        let retry_after = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .to_owned();
        (status, retry_after, response.text().await.unwrap())
    };
    let (first, second, (status, retry_after, body)) = tokio::join!(first, second, third);
    assert_eq!((status, retry_after.as_str()), (429, "1"));
    assert_eq!(
        body,
        r#"{"error":"2 spread views are already running; try again in a second"}"#
    );
    for spread in [first, second] {
        assert_eq!(spread.errors.len(), 1);
        assert_eq!(
            (spread.errors[0].cause.as_str(), spread.errors[0].calls),
            ("did not answer within 2s", 4)
        );
    }
    // Both permits are back.
    let after = spread_json(&kiada, "?n=1&reuse=true");
    assert_eq!(after.await.calls, 1);
}

#[tokio::test]
async fn bad_queries_are_refused_with_the_reason() {
    let cluster = three_quote_pods(&[]).await;
    for (query, message) in [
        ("?n=0", r#"n must be a whole number from 1 to 100, not "0""#),
        (
            "?n=101",
            r#"n must be a whole number from 1 to 100, not "101""#,
        ),
        ("?service=db", r#"service must be quote or quiz, not "db""#),
        ("?reuse=1", r#"reuse must be false or true, not "1""#),
    ] {
        let response = cluster.kiada.get(&format!("/spread{query}")).await;
        assert_eq!(response.status().as_u16(), 400, "{query}");
        assert_eq!(
            response.text().await.unwrap(),
            format!("ERROR: {message}\n")
        );
        let response = cluster
            .kiada
            .get_with(
                &format!("/spread{query}"),
                &[("accept", "application/json")],
            )
            .await;
        assert_eq!(response.status().as_u16(), 400, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "error": message }));
    }
    let response = cluster.kiada.get("/spread?url=http://10.0.0.1/").await;
    assert_eq!(response.status().as_u16(), 400);
    let body = response.text().await.unwrap();
    assert!(
        body.starts_with("ERROR: bad query: unknown field `url`"),
        "{body}"
    );
    assert_eq!(cluster.balancer.connections(), 0, "no call was made");
    let response = cluster.kiada.post("/spread").await;
    assert_eq!(response.status().as_u16(), 405);
}
