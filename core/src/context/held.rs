//! A file's definitions and imports as the index holds them for the whole
//! session: plain numbers, names by their number in the index's [`Names`],
//! where a [`Definition`] carries machine-word ranges, its own allocation of
//! its name and empty slots for what only extraction fills (the signature).
//! In the memory bench's 1,000 files, 32,125 definitions went from about
//! 5.6 MiB to 1.8 MiB.
//!
//! Lookups decode what they return ([`HeldFile::definition`],
//! [`HeldFile::symbols`]): a few definitions per lookup.

use std::path::Path;
use std::sync::Arc;

use super::names::{NameId, Names};
use super::symbol::{Definition, FileSymbols, Import, SymbolKind};
use super::LineRange;
use crate::language::Language;

/// No container, no parent.
const NONE: u32 = u32::MAX;

/// No doc comment.
const NO_LINES: LineRange = LineRange { start: 0, end: 0 };

/// Separates the words of an import held as one string: words are
/// identifiers and path segments, never spaces.
const WORD_SEPARATOR: char = ' ';

#[derive(Debug)]
struct HeldDefinition {
    name: NameId,
    /// [`NONE`] for none.
    parent: NameId,
    /// Byte offsets: buffers and indexed files are far below 4 GiB.
    bytes: [u32; 2],
    lines: LineRange,
    signature_lines: LineRange,
    summary_lines: LineRange,
    /// Starting at line 0 for none (lines count from 1).
    doc: LineRange,
    container: u32,
    kind: SymbolKind,
}

#[derive(Debug)]
struct HeldImport {
    lines: LineRange,
    /// The words, joined by [`WORD_SEPARATOR`]: one allocation, not one a word.
    words: Box<str>,
}

/// Everything but the references of one indexed file.
#[derive(Debug)]
pub(super) struct HeldFile {
    path: Arc<Path>,
    language: Language,
    n_lines: u32,
    definitions: Box<[HeldDefinition]>,
    /// Each definition's summary, by position; empty when none has one (the
    /// editor's buffers, whose text the store keeps).
    summaries: Box<[Option<Box<str>>]>,
    imports: Box<[HeldImport]>,
}

impl HeldFile {
    /// What the index keeps of `symbols` (their references are kept apart, as
    /// uses), whose names `number` numbers.
    pub(super) fn new(
        path: Arc<Path>,
        symbols: &FileSymbols,
        mut number: impl FnMut(&str) -> NameId,
    ) -> HeldFile {
        let definitions = symbols
            .definitions
            .iter()
            .map(|definition| HeldDefinition {
                name: number(&definition.name),
                parent: definition.parent.as_deref().map_or(NONE, &mut number),
                bytes: [offset(definition.bytes.start), offset(definition.bytes.end)],
                lines: definition.lines,
                signature_lines: definition.signature_lines,
                summary_lines: definition.summary_lines,
                doc: definition.doc.unwrap_or(NO_LINES),
                container: definition
                    .container
                    .map_or(NONE, |container| container as u32),
                kind: definition.kind,
            })
            .collect();
        let summaries = if symbols
            .definitions
            .iter()
            .any(|definition| definition.summary.is_some())
        {
            symbols
                .definitions
                .iter()
                .map(|definition| definition.summary.clone())
                .collect()
        } else {
            Box::default()
        };
        let imports = symbols
            .imports
            .iter()
            .map(|import| HeldImport {
                lines: import.lines,
                words: import.words.join(&WORD_SEPARATOR.to_string()).into(),
            })
            .collect();
        HeldFile {
            path,
            language: symbols.language,
            n_lines: symbols.n_lines,
            definitions,
            summaries,
            imports,
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn shared_path(&self) -> &Arc<Path> {
        &self.path
    }

    pub(super) fn language(&self) -> Language {
        self.language
    }

    /// The names defined, in file order, a name once per definition.
    pub(super) fn names(&self) -> impl Iterator<Item = NameId> + '_ {
        self.definitions.iter().map(|definition| definition.name)
    }

    /// The definitions' parents, in file order, a name once per definition
    /// that has one.
    pub(super) fn parents(&self) -> impl Iterator<Item = NameId> + '_ {
        self.definitions
            .iter()
            .map(|definition| definition.parent)
            .filter(|parent| *parent != NONE)
    }

    /// The positions of the definitions named `name` that pass `accept`.
    pub(super) fn named<'h>(
        &'h self,
        name: NameId,
        accept: impl Fn(SymbolKind) -> bool + 'h,
    ) -> impl Iterator<Item = usize> + 'h {
        self.definitions
            .iter()
            .enumerate()
            .filter(move |(_, definition)| definition.name == name && accept(definition.kind))
            .map(|(position, _)| position)
    }

    /// The innermost definition whose bytes hold `byte` and whose kind passes
    /// `accept`, as [`FileSymbols::innermost_at`] finds it, without decoding.
    pub(super) fn innermost_at(
        &self,
        byte: usize,
        accept: impl Fn(SymbolKind) -> bool,
    ) -> Option<usize> {
        let byte = offset(byte);
        let len = |held: &HeldDefinition| held.bytes[1] - held.bytes[0];
        let mut best: Option<usize> = None;
        for (position, definition) in self.definitions.iter().enumerate() {
            if definition.bytes[0] > byte {
                break;
            }
            if byte <= definition.bytes[1] && accept(definition.kind) {
                let tighter =
                    best.is_none_or(|current| len(definition) <= len(&self.definitions[current]));
                if tighter {
                    best = Some(position);
                }
            }
        }
        best
    }

    /// What ranking reads of the definition at `position`: its kind, its
    /// parent's name and its lines, without decoding it.
    pub(super) fn outline_of<'n>(
        &self,
        position: usize,
        names: &'n Names,
    ) -> (SymbolKind, Option<&'n str>, LineRange) {
        let held = &self.definitions[position];
        let parent = (held.parent != NONE).then(|| names.get(held.parent));
        (held.kind, parent, held.lines)
    }

    /// The name of the definition at `position`.
    pub(super) fn name_of<'n>(&self, position: usize, names: &'n Names) -> &'n str {
        names.get(self.definitions[position].name)
    }

    /// The definition at `position`, as extraction gave it (without its
    /// signature, which the index never keeps).
    pub(super) fn definition(&self, position: usize, names: &Names) -> Definition {
        let held = &self.definitions[position];
        Definition {
            name: names.get(held.name).into(),
            kind: held.kind,
            lines: held.lines,
            bytes: held.bytes[0] as usize..held.bytes[1] as usize,
            container: (held.container != NONE).then_some(held.container as usize),
            parent: (held.parent != NONE).then(|| names.get(held.parent).into()),
            signature: Box::default(),
            signature_lines: held.signature_lines,
            doc: (held.doc != NO_LINES).then_some(held.doc),
            summary: self.summaries.get(position).cloned().flatten(),
            summary_lines: held.summary_lines,
        }
    }

    /// The whole file's symbols but its references (kept as uses).
    pub(super) fn symbols(&self, names: &Names) -> FileSymbols {
        FileSymbols {
            path: self.path.to_path_buf(),
            language: self.language,
            definitions: (0..self.definitions.len())
                .map(|position| self.definition(position, names))
                .collect(),
            references: Vec::new(),
            imports: self
                .imports
                .iter()
                .map(|import| Import {
                    lines: import.lines,
                    words: import
                        .words
                        .split(WORD_SEPARATOR)
                        .filter(|word| !word.is_empty())
                        .map(Box::from)
                        .collect(),
                })
                .collect(),
            n_lines: self.n_lines,
        }
    }
}

/// A byte offset as held: saturated, for a text past 4 GiB (never indexed).
fn offset(byte: usize) -> u32 {
    u32::try_from(byte).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::symbol::Reference;

    #[test]
    fn a_held_file_gives_back_its_definitions_and_imports() {
        let text = "use std::sync::{Arc, Mutex};\n\n/// Doc.\npub struct Pool;\n\nimpl Pool {\n    pub fn new() -> Pool { Pool }\n}\n";
        let path = Path::new("/w/src/pool.rs");
        let mut symbols = Extractor::new(Language::Rust)
            .unwrap()
            .extract(path, text)
            .unwrap();
        symbols.references = Vec::<Reference>::new();
        for definition in &mut symbols.definitions {
            definition.signature = Box::default();
        }
        let mut names = Names::default();
        let held = HeldFile::new(Arc::from(path), &symbols, |name| names.intern(name));
        assert_eq!(held.symbols(&names), symbols);
        let pool = names.find("Pool").unwrap();
        assert!(held.parents().all(|parent| parent == pool));
        let news: Vec<usize> = held.named(names.find("new").unwrap(), |_| true).collect();
        assert_eq!(news.len(), 1);
        let new = held.definition(news[0], &names);
        assert_eq!(new.parent.as_deref(), Some("Pool"));
        assert_eq!(&text[new.bytes.clone()], "pub fn new() -> Pool { Pool }");
        let inside_new = new.bytes.start + 8;
        for byte in [0, inside_new, text.len() - 1, text.len() + 10] {
            let any = |_| true;
            assert_eq!(
                held.innermost_at(byte, any),
                symbols.innermost_at(byte, any),
                "byte {byte}"
            );
        }
        assert_eq!(
            held.innermost_at(inside_new, |kind| kind == SymbolKind::Method)
                .map(|position| held.name_of(position, &names)),
            Some("new")
        );
        assert_eq!(
            held.symbols(&names).imports[0].words,
            ["use", "std", "sync", "Arc", "Mutex"].map(Box::from)
        );
    }

    use crate::context::Extractor;
}
