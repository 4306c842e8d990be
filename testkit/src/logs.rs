//! Log capture for services run in the test's own process: every log line (JSON) of
//! every service lands in one buffer, so a test can check what each one logged for its
//! request id.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crate::lock;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (JSON, `info`) the first time; later calls only
/// answer it. Call it before starting a service whose logs a test reads.
pub fn capture() {
    buffer();
}

fn buffer() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter("info")
            .with_writer(move || writer.clone())
            .try_init();
        capture
    })
}

/// Every captured log line (as JSON) that has this request id.
pub fn with_request_id(id: &str) -> Vec<serde_json::Value> {
    let buffer = lock(&buffer().0).clone();
    String::from_utf8_lossy(&buffer)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["request_id"] == id)
        .collect()
}
