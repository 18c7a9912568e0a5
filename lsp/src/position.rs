//! Byte offsets (everything inside bpfbox) to and from LSP positions, in the
//! encoding negotiated with the client: UTF-16 code units by default, UTF-8
//! bytes when the client offers it. Lines end at `\n`, `\r\n` or a lone
//! `\r`, as the protocol says; the line break is not part of the line's
//! text. (The line-index crate knows only `\n`, hence this small index.)

use std::sync::atomic::{AtomicUsize, Ordering};

use tower_lsp_server::ls_types::{Position, Range};

use bpfbox_grammar::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// A document's text with the byte offset where each line starts.
pub struct Text {
    pub text: String,
    line_starts: Vec<usize>,
    /// The line of the last offset asked about: diagnostics come in the
    /// order of the text, so the next one is usually on it or the next
    /// line, found without a binary search over thousands of lines. Only
    /// ever a hint.
    recent_line: AtomicUsize,
}

impl Text {
    pub fn new(text: String) -> Text {
        let bytes = text.as_bytes();
        // About one line per 40 bytes; memchr finds the breaks a word at a
        // time (a 5,000-line policy is indexed on every keystroke).
        let mut line_starts = Vec::with_capacity(bytes.len() / 32 + 1);
        line_starts.push(0);
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            // A `\r` followed by `\n` ends its line at the `\n`.
            if bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n') {
                line_starts.push(i + 1);
            }
        }
        Text {
            text,
            line_starts,
            recent_line: AtomicUsize::new(0),
        }
    }

    /// The line `offset` is on.
    fn line_of(&self, offset: usize) -> usize {
        let starts = &self.line_starts;
        let on = |line: usize| {
            starts.get(line).is_some_and(|&start| start <= offset)
                && starts.get(line + 1).is_none_or(|&next| offset < next)
        };
        let recent = self.recent_line.load(Ordering::Relaxed);
        let line = if on(recent) {
            recent
        } else if on(recent + 1) {
            recent + 1
        } else {
            starts.partition_point(|start| *start <= offset) - 1
        };
        self.recent_line.store(line, Ordering::Relaxed);
        line
    }

    fn floor_boundary(&self, mut offset: usize) -> usize {
        offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// Line `line`'s text, without its line break, and where it starts.
    fn line(&self, line: usize) -> Option<(usize, &str)> {
        let start = *self.line_starts.get(line)?;
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let content = self.text[start..end]
            .strip_suffix('\n')
            .unwrap_or(&self.text[start..end]);
        let content = content.strip_suffix('\r').unwrap_or(content);
        Some((start, content))
    }

    pub fn position(&self, offset: usize, encoding: Encoding) -> Position {
        let offset = self.floor_boundary(offset);
        let line = self.line_of(offset);
        let (start, content) = self.line(line).unwrap_or((0, ""));
        // An offset inside the line break counts as the end of the line.
        let before = &content[..(offset - start).min(content.len())];
        let column = match encoding {
            Encoding::Utf16 if !before.is_ascii() => before.encode_utf16().count(),
            // UTF-8, or ASCII, where a byte is a UTF-16 unit too.
            _ => before.len(),
        };
        Position::new(line as u32, column as u32)
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
        let Some((start, content)) = self.line(position.line as usize) else {
            return self.text.len();
        };
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

    /// The recent line is only a hint: offsets asked about in the text's
    /// order, backwards or jumping about get the lines counted from the
    /// start.
    #[test]
    fn positions_in_any_order() {
        let text = "a\r\nbé\n\n\rcd\nlast".to_string();
        let counted = |offset: usize| {
            let before = &text[..offset];
            let line = before.matches("\r\n").count()
                + before.replace("\r\n", "").matches(['\n', '\r']).count();
            line as u32
        };
        let boundaries: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        let index = Text::new(text.clone());
        let mut order = boundaries.clone();
        order.extend(boundaries.iter().rev());
        order.extend(
            boundaries
                .iter()
                .step_by(3)
                .chain(boundaries.iter().step_by(2)),
        );
        for offset in order {
            // Inside a CRLF, the offset counts as the end of the line.
            let expected = if text[..offset].ends_with('\r') && text[offset..].starts_with('\n') {
                counted(offset - 1)
            } else {
                counted(offset)
            };
            assert_eq!(
                index.position(offset, Encoding::Utf8).line,
                expected,
                "offset {offset}"
            );
        }
    }

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

    #[test]
    fn lone_cr_ends_a_line() {
        // Old Mac line ends, and all three kinds mixed.
        let text = Text::new("ab\rcd\r\nef\ngh".to_string());
        assert_eq!(text.position(3, Encoding::Utf16), Position::new(1, 0));
        assert_eq!(text.position(4, Encoding::Utf16), Position::new(1, 1));
        assert_eq!(text.position(7, Encoding::Utf16), Position::new(2, 0));
        assert_eq!(text.position(10, Encoding::Utf16), Position::new(3, 0));
        // Inside the CRLF: the end of the line.
        assert_eq!(text.position(5, Encoding::Utf16), Position::new(1, 2));
        assert_eq!(text.position(6, Encoding::Utf16), Position::new(1, 2));
        assert_eq!(text.offset(Position::new(1, 1), Encoding::Utf16), 4);
        assert_eq!(text.offset(Position::new(0, 9), Encoding::Utf16), 2);
        assert_eq!(text.offset(Position::new(1, 9), Encoding::Utf16), 5);
        assert_eq!(text.offset(Position::new(3, 2), Encoding::Utf16), 12);
        for offset in 0..=text.text.len() {
            let p = text.position(offset, Encoding::Utf8);
            let back = text.offset(p, Encoding::Utf8);
            assert!(back <= offset, "{offset} -> {p:?} -> {back}");
        }
    }

    #[test]
    fn line_starts_of_every_short_text() {
        // Every text of up to six of these pieces: the index agrees with a
        // walk over the bytes, a line ending at \n, \r\n or a lone \r.
        let pieces = ["a", "\r", "\n", "é"];
        let mut texts = vec![String::new()];
        let mut last = texts.clone();
        for _ in 0..6 {
            last = last
                .iter()
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}")))
                .collect();
            texts.extend(last.iter().cloned());
        }
        for text in texts {
            let bytes = text.as_bytes();
            let mut walked = vec![0];
            for (i, byte) in bytes.iter().enumerate() {
                if *byte == b'\n' || (*byte == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                    walked.push(i + 1);
                }
            }
            assert_eq!(Text::new(text.clone()).line_starts, walked, "{text:?}");
        }
    }
}
