//! Every bound the kit puts on clients, controls and logs, in one place: what a slow,
//! large or careless request meets before any service code runs, and how long a toggle
//! that someone forgot stays on.

use std::time::Duration;

/// How long a client may take to send a request's head (actix closes the connection with
/// 408 after it) and, separately, its body once a handler reads it (the body deadline in
/// the request middleware): a slow or stalled client cannot hold a connection and a
/// handler for longer.
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long actix waits for a client to go away once the answer is out and the
/// connection is to close (a request body left unread closes it; see the middleware).
pub const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest body that actix's own extractors (`web::Bytes`, `web::Json`, `String`) take
/// from a client in any service; handlers that read the payload themselves set their
/// own, smaller limits.
pub const MAX_EXTRACTED_BODY: usize = 64 * 1024;

/// Longest request id taken from a client; longer ones are replaced, so a client cannot
/// make every log line huge.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Paths longer than this are cut in the access log: a client must not be able to
/// write 64 KiB log lines (the longest URI actix accepts).
pub const MAX_LOGGED_PATH_CHARS: usize = 512;

/// Longest a forced probe failure or a fault may last: a forgotten toggle heals itself.
pub const MAX_CONTROL_DURATION: Duration = Duration::from_secs(3600);

/// How long a forced probe failure lasts when the caller gives no `seconds`.
pub const DEFAULT_FORCED_FAILURE: Duration = Duration::from_secs(60);

/// Longest injected delay.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(30);

/// How long injected faults last when the caller gives no `expires_in_seconds`.
pub const DEFAULT_FAULT_EXPIRY: Duration = Duration::from_secs(300);

/// How many probe results `/admin/status` shows.
pub const PROBE_HISTORY_LEN: usize = 20;

/// Connections the kernel queues for a listener before the server accepts them.
pub const LISTEN_BACKLOG: i32 = 1024;
