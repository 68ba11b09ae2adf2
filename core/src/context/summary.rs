//! What a definition shows besides its name: its extent (wrappers such as
//! `export` and decorators included), signature, doc comment and the summary a
//! prompt gives of it, read from its node and the text.

use tree_sitter::Node;

use super::lines::{line_start_of, line_starts, line_text, push_lines};
use super::node::{lines_of, node_text};
use super::symbol::Definition;
use super::LineRange;
use crate::language::Language;

/// Items of at most this many lines are shown whole in summaries; longer ones by
/// their signature.
const SMALL_ITEM_LINES: u32 = 12;

/// Doc comments longer than this are cut in summaries.
pub(crate) const SUMMARY_DOC_LINES: usize = 6;

/// How much of a definition's text extraction copies out of the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Detail {
    /// The signature and the summary: for the file a prompt is about and for
    /// outlines, read fresh from the text.
    #[default]
    Full,
    /// The summary, no signature: the index's files read from disk, whose text
    /// is not kept in memory.
    Summaries,
    /// Line ranges only: the index's editor buffers, whose text the editor's
    /// store holds (a prompt cuts the summary from it when it needs one).
    Lines,
}

/// Fill in lines, doc and, as `detail` asks, signature and summary of a
/// definition from its node.
pub(crate) fn describe(
    definition: &mut Definition,
    item: Node<'_>,
    language: Language,
    text: &str,
    line_starts: &[usize],
    detail: Detail,
) {
    let source = text.as_bytes();
    // `export function f` and `@decorator def f` are one item with their
    // wrapper; a Go `type_spec` or `const_spec` is shown with its declaration
    // when it is the only one in it. (`Node::parent` walks down from the root, so
    // it is not asked for Rust, which has no wrappers.)
    let mut outer = item;
    if language != Language::Rust {
        while let Some(parent) = outer.parent() {
            if matches!(parent.kind(), "export_statement" | "decorated_definition") {
                outer = parent;
            } else {
                break;
            }
        }
        if let Some(parent) = outer.parent() {
            if matches!(
                parent.kind(),
                "type_declaration" | "const_declaration" | "var_declaration"
            ) && parent.named_child_count() == 1
            {
                outer = parent;
            }
        }
    }
    definition.bytes = outer.start_byte()..outer.end_byte();
    definition.lines = lines_of(outer);

    if language == Language::Go && item.kind() == "method_declaration" {
        definition.parent = item
            .child_by_field_name("receiver")
            .and_then(|receiver| receiver_type(receiver, source))
            .map(Into::into);
    }

    let body = body_of(item);
    let header_end = match body {
        Some(body) => body.start_byte(),
        None => item.end_byte(),
    };
    if detail == Detail::Full {
        let header_start = line_start_of(outer.start_byte(), line_starts);
        let header = &text[header_start..header_end.max(header_start)];
        definition.signature = collapse_whitespace(header).into();
    }
    let signature_end_line = match body {
        Some(body) => body.start_position().row as u32 + 1,
        None => definition.lines.end,
    };
    definition.signature_lines = LineRange::new(definition.lines.start, signature_end_line);

    definition.doc = match language {
        Language::Python => body.and_then(|body| python_docstring(body)),
        _ => doc_above(definition.lines.start, language, text, line_starts),
    };

    let plan = SummaryPlan::of(definition, language);
    definition.summary_lines = plan.lines();
    if detail != Detail::Lines {
        definition.summary = Some(plan.render(text, line_starts, 1, language).into());
    }
}

/// The body of an item: what its signature stops before.
fn body_of(item: Node<'_>) -> Option<Node<'_>> {
    if let Some(body) = item.child_by_field_name("body") {
        return Some(body);
    }
    match item.kind() {
        // `const f = (…) => {…}` and friends.
        "lexical_declaration" | "variable_declaration" => {
            let declarator = item.named_child(0)?;
            declarator
                .child_by_field_name("value")?
                .child_by_field_name("body")
        }
        "variable_declarator" | "assignment_expression" | "pair" => {
            let value = item
                .child_by_field_name("value")
                .or_else(|| item.child_by_field_name("right"))?;
            value.child_by_field_name("body")
        }
        "type_spec" => {
            let kind = item.child_by_field_name("type")?;
            matches!(kind.kind(), "struct_type" | "interface_type").then_some(kind)
        }
        _ => None,
    }
}

fn python_docstring(body: Node<'_>) -> Option<LineRange> {
    let first = body.named_child(0)?;
    if first.kind() != "expression_statement" {
        return None;
    }
    let string = first.named_child(0)?;
    (string.kind() == "string").then(|| lines_of(first))
}

/// The comment lines (and Rust attributes) right above line `first`, with no
/// blank line between them and it. Read from the text: the tree's
/// `prev_sibling` walks down from the root.
fn doc_above(
    first: u32,
    language: Language,
    text: &str,
    line_starts: &[usize],
) -> Option<LineRange> {
    let mut line = first;
    while line > 1 && is_doc_line(line_text(text, line_starts, line - 1), language) {
        line -= 1;
    }
    (line < first).then(|| LineRange::new(line, first - 1))
}

/// Whether a line continues the doc comment (or attributes) above an item.
pub(crate) fn is_doc_line(line: &str, language: Language) -> bool {
    let line = line.trim_start();
    line.starts_with("//")
        || line.starts_with("/*")
        || line.starts_with('*')
        || (language == Language::Rust && line.starts_with("#["))
        || (matches!(
            language,
            Language::TypeScript | Language::Tsx | Language::JavaScript
        ) && line.starts_with('@'))
}

/// What a prompt shows of `definition`: its summary when kept, else one made
/// from `text`, the file's text as indexed, whose lines start at `line_starts`.
pub(crate) fn summary_of(
    definition: &Definition,
    language: Language,
    text: &str,
    line_starts: &[usize],
) -> String {
    match &definition.summary {
        Some(summary) => summary.to_string(),
        None => summarize(definition, language, text, line_starts).0,
    }
}

/// [`summary_of`] for a whole file's `text`.
pub(crate) fn summary_in(definition: &Definition, language: Language, text: &str) -> String {
    match &definition.summary {
        Some(summary) => summary.to_string(),
        None => summary_of(definition, language, text, &line_starts(text)),
    }
}

/// What a prompt shows of `definition` and the lines it comes from: the doc
/// comment above it (cut), then the whole item when small, else its signature
/// (and a Python docstring, cut).
pub(crate) fn summarize(
    definition: &Definition,
    language: Language,
    text: &str,
    line_starts: &[usize],
) -> (String, LineRange) {
    let plan = SummaryPlan::of(definition, language);
    (plan.render(text, line_starts, 1, language), plan.lines())
}

/// [`summarize`]'s text, given only `lines`: the text of the definition's
/// `summary_lines` (cut from an open buffer without copying the whole file).
pub(crate) fn summary_from_lines(
    definition: &Definition,
    language: Language,
    lines: &str,
) -> String {
    let plan = SummaryPlan::of(definition, language);
    let first_line = definition.summary_lines.start.max(1);
    plan.render(lines, &line_starts(lines), first_line, language)
}

/// The line ranges a summary is made of, decided from the definition alone, so
/// the index can keep where a summary comes from without its text.
struct SummaryPlan {
    /// The doc comment above the item, cut when long.
    doc_above: Option<LineRange>,
    /// The whole item when small, else its signature.
    item: LineRange,
    /// A long item's Python docstring, cut when long.
    docstring: Option<LineRange>,
}

impl SummaryPlan {
    fn of(definition: &Definition, language: Language) -> SummaryPlan {
        let doc_above = definition
            .doc
            .filter(|doc| doc.end < definition.lines.start);
        if definition.lines.len() <= SMALL_ITEM_LINES {
            return SummaryPlan {
                doc_above,
                item: definition.lines,
                docstring: None,
            };
        }
        SummaryPlan {
            doc_above,
            item: definition.signature_lines,
            docstring: definition
                .doc
                .filter(|doc| language == Language::Python && doc.start > definition.lines.start),
        }
    }

    fn lines(&self) -> LineRange {
        LineRange::new(
            self.doc_above.map_or(self.item.start, |doc| doc.start),
            self.docstring.map_or(self.item.end, |doc| doc.end),
        )
    }

    /// The summary's text from `text`, whose first line is the file's line
    /// `first_line` (1 for the whole file).
    fn render(
        &self,
        text: &str,
        line_starts: &[usize],
        first_line: u32,
        language: Language,
    ) -> String {
        let lines = Lines {
            text,
            line_starts,
            first_line,
        };
        let mut out = String::new();
        if let Some(doc) = self.doc_above {
            push_cut(&mut out, &lines, doc, language);
        }
        push_lines(&mut out, text, line_starts, lines.local(self.item));
        if let Some(doc) = self.docstring {
            push_cut(&mut out, &lines, doc, language);
        }
        out
    }
}

/// A text holding some of a file's lines, from line `first_line` on.
struct Lines<'t> {
    text: &'t str,
    line_starts: &'t [usize],
    first_line: u32,
}

impl Lines<'_> {
    /// The file's lines `range` as lines of `text`.
    fn local(&self, range: LineRange) -> LineRange {
        let shift = self.first_line - 1;
        LineRange::new(
            range.start.saturating_sub(shift),
            range.end.saturating_sub(shift),
        )
    }
}

/// Push a doc comment's lines, cut after `SUMMARY_DOC_LINES` with a marker
/// naming the file's lines left out.
fn push_cut(out: &mut String, lines: &Lines<'_>, doc: LineRange, language: Language) {
    let (text, line_starts) = (lines.text, lines.line_starts);
    if doc.len() as usize <= SUMMARY_DOC_LINES {
        push_lines(out, text, line_starts, lines.local(doc));
        return;
    }
    let shown = LineRange::new(doc.start, doc.start + SUMMARY_DOC_LINES as u32 - 1);
    push_lines(out, text, line_starts, lines.local(shown));
    let indent: String = line_text(text, line_starts, lines.local(doc).start)
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    let comment = match language {
        Language::Python => "#",
        _ => "//",
    };
    out.push_str(&format!(
        "{indent}{comment} … ({} more lines of documentation, lines {}-{})\n",
        doc.len() as usize - SUMMARY_DOC_LINES,
        shown.end + 1,
        doc.end
    ));
}

/// A Go receiver's type name: `Server` for `(s *Server)`.
fn receiver_type(receiver: Node<'_>, source: &[u8]) -> Option<String> {
    let parameter = receiver.named_child(0)?;
    let mut kind = parameter.child_by_field_name("type")?;
    loop {
        match kind.kind() {
            "pointer_type" => kind = kind.named_child(0)?,
            "generic_type" => kind = kind.child_by_field_name("type")?,
            _ => return Some(node_text(kind, source).to_string()),
        }
    }
}

/// `text` with each run of whitespace made one space, ends trimmed.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}
