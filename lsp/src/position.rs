//! Byte offsets (everything inside bpfbox) to and from LSP positions, in the
//! encoding negotiated with the client: UTF-16 code units by default, UTF-8
//! bytes when the client offers it. Lines end at `\n`; a `\r` before it is
//! not part of the line's text.

use line_index::{LineIndex, TextSize, WideEncoding, WideLineCol};
use tower_lsp_server::ls_types::{Position, Range};

use bpfbox_grammar::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// A document's text with its line index.
pub struct Text {
    pub text: String,
    index: LineIndex,
}

impl Text {
    pub fn new(text: String) -> Text {
        let index = LineIndex::new(&text);
        Text { text, index }
    }

    fn floor_boundary(&self, mut offset: usize) -> usize {
        offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    pub fn position(&self, offset: usize, encoding: Encoding) -> Position {
        let offset = self.floor_boundary(offset);
        let lc = self.index.line_col(TextSize::from(offset as u32));
        match encoding {
            Encoding::Utf8 => Position::new(lc.line, lc.col),
            Encoding::Utf16 => {
                let wide = self
                    .index
                    .to_wide(WideEncoding::Utf16, lc)
                    .unwrap_or(WideLineCol {
                        line: lc.line,
                        col: lc.col,
                    });
                Position::new(wide.line, wide.col)
            }
        }
    }

    pub fn range(&self, span: Span, encoding: Encoding) -> Range {
        Range::new(
            self.position(span.start, encoding),
            self.position(span.end, encoding),
        )
    }

    /// The byte offset of a position; columns past the end of the line (or
    /// inside a character) are clamped to it.
    pub fn offset(&self, position: Position, encoding: Encoding) -> usize {
        let Some(line) = self.index.line(position.line) else {
            return self.text.len();
        };
        let (start, end) = (
            u32::from(line.start()) as usize,
            u32::from(line.end()) as usize,
        );
        let content = self.text[start..end]
            .trim_end_matches('\n')
            .trim_end_matches('\r');
        let mut units = 0usize;
        let target = position.character as usize;
        for (i, c) in content.char_indices() {
            let width = match encoding {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
            };
            // At the character, or inside it (half a surrogate pair): its start.
            if units + width > target {
                return start + i;
            }
            units += width;
        }
        start + content.len()
    }

    pub fn span(&self, range: Range, encoding: Encoding) -> Span {
        Span::new(
            self.offset(range.start, encoding),
            self.offset(range.end, encoding),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibyte_and_crlf() {
        let text = Text::new("é😀x\r\nab\n".to_string());
        // 'x' is at byte 6: after é (2 bytes) and 😀 (4 bytes); UTF-16 column 3.
        assert_eq!(text.position(6, Encoding::Utf16), Position::new(0, 3));
        assert_eq!(text.position(6, Encoding::Utf8), Position::new(0, 6));
        assert_eq!(text.offset(Position::new(0, 3), Encoding::Utf16), 6);
        // Inside the surrogate pair: clamped to the emoji's start.
        assert_eq!(text.offset(Position::new(0, 2), Encoding::Utf16), 2);
        // Past the end of a CRLF line: its end, before the \r.
        assert_eq!(text.offset(Position::new(0, 99), Encoding::Utf16), 7);
        assert_eq!(text.offset(Position::new(1, 1), Encoding::Utf16), 10);
        assert_eq!(
            text.offset(Position::new(9, 0), Encoding::Utf16),
            text.text.len()
        );
        assert_eq!(text.position(1000, Encoding::Utf16), Position::new(2, 0));
    }
}
