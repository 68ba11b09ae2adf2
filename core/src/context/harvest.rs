//! Walking a tags query's matches over a syntax tree into definitions and
//! references, then ordering and nesting them into a file's symbols. Run over a
//! whole file by extraction, and over the items an edit touched by the
//! incremental update.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Query, QueryCursor, Tree};

use super::node::{lines_of, node_text};
use super::summary::{describe, Detail};
use super::symbol::{Definition, FileSymbols, Import, Reference, ReferenceKind, SymbolKind};
use super::LineRange;
use crate::language::Language;

/// Definitions and references read from query matches, not yet sorted or nested.
#[derive(Default)]
pub(crate) struct Harvest {
    pub(crate) definitions: Vec<Definition>,
    pub(crate) references: Vec<Reference>,
    /// Every reference name and qualifier read so far, each allocated once: a
    /// file names the same few identifiers over and over.
    strings: HashSet<Arc<str>>,
    /// How much text each definition copies (see [`Detail`]).
    detail: Detail,
}

impl Harvest {
    pub(crate) fn new(detail: Detail) -> Harvest {
        Harvest {
            detail,
            ..Harvest::default()
        }
    }

    fn share(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.strings.get(text) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = text.into();
        self.strings.insert(Arc::clone(&shared));
        shared
    }
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
                summary: None,
                summary_lines: LineRange::default(),
            };
            describe(
                &mut definition,
                item,
                language,
                text,
                line_starts,
                out.detail,
            );
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
            let reference = Reference {
                name: out.share(name),
                kind,
                line: name_node.start_position().row as u32 + 1,
                bytes: name_node.start_byte()..name_node.end_byte(),
                qualifier: qualifier(item, name_node, source).map(|text| out.share(text)),
            };
            out.references.push(reference);
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
        ..
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
fn qualifier<'s>(item: Node<'_>, name: Node<'_>, source: &'s [u8]) -> Option<&'s str> {
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
    .then(|| node_text(object, source))
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
