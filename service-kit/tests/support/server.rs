//! A bare server built the way every service builds its own: `http_server!`, the
//! request middleware and the probe, metrics and admin routes, plus the test's routes.

use std::time::Duration;

use actix_web::{App, middleware, web};
use service_kit::{Health, ServerSettings, Service};
use tokio_util::sync::{CancellationToken, DropGuard};

/// Serves on a free port of all addresses until the guard drops; answers the port.
pub fn serve(health: Health, routes: fn(&mut web::ServiceConfig)) -> (u16, DropGuard) {
    let listener = service_kit::bind_dual_stack(0).expect("bind");
    let port = listener.local_addr().unwrap().port();
    let settings = ServerSettings::default();
    let data = web::Data::new(health.clone());
    let build = || -> std::io::Result<actix_web::dev::Server> {
        Ok(service_kit::http_server!(
            move || {
                App::new()
                    .wrap(middleware::from_fn(service_kit::http::request_telemetry))
                    .app_data(data.clone())
                    .configure(service_kit::health::routes)
                    .configure(routes)
            },
            &settings,
            listener
        ))
    };
    let server = build().expect("server");
    let shutdown = CancellationToken::new();
    tokio::spawn(
        Service::new("test", server, health, Duration::ZERO).run_until_stopped(shutdown.clone()),
    );
    (port, shutdown.drop_guard())
}
