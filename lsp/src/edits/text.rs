//! The smallest `TextEdit`s that turn one text into another: a line diff finds
//! the changed regions, a diff of words inside each region narrows them, so a
//! one-word change sends one small edit rather than its line or the file.
//!
//! Edits never start or end between the CR and the LF of a CRLF (no LSP position
//! is there) nor inside a char, so line endings come out exactly as they were.

use std::ops::Range;

use lsp_types::{Position, Range as LspRange, TextEdit};

use super::lines::{self, Lines};
use super::to_u32;
use crate::document::PositionEncoding;

/// Regions larger than this (in tokens, both sides together) are sent as one
/// edit per changed line group: refining them costs more than it saves.
const MAX_REFINED_TOKENS: usize = 20_000;

/// The edits turning `old` into `new`, with positions in `old` counted in
/// `encoding`, sorted and non-overlapping as LSP requires of a `TextEdit[]`.
pub fn text_edits(old: &str, new: &str, encoding: PositionEncoding) -> Vec<TextEdit> {
    let old_lines = Lines::new(old);
    replacements(&old_lines, new)
        .into_iter()
        .map(|replacement| TextEdit {
            range: LspRange {
                start: position(&old_lines, replacement.old.start, encoding),
                end: position(&old_lines, replacement.old.end, encoding),
            },
            new_text: new.get(replacement.new).unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Bytes `old` of the old text replaced by bytes `new` of the new text.
#[derive(Debug)]
struct Replacement {
    old: Range<usize>,
    new: Range<usize>,
}

fn replacements(old_lines: &Lines<'_>, new: &str) -> Vec<Replacement> {
    let new_lines = Lines::new(new);
    let mut replacements = Vec::new();
    for hunk in lines::hunks(old_lines.as_slice(), new_lines.as_slice()) {
        let old_start = old_lines.offset(hunk.old.start);
        let new_start = new_lines.offset(hunk.new.start);
        let old_region = old_lines.slice(hunk.old.clone());
        let new_region = new_lines.slice(hunk.new.clone());
        refine(
            old_region,
            new_region,
            old_start,
            new_start,
            &mut replacements,
        );
    }
    replacements
}

/// Narrows one changed line region to the words that differ.
fn refine(
    old_region: &str,
    new_region: &str,
    old_start: usize,
    new_start: usize,
    replacements: &mut Vec<Replacement>,
) {
    let whole = Replacement {
        old: old_start..old_start + old_region.len(),
        new: new_start..new_start + new_region.len(),
    };
    if old_region.is_empty() || new_region.is_empty() {
        replacements.push(whole);
        return;
    }
    let old_tokens = Tokens::new(old_region);
    let new_tokens = Tokens::new(new_region);
    if old_tokens.len() + new_tokens.len() > MAX_REFINED_TOKENS {
        replacements.push(whole);
        return;
    }
    for hunk in lines::hunks(&old_tokens.tokens, &new_tokens.tokens) {
        replacements.push(Replacement {
            old: old_start + old_tokens.offset(hunk.old.start)
                ..old_start + old_tokens.offset(hunk.old.end),
            new: new_start + new_tokens.offset(hunk.new.start)
                ..new_start + new_tokens.offset(hunk.new.end),
        });
    }
}

/// A text cut into words, runs of blanks, line breaks (a CRLF is one) and single
/// other chars; combining marks and emoji joiners stay with the char before them.
struct Tokens<'a> {
    tokens: Vec<&'a str>,
    /// Where each token starts, then the text's length.
    offsets: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Blank,
    LineBreak,
    Other,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        let mut tokens = Vec::new();
        let mut offsets = Vec::new();
        let mut chars = text.char_indices().peekable();
        while let Some((start, first)) = chars.next() {
            let class = class_of(first);
            let mut end = start + first.len_utf8();
            let mut last = first;
            while let Some(&(index, next)) = chars.peek() {
                let joins = if class == Class::LineBreak {
                    first == '\r' && next == '\n' && end - start == 1
                } else {
                    is_extending(next)
                        || last == ZERO_WIDTH_JOINER
                        || (matches!(class, Class::Word | Class::Blank) && class_of(next) == class)
                };
                if !joins {
                    break;
                }
                end = index + next.len_utf8();
                last = next;
                chars.next();
            }
            tokens.push(&text[start..end]);
            offsets.push(start);
        }
        offsets.push(text.len());
        Tokens { tokens, offsets }
    }

    fn len(&self) -> usize {
        self.tokens.len()
    }

    fn offset(&self, token: usize) -> usize {
        self.offsets
            .get(token)
            .or(self.offsets.last())
            .copied()
            .unwrap_or(0)
    }
}

const ZERO_WIDTH_JOINER: char = '\u{200D}';

fn class_of(char: char) -> Class {
    match char {
        '\n' | '\r' => Class::LineBreak,
        _ if char.is_whitespace() => Class::Blank,
        _ if char.is_alphanumeric() || char == '_' => Class::Word,
        _ => Class::Other,
    }
}

/// Chars that only modify the one before them: splitting there would leave a
/// bare accent or half an emoji in an edit's text. Any split is still exact;
/// this keeps edits readable.
fn is_extending(char: char) -> bool {
    matches!(char,
        '\u{0300}'..='\u{036F}'   // combining diacritical marks
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{200C}'..='\u{200D}' // zero-width (non-)joiner
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{1F3FB}'..='\u{1F3FF}' // skin tones
        | '\u{E0020}'..='\u{E007F}' // tag sequences (flags)
        | '\u{E0100}'..='\u{E01EF}')
}

/// The LSP position of byte `offset` of the old text.
fn position(lines: &Lines<'_>, offset: usize, encoding: PositionEncoding) -> Position {
    let (line, line_start) = lines.line_of(offset);
    let character = encoding.len_of(lines.bytes(line_start..offset));
    Position::new(to_u32(line), to_u32(character))
}
