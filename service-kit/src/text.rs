//! Making text from backends and clients safe to print on a terminal or echo in a log
//! or an error: control characters (escape sequences, carriage returns, newlines where
//! one line is expected) become a visible replacement character, and length is capped.

const REPLACEMENT: char = '\u{FFFD}';

/// Whether no byte of `text` can start a control character other than those in `kept`:
/// bytes below 0x20, DEL, and 0xC2, the lead byte of U+0080 to U+00BF (the C1 controls
/// and a few printable characters, which take the slow path). A page's every tip, question
/// and answer is cleaned, and nearly all are plain: this scan is several times cheaper
/// than mapping each character into a new string.
fn is_plain(text: &str, kept: &[u8]) -> bool {
    text.bytes()
        .all(|b| (b >= 0x20 || kept.contains(&b)) && b != 0x7f && b != 0xc2)
}

/// One line of at most `max_chars` characters, with control characters replaced.
pub fn clean_line(text: &str, max_chars: usize) -> String {
    let trimmed = text.trim();
    // Its length in bytes bounds its length in characters.
    if trimmed.len() <= max_chars && is_plain(trimmed, &[]) {
        return trimmed.to_owned();
    }
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
    let trimmed = text.trim_end();
    if is_plain(trimmed, b"\n\t") {
        return trimmed.to_owned();
    }
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
    fn the_plain_path_and_the_character_path_agree() {
        for text in [
            "plain text",
            "  padded \t",
            "caf\u{e9} \u{a9} \u{85}next \u{9f}",
            "tab\tand\nnewline\r\n",
            "trailing\n\n  ",
            "\x7f",
            "",
        ] {
            let by_char: String = text
                .trim()
                .chars()
                .map(|c| if c.is_control() { REPLACEMENT } else { c })
                .collect();
            assert_eq!(clean_line(text, 100), by_char, "{text:?}");
            let by_char: String = text
                .replace("\r\n", "\n")
                .chars()
                .map(|c| {
                    if c.is_control() && c != '\n' && c != '\t' {
                        REPLACEMENT
                    } else {
                        c
                    }
                })
                .collect();
            assert_eq!(clean_block(text), by_char.trim_end(), "{text:?}");
        }
        assert_eq!(clean_line("caf\u{e9}s", 4), "caf…");
    }

    #[test]
    fn long_lines_are_cut() {
        assert_eq!(clean_line("abcdef", 4), "abc…");
        assert_eq!(clean_line("abcd", 4), "abcd");
    }
}
