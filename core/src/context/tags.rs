//! What one file defines and references, read from its syntax tree with the tags
//! queries the grammars ship (`TAGS_QUERY`; TypeScript's is combined with
//! JavaScript's, as tree-sitter's own tagger does), plus a few patterns of ours
//! for what those leave out (constants, Rust paths such as `Foo::new()`, trait
//! method declarations, TypeScript type aliases and enums, Go constants).
//!
//! We run `tree_sitter::Query` ourselves instead of the `tree-sitter-tags` crate:
//! its doc-comment regexes and local-scope tracking cost time on every file, and
//! we need more per definition than it gives (the container, the signature, the
//! doc comment's line range, a short summary for prompts).

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Parser, Query, QueryCursor, Tree};

use super::LineRange;
use crate::language::Language;

/// Items of at most this many lines are shown whole in summaries; longer ones by
/// their signature.
pub(crate) const SMALL_ITEM_LINES: u32 = 12;
/// Doc comments longer than this are cut in summaries.
pub(crate) const SUMMARY_DOC_LINES: usize = 6;

/// What a symbol is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SymbolKind {
    Function,
    Method,
    /// A class, or a Rust struct, enum or union.
    Class,
    /// A trait (Rust) or an interface (TypeScript, Go).
    Interface,
    /// A type alias, or a Go type declaration.
    Type,
    Constant,
    Module,
    Macro,
    /// A Rust `impl` block: a container for the outline, never a lookup result.
    Impl,
}

impl SymbolKind {
    /// A short lowercase name, as shown to the model.
    pub fn name(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Class => "class",
            SymbolKind::Interface => "interface",
            SymbolKind::Type => "type",
            SymbolKind::Constant => "constant",
            SymbolKind::Module => "module",
            SymbolKind::Macro => "macro",
            SymbolKind::Impl => "impl",
        }
    }

    /// Kinds that hold other definitions in the outline.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            SymbolKind::Class | SymbolKind::Interface | SymbolKind::Module | SymbolKind::Impl
        )
    }

    fn from_tag(tag: &str) -> Option<SymbolKind> {
        Some(match tag {
            "function" => SymbolKind::Function,
            "method" => SymbolKind::Method,
            "class" => SymbolKind::Class,
            "interface" => SymbolKind::Interface,
            "type" => SymbolKind::Type,
            "constant" => SymbolKind::Constant,
            "module" => SymbolKind::Module,
            "macro" => SymbolKind::Macro,
            "impl" => SymbolKind::Impl,
            _ => return None,
        })
    }
}

/// How a name is used at a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReferenceKind {
    Call,
    /// A type named in a signature, an annotation or an `impl`.
    Type,
    /// `new X(…)`.
    Construction,
}

/// A definition in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub name: Box<str>,
    pub kind: SymbolKind,
    /// The item's lines, from its first line (decorators and `export` included)
    /// to its last; the doc comment is in `doc`.
    pub lines: LineRange,
    pub bytes: Range<usize>,
    /// The innermost definition (an index into the same file's definitions) that
    /// holds this one, such as a method's `impl` or class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<usize>,
    /// The type this item belongs to: its `impl`, class or trait's name, or a Go
    /// method's receiver type. Resolves `Foo::new()` to `Foo`'s `new`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Box<str>>,
    /// The header up to the body, whitespace collapsed to single spaces:
    /// `pub fn parse(input: &str) -> Result<Ast, Error>`.
    pub signature: Box<str>,
    /// The lines the header spans.
    pub signature_lines: LineRange,
    /// The doc comment and attributes just above the item (Rust, JavaScript, Go),
    /// or the docstring at the top of its body (Python).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<LineRange>,
    /// What a prompt shows of this definition: its doc comment (cut after a few
    /// lines) and the whole item when small, else its signature lines. Exact text
    /// of the file but for the cut, which is marked.
    pub summary: Box<str>,
    /// The lines `summary` comes from.
    pub summary_lines: LineRange,
}

/// A use of a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub name: Box<str>,
    pub kind: ReferenceKind,
    pub line: u32,
    /// The name's bytes.
    pub bytes: Range<usize>,
    /// The path or receiver it is reached through, when it is a plain name:
    /// `Foo` in `Foo::new()`, `http` in `http.Get()`, `self` in `self.run()`.
    pub qualifier: Option<Box<str>>,
}

// References are most of the index cache (several per line of code): each is
// a row `[name, kind, line, start, end, qualifier]`, not an object with keys.
impl Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let row = (
            &*self.name,
            self.kind,
            self.line,
            self.bytes.start,
            self.bytes.end,
            self.qualifier.as_deref(),
        );
        row.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Reference, D::Error> {
        type Row = (Box<str>, ReferenceKind, u32, usize, usize, Option<Box<str>>);
        let (name, kind, line, start, end, qualifier) = Row::deserialize(deserializer)?;
        Ok(Reference {
            name,
            kind,
            line,
            bytes: start..end,
            qualifier,
        })
    }
}

/// An import statement at the top level of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub lines: LineRange,
    /// The words of the statement (`use crate::runtime::task::{spawn, JoinHandle};`
    /// gives `use`, `crate`, `runtime`, `task`, `spawn`, `JoinHandle`): how
    /// resolution tells imported modules and names from the rest.
    pub words: Vec<Box<str>>,
}

/// Everything the index keeps of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSymbols {
    pub path: PathBuf,
    pub language: Language,
    /// In the order they start in the file.
    pub definitions: Vec<Definition>,
    /// In the order they appear in the file.
    pub references: Vec<Reference>,
    pub imports: Vec<Import>,
    pub n_lines: u32,
}

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
        let query = tags_query(language)?;
        let mut cursor = QueryCursor::new();
        Some(read_symbols(path, language, text, tree, query, &mut cursor))
    }

    /// The innermost definition whose lines hold `byte` and whose kind passes
    /// `accept`.
    pub fn innermost_at(&self, byte: usize, accept: impl Fn(SymbolKind) -> bool) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (index, definition) in self.definitions.iter().enumerate() {
            if definition.bytes.start > byte {
                break;
            }
            if byte <= definition.bytes.end && accept(definition.kind) {
                let tighter = best.is_none_or(|current| {
                    let current = &self.definitions[current];
                    definition.bytes.len() <= current.bytes.len()
                });
                if tighter {
                    best = Some(index);
                }
            }
        }
        best
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
        let tree = self.parser.parse(text, None)?;
        Some(read_symbols(
            path,
            self.language,
            text,
            &tree,
            self.query,
            &mut self.cursor,
        ))
    }

    /// Parse `text` (used by selection, which needs the tree as well).
    pub fn parse(&mut self, text: &str) -> Option<Tree> {
        self.parser.parse(text, None)
    }
}

/// The compiled tags query of `language`, built once per process.
pub(crate) fn tags_query(language: Language) -> Option<&'static Query> {
    static QUERIES: [OnceLock<Option<Query>>; Language::ALL.len()] =
        [const { OnceLock::new() }; Language::ALL.len()];
    let slot = Language::ALL
        .iter()
        .position(|candidate| *candidate == language)?;
    QUERIES[slot]
        .get_or_init(|| {
            let source = query_source(language)?;
            match Query::new(&language.tree_sitter_language(), &source) {
                Ok(query) => Some(query),
                Err(error) => {
                    // Only a grammar update can break a query; the tests compile
                    // every one, so this is reached only by a mismatched build.
                    tracing::error!(%language, %error, "tags query does not compile");
                    None
                }
            }
        })
        .as_ref()
}

pub(crate) fn query_source(language: Language) -> Option<String> {
    let (shipped, ours) = match language {
        Language::Rust => (tree_sitter_rust::TAGS_QUERY.to_string(), RUST_EXTRA),
        Language::Python => (tree_sitter_python::TAGS_QUERY.to_string(), PYTHON_EXTRA),
        Language::JavaScript => (
            tree_sitter_javascript::TAGS_QUERY.to_string(),
            JAVASCRIPT_EXTRA,
        ),
        Language::TypeScript | Language::Tsx => (
            format!(
                "{}\n{}",
                tree_sitter_javascript::TAGS_QUERY,
                tree_sitter_typescript::TAGS_QUERY
            ),
            TYPESCRIPT_EXTRA,
        ),
        Language::Go => (tree_sitter_go::TAGS_QUERY.to_string(), GO_EXTRA),
        Language::Bash => return None,
    };
    Some(format!("{shipped}\n{ours}"))
}

const RUST_EXTRA: &str = r#"
(impl_item type: (_) @name) @definition.impl
(function_signature_item name: (identifier) @name) @definition.method
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.constant
(call_expression function: (scoped_identifier name: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (scoped_identifier name: (identifier) @name))) @reference.call
(call_expression function: (generic_function function: (field_expression field: (field_identifier) @name))) @reference.call
(macro_invocation macro: (scoped_identifier name: (identifier) @name)) @reference.call
(type_identifier) @name @reference.type
"#;

const PYTHON_EXTRA: &str = "";

const JAVASCRIPT_EXTRA: &str = r#"
(program (lexical_declaration (variable_declarator name: (identifier) @name value: [(number) (string) (template_string) (object) (array)])) @definition.constant)
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name value: [(number) (string) (template_string) (object) (array)])) @definition.constant))
"#;

const TYPESCRIPT_EXTRA: &str = r#"
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.type
(program (lexical_declaration (variable_declarator name: (identifier) @name value: [(number) (string) (template_string) (object) (array)])) @definition.constant)
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name value: [(number) (string) (template_string) (object) (array)])) @definition.constant))
"#;

const GO_EXTRA: &str = r#"
(const_spec name: (identifier) @name) @definition.constant
(source_file (var_declaration (var_spec name: (identifier) @name) @definition.constant))
"#;

fn read_symbols(
    path: &Path,
    language: Language,
    text: &str,
    tree: &Tree,
    query: &Query,
    cursor: &mut QueryCursor,
) -> FileSymbols {
    let line_starts = line_starts(text);
    let mut found = Harvest::default();
    let everything = 0..usize::MAX;
    harvest(
        language,
        text,
        &line_starts,
        tree,
        query,
        cursor,
        everything,
        &mut found,
    );
    finish(path, language, text, tree, line_starts, found)
}

/// Definitions and references read from query matches, not yet sorted or nested.
#[derive(Default)]
pub(crate) struct Harvest {
    pub(crate) definitions: Vec<Definition>,
    pub(crate) references: Vec<Reference>,
}

/// Run the query over the bytes `keys` of `tree` and keep the symbols it finds
/// there: the definitions whose item node starts in `keys` and the references
/// whose name does. The incremental update runs it over the items an edit
/// touched; a match of an enclosing node, which the cursor reports for any range
/// inside it, is left to the range that holds its start.
#[allow(clippy::too_many_arguments)] // The pieces of one extraction, all needed.
pub(crate) fn harvest(
    language: Language,
    text: &str,
    line_starts: &[usize],
    tree: &Tree,
    query: &Query,
    cursor: &mut QueryCursor,
    keys: Range<usize>,
    out: &mut Harvest,
) {
    let source = text.as_bytes();
    let names = query.capture_names();
    let first_reference = out.references.len();
    let mut defined_at: HashSet<usize> = HashSet::new();
    let mut name_starts: HashSet<usize> = HashSet::new();
    let mut referenced_at: HashSet<usize> = HashSet::new();

    // Tree-sitter offsets are `u32`; a range past that is the whole file.
    let clamp = |byte: usize| u32::try_from(byte).map_or(u32::MAX as usize, |byte| byte as usize);
    cursor.set_byte_range(clamp(keys.start)..clamp(keys.end));
    let mut matches = cursor.matches(query, tree.root_node(), source);
    while let Some(found) = matches.next() {
        let mut name_node = None;
        let mut tagged = None;
        for capture in found.captures {
            let capture_name = names[capture.index as usize];
            if capture_name == "name" {
                name_node = Some(capture.node);
            } else if let Some(kind) = capture_name.strip_prefix("definition.") {
                tagged = Some((true, kind, capture.node));
            } else if let Some(kind) = capture_name.strip_prefix("reference.") {
                tagged = Some((false, kind, capture.node));
            }
        }
        let (Some(name_node), Some((is_definition, tag, item))) = (name_node, tagged) else {
            continue;
        };
        if is_definition {
            if !keys.contains(&item.start_byte()) {
                continue;
            }
            let Some(kind) = SymbolKind::from_tag(tag) else {
                continue;
            };
            // A node matched by two patterns (Rust's method and function) keeps
            // the first, more specific, one.
            if !defined_at.insert(item.start_byte()) && kind != SymbolKind::Impl {
                continue;
            }
            let name = if kind == SymbolKind::Impl {
                type_name(name_node, source)
            } else {
                node_text(name_node, source).to_string()
            };
            if name.is_empty() {
                continue;
            }
            name_starts.insert(name_node.start_byte());
            let mut definition = Definition {
                name: name.into(),
                kind,
                lines: LineRange::default(),
                bytes: item.start_byte()..item.end_byte(),
                container: None,
                parent: None,
                signature: "".into(),
                signature_lines: LineRange::default(),
                doc: None,
                summary: "".into(),
                summary_lines: LineRange::default(),
            };
            describe(&mut definition, item, language, text, line_starts);
            out.definitions.push(definition);
        } else {
            if !keys.contains(&name_node.start_byte()) {
                continue;
            }
            let kind = match tag {
                "call" => ReferenceKind::Call,
                "class" => ReferenceKind::Construction,
                _ => ReferenceKind::Type,
            };
            if !referenced_at.insert(name_node.start_byte()) {
                continue;
            }
            // JavaScript's member-call pattern tags the arguments.
            let item = match item.kind() {
                "arguments" => item.parent().unwrap_or(item),
                _ => item,
            };
            let name = node_text(name_node, source);
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            {
                continue;
            }
            out.references.push(Reference {
                name: name.into(),
                kind,
                line: name_node.start_position().row as u32 + 1,
                bytes: name_node.start_byte()..name_node.end_byte(),
                qualifier: qualifier(item, name_node, source),
            });
        }
    }
    // A definition's own name is not a reference to it (both lie in `keys`).
    let mut found = out.references.split_off(first_reference);
    found.retain(|reference| !name_starts.contains(&reference.bytes.start));
    out.references.append(&mut found);
}

/// Order and nest what the harvests found, and read the imports.
pub(crate) fn finish(
    path: &Path,
    language: Language,
    text: &str,
    tree: &Tree,
    line_starts: Vec<usize>,
    found: Harvest,
) -> FileSymbols {
    let Harvest {
        mut definitions,
        mut references,
    } = found;
    references.sort_by_key(|reference| reference.bytes.start);
    definitions.sort_by(|a, b| {
        a.bytes
            .start
            .cmp(&b.bytes.start)
            .then(b.bytes.end.cmp(&a.bytes.end))
    });
    nest(&mut definitions, language);

    FileSymbols {
        path: path.to_path_buf(),
        language,
        definitions,
        references,
        imports: imports(tree.root_node(), language, text),
        n_lines: line_starts.len() as u32,
    }
}

/// Set `container` and `parent`, and call functions held by a class, trait or
/// `impl` methods.
fn nest(definitions: &mut [Definition], language: Language) {
    let mut open: Vec<usize> = Vec::new();
    for index in 0..definitions.len() {
        let start = definitions[index].bytes.start;
        while let Some(&top) = open.last() {
            if definitions[top].bytes.end <= start {
                open.pop();
            } else {
                break;
            }
        }
        let holder_kind = open.last().map(|&container| definitions[container].kind);
        // Rust's query calls every function in a `declaration_list` a method,
        // `mod` bodies included; a method is what a type holds (or, in Go, what
        // has a receiver).
        if definitions[index].kind == SymbolKind::Method
            && language != Language::Go
            && !matches!(
                holder_kind,
                Some(SymbolKind::Class | SymbolKind::Interface | SymbolKind::Impl)
            )
        {
            definitions[index].kind = SymbolKind::Function;
        }
        if let Some(&container) = open.last() {
            definitions[index].container = Some(container);
            let holder = &definitions[container];
            if holder.kind.is_container() && holder.kind != SymbolKind::Module {
                let parent = holder.name.clone();
                let definition = &mut definitions[index];
                if definition.parent.is_none() {
                    definition.parent = Some(parent);
                }
                if definition.kind == SymbolKind::Function && language != Language::Go {
                    definition.kind = SymbolKind::Method;
                }
            }
        }
        open.push(index);
    }
}

/// Fill in lines, signature, doc and summary of a definition from its node.
fn describe(
    definition: &mut Definition,
    item: Node<'_>,
    language: Language,
    text: &str,
    line_starts: &[usize],
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
    let header_start = line_start_of(outer.start_byte(), line_starts);
    let header = &text[header_start..header_end.max(header_start)];
    definition.signature = collapse_whitespace(header).into();
    let signature_end_line = match body {
        Some(body) => body.start_position().row as u32 + 1,
        None => definition.lines.end,
    };
    definition.signature_lines = LineRange::new(definition.lines.start, signature_end_line);

    definition.doc = match language {
        Language::Python => body.and_then(|body| python_docstring(body)),
        _ => doc_above(definition.lines.start, language, text, line_starts),
    };

    let (summary, summary_lines) = summarize(definition, language, text, line_starts);
    definition.summary = summary.into();
    definition.summary_lines = summary_lines;
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

pub(crate) fn summarize(
    definition: &Definition,
    language: Language,
    text: &str,
    line_starts: &[usize],
) -> (String, LineRange) {
    let mut out = String::new();
    let mut first = definition.lines.start;
    let doc_above_item = definition
        .doc
        .filter(|doc| doc.end < definition.lines.start);
    if let Some(doc) = doc_above_item {
        first = doc.start;
        push_cut(&mut out, text, line_starts, doc, language);
    }
    let item = definition.lines;
    let last = if item.len() <= SMALL_ITEM_LINES {
        push_lines(&mut out, text, line_starts, item);
        item.end
    } else {
        push_lines(&mut out, text, line_starts, definition.signature_lines);
        let mut last = definition.signature_lines.end;
        if language == Language::Python {
            if let Some(doc) = definition
                .doc
                .filter(|doc| doc.start > definition.lines.start)
            {
                push_cut(&mut out, text, line_starts, doc, language);
                last = doc.end;
            }
        }
        last
    };
    (out, LineRange::new(first, last))
}

/// Push a doc comment's lines, cut after `SUMMARY_DOC_LINES` with a marker.
fn push_cut(
    out: &mut String,
    text: &str,
    line_starts: &[usize],
    doc: LineRange,
    language: Language,
) {
    if doc.len() as usize <= SUMMARY_DOC_LINES {
        push_lines(out, text, line_starts, doc);
        return;
    }
    let shown = LineRange::new(doc.start, doc.start + SUMMARY_DOC_LINES as u32 - 1);
    push_lines(out, text, line_starts, shown);
    let indent: String = line_text(text, line_starts, doc.start)
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

/// The byte offset of the start of every line.
pub(crate) fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::with_capacity(text.len() / 32 + 1);
    starts.push(0);
    starts.extend(memchr_newlines(text).map(|at| at + 1));
    if starts.len() > 1 && *starts.last().unwrap_or(&0) == text.len() {
        // A final newline does not start another line.
        starts.pop();
    }
    starts
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter_map(|(at, byte)| (byte == b'\n').then_some(at))
}

fn line_start_of(byte: usize, line_starts: &[usize]) -> usize {
    match line_starts.binary_search(&byte) {
        Ok(index) => line_starts[index],
        Err(index) => line_starts[index.saturating_sub(1)],
    }
}

/// The text of 1-based `line`, without its line break.
pub(crate) fn line_text<'t>(text: &'t str, line_starts: &[usize], line: u32) -> &'t str {
    let Some(&start) = line_starts.get(line.saturating_sub(1) as usize) else {
        return "";
    };
    let end = line_starts
        .get(line as usize)
        .copied()
        .unwrap_or(text.len());
    text[start..end].trim_end_matches(['\n', '\r'])
}

/// Append lines `range` of `text`, each ending with `\n`.
pub(crate) fn push_lines(out: &mut String, text: &str, line_starts: &[usize], range: LineRange) {
    for line in range.start..=range.end {
        out.push_str(line_text(text, line_starts, line));
        out.push('\n');
    }
}

/// The import statements at the top of the file.
fn imports(root: Node<'_>, language: Language, text: &str) -> Vec<Import> {
    let kinds: &[&str] = match language {
        Language::Rust => &["use_declaration", "extern_crate_declaration"],
        Language::Python => &[
            "import_statement",
            "import_from_statement",
            "future_import_statement",
        ],
        Language::JavaScript | Language::TypeScript | Language::Tsx => &["import_statement"],
        Language::Go => &["import_declaration"],
        Language::Bash => &[],
    };
    let mut walker = root.walk();
    root.named_children(&mut walker)
        .filter(|node| kinds.contains(&node.kind()))
        .map(|node| Import {
            lines: lines_of(node),
            words: text[node.byte_range()]
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|word| !word.is_empty())
                .map(Into::into)
                .collect(),
        })
        .collect()
}

/// What a call is reached through, when that is a plain name. Found from the
/// reference's item down (`Node::parent` walks from the root: too slow here).
fn qualifier(item: Node<'_>, name: Node<'_>, source: &[u8]) -> Option<Box<str>> {
    let mut parent = item
        .child_by_field_name("function")
        .or_else(|| item.child_by_field_name("macro"))?;
    if parent.kind() == "generic_function" {
        parent = parent.child_by_field_name("function")?;
    }
    if parent.kind() == "parenthesized_expression" {
        parent = parent.named_child(0)?;
    }
    if parent.id() == name.id() {
        return None;
    }
    let object = match parent.kind() {
        "scoped_identifier" => parent.child_by_field_name("path")?,
        "field_expression" => parent.child_by_field_name("value")?,
        "attribute" => parent.child_by_field_name("object")?,
        "member_expression" => parent.child_by_field_name("object")?,
        "selector_expression" => parent.child_by_field_name("operand")?,
        _ => return None,
    };
    let object = match object.kind() {
        // `a::b::Foo::new` → `Foo`.
        "scoped_identifier" => object.child_by_field_name("name")?,
        // `Vec::<u8>::new` → `Vec`.
        "generic_type" => object.child_by_field_name("type")?,
        _ => object,
    };
    matches!(
        object.kind(),
        "identifier"
            | "type_identifier"
            | "self"
            | "this"
            | "package_identifier"
            | "crate"
            | "super"
    )
    .then(|| node_text(object, source).into())
}

/// The name of a Rust `impl`'s type: `Foo` for `impl<T> Trait for a::Foo<T>`.
fn type_name(node: Node<'_>, source: &[u8]) -> String {
    match node.kind() {
        "generic_type" => node
            .child_by_field_name("type")
            .map(|inner| type_name(inner, source))
            .unwrap_or_default(),
        "scoped_type_identifier" => node
            .child_by_field_name("name")
            .map(|inner| node_text(inner, source).to_string())
            .unwrap_or_default(),
        "reference_type" | "pointer_type" => node
            .child_by_field_name("type")
            .map(|inner| type_name(inner, source))
            .unwrap_or_default(),
        _ => node_text(node, source).to_string(),
    }
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

fn node_text<'s>(node: Node<'_>, source: &'s [u8]) -> &'s str {
    node.utf8_text(source).unwrap_or("")
}

fn lines_of(node: Node<'_>) -> LineRange {
    let start = node.start_position().row as u32 + 1;
    let end_position = node.end_position();
    // A node that ends at column 0 (Rust line comments, Python blocks) ends on
    // the line before.
    let end = if end_position.column == 0 && end_position.row > node.start_position().row {
        end_position.row as u32
    } else {
        end_position.row as u32 + 1
    };
    LineRange::new(start, end)
}

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

/// Name a node's kind for `nest`: exposed so tests can check the grammar's names.
#[cfg(test)]
pub(crate) fn query_compiles(language: Language) -> bool {
    tags_query(language).is_some()
}
