//! The changeset → WorkspaceEdit path, measured on a 10,000-line file open in the
//! editor with 20 changed hunks (one-word changes, inserted and deleted lines):
//! with the buffer still at the version the agent read, and with the user having
//! typed in five other places meanwhile (the three-way re-base). Also prints the
//! edit's JSON size next to the file's, for 1, 20 and 200 hunks, to show the edit
//! grows with the change rather than the file.
//!
//! `cargo bench -p agentls --bench edits`; the medians go in docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentls::document::{DocumentStore, PositionEncoding};
use agentls::edits::{text_edits, workspace_edit, EditCapabilities};
use agentls_core::workspace::{Changeset, FileChange, FileSnapshot};
use criterion::{criterion_group, criterion_main, Criterion};
use lsp_types::{TextDocumentContentChangeEvent, Uri};
use tower_lsp_server::UriExt;

const ROOT: &str = "/bench/project";
const LINES: usize = 10_000;

/// Rust-like source of `n_lines` lines with a few non-ASCII chars.
fn generated(n_lines: usize) -> String {
    (0..n_lines)
        .map(|line| match line % 5 {
            0 => format!("/// Item {line}: é ü 中.\n"),
            1 => format!("pub fn function_{line}(value: u64) -> u64 {{\n"),
            2 => format!("    let doubled = value.wrapping_mul(2) + {line};\n"),
            3 => "    doubled\n".to_owned(),
            _ => "}\n".to_owned(),
        })
        .collect()
}

/// `text` with `n_hunks` changes spread evenly: most rename one word, every
/// fifth inserts two lines, every seventh deletes a line.
fn with_hunks(text: &str, n_hunks: usize, marker: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let step = lines.len() / n_hunks.max(1);
    let mut out = String::with_capacity(text.len() + n_hunks * 64);
    for (index, line) in lines.iter().enumerate() {
        let hunk = index % step == step / 2 && index / step < n_hunks;
        if !hunk {
            out.push_str(line);
        } else if (index / step) % 5 == 4 {
            out.push_str(line);
            out.push_str(&format!(
                "    // {marker}: inserted line one\n    // {marker}: inserted line two\n"
            ));
        } else if (index / step) % 7 == 6 {
            // Deleted.
        } else {
            out.push_str(
                &line
                    .replacen("value", marker, 1)
                    .replacen("doubled", marker, 1),
            );
            if !line.contains("value") && !line.contains("doubled") {
                out.pop();
                out.push_str(&format!(" // {marker}\n"));
            }
        }
    }
    out
}

fn setup(text: &str) -> (DocumentStore, PathBuf, Uri) {
    let path = Path::new(ROOT).join("src/lib.rs");
    let uri = Uri::from_file_path(&path).expect("absolute path");
    let store = DocumentStore::new();
    store.set_encoding(PositionEncoding::Utf16);
    store
        .open(uri.clone(), "plaintext", 1, text.to_owned())
        .expect("opens");
    (store, path, uri)
}

fn changeset(path: &Path, base: &str, proposed: String) -> Changeset {
    let change = FileChange {
        base: Some(FileSnapshot {
            text: base.to_owned(),
            version: Some(1),
        }),
        proposed: Some(proposed),
        moved_from: None,
    };
    Changeset {
        files: [(path.to_owned(), change)].into_iter().collect(),
    }
}

fn changeset_to_workspace_edit(criterion: &mut Criterion) {
    let text = generated(LINES);
    let capabilities = EditCapabilities::default();
    let roots = vec![PathBuf::from(ROOT)];

    let (store, path, uri) = setup(&text);
    let changes = changeset(&path, &text, with_hunks(&text, 20, "agent"));
    criterion.bench_function("workspace_edit/10k_lines_20_hunks", |bencher| {
        bencher.iter(|| workspace_edit(&changes, &store, &capabilities, &roots).expect("plans"))
    });

    // The user typed in five places the agent did not touch.
    let users_text = with_hunks(&text, 5, "user");
    let change = TextDocumentContentChangeEvent {
        range: None,
        range_length: None,
        text: users_text,
    };
    store.change(&uri, 2, vec![change]).expect("open");
    let plan = workspace_edit(&changes, &store, &capabilities, &roots).expect("merges");
    assert_eq!(plan.rebased.len(), 1, "the stale case really re-bases");
    criterion.bench_function(
        "workspace_edit/10k_lines_20_hunks_stale_rebased",
        |bencher| {
            bencher
                .iter(|| workspace_edit(&changes, &store, &capabilities, &roots).expect("merges"))
        },
    );

    let proposed = with_hunks(&text, 20, "agent");
    criterion.bench_function("text_edits/10k_lines_20_hunks", |bencher| {
        bencher.iter(|| text_edits(&text, &proposed, PositionEncoding::Utf16))
    });

    report_sizes(&text, &capabilities, &roots);
}

/// Prints the edit's size against the file's: the figure docs/benchmarks.md quotes.
#[allow(clippy::print_stderr)] // A bench's report; stdout belongs to criterion.
fn report_sizes(text: &str, capabilities: &EditCapabilities, roots: &[PathBuf]) {
    for n_hunks in [1, 20, 200] {
        let (store, path, _) = setup(text);
        let proposed = with_hunks(text, n_hunks, "agent");
        let changes = changeset(&path, text, proposed);
        let plan = workspace_edit(&changes, &store, capabilities, roots).expect("plans");
        let request = plan.apply_request().expect("an edit");
        let edit_bytes = serde_json::to_vec(&request.edit).expect("serialises").len();
        eprintln!(
            "edit size: {n_hunks} hunks in a {LINES}-line file of {} bytes -> WorkspaceEdit of {edit_bytes} bytes ({:.2}% of the file)",
            text.len(),
            edit_bytes as f64 * 100.0 / text.len() as f64
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = changeset_to_workspace_edit
}
criterion_main!(benches);
