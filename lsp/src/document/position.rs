//! Exact conversions between LSP positions and offsets in a rope: the one place
//! where the negotiated position encoding (UTF-8, UTF-16 or UTF-32 code units per
//! line) is turned into char and byte offsets and back.
//!
//! Lines break at LF, CR and CRLF, like LSP (ropey is built with `cr_lines` only).
//! Conversions never fail and never panic; out-of-range input is clamped the way
//! the LSP specification asks:
//! - a `character` past the end of its line means the end of the line, before
//!   its line break;
//! - a `line` past the last line means the end of the document;
//! - a UTF-16 position inside a surrogate pair, or a UTF-8 one inside a multi-byte
//!   char, rounds down to the start of that char.

use lsp_types::{Position, PositionEncodingKind};
use ropey::Rope;

/// The unit in which a client counts `Position::character`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PositionEncoding {
    /// Bytes of UTF-8.
    Utf8,
    /// UTF-16 code units: the LSP default, and all VS Code and Neovim < 0.11 speak.
    #[default]
    Utf16,
    /// Unicode scalar values (Rust `char`s).
    Utf32,
}

impl PositionEncoding {
    /// Chooses the encoding from what the client offered in
    /// `general.positionEncodings`: UTF-8 when offered, since that is the text's own
    /// encoding and saves work, otherwise UTF-16, which every client must support
    /// (and the only one VS Code accepts, whatever else it lists).
    pub fn negotiate(client_offered: Option<&[PositionEncodingKind]>) -> PositionEncoding {
        let offers_utf8 = client_offered
            .unwrap_or_default()
            .contains(&PositionEncodingKind::UTF8);
        if offers_utf8 {
            PositionEncoding::Utf8
        } else {
            PositionEncoding::Utf16
        }
    }

    /// How many of this encoding's units `text` is: the `character` distance it
    /// spans on one line. The one place outside the rope conversions below that
    /// counts code units (edits computed on plain strings use it).
    pub fn len_of(self, text: &str) -> usize {
        match self {
            PositionEncoding::Utf8 => text.len(),
            PositionEncoding::Utf16 => text.chars().map(char::len_utf16).sum(),
            PositionEncoding::Utf32 => text.chars().count(),
        }
    }

    /// The value to answer in `ServerCapabilities::position_encoding`.
    pub fn kind(self) -> PositionEncodingKind {
        match self {
            PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
            PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
            PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }
}

impl From<PositionEncoding> for PositionEncodingKind {
    fn from(encoding: PositionEncoding) -> PositionEncodingKind {
        encoding.kind()
    }
}

/// The char offset in `rope` that `position` designates, clamped as the module
/// documentation says.
pub fn position_to_char(rope: &Rope, position: Position, encoding: PositionEncoding) -> usize {
    let line = to_usize(position.line);
    if line >= rope.len_lines() {
        return rope.len_chars();
    }
    let line_start = rope.line_to_char(line);
    let line_end = line_content_end(rope, line);
    let character = to_usize(position.character);
    match encoding {
        PositionEncoding::Utf32 => line_start + character.min(line_end - line_start),
        PositionEncoding::Utf16 => {
            let start = rope.char_to_utf16_cu(line_start);
            let end = rope.char_to_utf16_cu(line_end);
            // Rounds down when the target is the second half of a surrogate pair.
            rope.utf16_cu_to_char(start.saturating_add(character).min(end))
        }
        PositionEncoding::Utf8 => {
            let start = rope.char_to_byte(line_start);
            let end = rope.char_to_byte(line_end);
            // Rounds down when the target is inside a multi-byte char.
            rope.byte_to_char(start.saturating_add(character).min(end))
        }
    }
}

/// The byte offset in `rope` that `position` designates, clamped and rounded down
/// to a char boundary as the module documentation says.
pub fn position_to_byte(rope: &Rope, position: Position, encoding: PositionEncoding) -> usize {
    rope.char_to_byte(position_to_char(rope, position, encoding))
}

/// The position of char offset `char_index` (clamped to the end of the document).
pub fn char_to_position(rope: &Rope, char_index: usize, encoding: PositionEncoding) -> Position {
    let char_index = char_index.min(rope.len_chars());
    let line = rope.char_to_line(char_index);
    let line_start = rope.line_to_char(line);
    let character = match encoding {
        PositionEncoding::Utf32 => char_index - line_start,
        PositionEncoding::Utf16 => {
            rope.char_to_utf16_cu(char_index) - rope.char_to_utf16_cu(line_start)
        }
        PositionEncoding::Utf8 => rope.char_to_byte(char_index) - rope.line_to_byte(line),
    };
    Position::new(to_u32(line), to_u32(character))
}

/// The position of byte offset `byte_index` (clamped to the end of the document,
/// rounded down to the start of the char it falls in).
pub fn byte_to_position(rope: &Rope, byte_index: usize, encoding: PositionEncoding) -> Position {
    let byte_index = byte_index.min(rope.len_bytes());
    char_to_position(rope, rope.byte_to_char(byte_index), encoding)
}

/// The char offset where line `line` (< `len_lines`) ends, before its line break.
fn line_content_end(rope: &Rope, line: usize) -> usize {
    let line_start = rope.line_to_char(line);
    // `line_to_char(len_lines)` is the end of the document: the last line has no
    // line break, so the checks below find none.
    let next_line_start = rope.line_to_char(line + 1);
    if next_line_start == line_start {
        return line_start;
    }
    match rope.char(next_line_start - 1) {
        '\n' if next_line_start - 1 > line_start && rope.char(next_line_start - 2) == '\r' => {
            next_line_start - 2
        }
        '\n' | '\r' => next_line_start - 1,
        _ => next_line_start,
    }
}

fn to_usize(value: u32) -> usize {
    // Lossless on every target agentls builds for (pointers of 32 bits or more).
    usize::try_from(value).unwrap_or(usize::MAX)
}

fn to_u32(value: usize) -> u32 {
    // Only a single line of more than 4 GiB could overflow; it saturates.
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf16, Utf32, Utf8};

    fn pos(line: u32, character: u32) -> Position {
        Position::new(line, character)
    }

    /// Checks `position_to_char` for every encoding: each row is
    /// (position, expected char offset in utf-8, utf-16, utf-32).
    fn check_to_char(text: &str, rows: &[(Position, [usize; 3])]) {
        let rope = Rope::from_str(text);
        for (position, expected) in rows {
            for (encoding, expected) in [Utf8, Utf16, Utf32].into_iter().zip(expected) {
                assert_eq!(
                    position_to_char(&rope, *position, encoding),
                    *expected,
                    "{text:?} {position:?} {encoding:?}"
                );
            }
        }
    }

    /// Checks that every char boundary converts to a position and back to itself.
    fn check_round_trip(text: &str) {
        let rope = Rope::from_str(text);
        for encoding in [Utf8, Utf16, Utf32] {
            for char_index in 0..=rope.len_chars() {
                // Between the CR and the LF of a CRLF is no position in LSP.
                if char_index > 0
                    && char_index < rope.len_chars()
                    && rope.char(char_index - 1) == '\r'
                    && rope.char(char_index) == '\n'
                {
                    continue;
                }
                let position = char_to_position(&rope, char_index, encoding);
                assert_eq!(
                    position_to_char(&rope, position, encoding),
                    char_index,
                    "{text:?} {char_index} {position:?} {encoding:?}"
                );
                let byte_index = rope.char_to_byte(char_index);
                assert_eq!(byte_to_position(&rope, byte_index, encoding), position);
                assert_eq!(position_to_byte(&rope, position, encoding), byte_index);
            }
        }
    }

    #[test]
    fn negotiate_prefers_utf8_and_defaults_to_utf16() {
        use PositionEncodingKind as Kind;
        let cases: [(Option<Vec<Kind>>, PositionEncoding); 7] = [
            (None, Utf16),
            (Some(vec![]), Utf16),
            (Some(vec![Kind::UTF16]), Utf16),
            (Some(vec![Kind::UTF8, Kind::UTF32, Kind::UTF16]), Utf8),
            (Some(vec![Kind::UTF16, Kind::UTF8]), Utf8),
            // Offered utf-32 but not utf-8: utf-16 is the one every client supports.
            (Some(vec![Kind::UTF32]), Utf16),
            (Some(vec![Kind::new("utf-7")]), Utf16),
        ];
        for (offered, expected) in cases {
            assert_eq!(
                PositionEncoding::negotiate(offered.as_deref()),
                expected,
                "{offered:?}"
            );
        }
        assert_eq!(PositionEncodingKind::from(Utf8), Kind::UTF8);
        assert_eq!(Utf16.kind(), Kind::UTF16);
        assert_eq!(Utf32.kind(), Kind::UTF32);
    }

    #[test]
    fn ascii_lines() {
        check_to_char(
            "ab\ncd",
            &[
                (pos(0, 0), [0, 0, 0]),
                (pos(0, 2), [2, 2, 2]),
                (pos(1, 1), [4, 4, 4]),
                (pos(1, 2), [5, 5, 5]),
            ],
        );
        check_round_trip("ab\ncd");
    }

    #[test]
    fn empty_document() {
        check_to_char(
            "",
            &[
                (pos(0, 0), [0, 0, 0]),
                (pos(0, 5), [0, 0, 0]),
                (pos(3, 1), [0, 0, 0]),
            ],
        );
        let rope = Rope::new();
        for encoding in [Utf8, Utf16, Utf32] {
            assert_eq!(char_to_position(&rope, 0, encoding), pos(0, 0));
            assert_eq!(char_to_position(&rope, 10, encoding), pos(0, 0));
            assert_eq!(byte_to_position(&rope, 10, encoding), pos(0, 0));
        }
    }

    #[test]
    fn character_past_line_end_clamps_before_line_break() {
        check_to_char(
            "ab\ncd\n",
            &[
                (pos(0, 3), [2, 2, 2]),
                (pos(0, 99), [2, 2, 2]),
                (pos(1, u32::MAX), [5, 5, 5]),
            ],
        );
    }

    #[test]
    fn line_past_last_line_clamps_to_document_end() {
        check_to_char(
            "ab\ncd",
            &[(pos(2, 0), [5, 5, 5]), (pos(u32::MAX, u32::MAX), [5, 5, 5])],
        );
    }

    #[test]
    fn trailing_newline() {
        // "ab\n" has two lines; the second is empty and is the end of the document.
        check_to_char(
            "ab\n",
            &[
                (pos(0, 9), [2, 2, 2]),
                (pos(1, 0), [3, 3, 3]),
                (pos(1, 4), [3, 3, 3]),
                (pos(2, 0), [3, 3, 3]),
            ],
        );
        let rope = Rope::from_str("ab\n");
        assert_eq!(char_to_position(&rope, 3, Utf16), pos(1, 0));
        check_round_trip("ab\n");
        check_round_trip("\n\n");
    }

    #[test]
    fn emoji_is_two_utf16_units_and_four_utf8_bytes() {
        // "a😀b": 😀 is U+1F600, a surrogate pair in UTF-16.
        check_to_char(
            "a😀b\nc",
            &[
                (pos(0, 1), [1, 1, 1]),
                (pos(0, 2), [1, 1, 2]),
                (pos(0, 3), [1, 2, 3]),
                (pos(0, 4), [1, 3, 3]),
                (pos(0, 5), [2, 3, 3]),
                (pos(0, 6), [3, 3, 3]),
                (pos(1, 1), [5, 5, 5]),
            ],
        );
        let rope = Rope::from_str("a😀b\nc");
        assert_eq!(char_to_position(&rope, 2, Utf16), pos(0, 3));
        assert_eq!(char_to_position(&rope, 2, Utf8), pos(0, 5));
        assert_eq!(char_to_position(&rope, 2, Utf32), pos(0, 2));
        check_round_trip("a😀b\nc");
    }

    #[test]
    fn utf16_inside_surrogate_pair_rounds_down() {
        // 𝕏 (U+1D54F) is a surrogate pair; unit 1 of the line is its low half.
        check_to_char("𝕏𝕏", &[(pos(0, 1), [0, 0, 1]), (pos(0, 3), [0, 1, 2])]);
        let rope = Rope::from_str("𝕏𝕏");
        assert_eq!(position_to_byte(&rope, pos(0, 3), Utf16), 4);
        check_round_trip("𝕏𝕏\n𝕏");
    }

    #[test]
    fn utf8_inside_multibyte_char_rounds_down() {
        // é is two bytes, 中 three.
        check_to_char(
            "é中x",
            &[
                (pos(0, 1), [0, 1, 1]),
                (pos(0, 2), [1, 2, 2]),
                (pos(0, 3), [1, 3, 3]),
                (pos(0, 4), [1, 3, 3]),
                (pos(0, 5), [2, 3, 3]),
                (pos(0, 6), [3, 3, 3]),
            ],
        );
        let rope = Rope::from_str("é中x");
        assert_eq!(byte_to_position(&rope, 1, Utf8), pos(0, 0));
        assert_eq!(byte_to_position(&rope, 4, Utf16), pos(0, 1));
        check_round_trip("é中x");
    }

    #[test]
    fn combining_marks_are_separate_chars() {
        // "e\u{301}" renders as é but is two chars; LSP counts code units, not
        // graphemes, so a position may sit between the base and the mark.
        check_to_char(
            "e\u{301}x",
            &[
                (pos(0, 1), [1, 1, 1]),
                (pos(0, 2), [1, 2, 2]),
                (pos(0, 3), [2, 3, 3]),
            ],
        );
        check_round_trip("e\u{301}x\nn\u{303}\u{304}");
    }

    #[test]
    fn crlf_is_one_line_break() {
        check_to_char(
            "ab\r\ncd\r\n",
            &[
                (pos(0, 2), [2, 2, 2]),
                // Past the end: before the CR, never between CR and LF.
                (pos(0, 3), [2, 2, 2]),
                (pos(1, 0), [4, 4, 4]),
                (pos(1, 9), [6, 6, 6]),
                (pos(2, 0), [8, 8, 8]),
                (pos(3, 0), [8, 8, 8]),
            ],
        );
        let rope = Rope::from_str("ab\r\ncd\r\n");
        assert_eq!(char_to_position(&rope, 4, Utf16), pos(1, 0));
        assert_eq!(char_to_position(&rope, 8, Utf16), pos(2, 0));
        check_round_trip("ab\r\ncd\r\n");
    }

    #[test]
    fn cr_only_is_a_line_break() {
        check_to_char(
            "ab\rcd\r\rx",
            &[
                (pos(0, 5), [2, 2, 2]),
                (pos(1, 1), [4, 4, 4]),
                (pos(2, 0), [6, 6, 6]),
                (pos(2, 3), [6, 6, 6]),
                (pos(3, 1), [8, 8, 8]),
            ],
        );
        check_round_trip("ab\rcd\r\rx");
        check_round_trip("\r\n\r\r\n\n\r");
    }

    #[test]
    fn other_unicode_line_breaks_are_not_line_breaks() {
        // LSP breaks lines at LF, CR and CRLF only; U+2028 and NEL are text.
        check_to_char(
            "a\u{2028}b\u{85}c\nd",
            &[(pos(0, 9), [5, 5, 5]), (pos(1, 0), [6, 6, 6])],
        );
        let rope = Rope::from_str("a\u{2028}b\u{85}c\nd");
        assert_eq!(rope.len_lines(), 2);
    }

    #[test]
    fn offsets_past_the_end_clamp() {
        let rope = Rope::from_str("a😀\nb");
        for encoding in [Utf8, Utf16, Utf32] {
            let end = char_to_position(&rope, rope.len_chars(), encoding);
            assert_eq!(end, pos(1, 1));
            assert_eq!(char_to_position(&rope, usize::MAX, encoding), end);
            assert_eq!(byte_to_position(&rope, usize::MAX, encoding), end);
        }
    }
}
