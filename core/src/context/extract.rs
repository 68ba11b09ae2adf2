//! Reading one file's symbols: parse it, run its language's tags query over the
//! whole tree, harvest. The entry points the index, the cache and selection call.
//!
//! We run `tree_sitter::Query` ourselves instead of the `tree-sitter-tags` crate:
//! its doc-comment regexes and local-scope tracking cost time on every file, and
//! we need more per definition than it gives (the container, the signature, the
//! doc comment's line range, a short summary for prompts).

use std::path::Path;

use tree_sitter::{Parser, Query, QueryCursor, Tree};

use super::harvest::{finish, harvest, Harvest};
use super::lines::line_starts;
use super::queries::tags_query;
use super::summary::Detail;
use super::symbol::FileSymbols;
use crate::language::Language;

impl FileSymbols {
    /// Parse `text` and read its symbols. `None` when the language has no tags
    /// query (Bash).
    pub fn extract(path: &Path, language: Language, text: &str) -> Option<FileSymbols> {
        let mut extractor = Extractor::new(language)?;
        extractor.extract(path, text)
    }

    /// Read the symbols of `text` from a tree already parsed from it.
    pub fn from_tree(
        path: &Path,
        language: Language,
        text: &str,
        tree: &Tree,
    ) -> Option<FileSymbols> {
        FileSymbols::from_tree_in(path, language, text, tree, 0..usize::MAX)
    }

    /// The symbols of `tree` in the bytes `keys` only: the definitions whose
    /// item starts there and the references there (for a caller about one
    /// region of a large file: the code around a completion).
    pub fn from_tree_in(
        path: &Path,
        language: Language,
        text: &str,
        tree: &Tree,
        keys: std::ops::Range<usize>,
    ) -> Option<FileSymbols> {
        FileSymbols::read_from_tree(path, language, text, tree, keys, Detail::Full)
    }

    /// [`FileSymbols::from_tree_in`] with the text copied as `detail` says.
    pub(crate) fn read_from_tree(
        path: &Path,
        language: Language,
        text: &str,
        tree: &Tree,
        keys: std::ops::Range<usize>,
        detail: Detail,
    ) -> Option<FileSymbols> {
        let query = tags_query(language)?;
        let mut cursor = QueryCursor::new();
        Some(read_symbols(
            path,
            language,
            text,
            tree,
            query,
            &mut cursor,
            keys,
            detail,
        ))
    }
}

/// A parser and a query cursor for one language, reused from file to file (an
/// index build holds one per worker thread).
pub struct Extractor {
    language: Language,
    parser: Parser,
    cursor: QueryCursor,
    query: &'static Query,
}

impl Extractor {
    /// `None` for a language without a tags query.
    pub fn new(language: Language) -> Option<Extractor> {
        let query = tags_query(language)?;
        let mut parser = Parser::new();
        // The grammars are linked in and of the ABI range tree-sitter accepts (a
        // test parses with every one); a failure here is reported as no symbols.
        parser.set_language(&language.tree_sitter_language()).ok()?;
        Some(Extractor {
            language,
            parser,
            cursor: QueryCursor::new(),
            query,
        })
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// Parse `text` and read its symbols; `None` if tree-sitter gave up.
    pub fn extract(&mut self, path: &Path, text: &str) -> Option<FileSymbols> {
        self.extract_with(path, text, Detail::Full)
    }

    /// [`Extractor::extract`] with the text copied as `detail` says.
    pub(crate) fn extract_with(
        &mut self,
        path: &Path,
        text: &str,
        detail: Detail,
    ) -> Option<FileSymbols> {
        let tree = self.parser.parse(text, None)?;
        Some(read_symbols(
            path,
            self.language,
            text,
            &tree,
            self.query,
            &mut self.cursor,
            0..usize::MAX,
            detail,
        ))
    }

    /// Parse `text` (used by selection, which needs the tree as well).
    pub fn parse(&mut self, text: &str) -> Option<Tree> {
        self.parser.parse(text, None)
    }
}

/// The symbols of a file (in `keys`, all of it for `0..usize::MAX`): every
/// match of the query, harvested and nested.
#[allow(clippy::too_many_arguments)] // The pieces of one extraction, all needed.
fn read_symbols(
    path: &Path,
    language: Language,
    text: &str,
    tree: &Tree,
    query: &Query,
    cursor: &mut QueryCursor,
    keys: std::ops::Range<usize>,
    detail: Detail,
) -> FileSymbols {
    let line_starts = line_starts(text);
    let mut found = Harvest::new(detail);
    harvest(
        language,
        text,
        &line_starts,
        tree,
        query,
        cursor,
        keys,
        &mut found,
    );
    finish(path, language, text, tree, line_starts, found)
}
