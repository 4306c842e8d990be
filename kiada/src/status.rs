//! The status message: set from `INITIAL_STATUS_MESSAGE`, replaced by each non-empty
//! line typed on standard input (`kubectl attach -i <pod>`).

use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, RwLock};

use service_kit::clean_line;

/// Longest status message kept.
const MAX_STATUS_CHARS: usize = 500;

/// Longest line read from standard input, in bytes. A longer one is skipped whole, read
/// and dropped a buffer at a time, so that a line without end costs no memory.
const MAX_STDIN_LINE_BYTES: usize = 4 * 1024;

/// One line of standard input, as [`next_line`] read it.
#[derive(Debug, PartialEq)]
enum Line {
    Text(String),
    TooLong,
    NotUtf8,
    End,
}

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
    /// empty one writes a hint to `hints`; one that is too long or not UTF-8 is skipped
    /// with a warning, and reading goes on. Returns when the input ends (no terminal
    /// attached, or the attached session closed it) or fails.
    pub fn follow(&self, mut input: impl BufRead, mut hints: impl Write) {
        let mut buffer = Vec::new();
        loop {
            let line = match next_line(&mut input, &mut buffer) {
                Ok(Line::Text(line)) => line,
                Ok(Line::End) => break,
                Ok(Line::TooLong) => {
                    tracing::warn!(
                        "a line of more than {MAX_STDIN_LINE_BYTES} bytes on standard input \
                         was ignored: the status message is unchanged"
                    );
                    continue;
                }
                Ok(Line::NotUtf8) => {
                    tracing::warn!(
                        "a line on standard input that is not UTF-8 was ignored: the status \
                         message is unchanged"
                    );
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot read standard input: status messages end");
                    break;
                }
            };
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

/// Reads the next line (without its newline) into `buffer`, at most
/// [`MAX_STDIN_LINE_BYTES`] of it; the rest of a longer line is read and dropped.
fn next_line(input: &mut impl BufRead, buffer: &mut Vec<u8>) -> io::Result<Line> {
    buffer.clear();
    let limit = MAX_STDIN_LINE_BYTES as u64 + 1;
    if input.by_ref().take(limit).read_until(b'\n', buffer)? == 0 {
        return Ok(Line::End);
    }
    if buffer.last() == Some(&b'\n') {
        buffer.pop();
    } else if buffer.len() > MAX_STDIN_LINE_BYTES {
        skip_rest_of_line(input)?;
        return Ok(Line::TooLong);
    }
    Ok(match std::str::from_utf8(buffer) {
        Ok(text) => Line::Text(text.to_owned()),
        Err(_) => Line::NotUtf8,
    })
}

fn skip_rest_of_line(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                input.consume(end + 1);
                return Ok(());
            }
            None => {
                let length = available.len();
                input.consume(length);
            }
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
    fn lines_too_long_or_not_utf8_are_skipped_and_reading_goes_on() {
        let status = StatusMessage::new(Some("initial".into()));
        let mut input = Vec::new();
        input.extend(std::iter::repeat_n(b'x', 1024 * 1024));
        input.extend_from_slice(b"\nafter the long line\n");
        status.follow(input.as_slice(), std::io::sink());
        assert_eq!(status.get().as_deref(), Some("after the long line"));

        status.follow(&b"caf\xe9\nafter the bad byte\n"[..], std::io::sink());
        assert_eq!(status.get().as_deref(), Some("after the bad byte"));

        // A long line at the end of input, then nothing: the message stays.
        status.follow(vec![b'y'; 10_000].as_slice(), std::io::sink());
        assert_eq!(status.get().as_deref(), Some("after the bad byte"));
    }

    #[test]
    fn next_line_reads_each_kind_of_line() {
        let longest = "z".repeat(MAX_STDIN_LINE_BYTES);
        let input = format!("{longest}\n{longest}z\nlast");
        let mut input = input.as_bytes();
        let mut buffer = Vec::new();
        let mut lines = Vec::new();
        loop {
            let line = next_line(&mut input, &mut buffer).unwrap();
            let end = line == Line::End;
            lines.push(line);
            if end {
                break;
            }
        }
        assert_eq!(
            lines,
            [
                Line::Text(longest),
                Line::TooLong,
                Line::Text("last".into()),
                Line::End
            ]
        );
        let mut input = &b"\xff\xfe\n"[..];
        assert_eq!(next_line(&mut input, &mut buffer).unwrap(), Line::NotUtf8);
    }

    #[test]
    fn no_input_keeps_the_initial_message() {
        let status = StatusMessage::new(Some("initial".into()));
        status.follow("".as_bytes(), std::io::sink());
        assert_eq!(status.get().as_deref(), Some("initial"));
        assert_eq!(StatusMessage::new(None).get(), None);
    }
}
