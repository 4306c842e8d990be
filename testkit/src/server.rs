//! A bare server built the way every service builds its own ([`ServerBuilder`]: the
//! request middleware and the probe, metrics and admin routes), plus the test's routes.

use actix_web::web;
use service_kit::{ControlSettings, PodInfo, ServerBuilder, ServerSettings};
use tokio_util::sync::{CancellationToken, DropGuard};

/// Serves on a free port of all addresses until the guard drops; answers the port.
pub fn serve(controls: ControlSettings, routes: fn(&mut web::ServiceConfig)) -> (u16, DropGuard) {
    let listener = service_kit::bind_dual_stack(0).expect("bind");
    let port = listener.local_addr().unwrap().port();
    let settings = ServerSettings {
        controls,
        ..ServerSettings::default()
    };
    let server = ServerBuilder::new("test", &settings, &PodInfo::default())
        .serve(listener, routes)
        .expect("server");
    let shutdown = CancellationToken::new();
    tokio::spawn(server.run_until_stopped(shutdown.clone()));
    (port, shutdown.drop_guard())
}
