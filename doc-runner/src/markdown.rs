//! The fenced code blocks of a markdown document, each line with its line number.
//!
//! pulldown-cmark does the CommonMark parsing, so that a fence inside an HTML comment,
//! an indented block inside a list item or a longer fence are seen as a reader's
//! renderer sees them.

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

/// One fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencedBlock {
    /// The line of the opening fence (1-based).
    pub fence_line: usize,
    /// The whole info string, e.g. `console retry=30`.
    pub info: String,
    /// The block's content lines, without line ends, each with its line number.
    pub lines: Vec<(usize, String)>,
}

/// Every fenced code block of `source`, in document order.
pub fn fenced_blocks(source: &str) -> Vec<FencedBlock> {
    let lines = LineIndex::new(source);
    let mut blocks = Vec::new();
    let mut current: Option<FencedBlock> = None;
    // Whether the last line of `current` still waits for its line end: a Text event can
    // stop inside a line (pulldown-cmark splits at a CR, for example).
    let mut line_open = false;
    for (event, range) in Parser::new(source).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                current = Some(FencedBlock {
                    fence_line: lines.line_of(range.start),
                    info: info.to_string(),
                    lines: Vec::new(),
                });
                line_open = false;
            }
            Event::Text(text) => {
                if let Some(block) = current.as_mut() {
                    let first_line = lines.line_of(range.start);
                    for (index, piece) in text.split_inclusive('\n').enumerate() {
                        let content = piece.trim_end_matches(['\n', '\r']);
                        match block.lines.last_mut() {
                            Some((_, last)) if line_open && index == 0 => last.push_str(content),
                            _ => block.lines.push((first_line + index, content.to_owned())),
                        }
                        line_open = !piece.ends_with('\n');
                    }
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    blocks
}

/// Maps byte offsets to 1-based line numbers.
struct LineIndex {
    /// The byte offset at which each line starts.
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(source: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Self { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(block: &FencedBlock) -> Vec<(usize, &str)> {
        block.lines.iter().map(|(n, l)| (*n, l.as_str())).collect()
    }

    #[test]
    fn blocks_with_info_and_line_numbers() {
        let doc =
            "# Title\n\nprose\n\n```console retry=3\n$ echo hi\nhi\n```\n\n```yaml\na: 1\n```\n";
        let blocks = fenced_blocks(doc);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].fence_line, 5);
        assert_eq!(blocks[0].info, "console retry=3");
        assert_eq!(numbered(&blocks[0]), vec![(6, "$ echo hi"), (7, "hi")]);
        assert_eq!(blocks[1].info, "yaml");
        assert_eq!(numbered(&blocks[1]), vec![(11, "a: 1")]);
    }

    /// Documents with one block each, and that block's numbered lines.
    #[test]
    fn the_one_block_of_each_document_keeps_its_line_numbers() {
        let cases = [
            (
                "a block in a list item is dedented",
                "- step one\n\n  ```console\n  $ ls\n  x\n  ```\n",
                vec![(4, "$ ls"), (5, "x")],
            ),
            (
                "fences inside HTML comments are not blocks",
                "<!--\n```console\n$ rm -rf /\n```\n-->\n\n```console\n$ true\n```\n",
                vec![(8, "$ true")],
            ),
            (
                "CRLF documents number lines the same",
                "text\r\n\r\n```console\r\n$ echo a\r\na\r\n```\r\n",
                vec![(4, "$ echo a"), (5, "a")],
            ),
            (
                "blank lines inside a block are kept",
                "```console\n$ printf 'a\\n\\nb\\n'\na\n\nb\n```\n",
                vec![(2, "$ printf 'a\\n\\nb\\n'"), (3, "a"), (4, ""), (5, "b")],
            ),
        ];
        for (what, doc, lines) in cases {
            let blocks = fenced_blocks(doc);
            assert_eq!(blocks.len(), 1, "{what}");
            assert_eq!(numbered(&blocks[0]), lines, "{what}");
        }
    }
}
