//! The document store tested through its public API: notifications in, snapshots
//! out, checked against a naive model of LSP text and against fresh parses.

use std::str::FromStr;

use lsp_types::{Position, Range, TextDocumentContentChangeEvent, Uri};
use tree_sitter::{Node, Parser, Tree};

use super::*;

fn uri(text: &str) -> Uri {
    Uri::from_str(text).expect("test URIs are valid")
}

fn pos(line: u32, character: u32) -> Position {
    Position::new(line, character)
}

fn edit(start: Position, end: Position, text: &str) -> TextDocumentContentChangeEvent {
    TextDocumentContentChangeEvent {
        range: Some(Range::new(start, end)),
        range_length: None,
        text: text.to_owned(),
    }
}

fn full(text: &str) -> TextDocumentContentChangeEvent {
    TextDocumentContentChangeEvent {
        range: None,
        range_length: None,
        text: text.to_owned(),
    }
}

fn text_of(store: &DocumentStore, uri: &Uri) -> String {
    store
        .snapshot(uri)
        .expect("document is open")
        .text()
        .to_string()
}

/// A node's kind, byte range and start and end (row, column).
type NodeSummary = (String, usize, usize, (usize, usize), (usize, usize));

/// Every node of a tree, in order: equal lists mean equal trees, positions
/// included (`to_sexp` leaves them out).
fn nodes(tree: &Tree) -> Vec<NodeSummary> {
    fn walk(node: Node<'_>, out: &mut Vec<NodeSummary>) {
        let (start, end) = (node.start_position(), node.end_position());
        out.push((
            node.kind().to_owned(),
            node.start_byte(),
            node.end_byte(),
            (start.row, start.column),
            (end.row, end.column),
        ));
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    walk(tree.root_node(), &mut out);
    out
}

fn fresh_tree(language: Language, text: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&language.tree_sitter_language())
        .expect("grammar loads");
    parser.parse(text, None).expect("no cancellation was set")
}

#[test]
fn store_and_snapshot_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DocumentStore>();
    assert_send_sync::<DocumentSnapshot>();
}

#[test]
fn open_then_snapshot() {
    let store = DocumentStore::new();
    assert!(store.is_empty());
    let main = uri("file:///w/src/main.rs");
    store
        .open(main.clone(), "rust", 3, "fn main() {}\n".to_owned())
        .expect("first open");
    let snapshot = store.snapshot(&main).expect("open");
    assert_eq!(snapshot.uri(), &main);
    assert_eq!(snapshot.version(), 3);
    assert_eq!(snapshot.language_id(), "rust");
    assert_eq!(snapshot.language(), Some(Language::Rust));
    assert_eq!(snapshot.text().to_string(), "fn main() {}\n");
    let tree = snapshot.tree().expect("rust has a tree");
    assert_eq!(
        tree.root_node().to_sexp(),
        "(source_file (function_item name: (identifier) parameters: (parameters) body: (block)))"
    );
    assert_eq!(store.len(), 1);
    assert_eq!(store.uris(), vec![main.clone()]);
    assert!(store.snapshot(&uri("file:///w/other.rs")).is_none());
}

#[test]
fn language_from_language_id_then_extension() {
    let store = DocumentStore::new();
    let cases = [
        ("file:///w/a.txt", "python", Some(Language::Python)),
        ("file:///w/a.py", "plaintext", Some(Language::Python)),
        ("file:///w/App.tsx", "typescriptreact", Some(Language::Tsx)),
        ("untitled:Untitled-1", "shellscript", Some(Language::Bash)),
        ("file:///w/notes.md", "markdown", None),
        ("file:///w/Makefile", "makefile", None),
    ];
    for (text, language_id, expected) in cases {
        let document = uri(text);
        store
            .open(document.clone(), language_id, 1, "x".to_owned())
            .expect("first open");
        let snapshot = store.snapshot(&document).expect("open");
        assert_eq!(snapshot.language(), expected, "{text}");
        assert_eq!(snapshot.tree().is_some(), expected.is_some(), "{text}");
    }
    assert_eq!(store.len(), cases.len());
}

#[test]
fn reopen_replaces_and_is_reported() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.py");
    store
        .open(document.clone(), "python", 4, "old\n".to_owned())
        .expect("first open");
    let error = store
        .open(document.clone(), "python", 2, "new\n".to_owned())
        .expect_err("reopen is reported");
    assert_eq!(
        error,
        DocumentError::Reopened {
            uri: document.clone(),
            previous_version: 4,
            version: 2
        }
    );
    assert_eq!(
        error.to_string(),
        "document file:///w/a.py was already open at version 4; replaced by version 2"
    );
    assert_eq!(text_of(&store, &document), "new\n");
    assert_eq!(store.snapshot(&document).expect("open").version(), 2);
    assert_eq!(store.len(), 1);
}

/// kak-lsp 15 sends didOpen twice for each file it opens: the same version
/// and text again is not a replacement and is not reported.
#[test]
fn a_repeated_did_open_with_the_same_text_is_not_reported() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.rs");
    store
        .open(document.clone(), "rust", 1, "fn a() {}\n".to_owned())
        .expect("first open");
    store
        .open(document.clone(), "rust", 1, "fn a() {}\n".to_owned())
        .expect("the same open again is quiet");
    assert!(store
        .open(document.clone(), "rust", 1, "fn b() {}\n".to_owned())
        .is_err());
    assert_eq!(text_of(&store, &document), "fn b() {}\n");
}

#[test]
fn unknown_uri_is_an_error() {
    let store = DocumentStore::new();
    let document = uri("file:///w/missing.rs");
    let expected = DocumentError::UnknownUri {
        uri: document.clone(),
    };
    assert_eq!(
        store.change(&document, 1, vec![full("x")]),
        Err(expected.clone())
    );
    assert_eq!(store.close(&document), Err(expected.clone()));
    assert_eq!(store.save(&document, None), Err(expected.clone()));
    assert_eq!(
        expected.to_string(),
        "document file:///w/missing.rs is not open"
    );
}

#[test]
fn incremental_and_full_changes_apply_in_order() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.txt");
    store
        .open(document.clone(), "plaintext", 1, "hello world\n".to_owned())
        .expect("first open");
    let report = store
        .change(
            &document,
            2,
            vec![
                edit(pos(0, 6), pos(0, 11), "there"),
                edit(pos(0, 0), pos(0, 0), ">> "),
                edit(pos(1, 0), pos(1, 0), "second line"),
            ],
        )
        .expect("valid changes");
    assert_eq!(
        report,
        ChangeReport {
            version: 2,
            warnings: vec![]
        }
    );
    assert_eq!(text_of(&store, &document), ">> hello there\nsecond line");
    store
        .change(
            &document,
            3,
            vec![full("a\nb\n"), edit(pos(1, 0), pos(2, 0), "")],
        )
        .expect("valid changes");
    assert_eq!(text_of(&store, &document), "a\n");
    assert_eq!(store.snapshot(&document).expect("open").version(), 3);
}

#[test]
fn version_not_increased_is_applied_with_a_warning() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.txt");
    store
        .open(document.clone(), "plaintext", 5, "a".to_owned())
        .expect("first open");
    for (version, text) in [(5, "b"), (3, "c")] {
        let report = store
            .change(&document, version, vec![full(text)])
            .expect("applied");
        assert_eq!(report.version, version);
        assert_eq!(text_of(&store, &document), text);
        assert_eq!(report.warnings.len(), 1);
    }
    let report = store
        .change(&document, 4, vec![full("d")])
        .expect("applied");
    assert_eq!(report.warnings, vec![]);
    let report = store.change(&document, 4, vec![]).expect("applied");
    assert_eq!(
        report.warnings[0].to_string(),
        "version 4 of file:///w/a.txt is not greater than the current version 4; applied anyway"
    );
}

#[test]
fn inverted_range_refuses_the_whole_notification() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.rs");
    store
        .open(document.clone(), "rust", 1, "fn a() {}\n".to_owned())
        .expect("first open");
    let before = store.snapshot(&document).expect("open");
    let error = store
        .change(
            &document,
            2,
            vec![
                edit(pos(0, 0), pos(0, 0), "pub "),
                edit(pos(0, 5), pos(0, 2), "x"),
            ],
        )
        .expect_err("start after end");
    assert_eq!(
        error.to_string(),
        "change 1 to file:///w/a.rs version 2 has range 0:5-0:2 whose start is after its end; the notification was not applied"
    );
    let after = store.snapshot(&document).expect("open");
    assert_eq!(after.version(), 1);
    assert_eq!(after.text().to_string(), "fn a() {}\n");
    assert!(
        after.recent_edits().is_empty(),
        "a refused change marks no edited lines: {:?}",
        after.recent_edits()
    );
    assert_eq!(
        after.tree().map(|tree| tree.root_node().to_sexp()),
        before.tree().map(|tree| tree.root_node().to_sexp())
    );
    // An inverted range on the same line but past its end is inverted all the same.
    let error = store.change(&document, 2, vec![edit(pos(0, 90), pos(0, 80), "")]);
    assert!(
        matches!(error, Err(DocumentError::InvalidRange { index: 0, .. })),
        "{error:?}"
    );
}

#[test]
fn edited_lines_are_kept_with_the_document_latest_first() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.rs");
    store
        .open(
            document.clone(),
            "rust",
            1,
            "fn a() {}\n\nfn b() {}\n".to_owned(),
        )
        .expect("first open");
    assert!(store
        .snapshot(&document)
        .expect("open")
        .recent_edits()
        .is_empty());
    store
        .change(
            &document,
            2,
            vec![
                edit(pos(2, 0), pos(2, 0), "// b\n"),
                edit(pos(0, 0), pos(0, 0), "/// a\n/// more\n"),
            ],
        )
        .expect("applied");
    let snapshot = store.snapshot(&document).expect("open");
    assert_eq!(
        snapshot.recent_edits(),
        [LineRange::new(1, 3), LineRange::new(5, 6)]
    );
    // They live in the record: a closed and reopened document starts afresh.
    store.close(&document).expect("open");
    store
        .open(document.clone(), "rust", 3, "fn a() {}\n".to_owned())
        .expect("reopened");
    assert!(store
        .snapshot(&document)
        .expect("open")
        .recent_edits()
        .is_empty());
}

#[test]
fn positions_in_changes_are_clamped() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.txt");
    store
        .open(document.clone(), "plaintext", 1, "ab\r\ncd".to_owned())
        .expect("first open");
    let changes = vec![
        // Past the end of line 0: before its CRLF.
        edit(pos(0, 50), pos(0, 60), "!"),
        // Past the last line: the end of the document.
        edit(pos(9, 0), pos(10, 3), "?"),
    ];
    store.change(&document, 2, changes).expect("clamped");
    assert_eq!(text_of(&store, &document), "ab!\r\ncd?");
}

#[test]
fn snapshots_do_not_change_after_later_edits() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.py");
    store
        .open(document.clone(), "python", 1, "x = 1\n".to_owned())
        .expect("first open");
    let old = store.snapshot(&document).expect("open");
    store
        .change(&document, 2, vec![edit(pos(0, 4), pos(0, 5), "[2, 3]")])
        .expect("valid");
    assert_eq!(old.text().to_string(), "x = 1\n");
    assert_eq!(old.version(), 1);
    assert!(old
        .tree()
        .expect("python")
        .root_node()
        .to_sexp()
        .contains("(integer)"));
    let new = store.snapshot(&document).expect("open");
    assert_eq!(new.text().to_string(), "x = [2, 3]\n");
    assert!(new
        .tree()
        .expect("python")
        .root_node()
        .to_sexp()
        .contains("(list (integer) (integer))"));
}

#[test]
fn close_forgets_and_save_repairs() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.go");
    store
        .open(document.clone(), "go", 7, "package a\n".to_owned())
        .expect("first open");
    assert_eq!(
        store.save(&document, None),
        Ok(ChangeReport {
            version: 7,
            warnings: vec![]
        })
    );
    assert_eq!(
        store.save(&document, Some("package a\n".to_owned())),
        Ok(ChangeReport {
            version: 7,
            warnings: vec![]
        })
    );
    let report = store
        .save(&document, Some("package b\n".to_owned()))
        .expect("open");
    assert_eq!(
        report.warnings,
        vec![DocumentWarning::SavedTextDiffers {
            uri: document.clone(),
            version: 7
        }]
    );
    let snapshot = store.snapshot(&document).expect("open");
    assert_eq!(snapshot.text().to_string(), "package b\n");
    assert_eq!(
        snapshot.tree().expect("go").root_node().to_sexp(),
        fresh_tree(Language::Go, "package b\n")
            .root_node()
            .to_sexp()
    );
    store.close(&document).expect("open");
    assert!(store.snapshot(&document).is_none());
    assert!(store.is_empty());
}

#[test]
fn encoding_applies_to_changes_and_snapshots() {
    let store = DocumentStore::new();
    assert_eq!(store.encoding(), PositionEncoding::Utf16);
    let document = uri("file:///w/a.txt");
    store
        .open(document.clone(), "plaintext", 1, "😀x".to_owned())
        .expect("first open");
    store
        .change(&document, 2, vec![edit(pos(0, 2), pos(0, 3), "y")])
        .expect("valid");
    assert_eq!(text_of(&store, &document), "😀y");

    store.set_encoding(PositionEncoding::Utf8);
    assert_eq!(store.encoding(), PositionEncoding::Utf8);
    let snapshot = store.snapshot(&document).expect("open");
    assert_eq!(snapshot.encoding(), PositionEncoding::Utf8);
    assert_eq!(snapshot.byte_to_position(4), pos(0, 4));
    store
        .change(&document, 3, vec![edit(pos(0, 4), pos(0, 5), "z")])
        .expect("valid");
    assert_eq!(text_of(&store, &document), "😀z");

    store.set_encoding(PositionEncoding::Utf32);
    store
        .change(&document, 4, vec![edit(pos(0, 1), pos(0, 2), "w")])
        .expect("valid");
    assert_eq!(text_of(&store, &document), "😀w");
    let snapshot = store.snapshot(&document).expect("open");
    assert_eq!(snapshot.char_to_position(2), pos(0, 2));
    assert_eq!(snapshot.position_to_char(pos(0, 1)), 1);
    assert_eq!(snapshot.position_to_byte(pos(0, 1)), 4);
}

#[test]
fn twenty_megabyte_document_opens_and_edits_without_a_tree() {
    let store = DocumentStore::new();
    let document = uri("file:///w/generated.rs");
    let line = "pub const X: [u8; 4] = [1, 2, 3, 4]; // 😀 generated\n";
    let text = line.repeat(20_000_000 / line.len() + 1);
    let n_lines = text.lines().count() as u32;
    store
        .open(document.clone(), "rust", 1, text)
        .expect("first open");
    let snapshot = store.snapshot(&document).expect("open");
    assert!(snapshot.text().len_bytes() > 20_000_000);
    assert_eq!(snapshot.language(), Some(Language::Rust));
    assert!(snapshot.tree().is_none());
    let middle = n_lines / 2;
    store
        .change(
            &document,
            2,
            vec![edit(pos(middle, 0), pos(middle, 3), "pub(crate)")],
        )
        .expect("valid");
    let snapshot = store.snapshot(&document).expect("open");
    assert_eq!(
        snapshot.text().line(middle as usize).to_string(),
        line.replacen("pub", "pub(crate)", 1)
    );
    assert!(snapshot.tree().is_none());
}

#[test]
fn tree_is_dropped_above_the_cap_and_rebuilt_below_it() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.rs");
    store
        .open(document.clone(), "rust", 1, "fn a() {}\n".to_owned())
        .expect("first open");
    let big = "// comment\n".repeat(MAX_TREE_BYTES / 11 + 1);
    store
        .change(&document, 2, vec![edit(pos(1, 0), pos(1, 0), &big)])
        .expect("valid");
    assert!(store.snapshot(&document).expect("open").tree().is_none());
    store
        .change(
            &document,
            3,
            vec![edit(pos(1, 0), pos(u32::MAX, 0), "fn b() {}\n")],
        )
        .expect("valid");
    let snapshot = store.snapshot(&document).expect("open");
    assert_eq!(snapshot.text().to_string(), "fn a() {}\nfn b() {}\n");
    assert_eq!(
        snapshot.tree().map(|tree| tree.root_node().to_sexp()),
        Some(
            fresh_tree(Language::Rust, "fn a() {}\nfn b() {}\n")
                .root_node()
                .to_sexp()
        )
    );
}

#[test]
fn readers_never_see_a_half_applied_change() {
    let store = DocumentStore::new();
    let document = uri("file:///w/a.rs");
    store
        .open(
            document.clone(),
            "rust",
            0,
            "const A: u32 = 0;\nconst B: u32 = 0;\n".to_owned(),
        )
        .expect("first open");
    let last_version = 2000;
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut n_snapshots = 0_u64;
            loop {
                let snapshot = store.snapshot(&document).expect("never closed");
                let version = snapshot.version();
                let expected = format!("const A: u32 = {version};\nconst B: u32 = {version};\n");
                assert_eq!(snapshot.text().to_string(), expected);
                let tree = snapshot.tree().expect("rust");
                assert_eq!(tree.root_node().end_byte(), expected.len());
                assert!(!tree.root_node().has_error());
                n_snapshots += 1;
                if version == last_version {
                    return n_snapshots;
                }
            }
        });
        for version in 1..=last_version {
            // Two edits per notification: a reader seeing one without the other
            // would find A and B different.
            let previous = (version - 1).to_string().len() as u32;
            let changes = vec![
                edit(pos(0, 15), pos(0, 15 + previous), &version.to_string()),
                edit(pos(1, 15), pos(1, 15 + previous), &version.to_string()),
            ];
            let report = store.change(&document, version, changes).expect("valid");
            assert!(report.warnings.is_empty());
        }
        assert!(reader.join().expect("reader passed") > 0);
    });
}

/// Where a position falls in `text`, computed the slow, obvious way.
fn naive_position_to_byte(text: &str, position: Position, encoding: PositionEncoding) -> usize {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let (mut line_start, mut index) = (0, 0);
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => {
                lines.push((line_start, index));
                line_start = index + 1;
            }
            b'\r' => {
                lines.push((line_start, index));
                if bytes.get(index + 1) == Some(&b'\n') {
                    index += 1;
                }
                line_start = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    lines.push((line_start, bytes.len()));
    let Some(&(start, end)) = lines.get(position.line as usize) else {
        return text.len();
    };
    let mut units = 0;
    for (offset, char) in text[start..end].char_indices() {
        let width = match encoding {
            PositionEncoding::Utf8 => char.len_utf8(),
            PositionEncoding::Utf16 => char.len_utf16(),
            PositionEncoding::Utf32 => 1,
        };
        if units + width > position.character as usize {
            return start + offset;
        }
        units += width;
    }
    end
}

fn random_position(rng: &mut fastrand::Rng, text: &str) -> Position {
    let n_lines = text.split('\n').count() as u32;
    match rng.u8(0..20) {
        0 => pos(rng.u32(..), rng.u32(..)),
        1 => pos(n_lines + rng.u32(0..3), rng.u32(0..5)),
        _ => pos(rng.u32(0..n_lines + 1), rng.u32(0..40)),
    }
}

/// Applies random notifications of one to three random edits (odd positions,
/// CRLF, lone CR, astral chars included) to the store and to a plain `String`,
/// and checks after each that the texts agree and that the incrementally kept
/// tree equals a fresh parse of the text, positions included.
fn check_random_edits(
    language: Language,
    language_id: &str,
    path: &str,
    seed: u64,
    snippets: &[&str],
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for encoding in [
        PositionEncoding::Utf16,
        PositionEncoding::Utf8,
        PositionEncoding::Utf32,
    ] {
        let store = DocumentStore::new();
        store.set_encoding(encoding);
        let document = uri(path);
        let mut expected = snippets.concat();
        store
            .open(document.clone(), language_id, 0, expected.clone())
            .expect("first open");
        for version in 1..=150 {
            let mut changes = Vec::new();
            for _ in 0..rng.usize(1..=3) {
                let (mut start, mut end) = (
                    random_position(&mut rng, &expected),
                    random_position(&mut rng, &expected),
                );
                if start > end {
                    std::mem::swap(&mut start, &mut end);
                }
                if rng.u8(0..3) == 0 {
                    end = start;
                }
                let inserted = match rng.u8(0..10) {
                    0 => String::new(),
                    1 => ["\r\n", "\r", "\n", "😀", "𝕏", "e\u{301}", "é中"][rng.usize(0..7)]
                        .to_owned(),
                    _ => snippets[rng.usize(0..snippets.len())].to_owned(),
                };
                let start_byte = naive_position_to_byte(&expected, start, encoding);
                let end_byte = naive_position_to_byte(&expected, end, encoding);
                expected.replace_range(start_byte..end_byte, &inserted);
                changes.push(edit(start, end, &inserted));
            }
            store
                .change(&document, version, changes.clone())
                .expect("ordered ranges");
            let snapshot = store.snapshot(&document).expect("open");
            assert_eq!(
                snapshot.text().to_string(),
                expected,
                "{encoding:?} version {version}: {changes:?}"
            );
            let tree = snapshot.tree().expect("small document has a tree");
            let fresh = fresh_tree(language, &expected);
            assert_eq!(
                tree.root_node().to_sexp(),
                fresh.root_node().to_sexp(),
                "{encoding:?} version {version}: {changes:?}\n{expected}"
            );
            assert_eq!(
                nodes(&tree),
                nodes(&fresh),
                "{encoding:?} version {version}: {changes:?}"
            );
        }
    }
}

#[test]
fn random_edits_keep_the_rust_tree_equal_to_a_fresh_parse() {
    let snippets = [
        "fn main() {\n",
        "    let x = vec![1, 2, 3];\n",
        "    println!(\"{x:?} 😀\");\n",
        "}\n",
        "struct Point { x: f64, y: f64 }\r\n",
        "impl Point {\n    fn norm(&self) -> f64 { (self.x * self.x).sqrt() }\n}\n",
        "// comment\n",
        "/* block */",
        "\"str\"",
        "{",
        "}",
        "(",
        "x",
        " ",
    ];
    check_random_edits(
        Language::Rust,
        "rust",
        "file:///w/src/lib.rs",
        0x5eed_0001,
        &snippets,
    );
}

#[test]
fn random_edits_keep_the_python_tree_equal_to_a_fresh_parse() {
    let snippets = [
        "def f(x):\n",
        "    return x + 1\n",
        "class A:\n    pass\n",
        "if x:\n    y = [1, 2]\nelse:\n    y = {}\n",
        "s = 'é 😀'\r\n",
        "# comment\n",
        "\"\"\"doc\"\"\"\n",
        "    ",
        ":",
        "(",
        ")",
        "x",
    ];
    check_random_edits(
        Language::Python,
        "python",
        "file:///w/a.py",
        0x5eed_0002,
        &snippets,
    );
}

/// Random edits that keep a TypeScript program valid: tree-sitter's error
/// recovery may legitimately build a different (equally wrong) tree for broken
/// code when reusing an old tree (tree-sitter issues #1444, #4001), and the
/// TypeScript grammar does so on random garbage; valid code has one right tree.
#[test]
fn valid_edits_keep_the_typescript_tree_equal_to_a_fresh_parse() {
    let statements = [
        "const a = 1;\n",
        "export function f(x: number): string { return `${x} 😀`; }\n",
        "interface I { a?: string; b: number }\r\n",
        "let 𝕏 = [10, 20, 30].map((n) => n * 2);\n",
        "class C<T> { constructor(private t: T) {} get(): T { return this.t; } }\n",
        "// é comment 7\n",
        "type U = 'a' | 'b' | 42;\n",
    ];
    let mut rng = fastrand::Rng::with_seed(0x5eed_0003);
    for encoding in [
        PositionEncoding::Utf16,
        PositionEncoding::Utf8,
        PositionEncoding::Utf32,
    ] {
        let store = DocumentStore::new();
        store.set_encoding(encoding);
        let document = uri("file:///w/a.ts");
        store
            .open(document.clone(), "typescript", 0, statements.concat())
            .expect("first open");
        for version in 1..=150 {
            let mut text = store.snapshot(&document).expect("open").text().clone();
            let mut changes = Vec::new();
            for _ in 0..rng.usize(1..=3) {
                let n_lines = text.len_lines() as u32;
                let line = rng.u32(0..n_lines);
                let digits: Vec<usize> = text
                    .chars()
                    .enumerate()
                    .filter(|(_, char)| char.is_ascii_digit())
                    .map(|(index, _)| index)
                    .collect();
                let change = match rng.u8(0..3) {
                    1 if n_lines > 2 => edit(pos(line, 0), pos(line + 1, 0), ""),
                    2 if !digits.is_empty() => {
                        // Another digit after a digit: the number changes, the code stays valid.
                        let after_digit = digits[rng.usize(0..digits.len())] + 1;
                        let at = char_to_position(&text, after_digit, encoding);
                        edit(at, at, "5")
                    }
                    _ => edit(
                        pos(line, 0),
                        pos(line, 0),
                        statements[rng.usize(0..statements.len())],
                    ),
                };
                let range = change.range.expect("incremental");
                let start = position_to_char(&text, range.start, encoding);
                let end = position_to_char(&text, range.end, encoding);
                text.remove(start..end);
                text.insert(start, &change.text);
                changes.push(change);
            }
            store
                .change(&document, version, changes.clone())
                .expect("ordered ranges");
            let snapshot = store.snapshot(&document).expect("open");
            assert_eq!(snapshot.text(), &text);
            let fresh = fresh_tree(Language::TypeScript, &text.to_string());
            let tree = snapshot.tree().expect("small document has a tree");
            assert!(!fresh.root_node().has_error(), "{text}");
            assert_eq!(
                nodes(&tree),
                nodes(&fresh),
                "{encoding:?} version {version}: {changes:?}"
            );
        }
    }
}

fn tree_state(store: &DocumentStore, document: &Uri) -> syntax::SyntaxState {
    store
        .snapshot(document)
        .expect("open")
        .document
        .syntax
        .state()
}

/// The same random edits as `check_random_edits` (garbage included), but the
/// tree is asked for only every `request_every` versions, so up to that many
/// notifications pile up as `Tree::edit`s on one tree before a single reparse.
fn check_tree_after_many_edits(
    language: Language,
    language_id: &str,
    path: &str,
    seed: u64,
    snippets: &[&str],
    request_every: i32,
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let store = DocumentStore::with_background_reparse(None);
    store.set_encoding(PositionEncoding::Utf16);
    let document = uri(path);
    let mut expected = snippets.concat();
    store
        .open(document.clone(), language_id, 0, expected.clone())
        .expect("first open");
    for version in 1..=300 {
        let mut changes = Vec::new();
        for _ in 0..rng.usize(1..=3) {
            let (mut start, mut end) = (
                random_position(&mut rng, &expected),
                random_position(&mut rng, &expected),
            );
            if start > end {
                std::mem::swap(&mut start, &mut end);
            }
            if rng.u8(0..3) == 0 {
                end = start;
            }
            let inserted = match rng.u8(0..10) {
                0 => String::new(),
                1 => ["\r\n", "\r", "\n", "😀", "e\u{301}"][rng.usize(0..5)].to_owned(),
                _ => snippets[rng.usize(0..snippets.len())].to_owned(),
            };
            let start_byte = naive_position_to_byte(&expected, start, PositionEncoding::Utf16);
            let end_byte = naive_position_to_byte(&expected, end, PositionEncoding::Utf16);
            expected.replace_range(start_byte..end_byte, &inserted);
            changes.push(edit(start, end, &inserted));
        }
        store
            .change(&document, version, changes)
            .expect("ordered ranges");
        // The notification path described the edits but parsed nothing.
        assert_eq!(
            tree_state(&store, &document),
            syntax::SyntaxState::Pending,
            "version {version}"
        );
        if version % request_every != 0 {
            continue;
        }
        let snapshot = store.snapshot(&document).expect("open");
        assert_eq!(snapshot.text().to_string(), expected, "version {version}");
        let tree = snapshot.tree().expect("small document has a tree");
        let fresh = fresh_tree(language, &expected);
        assert_eq!(
            nodes(&tree),
            nodes(&fresh),
            "version {version}, {request_every} notifications since the last parse\n{expected}"
        );
        // Parsed once, shared by every snapshot of this version.
        assert_eq!(tree_state(&store, &document), syntax::SyntaxState::Parsed);
    }
}

#[test]
fn rust_tree_requested_after_many_edits_equals_a_fresh_parse() {
    let snippets = [
        "fn main() {\n",
        "    let x = vec![1, 2, 3];\n",
        "    println!(\"{x:?} 😀\");\n",
        "}\n",
        "struct Point { x: f64, y: f64 }\r\n",
        "// comment\n",
        "/* block */",
        "\"str\"",
        "{",
        "}",
        "x",
        " ",
    ];
    for (seed, request_every) in [(0x5eed_0011, 10), (0x5eed_0012, 50), (0x5eed_0013, 300)] {
        check_tree_after_many_edits(
            Language::Rust,
            "rust",
            "file:///w/src/lib.rs",
            seed,
            &snippets,
            request_every,
        );
    }
}

#[test]
fn python_tree_requested_after_many_edits_equals_a_fresh_parse() {
    let snippets = [
        "def f(x):\n",
        "    return x + 1\n",
        "class A:\n    pass\n",
        "s = 'é 😀'\r\n",
        "# comment\n",
        "    ",
        ":",
        "(",
        ")",
        "x",
    ];
    for (seed, request_every) in [(0x5eed_0021, 10), (0x5eed_0022, 300)] {
        check_tree_after_many_edits(
            Language::Python,
            "python",
            "file:///w/a.py",
            seed,
            &snippets,
            request_every,
        );
    }
}

#[test]
fn keystrokes_never_parse_and_snapshots_share_the_parse() {
    // A background step due in an hour: anything parsed here was parsed on request.
    let store = DocumentStore::with_background_reparse(Some(std::time::Duration::from_secs(3600)));
    let document = uri("file:///w/a.rs");
    store
        .open(document.clone(), "rust", 1, "fn a() {}\n".to_owned())
        .expect("first open");
    assert_eq!(tree_state(&store, &document), syntax::SyntaxState::Pending);
    let first = store.snapshot(&document).expect("open");
    let second = first.clone();
    assert!(first.has_tree());
    assert!(first.tree().is_some());
    assert_eq!(second.document.syntax.state(), syntax::SyntaxState::Parsed);
    // Each `Tree` handle has its own root, but the nodes below are shared.
    let first_item = |snapshot: &DocumentSnapshot| {
        let tree = snapshot.tree().expect("parsed");
        tree.root_node().child(0).expect("an item").id()
    };
    assert_eq!(first_item(&first), first_item(&second));
    for version in 2..=100 {
        store
            .change(&document, version, vec![edit(pos(0, 3), pos(0, 4), "b")])
            .expect("valid");
        assert_eq!(tree_state(&store, &document), syntax::SyntaxState::Pending);
    }
    let snapshot = store.snapshot(&document).expect("open");
    assert_eq!(
        format!("{snapshot:?}"),
        r#"DocumentSnapshot { uri: "file:///w/a.rs", version: 100, language_id: "rust", language: Some(Rust), len_bytes: 10, tree: Pending }"#
    );
    assert_eq!(
        nodes(&snapshot.tree().expect("rust")),
        nodes(&fresh_tree(Language::Rust, "fn b() {}\n"))
    );
    // Plain text and oversized documents have nothing pending.
    store
        .open(uri("file:///w/a.txt"), "plaintext", 1, "x".to_owned())
        .expect("first open");
    assert_eq!(
        tree_state(&store, &uri("file:///w/a.txt")),
        syntax::SyntaxState::None
    );
    assert!(!store
        .snapshot(&uri("file:///w/a.txt"))
        .expect("open")
        .has_tree());
}

#[test]
fn background_step_parses_the_latest_version_once_quiet() {
    let store = DocumentStore::with_background_reparse(Some(std::time::Duration::from_millis(1)));
    let document = uri("file:///w/a.go");
    store
        .open(document.clone(), "go", 1, "package a\n".to_owned())
        .expect("first open");
    for version in 2..=20 {
        let text = format!("package a\n\nconst X = {version}\n");
        store
            .change(&document, version, vec![full(&text)])
            .expect("valid");
    }
    let quiet_since = std::time::Instant::now();
    // Polls the state; the step is due 1 ms after the last change.
    while tree_state(&store, &document) != syntax::SyntaxState::Parsed {
        assert!(
            quiet_since.elapsed() < std::time::Duration::from_secs(30),
            "the background step never parsed the document"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let snapshot = store.snapshot(&document).expect("open");
    assert_eq!(snapshot.version(), 20);
    assert_eq!(
        nodes(&snapshot.tree().expect("go")),
        nodes(&fresh_tree(Language::Go, "package a\n\nconst X = 20\n"))
    );
    // Closing with a parse pending and dropping the store stop cleanly.
    store
        .change(&document, 21, vec![full("package b\n")])
        .expect("valid");
    store.close(&document).expect("open");
    drop(store);
}

#[test]
fn a_tree_budget_of_zero_keeps_only_the_tree_in_use_and_reparses_the_rest() {
    let store = DocumentStore::with_background_reparse(None);
    store.set_tree_budget(0);
    let documents: Vec<Uri> = (0..3)
        .map(|index| uri(&format!("file:///w/m{index}.rs")))
        .collect();
    for (index, document) in documents.iter().enumerate() {
        store
            .open(
                document.clone(),
                "rust",
                1,
                format!("fn f{index}() {{ let x = {index}; }}\n"),
            )
            .expect("first open");
        assert!(store.snapshot(document).expect("open").tree().is_some());
    }
    // Only the last tree parsed is held.
    assert_eq!(
        tree_state(&store, &documents[0]),
        syntax::SyntaxState::Pending
    );
    assert_eq!(
        tree_state(&store, &documents[1]),
        syntax::SyntaxState::Pending
    );
    assert_eq!(
        tree_state(&store, &documents[2]),
        syntax::SyntaxState::Parsed
    );
    assert!(store.budget.held_bytes() <= 32 * budget::TREE_BYTES_PER_TEXT_BYTE);
    // A dropped tree comes back on request, equal to a fresh parse, and an edit
    // to a document without a held tree parses its new text from scratch.
    store
        .change(&documents[0], 2, vec![edit(pos(0, 3), pos(0, 5), "g")])
        .expect("valid");
    assert_eq!(
        nodes(
            &store
                .snapshot(&documents[0])
                .expect("open")
                .tree()
                .expect("rust")
        ),
        nodes(&fresh_tree(Language::Rust, "fn g() { let x = 0; }\n"))
    );
    assert_eq!(
        tree_state(&store, &documents[2]),
        syntax::SyntaxState::Pending
    );
}

#[test]
fn the_tree_budget_is_exceeded_by_at_most_one_tree() {
    let store = DocumentStore::with_background_reparse(None);
    let text = "fn f() { let x = 1; }\n".repeat(50);
    let one_tree = text.len() * budget::TREE_BYTES_PER_TEXT_BYTE;
    store.set_tree_budget(3 * one_tree + one_tree / 2);
    for index in 0..20 {
        let document = uri(&format!("file:///w/b{index}.rs"));
        store
            .open(document.clone(), "rust", 1, text.clone())
            .expect("first open");
        store.snapshot(&document).expect("open").tree();
        assert!(store.budget.held_bytes() <= 4 * one_tree);
    }
    let held = (0..20)
        .filter(|index| {
            tree_state(&store, &uri(&format!("file:///w/b{index}.rs")))
                == syntax::SyntaxState::Parsed
        })
        .count();
    assert_eq!(held, 3);
    // Lowering the budget drops trees at once; closing forgets them.
    store.set_tree_budget(0);
    assert_eq!(store.budget.held_bytes(), 0);
}

#[test]
fn a_background_reader_of_a_document_only_opened_keeps_no_tree() {
    let store = DocumentStore::with_background_reparse(None);
    let document = uri("file:///w/opened.rs");
    let text = "fn f() { let x = 1; }\n";
    store
        .open(document.clone(), "rust", 1, text.to_string())
        .expect("first open");
    let snapshot = store.snapshot(&document).expect("open");
    // The index's read gets the same tree a request would, and nothing is held.
    let (unkept, in_use) = snapshot.tree_unkept().expect("rust");
    assert_eq!(in_use, InUse::No);
    assert_eq!(nodes(&unkept), nodes(&fresh_tree(Language::Rust, text)));
    assert_eq!(tree_state(&store, &document), syntax::SyntaxState::Pending);
    assert_eq!(store.budget.held_bytes(), 0);
    // A request puts the document in use: its tree is kept, and the
    // background reader shares it from then on.
    snapshot.tree().expect("rust");
    assert_eq!(tree_state(&store, &document), syntax::SyntaxState::Parsed);
    assert!(store.budget.held_bytes() > 0);
    let (shared, in_use) = snapshot.tree_unkept().expect("rust");
    assert_eq!(in_use, InUse::Yes);
    assert_eq!(nodes(&shared), nodes(&unkept));
    // An edited document is in use: its edited tree is reparsed and kept.
    store
        .change(&document, 2, vec![edit(pos(0, 3), pos(0, 4), "g")])
        .expect("valid");
    let edited = store.snapshot(&document).expect("open");
    let (reparsed, in_use) = edited.tree_unkept().expect("rust");
    assert_eq!(in_use, InUse::Yes);
    assert_eq!(
        nodes(&reparsed),
        nodes(&fresh_tree(Language::Rust, "fn g() { let x = 1; }\n"))
    );
    assert_eq!(tree_state(&store, &document), syntax::SyntaxState::Parsed);
    // Plain text has no tree either way.
    let plain = uri("file:///w/notes.txt");
    store
        .open(plain.clone(), "plaintext", 1, "words\n".to_string())
        .expect("first open");
    assert!(store
        .snapshot(&plain)
        .expect("open")
        .tree_unkept()
        .is_none());
}

/// Opens `document` with `text` (packed) and edits it to version 2, with
/// `// edited` as its first line (unpacked, in use).
fn open_and_edit(store: &DocumentStore, document: &Uri, text: &str) {
    store
        .open(document.clone(), "rust", 1, text.to_owned())
        .expect("first open");
    store
        .change(document, 2, vec![edit(pos(0, 0), pos(0, 0), "// edited\n")])
        .expect("valid");
}

/// Source long enough to shrink when packed.
fn packable_source() -> String {
    (0..200)
        .map(|n| format!("fn f{n}(x: u32) -> u32 {{\n    x + {n} // é😀\n}}\n"))
        .collect()
}

#[test]
fn a_document_only_opened_is_packed_and_unpacked_when_a_request_reads_it() {
    let store = DocumentStore::with_background_reparse(None);
    let document = uri("file:///w/packed.rs");
    let text = packable_source();
    store
        .open(document.clone(), "rust", 1, text.clone())
        .expect("first open");
    assert!(store.is_packed(&document));
    let (held, unpacked) = store.packed_bytes();
    assert_eq!(unpacked, text.len());
    assert!(held < text.len() / 2, "{held} bytes held for {unpacked}");
    // Background readers (the index) get the text and its tree, and leave
    // the document packed and without a tree.
    let background = store.snapshot_unkept(&document).expect("open");
    assert_eq!(background.text().to_string(), text);
    assert_eq!(background.version(), 1);
    let (tree, in_use) = background.tree_unkept().expect("rust");
    assert_eq!(in_use, InUse::No);
    assert_eq!(nodes(&tree), nodes(&fresh_tree(Language::Rust, &text)));
    assert!(store.is_packed(&document));
    assert_eq!(store.budget.held_bytes(), 0);
    assert_eq!(store.text_unkept(&document).as_deref(), Some(text.as_str()));
    assert!(store.is_packed(&document));
    // A request unpacks it for good: it is in use now.
    assert_eq!(text_of(&store, &document), text);
    assert_eq!(store.text_unkept(&document).as_deref(), Some(text.as_str()));
    assert!(!store.is_packed(&document));
    assert_eq!(store.packed_bytes(), (0, 0));
    assert_eq!(
        store.snapshot_unkept(&document).expect("open").text(),
        &text
    );
    assert!(!store.is_packed(&document));
}

#[test]
fn edits_saves_reopens_and_closes_of_a_packed_document_apply_to_its_text() {
    let store = DocumentStore::with_background_reparse(None);
    let document = uri("file:///w/edited.rs");
    let text = packable_source();
    store
        .open(document.clone(), "rust", 1, text.clone())
        .expect("first open");
    // An edit unpacks it and applies to the text the editor sent.
    store
        .change(&document, 2, vec![edit(pos(1, 4), pos(1, 5), "y")])
        .expect("valid");
    assert!(!store.is_packed(&document));
    let edited = text.replacen("    x + 0", "    y + 0", 1);
    assert_eq!(text_of(&store, &document), edited);
    let snapshot = store.snapshot(&document).expect("open");
    assert_eq!(
        nodes(&snapshot.tree().expect("rust")),
        nodes(&fresh_tree(Language::Rust, &edited))
    );
    // Opened again with the same text while packed: not a reopen; with
    // other text it is, and the new text is packed.
    let other = uri("file:///w/other.rs");
    store
        .open(other.clone(), "rust", 1, text.clone())
        .expect("first open");
    store
        .open(other.clone(), "rust", 1, text.clone())
        .expect("the same text again is not a reopen");
    assert!(matches!(
        store.open(other.clone(), "rust", 2, edited.clone()),
        Err(DocumentError::Reopened { .. })
    ));
    assert!(store.is_packed(&other));
    assert_eq!(text_of(&store, &other), edited);
    // Saved while packed: the same text leaves it packed, other text
    // replaces it.
    let saved = uri("file:///w/saved.rs");
    store
        .open(saved.clone(), "rust", 1, text.clone())
        .expect("first open");
    let unchanged = store.save(&saved, Some(text.clone())).expect("open");
    assert!(unchanged.warnings.is_empty());
    assert!(store.is_packed(&saved));
    let report = store.save(&saved, Some(edited.clone())).expect("open");
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(text_of(&store, &saved), edited);
    // Closed while packed: gone.
    store.close(&other).expect("open");
    let reopened = uri("file:///w/closed.rs");
    store
        .open(reopened.clone(), "rust", 1, text.clone())
        .expect("first open");
    store.close(&reopened).expect("open");
    assert!(store.snapshot_unkept(&reopened).is_none());
    assert_eq!(store.packed_bytes(), (0, 0));
}

#[test]
fn short_text_and_text_with_lone_crs_open_as_they_came() {
    let store = DocumentStore::with_background_reparse(None);
    // Too short to shrink: a rope.
    let short = uri("file:///w/short.rs");
    store
        .open(short.clone(), "rust", 1, "fn f() {}\n".to_string())
        .expect("first open");
    assert!(!store.is_packed(&short));
    // A lone CR is found in the text as opened, packed or not.
    let crs = uri("file:///w/crs.rs");
    let text = format!("{}// a\rb\n", packable_source());
    store
        .open(crs.clone(), "rust", 1, text.clone())
        .expect("first open");
    assert!(store.is_packed(&crs));
    let snapshot = store.snapshot(&crs).expect("open");
    assert!(snapshot.document.lone_cr);
    assert_eq!(snapshot.text(), &text);
    assert_eq!(
        nodes(&snapshot.tree().expect("rust")),
        nodes(&fresh_tree(Language::Rust, &text))
    );
}

#[test]
fn documents_left_unused_are_packed_again_and_those_in_use_are_not() {
    let store = DocumentStore::with_background_reparse(None);
    let worked = uri("file:///w/worked.rs");
    let left = uri("file:///w/left.rs");
    let text = packable_source();
    for document in [&worked, &left] {
        open_and_edit(&store, document, &text);
        assert!(!store.is_packed(document));
    }
    let edited = format!("// edited\n{text}");
    // Nothing has been idle an hour.
    assert_eq!(store.pack_unused(Some(Duration::from_secs(3600))).len(), 0);
    // Both idle "for no time": packed, and their trees dropped.
    store.snapshot(&left).expect("open").tree().expect("rust");
    assert_eq!(tree_state(&store, &left), syntax::SyntaxState::Parsed);
    assert_eq!(store.pack_unused(Some(Duration::ZERO)).len(), 2);
    assert!(store.is_packed(&worked) && store.is_packed(&left));
    assert_eq!(tree_state(&store, &left), syntax::SyntaxState::Pending);
    assert!(store.current(&left).expect("open").syntax.is_cold());
    assert_eq!(store.budget.held_bytes(), 0);
    // Used again: unpacked, the same text, a tree parsed anew; an edit applies.
    assert_eq!(text_of(&store, &left), edited);
    assert!(!store.is_packed(&left));
    store
        .change(&worked, 3, vec![edit(pos(0, 3), pos(0, 9), "again")])
        .expect("valid");
    let again = format!("// again\n{text}");
    let snapshot = store.snapshot(&worked).expect("open");
    assert_eq!(snapshot.text(), &again);
    assert_eq!(
        nodes(&snapshot.tree().expect("rust")),
        nodes(&fresh_tree(Language::Rust, &again))
    );
    // Used just now: not idle for a minute.
    assert_eq!(store.pack_unused(Some(Duration::from_secs(60))).len(), 0);
    // A text that does not pack is tried once, not at every sweep.
    let short = uri("file:///w/short.rs");
    store
        .open(short.clone(), "rust", 1, "fn f() {}\n".to_string())
        .expect("first open");
    assert_eq!(store.pack_unused(Some(Duration::ZERO)).len(), 2);
    assert_eq!(
        store.current(&short).expect("open").used.get(),
        NOT_PACKABLE
    );
    assert_eq!(store.pack_unused(Some(Duration::ZERO)).len(), 0);
}

#[test]
fn idle_parsers_are_dropped_only_after_no_parse_for_a_while_and_parsing_goes_on() {
    let text = Rope::from_str("fn main() {\n    let x = 1;\n}\n");
    let first = syntax::parse(Language::Rust, &text, None).expect("a tree");
    // A parse ended just now: not idle for an hour, whatever other tests do.
    assert!(!syntax::drop_parsers_idle_for(Duration::from_secs(3600)));
    // Dropping every idle parser does not stop the next parse: a parser is
    // made again, and parses the same.
    syntax::drop_parsers_idle_for(Duration::ZERO);
    let again = syntax::parse(Language::Rust, &text, None).expect("a tree");
    assert_eq!(nodes(&first), nodes(&again));
    assert_eq!(
        again.root_node().to_sexp(),
        fresh_tree(Language::Rust, &text.to_string())
            .root_node()
            .to_sexp()
    );
}

#[test]
fn texts_in_use_over_the_text_budget_are_packed_least_recently_used_first() {
    let store = DocumentStore::with_background_reparse(None);
    let text = packable_source();
    let edited = format!("// edited\n{text}");
    let documents: Vec<Uri> = (0..4)
        .map(|n| uri(&format!("file:///w/in_use_{n}.rs")))
        .collect();
    for document in &documents {
        open_and_edit(&store, document, &text);
        store
            .snapshot(document)
            .expect("open")
            .tree()
            .expect("rust");
        // No pause: each use is stamped later than the one before.
    }
    // Room for two texts beyond the one used last: the least recently used
    // is packed, and its tree dropped; never idle, nothing else is.
    store.set_text_budget(2 * edited.len() + edited.len() / 2);
    assert_eq!(store.pack_unused(None), [documents[0].clone()]);
    assert!(store.is_packed(&documents[0]));
    assert!(store.current(&documents[0]).expect("open").syntax.is_cold());
    for document in &documents[1..] {
        assert!(!store.is_packed(document));
        // Looked at without using it.
        let held = store.current(document).expect("open");
        assert_eq!(held.syntax.state(), syntax::SyntaxState::Parsed);
    }
    assert_eq!(store.pack_unused(None).len(), 0);
    // Read again, the packed one is the most recently used: the next least
    // recently used goes instead, and the text read is the one edited.
    assert_eq!(text_of(&store, &documents[0]), edited);
    assert_eq!(store.pack_unused(None), [documents[1].clone()]);
    assert!(store.is_packed(&documents[1]));
    assert!(!store.is_packed(&documents[0]));
    // A budget of 0 keeps only the text used last, however long.
    store
        .change(&documents[3], 3, vec![edit(pos(0, 3), pos(0, 9), "again")])
        .expect("valid");
    store.set_text_budget(0);
    assert_eq!(store.pack_unused(None).len(), 2);
    assert!(!store.is_packed(&documents[3]));
    for document in &documents[..3] {
        assert!(store.is_packed(document));
    }
    assert_eq!(text_of(&store, &documents[2]), edited);
    assert_eq!(
        store.snapshot_unkept(&documents[3]).expect("open").text(),
        &format!("// again\n{text}")
    );
    // Idle texts are packed whatever the budget, the one used last too.
    store.set_text_budget(usize::MAX);
    assert_eq!(store.pack_unused(Some(Duration::ZERO)).len(), 2);
    assert_eq!(
        store.packed_bytes().1,
        3 * edited.len() + "// again\n".len() + text.len()
    );
}

/// A burst of edits comes faster than the clock's milliseconds: the one
/// edited last is still the one kept, every time.
#[test]
fn the_text_edited_last_is_kept_when_edits_come_within_a_millisecond() {
    let store = DocumentStore::with_background_reparse(None);
    let text = packable_source();
    let documents: Vec<Uri> = (0..20)
        .map(|n| uri(&format!("file:///w/burst_{n}.rs")))
        .collect();
    for document in &documents {
        open_and_edit(&store, document, &text);
    }
    store.set_text_budget(0);
    assert_eq!(store.pack_unused(None).len(), documents.len() - 1);
    let last = documents.last().expect("twenty");
    assert!(!store.is_packed(last));
    // Back and forth between two, within a millisecond.
    store
        .change(&documents[0], 3, vec![edit(pos(0, 3), pos(0, 9), "again")])
        .expect("valid");
    store
        .change(last, 3, vec![edit(pos(0, 3), pos(0, 9), "again")])
        .expect("valid");
    assert_eq!(store.pack_unused(None), [documents[0].clone()]);
    assert!(!store.is_packed(last));
}

#[test]
fn unpacking_a_text_wakes_the_sweep() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let store = DocumentStore::with_background_reparse(None);
    let read = uri("file:///w/read.rs");
    let edited = uri("file:///w/edited.rs");
    for document in [&read, &edited] {
        store
            .open(document.clone(), "rust", 1, packable_source())
            .expect("first open");
    }
    let woken = |store: &DocumentStore| {
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_millis(50), store.unpacked())
                .await
                .is_ok()
        })
    };
    // Opening packs; background reads leave the texts packed.
    store.snapshot_unkept(&read).expect("open");
    assert!(!woken(&store));
    // A request unpacks one, an edit the other: each tells the sweep once.
    store.snapshot(&read).expect("open");
    assert!(woken(&store));
    assert!(!woken(&store));
    store
        .change(&edited, 2, vec![edit(pos(0, 0), pos(0, 0), "// edited\n")])
        .expect("valid");
    assert!(woken(&store));
    // Edits of a text already unpacked do not.
    store
        .change(&edited, 3, vec![edit(pos(0, 0), pos(0, 0), "// again\n")])
        .expect("valid");
    assert!(!woken(&store));
}

#[test]
fn the_background_reparse_gives_back_its_table_after_a_burst_of_edits() {
    let store = DocumentStore::with_background_reparse(Some(Duration::from_millis(1)));
    let documents: Vec<Uri> = (0..1000)
        .map(|n| uri(&format!("file:///w/burst_{n}.rs")))
        .collect();
    for document in &documents {
        store
            .open(document.clone(), "rust", 1, "fn f() {}\n".to_string())
            .expect("first open");
    }
    // Edited faster than the reparse thread takes them: the pending map grows.
    for document in &documents {
        store
            .change(document, 2, vec![edit(pos(0, 3), pos(0, 4), "g")])
            .expect("valid");
    }
    let background = store.background.as_ref().expect("a reparse thread");
    for _ in 0..500 {
        if documents
            .iter()
            .all(|document| store.current(document).expect("open").syntax.has_tree())
            && background.pending_capacity() <= 64
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "after the burst was parsed the pending table still has room for {}",
        background.pending_capacity()
    );
}

#[test]
fn the_store_starts_with_the_configured_default_budgets() {
    let defaults = agentls_core::config::DocumentsConfig::default();
    let mib = |bytes: usize| bytes as u64 / (1024 * 1024);
    assert_eq!(mib(DEFAULT_TREE_BUDGET_BYTES), defaults.tree_budget_mib);
    assert_eq!(mib(DEFAULT_TEXT_BUDGET_BYTES), defaults.text_budget_mib);
}
