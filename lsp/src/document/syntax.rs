//! Keeps each document's tree-sitter tree in step with its rope. A change only
//! describes its edits to the last parsed tree (`Tree::edit`, microseconds); the
//! reparse from the rope's chunks happens when a reader first asks a version for
//! its tree, or in the store's background step, whichever comes first.
//!
//! Tree-sitter's `Point` counts rows at LF only, while the rope (like LSP) also
//! breaks lines at a lone CR. The two agree unless a document holds a lone CR, so a
//! flag per document keeps the fast path (rope line lookups) for everything else
//! and counts LFs by scanning only for such documents.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use agentls_core::language::Language;
use ropey::Rope;
use tree_sitter::{InputEdit, Parser, Point, Tree};

/// Documents larger than this many bytes of UTF-8 have no syntax tree and are
/// handled as plain text (a 20 MB document opens and edits like any text file).
///
/// Tree-sitter's reparse is not constant: it walks the old tree's top-level
/// nodes, and grammars whose comments are non-terminal extras (Rust's
/// `line_comment`) defeat the reuse of whole repetitions, so it grows with the
/// file. Measured on a loaded 2-core machine with commented Rust: at 1 MiB a
/// one-char edit reparses in about 50 ms, at 2 MiB 110 ms; the first parse of
/// 1 MiB takes about 0.2 s, the tree 25 to 45 MB. Reparses run off the
/// notification path, but a reader asking for a tree waits for one, so 1 MiB
/// bounds that wait at tens of milliseconds while covering nearly all
/// hand-written sources; the larger ones are mostly generated code, bundles and
/// data, which the agent reads as text.
pub const MAX_TREE_BYTES: usize = 1024 * 1024;

/// The syntax of one document version: the tree it will have, parsed at most
/// once while the tree budget keeps it (see `budget`), on first request. Clones
/// share the slot (they are the same version).
#[derive(Clone)]
pub(crate) struct Syntax {
    /// The grammar, `None` when this version has no tree (plain text or over
    /// `MAX_TREE_BYTES`).
    language: Option<Language>,
    slot: Arc<TreeSlot>,
}

/// Where a version's tree is. Locked for a parse (concurrent readers of the
/// same version wait for that one parse), otherwise only to clone or drop a tree.
pub(crate) type TreeSlot = Mutex<Slot>;

pub(crate) enum Slot {
    /// No tree, ever: plain text, over `MAX_TREE_BYTES`, or no grammar.
    None,
    /// Not parsed yet. The tree, if any, is the last one parsed for an earlier
    /// version, edited to this version's text, for the reparse to reuse; `None`
    /// means a parse from scratch (a new document, or one whose tree the budget
    /// dropped).
    Pending(Option<Tree>),
    Parsed(Tree),
}

/// How far a version's tree is, for `Debug` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyntaxState {
    /// No tree: plain text or over `MAX_TREE_BYTES`.
    None,
    /// A tree on request; not parsed yet (or dropped by the budget).
    Pending,
    Parsed,
}

impl Syntax {
    /// The syntax of a version, `text_bytes` long, in `language` whose tree comes from
    /// `edited` (the previous tree with this version's edits applied) or, when
    /// that is `None`, from scratch.
    pub(crate) fn new(
        language: Option<Language>,
        text_bytes: usize,
        edited: Option<Tree>,
    ) -> Syntax {
        // The slot lives as long as the document's version: in the
        // long-lived pool. The tree in it is made elsewhere.
        agentls_core::long_lived::scope(|| match language {
            Some(language) if text_bytes <= MAX_TREE_BYTES => Syntax {
                language: Some(language),
                slot: Arc::new(Mutex::new(Slot::Pending(edited))),
            },
            _ => Syntax {
                language: None,
                slot: Arc::new(Mutex::new(Slot::None)),
            },
        })
    }

    /// Whether this version gets a tree; the next version's edits are described
    /// to tree-sitter only then.
    pub(crate) fn has_tree(&self) -> bool {
        self.language.is_some()
    }

    /// The slot, for the budget to drop its tree.
    pub(crate) fn slot(&self) -> &Arc<TreeSlot> {
        &self.slot
    }

    /// The tree of `text`, which must be the text this syntax was made for, and
    /// whether this call parsed it. Parses on the first call (concurrent callers
    /// wait for that one parse) and again after the budget dropped the tree.
    pub(crate) fn tree(&self, text: &Rope) -> (Option<Tree>, bool) {
        let mut slot = lock(&self.slot);
        match &mut *slot {
            Slot::None => (None, false),
            Slot::Parsed(tree) => (Some(tree.clone()), false),
            Slot::Pending(edited) => {
                let parsed = self
                    .language
                    .and_then(|language| parse(language, text, edited.as_ref()));
                *slot = match &parsed {
                    Some(tree) => Slot::Parsed(tree.clone()),
                    None => Slot::None,
                };
                let parsed_now = parsed.is_some();
                (parsed, parsed_now)
            }
        }
    }

    /// Whether this version has a tree to come but holds nothing of one: a
    /// document only opened, never edited nor asked for its tree, or one whose
    /// tree the budget dropped. Such a document is not in use.
    pub(crate) fn is_cold(&self) -> bool {
        matches!(&*lock(&self.slot), Slot::Pending(None))
    }

    /// The grammar this version's tree is parsed with, `None` when it has no tree.
    pub(crate) fn language(&self) -> Option<Language> {
        self.language
    }

    /// The tree the next version edits: this version's own tree if parsed (the
    /// reparse then has fewer changes to look at), else the edited one.
    pub(crate) fn tree_to_edit(&self) -> Option<Tree> {
        match &*lock(&self.slot) {
            Slot::Parsed(tree) | Slot::Pending(Some(tree)) => Some(tree.clone()),
            Slot::Pending(None) | Slot::None => None,
        }
    }

    pub(crate) fn state(&self) -> SyntaxState {
        match &*lock(&self.slot) {
            Slot::None => SyntaxState::None,
            Slot::Parsed(_) => SyntaxState::Parsed,
            Slot::Pending(_) => SyntaxState::Pending,
        }
    }
}

/// Drops the tree a slot holds, leaving it to be parsed from scratch on the
/// next request. `false` when the slot is busy (being parsed): left alone.
pub(crate) fn drop_tree(slot: &TreeSlot) -> bool {
    let Ok(mut slot) = slot.try_lock() else {
        return false;
    };
    let dropped = match &mut *slot {
        Slot::Parsed(_) | Slot::Pending(Some(_)) => {
            std::mem::replace(&mut *slot, Slot::Pending(None))
        }
        Slot::Pending(None) | Slot::None => return true,
    };
    drop(slot);
    drop(dropped);
    true
}

// Nothing holding a slot's lock can panic midway through changing it (a panic
// in tree-sitter's parse leaves the previous state).
fn lock(slot: &TreeSlot) -> std::sync::MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Idle parsers, reused so that each parse avoids reallocating their state.
/// Parsers hold mutable state, so each caller takes one out for its parse: the
/// pool holds at most as many as ever parsed at once (one per reader thread
/// that parsed concurrently, plus the background step). Emptied once nothing
/// has parsed for a while (`drop_parsers_idle_for`).
static IDLE_PARSERS: Mutex<Vec<(Language, Parser)>> = Mutex::new(Vec::new());

/// When a parse last ended, in milliseconds since `PARSE_EPOCH`.
static LAST_PARSE_MS: AtomicU64 = AtomicU64::new(0);
static PARSE_EPOCH: OnceLock<Instant> = OnceLock::new();

fn parse_clock_ms() -> u64 {
    let epoch = PARSE_EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Drops the idle parsers when no parse has ended for `idle`; true when any
/// went. A parser keeps the stack it grew in its largest parse, allocated
/// amid the trees of that moment: kept past the work, those blocks pin pages
/// the trees freed (on the memory bench a minute after the edits, 18 parsers
/// held some 4 MiB of pages that nothing else used). A parser is made again
/// in microseconds.
pub(crate) fn drop_parsers_idle_for(idle: Duration) -> bool {
    let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
    if parse_clock_ms().saturating_sub(LAST_PARSE_MS.load(Ordering::Relaxed)) < idle_ms {
        return false;
    }
    let dropped = std::mem::take(&mut *IDLE_PARSERS.lock().unwrap_or_else(PoisonError::into_inner));
    !dropped.is_empty()
}

/// Parses `text` as `language`, reusing `old_tree` when it has been edited to
/// match `text`. `None` when the grammar cannot be loaded (an ABI mismatch,
/// logged) or the document is too large for a tree.
pub(crate) fn parse(language: Language, text: &Rope, old_tree: Option<&Tree>) -> Option<Tree> {
    if text.len_bytes() > MAX_TREE_BYTES {
        return None;
    }
    let idle = {
        // A panic elsewhere cannot leave the list half-changed.
        let mut idle = IDLE_PARSERS.lock().unwrap_or_else(PoisonError::into_inner);
        idle.iter()
            .position(|(idle_language, _)| *idle_language == language)
            .map(|index| idle.swap_remove(index).1)
    };
    let mut parser = match idle {
        Some(parser) => parser,
        None => {
            let mut parser = Parser::new();
            if let Err(error) = parser.set_language(&language.tree_sitter_language()) {
                tracing::error!(%language, %error, "cannot load tree-sitter grammar");
                return None;
            }
            parser
        }
    };
    // No timeout or cancellation flag is set, so the parse always returns a tree.
    let tree =
        parser.parse_with_options(&mut |byte, _point| chunk_from(text, byte), old_tree, None);
    LAST_PARSE_MS.store(parse_clock_ms(), Ordering::Relaxed);
    IDLE_PARSERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((language, parser));
    tree
}

/// The rope's bytes from `byte` to the end of the chunk holding it; empty at the end.
fn chunk_from(text: &Rope, byte: usize) -> &[u8] {
    if byte >= text.len_bytes() {
        return &[];
    }
    let (chunk, chunk_start, _, _) = text.chunk_at_byte(byte);
    // Tree-sitter asks for offsets where its previous read ended or where a token
    // starts, both char boundaries; `get` keeps a stray offset from panicking.
    chunk
        .as_bytes()
        .get(byte - chunk_start..)
        .unwrap_or_default()
}

/// Whether the text made of `chunks` (a rope's, or one `&str`) holds a CR
/// that is not followed by an LF.
pub(crate) fn has_lone_cr<'a>(chunks: impl IntoIterator<Item = &'a str>) -> bool {
    let mut previous_was_cr = false;
    for chunk in chunks {
        for byte in chunk.bytes() {
            if previous_was_cr && byte != b'\n' {
                return true;
            }
            previous_was_cr = byte == b'\r';
        }
    }
    previous_was_cr
}

/// The tree-sitter point (row counted at LFs, column in bytes) of byte offset
/// `byte` (a char boundary, at most `len_bytes`). `lone_cr` must be true when the
/// text may hold a lone CR.
pub(crate) fn point_at(text: &Rope, byte: usize, lone_cr: bool) -> Point {
    let byte = byte.min(text.len_bytes());
    if !lone_cr {
        let row = text.byte_to_line(byte);
        return Point::new(row, byte - text.line_to_byte(row));
    }
    let mut row = 0;
    let mut row_start = 0;
    let mut chunk_start = 0;
    for chunk in text.chunks() {
        if chunk_start >= byte {
            break;
        }
        let scanned = &chunk.as_bytes()[..chunk.len().min(byte - chunk_start)];
        for (index, _) in scanned
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
        {
            row += 1;
            row_start = chunk_start + index + 1;
        }
        chunk_start += chunk.len();
    }
    Point::new(row, byte - row_start)
}

/// Replaces chars `start..end` of `text` with `inserted`, keeps `lone_cr` true
/// whenever a lone CR may result, and returns the edit as tree-sitter needs it.
pub(crate) fn replace(
    text: &mut Rope,
    lone_cr: &mut bool,
    start: usize,
    end: usize,
    inserted: &str,
    describe: bool,
) -> Option<InputEdit> {
    let start_byte = text.char_to_byte(start);
    let old_end_byte = text.char_to_byte(end);
    let old_points = describe.then(|| {
        (
            point_at(text, start_byte, *lone_cr),
            point_at(text, old_end_byte, *lone_cr),
        )
    });
    if end > start {
        text.remove(start..end);
    }
    if !inserted.is_empty() {
        text.insert(start, inserted);
    }
    // A lone CR can only come from the inserted text or from a CR just before the
    // edit losing the LF after it; staying true after the last one goes is
    // merely slower.
    *lone_cr = *lone_cr || inserted.contains('\r') || (start > 0 && text.char(start - 1) == '\r');
    let (start_position, old_end_position) = old_points?;
    let new_end_byte = start_byte + inserted.len();
    Some(InputEdit {
        start_byte,
        old_end_byte,
        new_end_byte,
        start_position,
        old_end_position,
        new_end_position: point_at(text, new_end_byte, *lone_cr),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned_point(text: &str, byte: usize) -> Point {
        let before = &text.as_bytes()[..byte];
        let row = before.iter().filter(|byte| **byte == b'\n').count();
        let row_start = before
            .iter()
            .rposition(|byte| *byte == b'\n')
            .map_or(0, |index| index + 1);
        Point::new(row, byte - row_start)
    }

    #[test]
    fn points_count_rows_at_lf_only() {
        for text in [
            "",
            "ab\ncd\n",
            "a\r\nb\r\n\r\nc",
            "a\rb\r\rc\nd",
            "é😀\n中\r\n\r",
        ] {
            let rope = Rope::from_str(text);
            let lone_cr = has_lone_cr(rope.chunks());
            assert_eq!(lone_cr, text.replace("\r\n", "").contains('\r'), "{text:?}");
            for byte in (0..=text.len()).filter(|byte| text.is_char_boundary(*byte)) {
                assert_eq!(
                    point_at(&rope, byte, lone_cr),
                    scanned_point(text, byte),
                    "{text:?} {byte}"
                );
                assert_eq!(
                    point_at(&rope, byte, true),
                    scanned_point(text, byte),
                    "{text:?} {byte}"
                );
            }
        }
    }

    #[test]
    fn lone_cr_scan_spans_chunks() {
        let mut text = "x".repeat(5000);
        text.push_str("\r\n");
        text.push_str(&"y".repeat(5000));
        assert!(!has_lone_cr(Rope::from_str(&text).chunks()));
        text.push('\r');
        assert!(has_lone_cr(Rope::from_str(&text).chunks()));
    }

    #[test]
    fn parse_reads_across_chunks() {
        let source = "fn f() { let x = \"é😀\"; }\n".repeat(2000);
        let rope = Rope::from_str(&source);
        assert!(rope.chunks().count() > 1);
        let tree = parse(Language::Rust, &rope, None).expect("small document");
        let mut parser = Parser::new();
        parser
            .set_language(&Language::Rust.tree_sitter_language())
            .expect("rust grammar");
        let fresh = parser.parse(&source, None).expect("no cancellation");
        assert_eq!(tree.root_node().to_sexp(), fresh.root_node().to_sexp());
        assert!(!tree.root_node().has_error());
    }

    #[test]
    fn documents_over_the_cap_get_no_tree() {
        let rope = Rope::from_str(&"// comment\n".repeat(MAX_TREE_BYTES / 11 + 1));
        assert!(rope.len_bytes() > MAX_TREE_BYTES);
        assert!(parse(Language::Rust, &rope, None).is_none());
        let syntax = Syntax::new(Some(Language::Rust), rope.len_bytes(), None);
        assert_eq!(syntax.state(), SyntaxState::None);
        assert!(syntax.tree(&rope).0.is_none());
    }
}
