//! Probes and graceful shutdown of a server built with service-kit, over real sockets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use service_kit::{Phase, PodInfo, Server, ServerBuilder, ServerSettings};
use tokio_util::sync::CancellationToken;

async fn slow() -> HttpResponse {
    tokio::time::sleep(Duration::from_millis(600)).await;
    HttpResponse::Ok().body("finished")
}

/// A server with `GET /slow`, as `customize` finishes building it.
fn start(
    drain_delay: Duration,
    customize: impl FnOnce(ServerBuilder) -> ServerBuilder,
) -> std::io::Result<(u16, Server)> {
    let listener = service_kit::bind_dual_stack(0).expect("bind");
    let port = listener.local_addr()?.port();
    let settings = ServerSettings {
        listen_port: 0,
        drain_delay,
        ..ServerSettings::default()
    };
    let builder = ServerBuilder::new("test", &settings, &PodInfo::default());
    let server = customize(builder).serve(listener, |routes| {
        routes.route("/slow", web::get().to(slow));
    })?;
    Ok((port, server))
}

async fn get(port: u16, path: &str) -> reqwest::Result<(u16, String)> {
    let response = reqwest::get(format!("http://127.0.0.1:{port}{path}")).await?;
    Ok((response.status().as_u16(), response.text().await?))
}

#[tokio::test]
async fn readiness_follows_the_readiness_check() {
    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = healthy.clone();
    let (port, service) = start(Duration::ZERO, |builder| {
        builder.readiness_check(move || {
            let ok = flag.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                if ok {
                    Ok(())
                } else {
                    Err("database is gone".into())
                }
            }
        })
    })
    .unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(service.run_until_stopped(shutdown.clone()));
    assert_eq!(
        get(port, "/healthz/ready").await.unwrap(),
        (200, "ready\n".into())
    );
    healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        get(port, "/healthz/ready").await.unwrap(),
        (503, "not ready: database is gone\n".into())
    );
    assert_eq!(
        get(port, "/healthz/live").await.unwrap(),
        (200, "live\n".into())
    );
    shutdown.cancel();
}

/// `/healthz/ready`, `/metrics` and `/admin/status` that overlap share one run of the
/// readiness check. The check waits for a gate: while it is closed the first run is in
/// flight, so a second run started meanwhile could only come from a caller that did not
/// join it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_probe_metrics_and_status_calls_share_one_check() {
    let started = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (port, service) = start(Duration::ZERO, |builder| {
        let (started, gate) = (started.clone(), gate.clone());
        builder.readiness_check(move || {
            started.fetch_add(1, Ordering::SeqCst);
            let gate = gate.clone();
            async move {
                drop(gate.acquire().await.expect("never closed"));
                Ok(())
            }
        })
    })
    .unwrap();
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    tokio::spawn(service.run_until_stopped(shutdown));
    let calls: Vec<_> = ["/healthz/ready", "/metrics", "/admin/status"]
        .into_iter()
        .map(|path| tokio::spawn(get(port, path)))
        .collect();

    // Bounded waits: until the first run starts, then long enough for the other two
    // calls to arrive and (were they not to join it) start runs of their own.
    let deadline = Instant::now() + Duration::from_secs(5);
    while started.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the check never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let window = Instant::now() + Duration::from_millis(300);
    while started.load(Ordering::SeqCst) == 1 && Instant::now() < window {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        started.load(Ordering::SeqCst),
        1,
        "runs while the first one ran"
    );

    gate.add_permits(1);
    let mut answers = Vec::new();
    for call in calls {
        let answer = tokio::time::timeout(Duration::from_secs(5), call).await;
        answers.push(answer.expect("answered in time").unwrap().unwrap());
    }
    assert_eq!(answers[0], (200, "ready\n".into()));
    assert_eq!(answers[1].0, 200);
    assert!(
        answers[1].1.contains("\nservice_ready 1\n"),
        "{}",
        answers[1].1
    );
    let status: serde_json::Value = serde_json::from_str(&answers[2].1).unwrap();
    assert_eq!(
        (answers[2].0, &status["ready"]),
        (200, &serde_json::json!(true))
    );
}

#[tokio::test]
async fn termination_drains_then_finishes_in_flight_requests() {
    let (port, service) = start(Duration::from_millis(400), |builder| builder).unwrap();
    let health = service.health().clone();
    assert_eq!(health.phase(), Phase::Starting);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(service.run_until_stopped(shutdown.clone()));
    assert_eq!(
        get(port, "/healthz/startup").await.unwrap(),
        (200, "started\n".into())
    );

    // A request in flight when termination starts must still complete.
    let in_flight = tokio::spawn(get(port, "/slow"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;

    // While draining, the server still serves but reports not ready.
    assert_eq!(health.phase(), Phase::Draining);
    assert_eq!(
        get(port, "/healthz/ready").await.unwrap(),
        (503, "not ready: service is draining\n".into())
    );
    assert_eq!(in_flight.await.unwrap().unwrap(), (200, "finished".into()));

    let stopped = tokio::time::timeout(Duration::from_secs(10), running).await;
    stopped
        .expect("stops in time")
        .unwrap()
        .expect("clean stop");
    assert_eq!(health.phase(), Phase::Stopping);
    assert!(get(port, "/healthz/live").await.is_err(), "still accepting");
}
