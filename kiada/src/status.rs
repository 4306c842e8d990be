//! The status message: set from `INITIAL_STATUS_MESSAGE`, replaced by each non-empty
//! line typed on standard input (`kubectl attach -i <pod>`).

use std::io::{BufRead, Write};
use std::sync::{Arc, RwLock};

use service_kit::clean_line;

/// Longest status message kept.
const MAX_STATUS_CHARS: usize = 500;

/// The shared status message; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StatusMessage(Arc<RwLock<Option<String>>>);

impl StatusMessage {
    pub fn new(initial: Option<String>) -> Self {
        let status = Self::default();
        if let Some(message) = initial {
            status.set(&message);
        }
        status
    }

    pub fn get(&self) -> Option<String> {
        // A poisoned lock still holds a valid Option<String>.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the message (an empty one clears it).
    pub fn set(&self, message: &str) {
        let message = clean_line(message, MAX_STATUS_CHARS);
        *self.0.write().unwrap_or_else(|e| e.into_inner()) =
            (!message.is_empty()).then_some(message);
    }

    /// Reads lines until end of input: each non-empty one becomes the status message; an
    /// empty one writes a hint to `hints`. Returns when the input ends (no terminal
    /// attached, or the attached session closed it).
    pub fn follow(&self, input: impl BufRead, mut hints: impl Write) {
        for line in input.lines() {
            let Ok(line) = line else { break };
            let line = line.trim();
            if line.is_empty() {
                let _ = writeln!(
                    hints,
                    "Type a message and press Enter to set the status message shown on every page."
                );
                continue;
            }
            self.set(line);
            tracing::info!(status_message = %self.get().unwrap_or_default(), "status message changed");
        }
    }

    /// Follows the process's standard input on its own thread (a blocking read must not
    /// hold up the async runtime or its shutdown).
    pub fn follow_stdin(&self) {
        let status = self.clone();
        let spawned = std::thread::Builder::new()
            .name("kiada-stdin".into())
            .spawn(move || status.follow(std::io::stdin().lock(), std::io::stderr()));
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot read status messages from standard input");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_replace_the_message_and_empty_lines_print_a_hint() {
        let status = StatusMessage::new(Some("initial".into()));
        let mut hints = Vec::new();
        status.follow("first\n\n  second  \n".as_bytes(), &mut hints);
        assert_eq!(status.get().as_deref(), Some("second"));
        let hints = String::from_utf8(hints).unwrap();
        assert_eq!(hints.lines().count(), 1, "{hints}");
        assert!(hints.contains("status message"), "{hints}");
    }

    #[test]
    fn no_input_keeps_the_initial_message() {
        let status = StatusMessage::new(Some("initial".into()));
        status.follow("".as_bytes(), std::io::sink());
        assert_eq!(status.get().as_deref(), Some("initial"));
        assert_eq!(StatusMessage::new(None).get(), None);
    }
}
