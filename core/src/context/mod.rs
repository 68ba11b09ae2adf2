//! Context selection: the code a task needs, picked from the syntax tree and a
//! workspace symbol index before the model asks for it.
//!
//! - what one file defines and references, read with tree-sitter tags queries:
//!   `symbol` (the data), `queries` (the query of each language), `extract`
//!   (parse and query a file), `harvest` (query matches to nested symbols),
//!   `summary` (a definition's signature, doc and summary), with `lines` and
//!   `node` for the line and syntax-node arithmetic they share;
//! - `incremental`: an edited buffer's symbols re-read from its previous version,
//!   querying only the items the edit touched;
//! - [`index`]: those symbols for every file of the workspace, kept current file by
//!   file, shared between the server and the agent ([`SharedIndex`]), with
//!   every name held once and numbered (`names`), each file's definitions and
//!   imports held compactly (`held`) and its references kept as `uses` (name
//!   numbers and lines);
//! - `cache`: what a build read from disk, kept between sessions
//!   ([`cache_path`]) so that the next build parses only the files that changed;
//! - [`outline`]: a file's signatures, nested by container;
//! - [`select`]: the pure function that picks and packs context for a cursor into
//!   a token budget.
//!
//! Conventions: lines count from 1 and ranges of lines are inclusive
//! ([`LineRange`]), as shown to the model; positions in a text are byte offsets.
//! Nothing here knows LSP: the server converts its UTF-16 positions first.
//!
//! Token counts are estimates: a quarter of the bytes, rounded up. Code tokenizes
//! at 3 to 4.5 bytes a token with the OpenAI and Anthropic tokenizers (indentation
//! runs merge into single tokens), so the estimate errs a little on the generous
//! side for indented code and is cheap enough to run on every piece.

mod cache;
mod extract;
mod harvest;
mod held;
mod incremental;
pub mod index;
mod lines;
mod names;
mod node;
pub mod outline;
mod queries;
pub mod select;
mod summary;
mod symbol;
mod uses;

pub use cache::cache_path;
pub use extract::Extractor;
pub use index::{
    build, source_files, BuildError, BuildOptions, BuildProgress, BuildStats, DefinitionHit,
    DefinitionRef, Origin, ReferenceHit, SharedIndex, SymbolIndex,
};
pub use outline::{outline, render_outline, OutlineEntry};
pub use select::{
    select, ContextPiece, Diagnostic, OpenText, PieceKind, Selection, SelectionRequest, Severity,
};
pub(crate) use summary::summary_in;
pub use symbol::{Definition, FileSymbols, Import, Reference, ReferenceKind, SymbolKind};

use std::fmt;

use serde::{Deserialize, Serialize};

/// Lines `start..=end`, counting from 1.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct LineRange {
    pub start: u32,
    pub end: u32,
}

impl LineRange {
    /// `start..=end`; an `end` before `start` is taken as `start`.
    pub fn new(start: u32, end: u32) -> LineRange {
        LineRange {
            start,
            end: end.max(start),
        }
    }

    /// How many lines.
    pub fn len(self) -> u32 {
        self.end - self.start + 1
    }

    /// Never true: a range holds at least one line (for clippy's sake).
    pub fn is_empty(self) -> bool {
        false
    }

    pub fn contains(self, line: u32) -> bool {
        self.start <= line && line <= self.end
    }

    pub fn overlaps(self, other: LineRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// Whether `other` lies wholly inside this range.
    pub fn covers(self, other: LineRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

impl fmt::Display for LineRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(formatter, "{}", self.start)
        } else {
            write!(formatter, "{}-{}", self.start, self.end)
        }
    }
}

/// The estimated number of tokens of `text`: a quarter of its bytes, rounded up.
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text.len().div_ceil(4)).unwrap_or(u32::MAX)
}

/// The byte offset of 1-based `line` and byte `column` in `text`, clamped to
/// the text (a column past the line's end gives the line's end).
pub fn byte_offset(text: &str, line: u32, column: u32) -> usize {
    let mut start = 0;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(at) => start += at + 1,
            None => return text.len(),
        }
    }
    let line_end = text[start..].find('\n').map_or(text.len(), |at| start + at);
    let mut offset = (start + column as usize).min(line_end);
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod cache_tests;
#[cfg(test)]
mod incremental_tests;
#[cfg(test)]
mod tests;
