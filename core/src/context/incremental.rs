//! Re-reading an edited file's symbols from the version indexed before: the
//! tags query runs again only over the items the edit touched, and the symbols
//! of every other item are the previous ones, moved by the edit. The full query
//! costs about 2 µs a line, too much to re-run over a whole file per keystroke.
//!
//! Why reuse is exact: what [`harvest`] reads of a node depends on its subtree,
//! its ancestors, and, through the doc comment, signature and summary, on the
//! text of the lines from the doc-comment run above it down to its last line;
//! and `nest` later derives kinds, parents and containers from the definitions'
//! order alone. A node is reused when
//! - it lies outside `Tree::changed_ranges` between the previous tree (edited by
//!   the text difference) and the new one: its subtree and ancestors are the
//!   same nodes as before;
//! - the text difference misses its lines and the line above its doc run.
//!
//! Items are the children of the root, and inside a touched `impl`, trait,
//! module or class the members of its body: typing in one method re-reads that
//! method and the container's header, not the whole `impl`. Definitions reused
//! from inside a body lose their parent, which `nest` sets again from the
//! (possibly renamed) container.

use std::ops::Range;

use tree_sitter::{InputEdit, Node, Point, QueryCursor, Tree};

use super::harvest::{finish, harvest, Harvest};
use super::lines::{line_starts, line_text};
use super::queries::tags_query;
use super::summary::{is_doc_line, Detail};
use super::symbol::{Definition, FileSymbols, Reference};
use super::LineRange;
use crate::language::Language;

/// The text and tree a file's indexed symbols were read from, and their
/// references whole (the index's entry keeps them only as names and lines):
/// with the entry's definitions, what the next edit's update starts from.
pub(crate) struct IndexedSource {
    pub(crate) text: Box<str>,
    pub(crate) tree: Tree,
    pub(crate) references: Box<[Reference]>,
}

/// The symbols of `text` (parsed into `tree`), read from `previous`, the
/// symbols of `source` as the index keeps a buffer's (`Detail::Lines`: no
/// signatures or summaries, so nothing to redo where lines moved; its
/// references are `source.references`), and the part of `text` that differs
/// from it. Equal to `FileSymbols::read_from_tree(text,
/// tree, Detail::Lines)`. `None` when the language has no tags query.
pub(crate) fn reread(
    previous: &FileSymbols,
    source: &IndexedSource,
    text: &str,
    tree: &Tree,
) -> Option<FileSymbols> {
    let language = previous.language;
    let query = tags_query(language)?;
    if *source.text == *text {
        return Some(FileSymbols {
            references: source.references.to_vec(),
            ..previous.clone()
        });
    }
    let line_starts = line_starts(text);
    let edit = text_edit(&source.text, text, &line_starts);
    let mut edited = source.tree.clone();
    edited.edit(&edit);
    let plan = Plan {
        language,
        text,
        line_starts: &line_starts,
        changed: edited
            .changed_ranges(tree)
            .map(|range| range.start_byte..range.end_byte)
            .collect(),
        edited_rows: edit.start_position.row..=edit.new_end_position.row,
    };
    let mut pieces = Vec::new();
    plan.items(tree.root_node(), false, &mut pieces);

    let shift = Shift {
        after: edit.new_end_byte,
        bytes: edit.new_end_byte as isize - edit.old_end_byte as isize,
        lines: edit.new_end_position.row as i64 - edit.old_end_position.row as i64,
    };
    let mut found = Harvest::new(Detail::Lines);
    let mut cursor = QueryCursor::new();
    for piece in pieces {
        match piece {
            Piece::Reread(range) => harvest(
                language,
                text,
                &line_starts,
                tree,
                query,
                &mut cursor,
                range,
                &mut found,
            ),
            Piece::Reuse { range, nested } => {
                reuse(
                    previous,
                    &source.references,
                    &shift,
                    range,
                    nested,
                    &mut found,
                );
            }
        }
    }
    // `finish` nests the reused definitions (their containers cleared) with the
    // new ones: nesting what was nested before gives the same kinds again.
    Some(finish(
        &previous.path,
        language,
        text,
        tree,
        line_starts,
        found,
    ))
}

/// The one edit that turns `old` into `new`: their common prefix and suffix
/// are left out.
fn text_edit(old: &str, new: &str, new_line_starts: &[usize]) -> InputEdit {
    let (old_bytes, new_bytes) = (old.as_bytes(), new.as_bytes());
    let start = common_prefix(old_bytes, new_bytes);
    let longest_suffix = old.len().min(new.len()) - start;
    let suffix = common_suffix(old_bytes, new_bytes, longest_suffix);
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    let start_position = point_at(new, new_line_starts, start);
    InputEdit {
        start_byte: start,
        old_end_byte: old_end,
        new_end_byte: new_end,
        start_position,
        old_end_position: point_after(start_position, &old_bytes[start..old_end]),
        new_end_position: point_after(start_position, &new_bytes[start..new_end]),
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const CHUNK: usize = 64;
    let len = a.len().min(b.len());
    let mut at = 0;
    while at + CHUNK <= len && a[at..at + CHUNK] == b[at..at + CHUNK] {
        at += CHUNK;
    }
    at + a[at..len]
        .iter()
        .zip(&b[at..len])
        .take_while(|(x, y)| x == y)
        .count()
}

fn common_suffix(a: &[u8], b: &[u8], longest: usize) -> usize {
    const CHUNK: usize = 64;
    let (a_end, b_end) = (a.len(), b.len());
    let mut at = 0;
    while at + CHUNK <= longest
        && a[a_end - at - CHUNK..a_end - at] == b[b_end - at - CHUNK..b_end - at]
    {
        at += CHUNK;
    }
    at + a[..a_end - at]
        .iter()
        .rev()
        .zip(b[..b_end - at].iter().rev())
        .take(longest - at)
        .take_while(|(x, y)| x == y)
        .count()
}

/// Tree-sitter's point of `byte`: rows counted at LFs, columns in bytes.
fn point_at(text: &str, line_starts: &[usize], byte: usize) -> Point {
    let row = line_starts
        .partition_point(|start| *start <= byte)
        .saturating_sub(1);
    let line_start = line_starts.get(row).copied().unwrap_or(0);
    if byte == text.len() && byte > line_start && text.ends_with('\n') {
        // `line_starts` leaves out the empty line after a final newline.
        return Point::new(row + 1, 0);
    }
    Point::new(row, byte - line_start)
}

/// The point reached from `start` after `inserted`.
fn point_after(start: Point, inserted: &[u8]) -> Point {
    let newlines = inserted.iter().filter(|byte| **byte == b'\n').count();
    match inserted.iter().rposition(|byte| *byte == b'\n') {
        Some(last) => Point::new(start.row + newlines, inserted.len() - last - 1),
        None => Point::new(start.row, start.column + inserted.len()),
    }
}

/// What to do with one stretch of the new text.
enum Piece {
    /// Run the query over it: the symbols whose item starts in it.
    Reread(Range<usize>),
    /// Take the previous symbols of a node that did not change. `nested`: the
    /// node is a member of a container's body.
    Reuse { range: Range<usize>, nested: bool },
}

struct Plan<'a> {
    language: Language,
    text: &'a str,
    line_starts: &'a [usize],
    /// Where the trees' structure differs, in the new text.
    changed: Vec<Range<usize>>,
    /// The rows (from 0) the text difference spans in the new text.
    edited_rows: std::ops::RangeInclusive<usize>,
}

impl Plan<'_> {
    /// Sort the children of `parent` into pieces, in the order of the text.
    fn items(&self, parent: Node<'_>, nested: bool, pieces: &mut Vec<Piece>) {
        let mut walker = parent.walk();
        for child in parent.children(&mut walker) {
            if !self.touched(child) {
                pieces.push(Piece::Reuse {
                    range: child.byte_range(),
                    nested,
                });
            } else if let Some(body) = container_body(child, self.language) {
                push_reread(pieces, child.start_byte()..body.start_byte());
                self.items(body, true, pieces);
                push_reread(pieces, body.end_byte()..child.end_byte());
            } else {
                push_reread(pieces, child.byte_range());
            }
        }
    }

    /// Whether the symbols of `node` may differ from before.
    fn touched(&self, node: Node<'_>) -> bool {
        let bytes = node.byte_range();
        if self
            .changed
            .iter()
            .any(|changed| changed.start <= bytes.end && bytes.start <= changed.end)
        {
            return true;
        }
        // The doc comment above it, and the line above that (which may have
        // stopped being, or become, part of it).
        let mut first = node.start_position().row;
        while first > 0 && is_doc_line(self.line(first - 1), self.language) {
            first -= 1;
        }
        let last = node.end_position().row;
        first.saturating_sub(1) <= *self.edited_rows.end() && *self.edited_rows.start() <= last
    }

    fn line(&self, row: usize) -> &str {
        line_text(self.text, self.line_starts, row as u32 + 1)
    }
}

/// Add `range` to the stretch to re-read, joined with the one before when
/// nothing lies between them.
fn push_reread(pieces: &mut Vec<Piece>, range: Range<usize>) {
    if range.is_empty() {
        return;
    }
    if let Some(Piece::Reread(last)) = pieces.last_mut() {
        last.end = range.end;
        return;
    }
    pieces.push(Piece::Reread(range));
}

/// The body of a container whose members are items of their own.
fn container_body(node: Node<'_>, language: Language) -> Option<Node<'_>> {
    let container = match (language, node.kind()) {
        (Language::Rust, "impl_item" | "trait_item" | "mod_item") => node,
        (Language::Python, "class_definition") => node,
        (Language::Python, "decorated_definition") => node
            .child_by_field_name("definition")
            .filter(|definition| definition.kind() == "class_definition")?,
        (
            Language::JavaScript | Language::TypeScript | Language::Tsx,
            "class_declaration" | "class" | "abstract_class_declaration" | "interface_declaration",
        ) => node,
        (Language::JavaScript | Language::TypeScript | Language::Tsx, "export_statement") => {
            let declaration = node.child_by_field_name("declaration")?;
            return container_body(declaration, language);
        }
        _ => return None,
    };
    container.child_by_field_name("body")
}

/// How positions after the edit move.
struct Shift {
    /// Positions from this byte on (in the new text) lie after the edit.
    after: usize,
    bytes: isize,
    lines: i64,
}

impl Shift {
    fn byte(&self, byte: usize) -> usize {
        byte.saturating_add_signed(self.bytes)
    }

    fn bytes(&self, bytes: &Range<usize>) -> Range<usize> {
        self.byte(bytes.start)..self.byte(bytes.end)
    }

    fn line(&self, line: u32) -> u32 {
        (i64::from(line) + self.lines) as u32
    }

    fn lines(&self, lines: LineRange) -> LineRange {
        LineRange {
            start: self.line(lines.start),
            end: self.line(lines.end),
        }
    }
}

/// Copy the previous symbols of the node at `range` (new text) into `found`:
/// definitions from `previous`, references from `references`.
fn reuse(
    previous: &FileSymbols,
    references: &[Reference],
    shift: &Shift,
    range: Range<usize>,
    nested: bool,
    found: &mut Harvest,
) {
    let moved = range.start >= shift.after;
    let identity = Shift {
        after: 0,
        bytes: 0,
        lines: 0,
    };
    let shift = if moved { shift } else { &identity };
    let old = if moved {
        range.start.saturating_add_signed(-shift.bytes)
            ..range.end.saturating_add_signed(-shift.bytes)
    } else {
        range
    };
    let definitions = &previous.definitions;
    let first = definitions.partition_point(|definition| definition.bytes.start < old.start);
    let last = definitions.partition_point(|definition| definition.bytes.start < old.end);
    found.definitions.extend(
        definitions[first..last]
            .iter()
            .map(|definition| Definition {
                lines: shift.lines(definition.lines),
                bytes: shift.bytes(&definition.bytes),
                container: None,
                parent: if nested {
                    None
                } else {
                    definition.parent.clone()
                },
                signature_lines: shift.lines(definition.signature_lines),
                doc: definition.doc.map(|doc| shift.lines(doc)),
                summary_lines: shift.lines(definition.summary_lines),
                ..definition.clone()
            }),
    );
    let first = references.partition_point(|reference| reference.bytes.start < old.start);
    let last = references.partition_point(|reference| reference.bytes.start < old.end);
    found
        .references
        .extend(references[first..last].iter().map(|reference| Reference {
            line: shift.line(reference.line),
            bytes: shift.bytes(&reference.bytes),
            ..reference.clone()
        }));
}
