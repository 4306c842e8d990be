//! The info string of a fenced block: whether it is a `console` block, and how its
//! commands run (`retry=N`, `background`).

use std::time::Duration;

use thiserror::Error;

/// How the commands of a console block run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Once, in the persistent shell.
    Once,
    /// Re-run until the output matches, for at most this long (eventual states).
    Retry(Duration),
    /// Started beside the shell and left running until the run ends.
    Background,
}

/// A wrong word in a console block's info string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OptionError {
    #[error("unknown option `{0}` after `console` (known: retry=SECONDS, background)")]
    Unknown(String),
    #[error("`{0}`: retry takes a whole number of seconds above 0, e.g. retry=60")]
    BadRetry(String),
    #[error(
        "`retry` and `background` cannot be combined: a background block already waits for its output"
    )]
    RetryWithBackground,
}

/// The mode of a block with this info string, or `None` when it is not a console block
/// (```sh, ```yaml, ```text... are shown, never run).
pub fn console_mode(info: &str) -> Result<Option<Mode>, OptionError> {
    let mut words = info.split_whitespace();
    if words.next() != Some("console") {
        return Ok(None);
    }
    let mut retry = None;
    let mut background = false;
    for word in words {
        if word == "background" {
            background = true;
        } else if let Some(seconds) = word.strip_prefix("retry=") {
            match seconds.parse::<u64>() {
                Ok(seconds) if seconds > 0 => retry = Some(Duration::from_secs(seconds)),
                _ => return Err(OptionError::BadRetry(word.to_owned())),
            }
        } else {
            return Err(OptionError::Unknown(word.to_owned()));
        }
    }
    match (retry, background) {
        (Some(_), true) => Err(OptionError::RetryWithBackground),
        (Some(window), false) => Ok(Some(Mode::Retry(window))),
        (None, true) => Ok(Some(Mode::Background)),
        (None, false) => Ok(Some(Mode::Once)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_blocks_run() {
        for info in ["sh", "yaml", "text", "", "consoles", "bash console"] {
            assert_eq!(console_mode(info), Ok(None), "{info}");
        }
        assert_eq!(console_mode("console"), Ok(Some(Mode::Once)));
    }

    #[test]
    fn retry_and_background() {
        assert_eq!(
            console_mode("console retry=90"),
            Ok(Some(Mode::Retry(Duration::from_secs(90))))
        );
        assert_eq!(
            console_mode("console  background"),
            Ok(Some(Mode::Background))
        );
    }

    #[test]
    fn wrong_words_are_errors() {
        assert_eq!(
            console_mode("console retry"),
            Err(OptionError::Unknown("retry".into()))
        );
        assert_eq!(
            console_mode("console retry=0"),
            Err(OptionError::BadRetry("retry=0".into()))
        );
        assert_eq!(
            console_mode("console retry=1m"),
            Err(OptionError::BadRetry("retry=1m".into()))
        );
        assert_eq!(
            console_mode("console retry=5 background"),
            Err(OptionError::RetryWithBackground)
        );
    }
}
