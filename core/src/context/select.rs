//! Selection: what to send the model for a cursor or a range, ranked and packed
//! into a token budget. A pure function of the file's text (and tree), the
//! symbol index, the diagnostics and the recent edits.
//!
//! Ranking, most important first (a piece that does not fit is left out and the
//! next tried):
//! 1. the enclosing item (function, method, class…) in full, or the lines
//!    around the cursor within it when it would take more than half the budget;
//! 2. the diagnostics on those lines;
//! 3. the definitions of the names it uses, nearest the cursor first, resolved
//!    through the index (same file, then imported modules, then the workspace,
//!    nearest directory first), each as doc comment + signature, or whole when
//!    small;
//! 4. the regions the user edited most recently, the file's imports, the
//!    outline of the item's container (signatures only);
//! 5. runner-up definitions of ambiguous names.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use tree_sitter::Tree;

use super::extract::Extractor;
use super::index::{read_regular_file, DefinitionRef, SymbolIndex};
use super::lines::{line_starts, line_text, push_lines};
use super::outline::{entries_in, render_outline};
use super::summary::{summary_from_lines, summary_of};
use super::symbol::{Definition, FileSymbols, Reference, ReferenceKind, SymbolKind};
use super::{estimate_tokens, LineRange};
use crate::language::Language;
use crate::protocol::ContextItem;

/// The budget when the configuration gives none (`[context] budget_tokens`).
pub const DEFAULT_BUDGET_TOKENS: u32 = 6000;
/// Lines shown around the cursor outside any item.
const WINDOW_LINES: u32 = 30;
/// Definitions shown at rank 3; the rest of the names come after everything else.
const FIRST_DEFINITIONS: usize = 12;
/// Runner-up definitions kept for a name that resolves ambiguously.
const RUNNERS_UP: usize = 2;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Information,
    Hint,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "info",
            Severity::Hint => "hint",
        }
    }
}

/// A diagnostic of the file, as the editor reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub lines: LineRange,
    pub severity: Severity,
}

/// Lines `lines` (1-based, inclusive) of the editor's text of a file it has
/// open, or `None` when it does not have it open (see
/// `SelectionRequest::open_text`). Lines past the end are left out.
pub type OpenText<'a> = &'a dyn Fn(&Path, LineRange) -> Option<String>;

/// What to select for.
#[derive(Clone)]
pub struct SelectionRequest<'a> {
    pub path: &'a Path,
    /// `None` for a file without a grammar: only lines around the cursor, the
    /// diagnostics and the edits are picked.
    pub language: Option<Language>,
    pub text: &'a str,
    /// The file's syntax tree for exactly `text`, if the caller has one; parsed
    /// here otherwise.
    pub tree: Option<&'a Tree>,
    /// The cursor (an empty range) or the selection, in bytes of `text`.
    pub range: Range<usize>,
    pub diagnostics: &'a [Diagnostic],
    /// Regions of this file the user edited recently, most recent first.
    pub recent_edits: &'a [LineRange],
    pub budget_tokens: u32,
    /// Read this file's symbols from these bytes only (definitions starting
    /// there, references there); `None`: the whole file. For callers about one
    /// region of a possibly large file (a completion's prompt): the time then
    /// grows with the region, not the file.
    pub symbols_in: Option<Range<usize>>,
    /// Lines of the editor's text of a file, if it has the file open. The
    /// index keeps no summaries for editor buffers (their text is in the
    /// editor's store): a definition in one is summarised from the lines its
    /// summary comes from, cut from the buffer, or from the disk when the
    /// editor has no buffer of it.
    pub open_text: Option<OpenText<'a>>,
}

impl<'a> SelectionRequest<'a> {
    /// A request with no tree, no diagnostics, no edits and the default budget.
    pub fn new(
        path: &'a Path,
        language: Option<Language>,
        text: &'a str,
        range: Range<usize>,
    ) -> SelectionRequest<'a> {
        SelectionRequest {
            path,
            language,
            text,
            tree: None,
            range,
            diagnostics: &[],
            recent_edits: &[],
            budget_tokens: DEFAULT_BUDGET_TOKENS,
            symbols_in: None,
            open_text: None,
        }
    }
}

/// What a piece of context is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PieceKind {
    /// The function, method or type around the cursor (or the lines around it).
    EnclosingItem,
    Diagnostic,
    /// A definition of a name the enclosing item uses.
    Definition,
    RecentEdit,
    Imports,
    /// The signatures of the enclosing item's container.
    Outline,
}

impl PieceKind {
    pub fn name(self) -> &'static str {
        match self {
            PieceKind::EnclosingItem => "enclosing item",
            PieceKind::Diagnostic => "diagnostic",
            PieceKind::Definition => "definition",
            PieceKind::RecentEdit => "recent edit",
            PieceKind::Imports => "imports",
            PieceKind::Outline => "outline",
        }
    }
}

/// One piece of context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextPiece {
    /// What it is, for the model and the user: "function `parse`",
    /// "definition of `Token::new` (method)".
    pub label: String,
    pub path: PathBuf,
    /// The lines of `path` the text comes from. An outline's or a diagnostic's
    /// text is not a copy of these lines but about them.
    pub lines: LineRange,
    pub text: String,
    /// The estimated tokens of the piece as sent (text, label and markup).
    pub n_tokens: u32,
    pub kind: PieceKind,
}

impl ContextPiece {
    /// The piece as the agent sends it: the lines go into the label so the model
    /// can cite them and read around them.
    pub fn to_context_item(&self) -> ContextItem {
        ContextItem {
            label: format!("{}, lines {}", self.label, self.lines),
            path: Some(self.path.clone()),
            text: self.text.clone(),
        }
    }
}

/// The pieces picked, most important first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub pieces: Vec<ContextPiece>,
    /// Their estimated tokens in all.
    pub n_tokens: u32,
    pub budget: u32,
}

impl Selection {
    /// The pieces as `Op::UserInput { context }` takes them.
    pub fn to_context_items(&self) -> Vec<ContextItem> {
        self.pieces
            .iter()
            .map(ContextPiece::to_context_item)
            .collect()
    }
}

/// Where a selection's definition summaries come from: an open buffer's lines
/// (see `SelectionRequest::open_text`), else the file on disk, read once.
struct Texts<'r> {
    open: Option<OpenText<'r>>,
    read: HashMap<PathBuf, Option<(String, Vec<usize>)>>,
}

impl Texts<'_> {
    /// What a prompt shows of `definition` of `path`; `None` when the index
    /// keeps no summary and the file's text cannot be had.
    fn summary(
        &mut self,
        path: &Path,
        language: Language,
        definition: &Definition,
    ) -> Option<String> {
        if definition.summary.is_some() {
            return Some(summary_of(definition, language, "", &[]));
        }
        // An open buffer: only the summary's lines, not the whole file.
        if let Some(lines) = self
            .open
            .and_then(|open| open(path, definition.summary_lines))
        {
            return Some(summary_from_lines(definition, language, &lines));
        }
        let source = self.read.entry(path.to_path_buf()).or_insert_with(|| {
            let text = read_regular_file(path).and_then(|bytes| String::from_utf8(bytes).ok())?;
            let starts = line_starts(&text);
            Some((text, starts))
        });
        let (text, starts) = source.as_ref()?;
        Some(summary_of(definition, language, text, starts))
    }
}

/// A piece before packing, with its rank (lower goes first).
struct Candidate {
    rank: (u32, u32),
    piece: ContextPiece,
}

/// Pick the context for `request`, looking names up in `index` (whose entries
/// for `request.path` are ignored: the text given is the truth).
pub fn select(request: &SelectionRequest<'_>, index: &SymbolIndex) -> Selection {
    let text = request.text;
    let starts = line_starts(text);
    let n_lines = starts.len() as u32;
    let range = clamp_range(text, request.range.clone());
    let cursor_line = line_of(&starts, range.start);
    let range_lines = LineRange::new(cursor_line, line_of(&starts, range.end));
    let budget = request.budget_tokens;

    let symbols = request.language.and_then(|language| {
        let parsed;
        let tree = match request.tree {
            Some(tree) => tree,
            None => {
                parsed = Extractor::new(language)?.parse(text)?;
                &parsed
            }
        };
        match &request.symbols_in {
            Some(keys) => {
                FileSymbols::from_tree_in(request.path, language, text, tree, keys.clone())
            }
            None => FileSymbols::from_tree(request.path, language, text, tree),
        }
    });

    let mut candidates = Vec::new();
    let mut texts = Texts {
        open: request.open_text,
        read: HashMap::new(),
    };
    let mut push = |rank: (u32, u32), kind, label: String, lines: LineRange, body: String| {
        candidates.push(Candidate {
            rank,
            piece: piece(request.path, kind, label, lines, body),
        });
    };

    // 1. The enclosing item.
    let enclosing = symbols.as_ref().and_then(|symbols| {
        let item = symbols.innermost_at(range.start, |kind| {
            matches!(kind, SymbolKind::Function | SymbolKind::Method)
        });
        let item = item.or_else(|| {
            symbols.innermost_at(range.start, |kind| {
                !matches!(kind, SymbolKind::Module | SymbolKind::Impl)
            })
        });
        item.filter(|&item| symbols.definitions[item].bytes.end >= range.end)
    });
    let (item_lines, enclosing_label) = match (&symbols, enclosing) {
        (Some(symbols), Some(item)) => {
            let definition = &symbols.definitions[item];
            let mut lines = definition.lines;
            if let Some(doc) = definition.doc.filter(|doc| doc.end < lines.start) {
                lines.start = doc.start;
            }
            (lines, item_label(definition))
        }
        _ => (
            LineRange::new(
                range_lines.start.saturating_sub(WINDOW_LINES / 2).max(1),
                (range_lines.end + WINDOW_LINES / 2).min(n_lines.max(1)),
            ),
            "code around the cursor".to_string(),
        ),
    };
    let item_lines = fit_window(text, &starts, item_lines, range_lines, budget / 2);
    let mut item_text = String::new();
    push_lines(&mut item_text, text, &starts, item_lines);
    push(
        (0, 0),
        PieceKind::EnclosingItem,
        enclosing_label,
        item_lines,
        item_text,
    );

    // 2. Diagnostics on those lines (or on the selection).
    for (position, diagnostic) in request
        .diagnostics
        .iter()
        .filter(|diagnostic| {
            diagnostic.lines.overlaps(item_lines) || diagnostic.lines.overlaps(range_lines)
        })
        .enumerate()
    {
        let mut body = format!("{}: {}\n", diagnostic.severity.name(), diagnostic.message);
        if !item_lines.covers(diagnostic.lines) {
            push_lines(&mut body, text, &starts, diagnostic.lines);
        }
        push(
            (1, position as u32),
            PieceKind::Diagnostic,
            diagnostic.severity.name().to_string(),
            diagnostic.lines,
            body,
        );
    }

    if let Some(symbols) = &symbols {
        let item_bytes = starts[(item_lines.start - 1) as usize]
            ..starts
                .get(item_lines.end as usize)
                .copied()
                .unwrap_or(text.len());
        // 3. Definitions of the names used, nearest the cursor first.
        let mut resolved = 0;
        for (name_rank, reference) in names_used(symbols, &item_bytes, range.start)
            .into_iter()
            .enumerate()
        {
            let found = resolve(reference, symbols, enclosing, &item_lines, index);
            let Some((best, runners_up)) = found.split_first() else {
                continue;
            };
            let tier = if resolved < FIRST_DEFINITIONS { 2 } else { 5 };
            resolved += 1;
            let (path, language, definition) = best;
            if let Some(piece) = definition_piece(path, *language, definition, &mut texts) {
                candidates.push(Candidate {
                    rank: (tier, name_rank as u32),
                    piece,
                });
            }
            for (path, language, definition) in runners_up {
                if let Some(piece) = definition_piece(path, *language, definition, &mut texts) {
                    candidates.push(Candidate {
                        rank: (6, name_rank as u32),
                        piece,
                    });
                }
            }
        }

        // 4. Recent edits, imports, the container's outline.
        let mut push = |rank: (u32, u32), kind, label: String, lines: LineRange, body: String| {
            candidates.push(Candidate {
                rank,
                piece: piece(request.path, kind, label, lines, body),
            });
        };
        for (position, edit) in request.recent_edits.iter().enumerate() {
            let edit = LineRange::new(edit.start.max(1), edit.end.min(n_lines.max(1)));
            if item_lines.covers(edit) || edit.start > n_lines {
                continue;
            }
            let mut body = String::new();
            push_lines(&mut body, text, &starts, edit);
            push(
                (3, position as u32),
                PieceKind::RecentEdit,
                "recently edited".to_string(),
                edit,
                body,
            );
        }
        for (position, block) in import_blocks(symbols, text, &starts)
            .into_iter()
            .enumerate()
        {
            if item_lines.covers(block) {
                continue;
            }
            let mut body = String::new();
            push_lines(&mut body, text, &starts, block);
            push(
                (4, position as u32),
                PieceKind::Imports,
                "imports".to_string(),
                block,
                body,
            );
        }
        let container = enclosing.and_then(|item| symbols.definitions[item].container);
        let entries = entries_in(symbols, container);
        if entries.len() > 1 || container.is_some() {
            let (label, lines, mut body) = match container {
                Some(container) => {
                    let definition = &symbols.definitions[container];
                    (
                        format!("outline of {}", item_label(definition)),
                        definition.lines,
                        format!("{}\n", definition.signature),
                    )
                }
                None => (
                    "outline of the file".to_string(),
                    LineRange::new(1, n_lines.max(1)),
                    String::new(),
                ),
            };
            body.push_str(&render_outline(&entries));
            push((4, 100), PieceKind::Outline, label, lines, body);
        }
    }

    pack(candidates, budget)
}

/// Sort by rank, keep what fits, drop repeats of the same lines.
fn pack(mut candidates: Vec<Candidate>, budget: u32) -> Selection {
    candidates.sort_by_key(|candidate| candidate.rank);
    let mut pieces: Vec<ContextPiece> = Vec::new();
    let mut n_tokens = 0;
    for Candidate { piece, .. } in candidates {
        if n_tokens + piece.n_tokens > budget {
            continue;
        }
        let repeated = pieces.iter().any(|kept| {
            kept.path == piece.path
                && kept.kind != PieceKind::Outline
                && piece.kind != PieceKind::Diagnostic
                && piece.kind != PieceKind::Outline
                && kept.lines.covers(piece.lines)
        });
        if repeated {
            continue;
        }
        n_tokens += piece.n_tokens;
        pieces.push(piece);
    }
    Selection {
        pieces,
        n_tokens,
        budget,
    }
}

fn piece(
    path: &Path,
    kind: PieceKind,
    label: String,
    lines: LineRange,
    text: String,
) -> ContextPiece {
    // The markup around a piece in the prompt: `<context label="…" path="…">`
    // and `</context>`, about 8 tokens, plus the label and path.
    let overhead = estimate_tokens(&label) + estimate_tokens(&path.to_string_lossy()) + 8;
    ContextPiece {
        n_tokens: estimate_tokens(&text) + overhead,
        label,
        path: path.to_path_buf(),
        lines,
        text,
        kind,
    }
}

fn definition_piece(
    path: &Path,
    language: Language,
    definition: &Definition,
    texts: &mut Texts<'_>,
) -> Option<ContextPiece> {
    let label = format!("definition of {}", item_label(definition));
    let summary = texts.summary(path, language, definition)?;
    Some(piece(
        path,
        PieceKind::Definition,
        label,
        definition.summary_lines,
        summary,
    ))
}

/// "method `Parser::new`", "function `parse`", "impl `Parser`".
fn item_label(definition: &Definition) -> String {
    match &definition.parent {
        Some(parent) if definition.kind != SymbolKind::Impl => format!(
            "{} `{}::{}`",
            definition.kind.name(),
            parent,
            definition.name
        ),
        _ => format!("{} `{}`", definition.kind.name(), definition.name),
    }
}

/// Shrink `lines` around `focus` until its text fits `max_tokens`.
fn fit_window(
    text: &str,
    starts: &[usize],
    lines: LineRange,
    focus: LineRange,
    max_tokens: u32,
) -> LineRange {
    let bytes = |range: LineRange| {
        let start = starts[(range.start - 1) as usize];
        let end = starts
            .get(range.end as usize)
            .copied()
            .unwrap_or(text.len());
        end - start
    };
    let max_bytes = max_tokens as usize * 4;
    if bytes(lines) <= max_bytes {
        return lines;
    }
    // Grow from the focus (cut to its first lines if it is itself too big) one
    // line at a time on each side while it fits.
    let mut window = LineRange::new(
        focus.start.clamp(lines.start, lines.end),
        focus.end.clamp(lines.start, lines.end),
    );
    while window.len() > 1 && bytes(window) > max_bytes {
        window.end -= 1;
    }
    loop {
        let mut grew = false;
        if window.start > lines.start
            && bytes(LineRange::new(window.start - 1, window.end)) <= max_bytes
        {
            window.start -= 1;
            grew = true;
        }
        if window.end < lines.end
            && bytes(LineRange::new(window.start, window.end + 1)) <= max_bytes
        {
            window.end += 1;
            grew = true;
        }
        if !grew {
            return window;
        }
    }
}

/// The distinct names referenced in `bytes`, nearest `cursor` first (calls
/// before type names at the same distance).
fn names_used<'s>(
    symbols: &'s FileSymbols,
    bytes: &Range<usize>,
    cursor: usize,
) -> Vec<&'s Reference> {
    let mut used: Vec<&Reference> = symbols
        .references
        .iter()
        .filter(|reference| bytes.contains(&reference.bytes.start))
        .collect();
    used.sort_by_key(|reference| {
        (
            reference.bytes.start.abs_diff(cursor),
            reference.kind != ReferenceKind::Call,
        )
    });
    let mut seen = HashSet::new();
    used.retain(|reference| seen.insert((&reference.name, &reference.qualifier)));
    used
}

/// The definitions `reference` may mean, best first: the best, then up to
/// `RUNNERS_UP` that score nearly as well. Definitions already shown within the
/// enclosing item's lines, and the item itself, are left out.
fn resolve<'i>(
    reference: &Reference,
    current: &'i FileSymbols,
    enclosing: Option<usize>,
    item_lines: &LineRange,
    index: &'i SymbolIndex,
) -> Vec<(&'i Path, Language, Cow<'i, Definition>)> {
    let name = &*reference.name;
    let enclosing_parent = enclosing.and_then(|item| current.definitions[item].parent.as_deref());
    let imported_words: HashSet<&str> = current
        .imports
        .iter()
        .flat_map(|import| import.words.iter().map(|word| &**word))
        .collect();
    let name_imported = imported_words.contains(name);

    // The current file's definitions borrowed, the index's decoded only if
    // kept (a common name has hundreds).
    let mut scored: Vec<(i32, &Path, Language, LineRange, Found<'_>)> = Vec::new();
    for definition in &current.definitions {
        if &*definition.name != name
            || definition.kind == SymbolKind::Impl
            || item_lines.covers(definition.lines)
        {
            continue;
        }
        let score = 100
            + score(
                reference,
                definition.kind,
                definition.parent.as_deref(),
                enclosing_parent,
            );
        scored.push((
            score,
            &current.path,
            current.language,
            definition.lines,
            Found::Current(definition),
        ));
    }
    for hit in index.definition_refs(name) {
        if hit.path == current.path {
            continue;
        }
        let mut score = score(reference, hit.kind, hit.parent, enclosing_parent);
        let words = path_words(hit.path);
        if let Some(qualifier) = &reference.qualifier {
            if words.iter().any(|word| word == &**qualifier) {
                score += 40;
            }
        }
        if name_imported {
            score += 15;
        }
        let imported_path = words
            .iter()
            .filter(|word| imported_words.contains(word.as_str()))
            .count();
        score += 10 * imported_path.min(3) as i32;
        score += 2 * common_components(&current.path, hit.path).min(12) as i32;
        scored.push((score, hit.path, hit.language, hit.lines, Found::Index(hit)));
    }
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.cmp(b.1))
            .then(a.3.start.cmp(&b.3.start))
    });
    let Some(&(best, ..)) = scored.first() else {
        return Vec::new();
    };
    scored
        .into_iter()
        .take(1 + RUNNERS_UP)
        .filter(|(score, ..)| *score >= best - 10)
        .map(|(_, path, language, _, found)| {
            let definition = match found {
                Found::Current(definition) => Cow::Borrowed(definition),
                Found::Index(hit) => Cow::Owned(hit.definition()),
            };
            (path, language, definition)
        })
        .collect()
}

/// A definition `resolve` ranks: the current file's, or the index's.
enum Found<'i> {
    Current(&'i Definition),
    Index(DefinitionRef<'i>),
}

/// How well a definition of `kind` whose parent is `parent` fits how
/// `reference` uses the name, wherever it is.
fn score(
    reference: &Reference,
    kind: SymbolKind,
    parent: Option<&str>,
    enclosing_parent: Option<&str>,
) -> i32 {
    let mut score = 0;
    let kind_fits = match reference.kind {
        ReferenceKind::Call => matches!(
            kind,
            SymbolKind::Function | SymbolKind::Method | SymbolKind::Macro | SymbolKind::Class
        ),
        ReferenceKind::Type | ReferenceKind::Construction => matches!(
            kind,
            SymbolKind::Class | SymbolKind::Interface | SymbolKind::Type
        ),
    };
    score += if kind_fits { 10 } else { -30 };
    match (reference.qualifier.as_deref(), parent) {
        (Some("self" | "this" | "Self"), Some(parent)) if Some(parent) == enclosing_parent => {
            score += 60
        }
        (Some(qualifier), Some(parent)) if qualifier == parent => score += 60,
        // `Foo::f()` is not a free function; `f()` is not a method.
        (Some(qualifier), None)
            if qualifier.starts_with(char::is_uppercase)
                && reference.kind == ReferenceKind::Call =>
        {
            score -= 5
        }
        (None, Some(_)) if reference.kind == ReferenceKind::Call => score -= 5,
        _ => {}
    }
    score
}

/// The file stem and directory names of `path`, which module paths and import
/// statements name.
fn path_words(path: &Path) -> Vec<String> {
    let mut words: Vec<String> = path
        .parent()
        .into_iter()
        .flat_map(|parent| parent.components().rev().take(4))
        .filter_map(|component| component.as_os_str().to_str())
        .map(|word| word.replace('-', "_"))
        .collect();
    if let Some(stem) = path.file_stem().and_then(|stem| stem.to_str()) {
        if !matches!(stem, "mod" | "lib" | "index" | "__init__" | "main") {
            words.push(stem.to_string());
        }
    }
    words
}

fn common_components(a: &Path, b: &Path) -> usize {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .count()
}

/// The import statements merged into blocks that only blank lines separate.
fn import_blocks(symbols: &FileSymbols, text: &str, starts: &[usize]) -> Vec<LineRange> {
    let mut blocks: Vec<LineRange> = Vec::new();
    for import in &symbols.imports {
        if let Some(last) = blocks.last_mut() {
            let between_blank = (last.end + 1..import.lines.start)
                .all(|line| line_text(text, starts, line).trim().is_empty());
            if between_blank {
                last.end = last.end.max(import.lines.end);
                continue;
            }
        }
        blocks.push(import.lines);
    }
    blocks
}

fn clamp_range(text: &str, range: Range<usize>) -> Range<usize> {
    let mut start = range.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = range.end.clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    start..end
}

fn line_of(starts: &[usize], byte: usize) -> u32 {
    match starts.binary_search(&byte) {
        Ok(index) => index as u32 + 1,
        Err(index) => index as u32,
    }
}
