//! Probes and graceful shutdown of a server built with service-kit, over real sockets.

use std::time::Duration;

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
