//! Making text from backends and clients safe to print on a terminal or echo in a log
//! or an error: control characters (escape sequences, carriage returns, newlines where
//! one line is expected) become a visible replacement character, and length is capped.

const REPLACEMENT: char = '\u{FFFD}';

/// One line of at most `max_chars` characters, with control characters replaced.
pub fn clean_line(text: &str, max_chars: usize) -> String {
    let mut out: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { REPLACEMENT } else { c })
        .take(max_chars + 1)
        .collect();
    if out.chars().count() > max_chars {
        out = out.chars().take(max_chars.saturating_sub(1)).collect();
        out.push('…');
    }
    out
}

/// Several lines (newlines and tabs kept), with other control characters replaced and
/// trailing whitespace removed.
pub fn clean_block(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                REPLACEMENT
            } else {
                c
            }
        })
        .collect::<String>()
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(clean_line("a\x1b[31mb\nc", 100), "a\u{FFFD}[31mb\u{FFFD}c");
        assert_eq!(clean_block("one\r\ntwo\x07\n\n"), "one\ntwo\u{FFFD}");
    }

    #[test]
    fn long_lines_are_cut() {
        assert_eq!(clean_line("abcdef", 4), "abc…");
        assert_eq!(clean_line("abcd", 4), "abcd");
    }
}
