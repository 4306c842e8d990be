//! Cross-service tests: kiada against the real quote and quiz services (started in this
//! process by `kiada_testkit::suite`), over real sockets on 127.0.0.1.

mod answers;
mod bad_input;
mod binary;
mod connections;
mod controls;
mod discovery;
mod failures;
mod html_page;
mod http2_flood;
mod https;
mod json_and_ids;
mod oversized_requests;
mod proxy;
mod shutdown_under_load;
mod slow_clients;
mod spread;
mod text_page;
mod tls_versions;
