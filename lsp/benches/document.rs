//! The document store's hot path, measured: one didChange carrying a one-character
//! edit at a random position, position conversion included, in a 100,000-line plain
//! text file and in a 10,000-line Rust file, plus the same 10,000 lines as plain
//! text for a baseline without tree-sitter. For the Rust file, three cases: the
//! didChange alone (what the ordered notification path pays: the rope edit and
//! `Tree::edit`), the didChange followed at once by asking for the tree (the
//! reparse every keystroke paid before reparsing became lazy; the baseline), and
//! asking for the tree alone after a didChange. The generated file is tree-sitter-rust's
//! worst case (a thousand top-level functions, each after a doc comment, which stops
//! tree-sitter reusing the item that follows it), so the same two measures run on
//! real code too: 10,000 lines of tokio's `src/runtime` from the cargo registry
//! (whole files in path order, concatenated), skipped with a note when `cargo
//! fetch` has not brought tokio.
//!
//! `cargo bench -p agentls --bench document`; the medians go in docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use agentls::document::DocumentStore;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use lsp_types::{Position, Range, TextDocumentContentChangeEvent, Uri};

/// The server's allocator (`lsp/src/main.rs`), so the edits below pay what
/// they pay in the server: the document's record and syntax slot go to the
/// long-lived pool.
#[global_allocator]
static ALLOCATOR: agentls_core::long_lived::Allocator = agentls_core::long_lived::Allocator;

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

/// At least `n_lines` lines of real Rust: tokio's `src/runtime/**/*.rs` in path
/// order, whole files, from the first tokio in the cargo registry; `None` when
/// the registry holds no tokio.
fn real_rust(n_lines: usize) -> Option<(String, PathBuf)> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
    let mut registries: Vec<PathBuf> = std::fs::read_dir(cargo_home.join("registry").join("src"))
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .collect();
    registries.sort();
    let mut tokio_dirs: Vec<PathBuf> = registries
        .iter()
        .flat_map(|registry| std::fs::read_dir(registry).into_iter().flatten().flatten())
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_prefix("tokio-"))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    tokio_dirs.sort();
    let runtime = tokio_dirs.first()?.join("src").join("runtime");
    let mut files = Vec::new();
    collect_rust_files(&runtime, &mut files);
    files.sort();
    let mut text = String::new();
    for file in files {
        if text.lines().count() >= n_lines {
            break;
        }
        let Ok(source) = std::fs::read_to_string(&file) else {
            continue;
        };
        text.push_str(&source);
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    (text.lines().count() >= n_lines).then_some((text, runtime))
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
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
    /// Per line, the UTF-16 offsets that fall on a char boundary (real code may
    /// hold astral chars, which an edit must not split).
    boundaries: Vec<Vec<u32>>,
    rng: fastrand::Rng,
    version: i32,
    inserted_at: Option<Position>,
}

impl Edits {
    fn new(uri: &str, language_id: &str, text: String) -> Edits {
        let boundaries = text
            .lines()
            .map(|line| {
                let mut offsets = vec![0];
                let mut offset = 0;
                for char in line.chars() {
                    offset += char.len_utf16() as u32;
                    offsets.push(offset);
                }
                offsets
            })
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
            boundaries,
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
                let line = self.rng.usize(0..self.boundaries.len());
                let offsets = &self.boundaries[line];
                let at = Position::new(line as u32, offsets[self.rng.usize(0..offsets.len())]);
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
    let Some((real, source)) = real_rust(10_000) else {
        #[allow(clippy::print_stderr)] // A bench's report; stdout belongs to criterion.
        {
            eprintln!("document bench: no tokio in the cargo registry (run `cargo fetch`); real-code rows skipped");
        }
        return;
    };
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "document bench: real Rust from {}: {} lines",
            source.display(),
            real.lines().count()
        );
    }
    bench_one_char_edits(
        criterion,
        "edit/10k_lines_real_rust/keystroke",
        "file:///bench/runtime.rs",
        "rust",
        real.clone(),
        Measured::Change,
    );
    bench_one_char_edits(
        criterion,
        "edit/10k_lines_real_rust/keystroke_then_tree",
        "file:///bench/runtime.rs",
        "rust",
        real,
        Measured::ChangeThenTree,
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
