//! The document store's hot path, measured: one didChange carrying a one-character
//! edit at a random position, position conversion included, in a 100,000-line plain
//! text file and in a 10,000-line Rust file whose tree is reparsed, plus the same
//! 10,000 lines as plain text for a baseline without tree-sitter.
//!
//! `cargo bench -p agentls --bench document`; the medians go in docs/benchmarks.md.

use std::str::FromStr;
use std::time::Duration;

use agentls::document::DocumentStore;
use criterion::{criterion_group, criterion_main, Criterion};
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

/// Measures one-character edits to `text` opened as `uri` and `language_id`.
/// Iterations alternate between inserting `x` at a random position and deleting
/// it again, so every edit lands in the same text and syntax errors never pile up.
fn bench_one_char_edits(
    criterion: &mut Criterion,
    name: &str,
    uri: &str,
    language_id: &str,
    text: String,
) {
    let line_lengths: Vec<u32> = text
        .lines()
        .map(|line| line.encode_utf16().count() as u32)
        .collect();
    let uri = Uri::from_str(uri).expect("benchmark URIs are valid");
    let store = DocumentStore::new();
    store
        .open(uri.clone(), language_id, 0, text)
        .expect("first open");
    let mut rng = fastrand::Rng::with_seed(0xbe9c);
    let mut version = 0;
    let mut inserted_at: Option<Position> = None;
    criterion.bench_function(name, |bencher| {
        bencher.iter(|| {
            version += 1;
            let change = match inserted_at.take() {
                Some(at) => TextDocumentContentChangeEvent {
                    range: Some(Range::new(at, Position::new(at.line, at.character + 1))),
                    range_length: None,
                    text: String::new(),
                },
                None => {
                    let line = rng.usize(0..line_lengths.len());
                    let at = Position::new(line as u32, rng.u32(0..=line_lengths[line]));
                    inserted_at = Some(at);
                    TextDocumentContentChangeEvent {
                        range: Some(Range::new(at, at)),
                        range_length: None,
                        text: "x".to_owned(),
                    }
                }
            };
            store
                .change(&uri, version, vec![change])
                .expect("open, ordered range")
        })
    });
    let snapshot = store.snapshot(&uri).expect("open");
    assert_eq!(snapshot.tree().is_some(), language_id == "rust");
}

fn one_char_edits(criterion: &mut Criterion) {
    bench_one_char_edits(
        criterion,
        "edit/100k_lines_plain_text",
        "file:///bench/big.txt",
        "plaintext",
        generated_rust(100_000),
    );
    bench_one_char_edits(
        criterion,
        "edit/10k_lines_rust_with_reparse",
        "file:///bench/lib.rs",
        "rust",
        generated_rust(10_000),
    );
    bench_one_char_edits(
        criterion,
        "edit/10k_lines_plain_text_baseline",
        "file:///bench/lib.txt",
        "plaintext",
        generated_rust(10_000),
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
