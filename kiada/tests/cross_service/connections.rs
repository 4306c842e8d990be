//! The backend client's pool: reused for bursts, short-lived by default, and off with
//! BACKEND_POOL_IDLE_SECONDS=0 so that every page can land on another pod.

use std::time::Duration;

use kiada_testkit::suite::*;

async fn connections_for_three_pages(pool_idle: &str) -> usize {
    let (quote, quiz) = spawn_backends().await;
    let relay = counting_relay(quote.port).await;
    let kiada = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &relay.url("/quote")),
        ("QUIZ_URL", &quiz.url),
        ("BACKEND_POOL_IDLE_SECONDS", pool_idle),
    ]))
    .await;
    for _ in 0..3 {
        let page = kiada.get_text("/").await;
        assert!(page.contains(TIP), "{page}");
    }
    relay.connections()
}

#[tokio::test]
async fn quick_successive_pages_reuse_one_pooled_connection() {
    assert_eq!(connections_for_three_pages("30").await, 1);
}

#[tokio::test]
async fn without_a_pool_every_page_opens_a_new_connection() {
    assert_eq!(connections_for_three_pages("0").await, 3);
}

#[tokio::test]
async fn idle_connections_expire_after_the_pool_idle_time() {
    let quote = spawn_quote(TIP).await;
    let relay = counting_relay(quote.port).await;
    let kiada = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &relay.url("/quote")),
        ("QUIZ_URL", &refused_url("")),
        ("BACKEND_POOL_IDLE_SECONDS", "0.3"),
    ]))
    .await;
    kiada.get_text("/").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    kiada.get_text("/").await;
    assert_eq!(relay.connections(), 2);
}
