//! The document store's hot path, measured: one didChange carrying a one-character
//! edit at a random position, position conversion included, in a 100,000-line plain
//! text file and in a 10,000-line Rust file, plus the same 10,000 lines as plain
//! text for a baseline without tree-sitter. For the Rust file, three cases: the
//! didChange alone (what the ordered notification path pays: the rope edit and
//! `Tree::edit`), the didChange followed at once by asking for the tree (the
//! reparse every keystroke paid before reparsing became lazy; the baseline), and
//! asking for the tree alone after a didChange.
//!
//! `cargo bench -p agentls --bench document`; the medians go in docs/benchmarks.md.

use std::str::FromStr;
use std::time::Duration;

use agentls::document::DocumentStore;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use lsp_types::{Position, Range, TextDocumentContentChangeEvent, Uri};
/// Rust source of `n_lines` lines, with non-ASCII chars from the Basic
/// Multilingual Plane only, so that every UTF-16 offset in a line is a char
/// boundary and the benchmark can pick any of them.
fn generated_rust(n_lines: usize) -> String {
    let mut text = String::new();
    // Each item is ten lines.
    for item in 0..n_lines.div_ceil(10) {
        text.push_str(&format!(
            "/// Doc comment for item {item}: é ü 中.\n\
             pub fn function_{item}(value: u64, name: &str) -> Result<u64, String> {{\n\
             \x20   let doubled = value.wrapping_mul(2) + {item};\n\
             \x20   if name.is_empty() {{\n\
             \x20       return Err(format!(\"empty name for {{}}\", doubled));\n\
             \x20   }}\n\
             \x20   // A comment with wide chars: 中文\n\
             \x20   Ok(doubled)\n\
             }}\n\
             \n"
        ));
    }
    text.lines()
        .take(n_lines)
        .map(|line| format!("{line}\n"))
        .collect()
}

/// What each iteration measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Measured {
    /// `DocumentStore::change` alone.
    Change,
    /// `change`, then the snapshot's `tree()`, which reparses.
    ChangeThenTree,
    /// The snapshot's `tree()` alone, after an untimed `change`.
    TreeAfterChange,
}

/// One-character edits to a document: they alternate between inserting `x` at a
/// random position and deleting it again, so every edit lands in the same text
/// and syntax errors never pile up.
struct Edits {
    store: DocumentStore,
    uri: Uri,
    line_lengths: Vec<u32>,
    rng: fastrand::Rng,
    version: i32,
    inserted_at: Option<Position>,
}

impl Edits {
    fn new(uri: &str, language_id: &str, text: String) -> Edits {
        let line_lengths = text
            .lines()
            .map(|line| line.encode_utf16().count() as u32)
            .collect();
        let uri = Uri::from_str(uri).expect("benchmark URIs are valid");
        // The server's store, background step included: while edits come back to
        // back it never fires (each edit pushes it back by its quiet period).
        let store = DocumentStore::new();
        store
            .open(uri.clone(), language_id, 0, text)
            .expect("first open");
        Edits {
            store,
            uri,
            line_lengths,
            rng: fastrand::Rng::with_seed(0xbe9c),
            version: 0,
            inserted_at: None,
        }
    }

    fn next_change(&mut self) -> TextDocumentContentChangeEvent {
        match self.inserted_at.take() {
            Some(at) => TextDocumentContentChangeEvent {
                range: Some(Range::new(at, Position::new(at.line, at.character + 1))),
                range_length: None,
                text: String::new(),
            },
            None => {
                let line = self.rng.usize(0..self.line_lengths.len());
                let at = Position::new(line as u32, self.rng.u32(0..=self.line_lengths[line]));
                self.inserted_at = Some(at);
                TextDocumentContentChangeEvent {
                    range: Some(Range::new(at, at)),
                    range_length: None,
                    text: "x".to_owned(),
                }
            }
        }
    }

    fn change(&mut self) {
        self.version += 1;
        let change = self.next_change();
        self.store
            .change(&self.uri, self.version, vec![change])
            .expect("open, ordered range");
    }

    fn tree_node_count(&self) -> Option<usize> {
        let snapshot = self.store.snapshot(&self.uri).expect("open");
        snapshot
            .tree()
            .map(|tree| tree.root_node().descendant_count())
    }
}

fn bench_one_char_edits(
    criterion: &mut Criterion,
    name: &str,
    uri: &str,
    language_id: &str,
    text: String,
    measured: Measured,
) {
    let mut edits = Edits::new(uri, language_id, text);
    // The first parse is not what is measured.
    edits.tree_node_count();
    criterion.bench_function(name, |bencher| match measured {
        Measured::Change => bencher.iter(|| edits.change()),
        Measured::ChangeThenTree => bencher.iter(|| {
            edits.change();
            edits.tree_node_count()
        }),
        // One change per measured call, so the batch is one iteration.
        Measured::TreeAfterChange => bencher.iter_batched_ref(
            || {
                edits.change();
                edits.store.snapshot(&edits.uri).expect("open")
            },
            |snapshot| snapshot.tree().is_some(),
            BatchSize::PerIteration,
        ),
    });
    assert_eq!(edits.tree_node_count().is_some(), language_id == "rust");
}

fn one_char_edits(criterion: &mut Criterion) {
    bench_one_char_edits(
        criterion,
        "edit/100k_lines_plain_text",
        "file:///bench/big.txt",
        "plaintext",
        generated_rust(100_000),
        Measured::Change,
    );
    bench_one_char_edits(
        criterion,
        "edit/10k_lines_rust/keystroke",
        "file:///bench/lib.rs",
        "rust",
        generated_rust(10_000),
        Measured::Change,
    );
    bench_one_char_edits(
        criterion,
        "edit/10k_lines_rust/keystroke_then_tree_baseline",
        "file:///bench/lib.rs",
        "rust",
        generated_rust(10_000),
        Measured::ChangeThenTree,
    );
    bench_one_char_edits(
        criterion,
        "edit/10k_lines_rust/tree_after_keystroke",
        "file:///bench/lib.rs",
        "rust",
        generated_rust(10_000),
        Measured::TreeAfterChange,
    );
    bench_one_char_edits(
        criterion,
        "edit/10k_lines_plain_text_baseline",
        "file:///bench/lib.txt",
        "plaintext",
        generated_rust(10_000),
        Measured::Change,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = one_char_edits
}
criterion_main!(benches);
