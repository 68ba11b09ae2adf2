//! Review before apply, the pure part: the `WorkspaceEdit` a client with change
//! annotations shows in its preview (one annotation per file, each needing the
//! user's confirmation), and, once the editor has answered, which of the agent's
//! hunks landed. VS Code answers `applied: true` when the user unticked files or
//! hunks in its preview, so what landed is read from the buffer, never from the
//! answer.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use lsp_types::{
    AnnotatedTextEdit, ChangeAnnotation, DocumentChangeOperation, DocumentChanges, OneOf,
    TextDocumentEdit, WorkspaceEdit,
};

use super::lines::{self, Lines};
use super::plan::{ApplyRequest, FilePlan};
use super::{to_u32, LineSpan};

/// Whether `files` can go to a change-annotation preview as they are: text
/// edits of open buffers only, whose landing the server can read back from the
/// didChange. (Created, renamed or deleted files, and files the editor does not
/// hold, are reviewed through the server's own pending change instead.)
pub fn previewable(files: &[FilePlan]) -> bool {
    !files.is_empty()
        && files.iter().all(|file| {
            file.expected.is_some()
                && file.preconditions.is_empty()
                && file
                    .operations
                    .iter()
                    .all(|operation| matches!(operation, DocumentChangeOperation::Edit(_)))
        })
}

/// One applyEdit for all of `files` whose every text edit carries its file's
/// annotation: labelled `label` (the task), described with the file's name as
/// `shown` gives it, and needing confirmation. Annotation ids are
/// `agentls/review/<review>/<n>`.
pub fn annotated_request(
    files: &[FilePlan],
    review: u64,
    label: &str,
    shown: impl Fn(&Path) -> String,
) -> ApplyRequest {
    let mut annotations = HashMap::new();
    let mut edits = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let annotation_id = format!("agentls/review/{review}/{}", index + 1);
        annotations.insert(
            annotation_id.clone(),
            ChangeAnnotation {
                label: label.to_owned(),
                needs_confirmation: Some(true),
                description: Some(shown(&file.path)),
            },
        );
        for operation in &file.operations {
            let DocumentChangeOperation::Edit(edit) = operation else {
                continue;
            };
            edits.push(TextDocumentEdit {
                text_document: edit.text_document.clone(),
                edits: edit
                    .edits
                    .iter()
                    .map(|text_edit| {
                        let text_edit = match text_edit {
                            OneOf::Left(text_edit) => text_edit.clone(),
                            OneOf::Right(annotated) => annotated.text_edit.clone(),
                        };
                        OneOf::Right(AnnotatedTextEdit {
                            text_edit,
                            annotation_id: annotation_id.clone(),
                        })
                    })
                    .collect(),
            });
        }
    }
    ApplyRequest {
        edit: WorkspaceEdit {
            changes: None,
            document_changes: Some(DocumentChanges::Edits(edits)),
            change_annotations: Some(annotations),
        },
        expected: files
            .iter()
            .filter_map(|file| file.expected.clone())
            .collect(),
        preconditions: Vec::new(),
    }
}

/// What became of the agent's hunks of one file, as lines of the text the agent
/// changed (`before`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reviewed {
    /// Hunks that landed exactly as proposed.
    pub accepted: Vec<LineSpan>,
    /// Hunks whose lines are as they were.
    pub refused: Vec<LineSpan>,
    /// Hunks that landed only in part (the user unticked some of the edits
    /// inside them) or were changed otherwise.
    pub altered: Vec<LineSpan>,
}

impl Reviewed {
    /// Every hunk landed as proposed.
    pub fn is_accepted(&self) -> bool {
        self.refused.is_empty() && self.altered.is_empty()
    }

    /// Nothing of the change landed.
    pub fn is_refused(&self) -> bool {
        self.accepted.is_empty() && self.altered.is_empty()
    }
}

/// Compares the agent's change `before → proposed` with what the buffer holds
/// `now`, hunk by hunk of the agent's change.
pub fn reviewed(before: &str, proposed: &str, now: &str) -> Reviewed {
    let before_lines = Lines::new(before);
    let proposed_lines = Lines::new(proposed);
    let now_lines = Lines::new(now);
    let proposed_hunks = lines::hunks(before_lines.as_slice(), proposed_lines.as_slice());
    let landed_hunks = lines::hunks(before_lines.as_slice(), now_lines.as_slice());
    let mut outcome = Reviewed::default();
    for hunk in &proposed_hunks {
        let span = LineSpan::new(to_u32(hunk.old.start), to_u32(hunk.old.end));
        let touching: Vec<_> = landed_hunks
            .iter()
            .filter(|landed| touches(&landed.old, &hunk.old))
            .collect();
        match touching.as_slice() {
            [] => outcome.refused.push(span),
            [landed]
                if landed.old == hunk.old
                    && now_lines.slice(landed.new.clone())
                        == proposed_lines.slice(hunk.new.clone()) =>
            {
                outcome.accepted.push(span)
            }
            _ => outcome.altered.push(span),
        }
    }
    outcome
}

/// Whether two hunks' base lines meet: they share a line, or one inserts
/// within or at either end of the lines the other replaces, or both insert at
/// the same place. Broader than the merge's overlap: a landed insertion right
/// before lines the agent replaced is a part of that hunk, not a hunk of its own.
fn touches(a: &Range<usize>, b: &Range<usize>) -> bool {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => a.start == b.start,
        (true, false) => b.start <= a.start && a.start <= b.end,
        (false, true) => a.start <= b.start && b.start <= a.end,
        (false, false) => a.start < b.end && b.start < a.end,
    }
}
