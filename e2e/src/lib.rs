//! The Kiada suite's end-to-end checks against a real Kubernetes cluster.
//!
//! `cargo run -p kiada-e2e -- --help`. The binary deploys `manifests/` into a fresh
//! namespace of the cluster the current kubeconfig points to, asserts the observables
//! of the Services chapter, prints one line per check and cleans up.

pub mod checks;
pub mod cluster;
pub mod endpoints;
pub mod http;
pub mod manifest;
pub mod nodes;
pub mod page;
pub mod parse;
pub mod poll;
pub mod service;
pub mod shell;
pub mod summary;
pub mod tls;
