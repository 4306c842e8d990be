use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::helpers::{assert_error_starts, spawn_app};

async fn ready(app: &crate::helpers::QuizApp) -> (u16, String) {
    let response = app.get("/healthz/ready").await;
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn probes_pass_when_the_database_works() {
    let app = spawn_app().await;
    assert_eq!(ready(&app).await, (200, "ready\n".to_owned()));
    assert_eq!(app.get("/healthz/live").await.status(), 200);
    assert_eq!(app.get("/healthz/startup").await.status(), 200);
}

#[tokio::test]
async fn the_database_directory_is_created() {
    let app = spawn_app().await;
    assert!(app.db_path.is_file(), "{}", app.db_path.display());
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_gone() {
    let app = spawn_app().await;
    let data = app.db_path.parent().unwrap().to_owned();
    let moved = app.dir.path().join("moved");
    std::fs::rename(&data, &moved).unwrap();

    let (status, body) = ready(&app).await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        format!(
            "not ready: the database file {} is not reachable: No such file or directory (os error 2)\n",
            app.db_path.display()
        )
    );
    // Answers are refused rather than written to a file nobody will read again.
    assert_error_starts(
        app.answer(1, 0).await,
        503,
        &format!(
            "could not save the answer: the database file {} is not reachable",
            app.db_path.display()
        ),
    )
    .await;
    // The liveness probe does not depend on the database.
    assert_eq!(app.get("/healthz/live").await.status(), 200);

    std::fs::rename(&moved, &data).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while ready(&app).await.0 != 200 {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.answer(1, 0).await.status(), 200);
}

#[tokio::test]
async fn readiness_fails_when_the_database_file_is_replaced() {
    let app = spawn_app().await;
    let other = app.dir.path().join("other.db");
    std::fs::copy(&app.db_path, &other).unwrap();
    std::fs::rename(&other, &app.db_path).unwrap();
    assert_eq!(
        ready(&app).await,
        (
            503,
            format!(
                "not ready: the database file {} was replaced while the service ran\n",
                app.db_path.display()
            )
        )
    );
    assert_error_starts(app.answer(1, 0).await, 503, "could not save the answer").await;
}

/// `/metrics` and `/admin/status` run the readiness check too. While other clients call
/// them, the kubelet's probe (one at a time, a new connection each, a short timeout)
/// must never fail: two failures in a row take the only quiz pod out of its Service.
/// Bounded by time and by count; before the fix, 1 to 2% of the probes failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_never_fails_while_others_run_the_check() {
    const HAMMERS_PER_PATH: usize = 3;
    const MAX_PROBES: usize = 1500;
    const MAX_CALLS_PER_HAMMER: usize = 50_000;
    let duration = Duration::from_secs(4);
    let app = spawn_app().await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut hammers = tokio::task::JoinSet::new();
    for path in ["/metrics", "/admin/status"] {
        for _ in 0..HAMMERS_PER_PATH {
            let (client, url, stop) = (app.client.clone(), app.url(path), stop.clone());
            hammers.spawn(async move {
                let mut calls = 0;
                while calls < MAX_CALLS_PER_HAMMER && !stop.load(Ordering::Relaxed) {
                    let response = client.get(&url).send().await.unwrap();
                    assert_eq!(response.status(), 200, "{url}");
                    response.bytes().await.unwrap();
                    calls += 1;
                }
                calls
            });
        }
    }

    let port = app.port;
    let request = kiada_testkit::raw::request("GET", "/healthz/ready", "");
    let (mut probes, mut failures) = (0, Vec::new());
    let deadline = Instant::now() + duration;
    while probes < MAX_PROBES && Instant::now() < deadline {
        let exchange =
            kiada_testkit::raw::exchange(port, request.clone(), Duration::from_secs(1)).await;
        probes += 1;
        if exchange.status() != Some(200) {
            failures.push(exchange.describe());
        }
    }
    stop.store(true, Ordering::Relaxed);
    let calls: usize = hammers.join_all().await.into_iter().sum();
    eprintln!(
        "{} of {probes} readiness probes failed while {calls} other calls ran the check",
        failures.len()
    );
    assert!(probes >= 100, "only {probes} probes in {duration:?}");
    failures.truncate(5);
    assert!(failures.is_empty(), "the first failures: {failures:#?}");
}
