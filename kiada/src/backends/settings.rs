//! [`BackendSettings`]: where quote and quiz are and how long kiada waits for them.

use std::time::Duration;

use reqwest::Url;

/// Where quote and quiz are and how long kiada waits for them, as [`crate::Config`]
/// resolves them (it clamps `connect_timeout` to `timeout`): the one value
/// [`super::Backends::new`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSettings {
    /// Full URL of the tip (`GET` answers text/plain).
    pub quote_url: Url,
    /// Base URL of the quiz service; `/questions/...` is appended.
    pub quiz_url: Url,
    /// Total time for one backend request, body included.
    pub timeout: Duration,
    /// Time to establish a connection to a backend; never more than `timeout`.
    pub connect_timeout: Duration,
    /// How long an idle backend connection is kept for reuse; zero disables reuse.
    pub pool_idle: Duration,
}
