//! The symbols the index keeps of a file (definitions, references, imports),
//! as plain data: what extraction produces, the cache stores and selection reads.

use std::collections::HashSet;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::LineRange;
use crate::language::Language;

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

    /// The kind a tags query capture names (`definition.<tag>`).
    pub(crate) fn from_tag(tag: &str) -> Option<SymbolKind> {
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
    /// `pub fn parse(input: &str) -> Result<Ast, Error>`. Empty in the index's
    /// copy, where nothing reads it (outlines are made from the file).
    pub signature: Box<str>,
    /// The lines the header spans.
    pub signature_lines: LineRange,
    /// The doc comment and attributes just above the item (Rust, JavaScript, Go),
    /// or the docstring at the top of its body (Python).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<LineRange>,
    /// What a prompt shows of this definition: its doc comment (cut after a few
    /// lines) and the whole item when small, else its signature lines. Exact text
    /// of the file but for the cut, which is marked. `None` where the text is
    /// kept elsewhere: the index does not copy an editor buffer's text into the
    /// summaries of its definitions (selection makes one from the text when a
    /// prompt needs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Box<str>>,
    /// The lines `summary` comes from.
    pub summary_lines: LineRange,
}

/// A use of a name. The name and qualifier are shared: a file names the same
/// few identifiers over and over (171,291 references to 8,089 names in the
/// memory bench's 1,000 files), so each distinct string is allocated once per
/// file (by extraction, and [`FileSymbols::share_names`] for the cache).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub name: Arc<str>,
    pub kind: ReferenceKind,
    pub line: u32,
    /// The name's bytes.
    pub bytes: Range<usize>,
    /// The path or receiver it is reached through, when it is a plain name:
    /// `Foo` in `Foo::new()`, `http` in `http.Get()`, `self` in `self.run()`.
    pub qualifier: Option<Arc<str>>,
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
            name: name.into(),
            kind,
            line,
            bytes: start..end,
            qualifier: qualifier.map(Arc::from),
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
    /// Makes every reference with the same name (or qualifier) share one
    /// allocation of it, as extraction does: for symbols read from the cache,
    /// where deserialising gives each its own.
    pub(crate) fn share_names(&mut self) {
        let mut strings: HashSet<Arc<str>> = HashSet::new();
        let mut share = |string: &mut Arc<str>| match strings.get(string) {
            Some(shared) => *string = Arc::clone(shared),
            None => {
                strings.insert(Arc::clone(string));
            }
        };
        for reference in &mut self.references {
            share(&mut reference.name);
            if let Some(qualifier) = &mut reference.qualifier {
                share(qualifier);
            }
        }
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
