//! [`AppState`]: what every handler shares.

use service_kit::PodInfo;

use crate::backends::Backends;
use crate::config::UiColor;
use crate::status::StatusMessage;

/// What every handler shares, one per server worker.
pub struct AppState {
    /// The worker's own client for quote and quiz.
    pub backends: Backends,
    pub pod: PodInfo,
    pub status: StatusMessage,
    pub ui_color: UiColor,
}

#[cfg(test)]
impl AppState {
    /// A state for handler tests: backends that are never reached (quiz at port 9 of
    /// loopback) and an unknown pod.
    pub(crate) fn for_tests() -> Self {
        Self {
            backends: crate::backends::for_tests("http://127.0.0.1:9"),
            pod: PodInfo::from_vars(Vec::new()),
            status: StatusMessage::new(None),
            ui_color: UiColor::default(),
        }
    }
}
