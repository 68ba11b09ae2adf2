//! `edits` tested through its public functions: table tests for each behaviour the
//! issue names, property tests over random texts (emoji, CRLF, lone CR, combining
//! marks), and disk writes in a temp directory.

mod confirm;
mod disk;
mod merge;
mod plan;
mod review;
mod text;
mod undo;

use std::path::{Path, PathBuf};

use agentls_core::workspace::{Changeset, FileChange, FileSnapshot};
use lsp_types::{
    DocumentChangeOperation, DocumentChanges, OneOf, Position, TextDocumentContentChangeEvent,
    TextEdit, Uri, WorkspaceEdit,
};
use tower_lsp_server::UriExt;

use crate::document::{DocumentStore, PositionEncoding};

const ENCODINGS: [PositionEncoding; 3] = [
    PositionEncoding::Utf8,
    PositionEncoding::Utf16,
    PositionEncoding::Utf32,
];

/// The workspace root of the table tests (nothing is written there).
const ROOT: &str = "/work/project";

fn root() -> Vec<PathBuf> {
    vec![PathBuf::from(ROOT)]
}

fn path(relative: &str) -> PathBuf {
    Path::new(ROOT).join(relative)
}

fn uri(path: &Path) -> Uri {
    Uri::from_file_path(path).expect("test paths are absolute")
}

/// A store with `files` open at the given versions, in `encoding`.
fn store(encoding: PositionEncoding, files: &[(&Path, i32, &str)]) -> DocumentStore {
    let store = DocumentStore::new();
    store.set_encoding(encoding);
    for (path, version, text) in files {
        store
            .open(uri(path), "plaintext", *version, (*text).to_owned())
            .expect("opens");
    }
    store
}

/// The user types: replaces the whole buffer with `text` at `version`.
fn user_types(store: &DocumentStore, path: &Path, version: i32, text: &str) {
    let change = TextDocumentContentChangeEvent {
        range: None,
        range_length: None,
        text: text.to_owned(),
    };
    store
        .change(&uri(path), version, vec![change])
        .expect("document is open");
}

fn snapshot(text: &str, version: Option<i32>) -> FileSnapshot {
    FileSnapshot {
        text: text.to_owned(),
        version,
    }
}

fn changeset(files: Vec<(PathBuf, FileChange)>) -> Changeset {
    Changeset {
        files: files.into_iter().collect(),
    }
}

fn edit_file(base: FileSnapshot, proposed: &str) -> FileChange {
    FileChange {
        base: Some(base),
        proposed: Some(proposed.to_owned()),
        moved_from: None,
    }
}

/// Applies `edits` to `text` as an LSP client must: every position resolved in
/// the original text, then all replaced at once. Written apart from `edits` and
/// from the document store, and stricter than both: a position past the end of
/// its line, inside a char or a surrogate pair, or between the CR and LF of a
/// CRLF, and edits out of order or overlapping, are errors.
fn apply(text: &str, edits: &[TextEdit], encoding: PositionEncoding) -> Result<String, String> {
    let mut ranges = Vec::new();
    for edit in edits {
        let start = offset(text, edit.range.start, encoding)?;
        let end = offset(text, edit.range.end, encoding)?;
        if start > end {
            return Err(format!("{edit:?} ends before it starts"));
        }
        ranges.push((start, end, edit.new_text.as_str()));
    }
    for pair in ranges.windows(2) {
        let ((start_a, end_a, _), (start_b, end_b, _)) = (pair[0], pair[1]);
        if start_b < end_a || (start_a == end_a && start_b == end_b && start_a == start_b) {
            return Err(format!("edits out of order or overlapping: {edits:?}"));
        }
    }
    let mut result = String::new();
    let mut cursor = 0;
    for (start, end, new_text) in ranges {
        result.push_str(&text[cursor..start]);
        result.push_str(new_text);
        cursor = end;
    }
    result.push_str(&text[cursor..]);
    Ok(result)
}

/// The byte offset of an LSP position, exactly (see `apply`).
fn offset(text: &str, position: Position, encoding: PositionEncoding) -> Result<usize, String> {
    let bytes = text.as_bytes();
    let mut line_start = 0;
    for _ in 0..position.line {
        let Some(found) = bytes[line_start..]
            .iter()
            .position(|byte| *byte == b'\n' || *byte == b'\r')
        else {
            return Err(format!("{position:?} is past the last line"));
        };
        let at = line_start + found;
        line_start = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
            at + 2
        } else {
            at + 1
        };
    }
    let target = position.character as usize;
    let mut units = 0;
    for (index, char) in text[line_start..].char_indices() {
        if units == target {
            return Ok(line_start + index);
        }
        if units > target {
            return Err(format!("{position:?} is inside a char"));
        }
        if char == '\n' || char == '\r' {
            return Err(format!("{position:?} is past the end of its line"));
        }
        units += match encoding {
            PositionEncoding::Utf8 => char.len_utf8(),
            PositionEncoding::Utf16 => char.len_utf16(),
            PositionEncoding::Utf32 => 1,
        };
    }
    if units == target {
        Ok(text.len())
    } else {
        Err(format!("{position:?} is past the end of the text"))
    }
}

/// The text edits of `edit` for `uri`, with the version they name.
fn edits_for<'a>(edit: &'a WorkspaceEdit, uri: &Uri) -> Vec<(Option<i32>, Vec<TextEdit>)> {
    let operations: Vec<&'a lsp_types::TextDocumentEdit> = match &edit.document_changes {
        Some(DocumentChanges::Edits(edits)) => edits.iter().collect(),
        Some(DocumentChanges::Operations(operations)) => operations
            .iter()
            .filter_map(|operation| match operation {
                DocumentChangeOperation::Edit(edit) => Some(edit),
                DocumentChangeOperation::Op(_) => None,
            })
            .collect(),
        None => Vec::new(),
    };
    operations
        .into_iter()
        .filter(|edit| edit.text_document.uri == *uri)
        .map(|edit| {
            let edits = edit
                .edits
                .iter()
                .map(|edit| match edit {
                    OneOf::Left(edit) => edit.clone(),
                    OneOf::Right(annotated) => annotated.text_edit.clone(),
                })
                .collect();
            (edit.text_document.version, edits)
        })
        .collect()
}

/// Random texts built from pieces that trip position arithmetic.
fn random_text(rng: &mut fastrand::Rng, max_pieces: usize) -> Vec<&'static str> {
    const PIECES: &[&str] = &[
        "a",
        "b",
        "foo",
        "bar_1",
        "x",
        " ",
        "  ",
        "\t",
        "\n",
        "\n",
        "\r\n",
        "\r\n",
        "\r",
        "😀",
        "👨\u{200D}👩",
        "e\u{301}",
        "\u{301}",
        "中",
        "é",
        ";",
        "(",
        ")",
        "{",
        "}",
        "🇫🇷",
        "\u{FE0F}",
        "let",
        "=",
    ];
    let len = rng.usize(0..=max_pieces);
    (0..len)
        .map(|_| PIECES[rng.usize(..PIECES.len())])
        .collect()
}

/// `pieces` changed in a few places, as an edit would.
fn mutate(rng: &mut fastrand::Rng, pieces: &[&'static str]) -> Vec<&'static str> {
    let mut pieces = pieces.to_vec();
    for _ in 0..rng.usize(0..4) {
        let at = rng.usize(0..=pieces.len());
        match rng.u8(0..3) {
            0 => {
                let inserted = random_text(rng, 6);
                pieces.splice(at..at, inserted);
            }
            1 if at < pieces.len() => {
                let end = (at + rng.usize(1..4)).min(pieces.len());
                pieces.drain(at..end);
            }
            _ if at < pieces.len() => {
                let replacement = random_text(rng, 3);
                let end = (at + 1).min(pieces.len());
                pieces.splice(at..end, replacement);
            }
            _ => {}
        }
    }
    pieces
}
