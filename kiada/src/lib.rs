//! kiada, the frontend of the Kiada suite: per request it fetches a tip from quote and a
//! question from quiz, at the same time, and shows them with which pod, node and client
//! handled the request, as text (`/`, `/text`), HTML (`/html`) or JSON (`/json`), over
//! HTTP and HTTPS.

pub mod backends;
pub mod config;
pub mod page;
mod respond;
mod routes;
mod spread;
pub mod startup;
mod state;
pub mod status;
mod view;

pub use config::{Args, Config, UrlSource};
pub use startup::{Application, KiadaError};
