//! Test support shared by the services' own tests, which include it with
//! `#[path = ".../service-kit/tests/support/mod.rs"] mod support;` (kiada, quote and quiz
//! each test their real binary, so the code cannot live in one crate's tests): raw
//! HTTP/1.1 exchanges over loopback sockets, a bare service-kit server, and SIGTERM
//! under a bounded load.

// Each including crate uses a part.
#![allow(dead_code)]

pub mod raw;
pub mod server;
pub mod shutdown;
