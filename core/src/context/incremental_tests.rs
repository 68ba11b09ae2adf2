//! The index's incremental re-read of an edited buffer against a fresh
//! extraction: random edits (lines deleted and copied, names changed, new items,
//! doc comments, broken code, the whole file replaced) to real files, indexed the
//! way the server does it (trees reparsed incrementally, and only some versions
//! indexed, as the debounce does) or from trees parsed from scratch. After every
//! indexed version the symbols must equal a full read of the same tree
//! (`FileSymbols::from_tree`), and for a tree parsed from scratch
//! `FileSymbols::extract` of the text.
//!
//! `AGENTLS_INCREMENTAL_CORPUS=dir1:dir2` also runs it over every source file
//! under those directories (a few edits each), for checking against trees of
//! real code that the repository does not carry.

use std::path::{Path, PathBuf};

use tree_sitter::{InputEdit, Parser, Point, Tree};

use super::index::compact;
use super::*;
use crate::language::Language;

const STEPS: usize = 250;

#[test]
fn context_incremental_rust() {
    // The extraction's own files, one after another: about a thousand lines
    // of real Rust with long doc comments, nested items and attributes.
    let extraction = concat!(
        include_str!("symbol.rs"),
        include_str!("extract.rs"),
        include_str!("queries.rs"),
        include_str!("harvest.rs"),
        include_str!("summary.rs"),
        include_str!("lines.rs"),
        include_str!("node.rs"),
    );
    check_random_edits("extraction.rs", Language::Rust, extraction, STEPS, 1);
    check_random_edits(
        "index.rs",
        Language::Rust,
        include_str!("index.rs"),
        STEPS,
        2,
    );
    check_random_edits(
        "select.rs",
        Language::Rust,
        include_str!("select.rs"),
        STEPS,
        3,
    );
}

#[test]
fn context_incremental_python() {
    let text = include_str!("testdata/inventory.py");
    check_random_edits("inventory.py", Language::Python, text, 2 * STEPS, 4);
}

#[test]
fn context_incremental_typescript() {
    let text = include_str!("testdata/router.ts");
    check_random_edits("router.ts", Language::TypeScript, text, 2 * STEPS, 5);
}

#[test]
fn context_incremental_go() {
    let text = include_str!("testdata/cache.go");
    check_random_edits("cache.go", Language::Go, text, STEPS, 6);
}

#[test]
fn context_incremental_corpus() {
    let Some(dirs) = std::env::var_os("AGENTLS_INCREMENTAL_CORPUS") else {
        return;
    };
    let roots: Vec<PathBuf> = std::env::split_paths(&dirs).collect();
    let mut files = 0;
    for (seed, (path, language)) in source_files(&roots, true).into_iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path.display().to_string();
        check_random_edits(&name, language, &text, 12, seed as u64);
        files += 1;
    }
    assert!(
        files > 0,
        "no source files under {}",
        dirs.to_string_lossy()
    );
}

/// Renamed names, new items and broken code to type, per language.
fn snippets(language: Language) -> &'static [&'static str] {
    match language {
        Language::Rust => &[
            "fn added(x: u32) -> u32 { helper(x) }\n",
            "impl Added {\n    fn one(&self) { Self::two(); }\n}\n",
            "/// Doc.\npub struct Added;\n",
            "const ADDED: u32 = 1;\n",
            "mod added { pub fn inner() {} }\n",
            "    fn method(&self) -> Option<Added> { None }\n",
            "#[inline]\n",
        ],
        Language::Python => &[
            "def added(x):\n    return helper(x)\n",
            "class Added:\n    def one(self):\n        return two()\n",
            "ADDED = 1\n",
            "    def method(self):\n        pass\n",
            "@decorator\ndef wrapped():\n    pass\n",
            "    \"\"\"Doc.\"\"\"\n",
        ],
        _ => &[
            "function added(x: number): number { return helper(x); }\n",
            "export class Added { one(): void { this.two(); } }\n",
            "interface Added { one(): void }\n",
            "const added = () => helper();\n",
            "  method(): void {}\n",
            "/** Doc. */\n",
            "func added(x int) int { return helper(x) }\n",
            "func (c *Cache) Added() {}\n",
            "type Added struct{ x int }\n",
        ],
    }
}

const NAMES: [&str; 8] = [
    "renamed", "Parser", "new", "run", "helper", "Ledger", "x", "Cache",
];
const BROKEN: [&str; 17] = [
    "{", "}", "(", ")", "\"", "/*", "*/", "'", "#", "\"\"\"", "`", ";", "<", "fn ", "def ",
    "class ", "//",
];

fn check_random_edits(name: &str, language: Language, original: &str, steps: usize, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let path = PathBuf::from(format!("/ws/{name}"));
    let index = SharedIndex::new();
    let mut parser = Parser::new();
    parser
        .set_language(&language.tree_sitter_language())
        .unwrap();
    let mut text = original.to_string();
    let mut tree = parser.parse(&text, None).unwrap();
    index.update_from_tree(&path, language, &text, &tree);
    for step in 0..steps {
        let (start, end, inserted) = if step % 60 == 59 || text.len() > 2 * original.len() + 1000 {
            (0, text.len(), original.to_string())
        } else {
            random_edit(&mut rng, &text, language)
        };
        let edit = input_edit(&text, start, end, &inserted);
        text.replace_range(start..end, &inserted);
        // As the server's store does, or from scratch: the update must not
        // depend on how the tree was parsed.
        let reparsed = rng.bool();
        tree.edit(&edit);
        tree = match reparsed {
            true => parser.parse(&text, Some(&tree)),
            false => parser.parse(&text, None),
        }
        .unwrap();
        // The server indexes a version after a pause in typing, not each one.
        if rng.u8(0..3) == 0 {
            continue;
        }
        index.update_from_tree(&path, language, &text, &tree);
        let actual = previous_whole(&index.read(), &path);
        let what = format!(
            "{name}, seed {seed}, step {step}: after replacing {start}..{end} with {inserted:?}"
        );
        let from_tree = as_indexed(FileSymbols::from_tree(&path, language, &text, &tree).unwrap());
        assert_same(&actual, &from_tree, &what);
        // A tree parsed from scratch is what `extract` reads. (An incremental
        // reparse of broken code may recover from the errors differently than a
        // fresh parse: the symbols then follow the tree the server has.)
        if !reparsed {
            let fresh = as_indexed(FileSymbols::extract(&path, language, &text).unwrap());
            assert_same(&actual, &fresh, &format!("{what} (fresh parse)"));
        }
    }
}

/// `symbols` as the index holds a buffer's (no signatures, no summaries).
/// The whole symbols the next update of `path` starts from: the entry's
/// definitions and imports with the references its source keeps (the entry
/// itself keeps them as names and lines).
fn previous_whole(index: &SymbolIndex, path: &Path) -> FileSymbols {
    let (symbols, source) = index.previous(path).expect("indexed last from a tree");
    FileSymbols {
        references: source.references.to_vec(),
        ..FileSymbols::clone(&symbols)
    }
}

fn rust_parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&Language::Rust.tree_sitter_language())
        .expect("rust grammar");
    parser
}

fn as_indexed(symbols: FileSymbols) -> FileSymbols {
    compact(symbols, Origin::Buffer)
}

/// Fails with the first definition or reference that differs.
fn assert_same(actual: &FileSymbols, expected: &FileSymbols, what: &str) {
    if actual == expected {
        return;
    }
    let definitions = actual
        .definitions
        .iter()
        .zip(&expected.definitions)
        .find(|(a, e)| a != e);
    if let Some((a, e)) = definitions {
        panic!("{what}: definitions differ:\n  got      {a:?}\n  expected {e:?}");
    }
    let references = actual
        .references
        .iter()
        .zip(&expected.references)
        .find(|(a, e)| a != e);
    if let Some((a, e)) = references {
        panic!("{what}: references differ:\n  got      {a:?}\n  expected {e:?}");
    }
    assert_eq!(
        actual.definitions.len(),
        expected.definitions.len(),
        "{what}"
    );
    assert_eq!(actual.references.len(), expected.references.len(), "{what}");
    assert_eq!(actual, expected, "{what}");
}

/// One random edit of `text`: the bytes to replace and what replaces them.
fn random_edit(rng: &mut fastrand::Rng, text: &str, language: Language) -> (usize, usize, String) {
    let lines: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at + 1))
        .collect();
    let line = |rng: &mut fastrand::Rng| lines[rng.usize(0..lines.len())];
    let boundary = |rng: &mut fastrand::Rng| {
        let mut at = rng.usize(0..=text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    match rng.u8(0..8) {
        // Delete one to three lines.
        0 => {
            let first = rng.usize(0..lines.len());
            let last = (first + rng.usize(1..=3)).min(lines.len());
            let end = lines.get(last).copied().unwrap_or(text.len());
            (lines[first], end, String::new())
        }
        // Copy a line elsewhere.
        1 => {
            let from = rng.usize(0..lines.len());
            let end = lines.get(from + 1).copied().unwrap_or(text.len());
            let mut copied = text[lines[from]..end].to_string();
            if !copied.ends_with('\n') {
                copied.push('\n');
            }
            let at = line(rng);
            (at, at, copied)
        }
        // Rename the word at a random place.
        2 => {
            let at = boundary(rng);
            let is_word = |c: char| c.is_alphanumeric() || c == '_';
            let start = text[..at]
                .char_indices()
                .rev()
                .take_while(|(_, c)| is_word(*c))
                .last()
                .map_or(at, |(index, _)| index);
            let end = text[at..]
                .char_indices()
                .find(|(_, c)| !is_word(*c))
                .map_or(text.len(), |(index, _)| at + index);
            (start, end, NAMES[rng.usize(0..NAMES.len())].to_string())
        }
        // A new item.
        3 => {
            let snippets = snippets(language);
            let at = line(rng);
            (at, at, snippets[rng.usize(0..snippets.len())].to_string())
        }
        // Broken code.
        4 => {
            let at = boundary(rng);
            (at, at, BROKEN[rng.usize(0..BROKEN.len())].to_string())
        }
        // Typing.
        5 => {
            let at = boundary(rng);
            let typed = ["a", "_b", " ", "1", "\n", "\t"][rng.usize(0..6)];
            (at, at, typed.to_string())
        }
        // A comment or blank line.
        6 => {
            let at = line(rng);
            let added =
                ["/// Doc.\n", "// Note.\n", "# Note.\n", "\n", " * More.\n"][rng.usize(0..5)];
            (at, at, added.to_string())
        }
        // Delete a few characters.
        _ => {
            let start = boundary(rng);
            let mut end = (start + rng.usize(1..40)).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            (start, end, String::new())
        }
    }
}

fn input_edit(text: &str, start: usize, end: usize, inserted: &str) -> InputEdit {
    let point = |text: &str, byte: usize| {
        let before = &text[..byte];
        let row = before.matches('\n').count();
        let column = byte - before.rfind('\n').map_or(0, |at| at + 1);
        Point::new(row, column)
    };
    let mut after = text.to_string();
    after.replace_range(start..end, inserted);
    InputEdit {
        start_byte: start,
        old_end_byte: end,
        new_end_byte: start + inserted.len(),
        start_position: point(text, start),
        old_end_position: point(text, end),
        new_end_position: point(&after, start + inserted.len()),
    }
}

#[test]
fn context_incremental_renamed_impl_renames_its_methods_parent() {
    // The methods are reused (the edit misses their lines); their parent is not.
    let path = Path::new("/ws/a.rs");
    let index = SharedIndex::new();
    let mut parser = rust_parser();
    let before = "impl Foo {\n    fn one(&self) {}\n\n    fn two(&self) {}\n}\n";
    let tree: Tree = parser.parse(before, None).unwrap();
    index.update_from_tree(path, Language::Rust, before, &tree);
    let after = before.replace("Foo", "Bar");
    let mut edited = tree.clone();
    edited.edit(&input_edit(before, 5, 8, "Bar"));
    let tree = parser.parse(&after, Some(&edited)).unwrap();
    index.update_from_tree(path, Language::Rust, &after, &tree);
    let index = index.read();
    let symbols = index.file(path).unwrap();
    assert_eq!(symbols.definitions[1].parent.as_deref(), Some("Bar"));
    assert_eq!(symbols.definitions[2].parent.as_deref(), Some("Bar"));
}

/// The index keeps the text and tree of one buffer only (the one updated last):
/// typing in two buffers by turns reads the other one whole, with the same
/// symbols as a full read.
#[test]
fn context_incremental_two_buffers_by_turns_equal_full_reads() {
    let index = SharedIndex::new();
    let mut parser = rust_parser();
    let paths = [Path::new("/w/a.rs"), Path::new("/w/b.rs")];
    for round in 0..4 {
        for (number, path) in paths.iter().enumerate() {
            let text = format!(
                "fn first_{number}() {{ second_{round}(); }}\nfn second_{round}() {{ first_{number}(); }}\n"
            );
            let tree = parser.parse(&text, None).expect("no cancellation");
            index.update_from_tree(path, Language::Rust, &text, &tree);
            let full = as_indexed(
                FileSymbols::from_tree(path, Language::Rust, &text, &tree).expect("rust"),
            );
            let read = index.read();
            let held = previous_whole(&read, path);
            assert_eq!(
                format!("{held:?}"),
                format!("{full:?}"),
                "{path:?} round {round}"
            );
            // What lookups answer: the definitions, and each use by its line.
            assert_eq!(
                read.file(path).expect("indexed").definitions,
                full.definitions
            );
            let lines = |name: &str| -> Vec<u32> {
                read.references(name)
                    .iter()
                    .filter(|hit| hit.path == *path)
                    .map(|hit| hit.line)
                    .collect()
            };
            assert_eq!(
                lines(&format!("second_{round}")),
                [1],
                "{path:?} round {round}"
            );
            assert_eq!(
                lines(&format!("first_{number}")),
                [2],
                "{path:?} round {round}"
            );
        }
    }
}

/// A buffer only opened is indexed whole without taking the place of the
/// buffer being typed in: that one keeps its text and tree for its next edit.
#[test]
fn context_an_opened_buffer_leaves_the_typed_one_its_source() {
    let index = SharedIndex::new();
    let mut parser = rust_parser();
    let (typed, opened) = (Path::new("/w/typed.rs"), Path::new("/w/opened.rs"));
    let text = "fn typed() { helper(); }\n";
    index.update_from_tree(
        typed,
        Language::Rust,
        text,
        &parser.parse(text, None).unwrap(),
    );
    let text = "fn opened() {}\nfn caller() { opened(); helper(); }\n";
    let tree = parser.parse(text, None).unwrap();
    index.update_from_opened_tree(opened, Language::Rust, text, &tree);
    let read = index.read();
    assert!(read.previous(typed).is_some());
    assert!(read.previous(opened).is_none());
    let symbols = read.file(opened).expect("indexed");
    let names: Vec<&str> = symbols
        .definitions
        .iter()
        .map(|definition| &*definition.name)
        .collect();
    assert_eq!(names, ["opened", "caller"]);
    let lines: Vec<(&Path, u32)> = read
        .references("helper")
        .iter()
        .map(|hit| (hit.path, hit.line))
        .collect();
    assert_eq!(lines, [(opened, 2), (typed, 1)]);
}

/// A buffer no longer in use lets its text and tree go; its symbols stay,
/// and its next update reads it whole. Another path's drop changes nothing.
#[test]
fn context_a_buffer_no_longer_in_use_drops_its_source_and_keeps_its_symbols() {
    let index = SharedIndex::new();
    let mut parser = rust_parser();
    let (typed, other) = (Path::new("/w/typed.rs"), Path::new("/w/other.rs"));
    let text = "fn typed() { helper(); }\n";
    let tree = parser.parse(text, None).unwrap();
    index.update_from_tree(typed, Language::Rust, text, &tree);
    index.update_file(other, Language::Rust, "fn other() {}\n");
    index.drop_source(other);
    assert!(index.read().previous(typed).is_some());
    assert!(index.read().keeps_source(typed));
    assert!(!index.read().keeps_source(other));
    index.drop_source(typed);
    let read = index.read();
    assert!(read.previous(typed).is_none());
    assert!(!read.keeps_source(typed));
    assert_eq!(read.definitions("typed").len(), 1);
    drop(read);
    // Typed in again: read whole, and kept again.
    let text = "fn typed() { helper(); }\nfn more() {}\n";
    let tree = parser.parse(text, None).unwrap();
    index.update_from_tree(typed, Language::Rust, text, &tree);
    let read = index.read();
    assert!(read.previous(typed).is_some());
    assert_eq!(read.definitions("more").len(), 1);
}
