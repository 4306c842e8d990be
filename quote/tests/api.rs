//! The quote service over real HTTP, on a real socket.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use clap::Parser;
use kiada_testkit::server::TestServer;
use quote::{Application, Args, Config};
use service_kit::{PodInfo, Service as _};

async fn spawn(configure: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = Config::load(Args::parse_from(["quote"]), &[]).expect("default config");
    config.server.listen_port = 0;
    config.pod = PodInfo {
        pod_name: Some("quote-001".into()),
        node_name: Some("node-a".into()),
        ..PodInfo::default()
    };
    configure(&mut config);
    let app = Application::build(config).await.expect("quote starts");
    TestServer::run(app.port(), app)
}

#[tokio::test]
async fn root_says_which_pod_and_node_answered() {
    let app = spawn(|_| {}).await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-pod-name"], "quote-001");
    assert_eq!(response.headers()["x-node-name"], "node-a");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        response.text().await.unwrap(),
        "This is the quote service running in pod quote-001 on node node-a\n"
    );
}

#[tokio::test]
async fn unknown_pod_info_prints_as_unknown() {
    let app = spawn(|config| config.pod = PodInfo::default()).await;
    assert_eq!(
        app.get("/").await.text().await.unwrap(),
        "This is the quote service running in pod unknown on node unknown\n"
    );
}

#[tokio::test]
async fn quote_is_one_built_in_tip_and_stays_for_the_interval() {
    let app = spawn(|_| {}).await;
    let built_in: HashSet<String> = quote::tips::Tips::built_in()
        .as_slice()
        .iter()
        .cloned()
        .collect();
    let first = app.get("/quote").await.text().await.unwrap();
    let tip = first.strip_suffix('\n').expect("ends with a newline");
    assert!(built_in.contains(tip), "not a built-in tip: {tip}");
    for _ in 0..20 {
        assert_eq!(app.get("/quote").await.text().await.unwrap(), first);
    }
}

#[tokio::test]
async fn the_tip_is_drawn_again_every_interval() {
    let interval = Duration::from_millis(50);
    let app = spawn(|config| config.interval = interval).await;
    // With 57 tips, ten draws all giving the same tip has a chance of 57^-9.
    let mut seen = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < 2 && Instant::now() < deadline {
        seen.insert(app.get("/quote").await.text().await.unwrap());
        tokio::time::sleep(interval).await;
    }
    assert!(seen.len() >= 2, "the tip never changed: {seen:?}");
}

#[tokio::test]
async fn a_tips_file_replaces_the_built_in_tips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tips.txt");
    std::fs::write(&path, "# ours\nOnly tip <b>one</b>\n\n").unwrap();
    let app = spawn(|config| config.tips_file = Some(path)).await;
    assert_eq!(
        app.get("/quote").await.text().await.unwrap(),
        "Only tip <b>one</b>\n"
    );
}

#[tokio::test]
async fn an_empty_or_missing_tips_file_is_a_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# nothing\n\n").unwrap();
    let mut config = Config::load(Args::parse_from(["quote"]), &[]).unwrap();
    config.server.listen_port = 0;
    config.tips_file = Some(empty.clone());
    let error = Application::build(config.clone()).await.err().unwrap();
    assert_eq!(
        error.to_string(),
        format!(
            "tips file {} has no tips (one tip per line; '#' starts a comment line)",
            empty.display()
        )
    );
    let missing = dir.path().join("missing.txt");
    config.tips_file = Some(missing.clone());
    let error = Application::build(config).await.err().unwrap();
    assert_eq!(
        error.to_string(),
        format!("cannot read tips file {}", missing.display())
    );
    let chain = format!("{:#}", anyhow::Error::from(error));
    assert!(
        chain.starts_with(&format!("cannot read tips file {}: ", missing.display())),
        "{chain}"
    );
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_are_rejected() {
    let app = spawn(|_| {}).await;
    let response = app.post("/quote").await;
    assert_eq!(response.status(), 405);
    assert_eq!(app.get("/nothing-here").await.status(), 404);
}

#[tokio::test]
async fn request_ids_are_kept_or_generated() {
    let app = spawn(|_| {}).await;
    let response = app.get_with("/quote", &[("x-request-id", "abc-123")]).await;
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let generated = app.get("/quote").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

#[tokio::test]
async fn probes_answer() {
    let app = spawn(|_| {}).await;
    for (path, body) in [
        ("/healthz/live", "live\n"),
        ("/healthz/ready", "ready\n"),
        ("/healthz/startup", "started\n"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.text().await.unwrap(), body, "{path}");
    }
}

#[test]
fn interval_must_be_positive_and_flags_beat_env() {
    let vars = vec![("QUOTE_INTERVAL".to_string(), "0".to_string())];
    let error = Config::load(Args::parse_from(["quote"]), &vars).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid setting QUOTE_INTERVAL: must be more than 0 seconds"
    );
    let vars = vec![("QUOTE_INTERVAL".to_string(), "5".to_string())];
    let config = Config::load(Args::parse_from(["quote", "--interval", "0.5"]), &vars).unwrap();
    assert_eq!(config.interval, Duration::from_millis(500));
}

#[tokio::test]
async fn a_seed_picks_the_same_tip_on_every_instance() {
    let first = spawn(|_| {}).await;
    let second = spawn(|_| {}).await;
    let tips = quote::tips::Tips::built_in();
    let mut seen = HashSet::new();
    for seed in 0..20u64 {
        let mut answers = Vec::new();
        for app in [&first, &second] {
            let response = app
                .get_with("/quote", &[("x-kiada-seed", &seed.to_string())])
                .await;
            assert_eq!(response.status(), 200);
            answers.push(response.text().await.unwrap());
        }
        assert_eq!(answers[0], answers[1], "seed {seed}");
        let expected = &tips.as_slice()[service_kit::index_for_seed(seed, tips.len())];
        assert_eq!(answers[0], format!("{expected}\n"));
        seen.insert(answers[0].clone());
    }
    assert!(
        seen.len() > 5,
        "seeds should spread over the tips: {}",
        seen.len()
    );
}

#[tokio::test]
async fn a_malformed_seed_is_a_bad_request() {
    let app = spawn(|_| {}).await;
    for seed in ["-1", "abc", "18446744073709551616"] {
        let response = app.get_with("/quote", &[("x-kiada-seed", seed)]).await;
        assert_eq!(response.status(), 400, "{seed}");
        assert_eq!(
            response.text().await.unwrap(),
            "X-Kiada-Seed must be an unsigned integer (0 to 18446744073709551615)\n"
        );
    }
}
