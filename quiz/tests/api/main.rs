//! In-process API tests: each test starts the real application on an ephemeral port with
//! its own temporary database and talks to it over real sockets.

mod answers;
mod bad_input;
mod basics;
mod health;
mod helpers;
mod questions;
mod questions_file;
mod retention;
mod stats;
