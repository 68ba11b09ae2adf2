//! From the agent's changeset to what the server sends and writes: versioned text
//! edits for the files open in the editor, computed against the buffer's current
//! text (re-based when the user typed since the agent read it), resource
//! operations where the client takes them, and disk operations for the rest.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use agentls_core::workspace::{Changeset, FileChange};
use lsp_types::{
    ClientCapabilities, CreateFile, CreateFileOptions, DeleteFile, DeleteFileOptions,
    DocumentChangeOperation, DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier,
    Position, Range, RenameFile, RenameFileOptions, ResourceOp, ResourceOperationKind,
    TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};
use tower_lsp_server::UriExt;

use super::confirm::{ContentHash, ExpectedState};
use super::disk::{lexically_inside, DiskOperation, DiskPrecondition};
use super::merge::three_way_merge;
use super::text::text_edits;
use super::undo::{Checkpoint, CheckpointFile};
use super::EditError;
use crate::document::{DocumentSnapshot, DocumentStore, PositionEncoding};

/// What the client accepts in a workspace edit, beyond versioned text edits
/// (sent to every client: Neovim handles them without advertising them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EditCapabilities {
    /// The position encoding negotiated in `initialize`.
    pub encoding: PositionEncoding,
    pub create_files: bool,
    pub rename_files: bool,
    pub delete_files: bool,
    /// `workspace.workspaceEdit.changeAnnotationSupport`: the client shows edits
    /// that need confirmation in a preview (VS Code's Refactor Preview) before
    /// applying them.
    pub change_annotations: bool,
}

impl EditCapabilities {
    /// From `workspace.workspaceEdit.resourceOperations` and
    /// `general.positionEncodings`, negotiated as `initialize` does.
    pub fn from_client(capabilities: &ClientCapabilities) -> EditCapabilities {
        let workspace_edit = capabilities
            .workspace
            .as_ref()
            .and_then(|workspace| workspace.workspace_edit.as_ref());
        let kinds = workspace_edit
            .and_then(|workspace_edit| workspace_edit.resource_operations.as_deref())
            .unwrap_or_default();
        let offered = capabilities
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_deref());
        EditCapabilities {
            encoding: PositionEncoding::negotiate(offered),
            create_files: kinds.contains(&ResourceOperationKind::Create),
            rename_files: kinds.contains(&ResourceOperationKind::Rename),
            delete_files: kinds.contains(&ResourceOperationKind::Delete),
            change_annotations: workspace_edit
                .is_some_and(|workspace_edit| workspace_edit.change_annotation_support.is_some()),
        }
    }
}

/// The documents open in the editor, looked up by file path.
pub trait OpenDocuments {
    /// The open document of the file at `path`, if any.
    fn open_document(&self, path: &Path) -> Option<DocumentSnapshot>;
}

impl OpenDocuments for DocumentStore {
    fn open_document(&self, path: &Path) -> Option<DocumentSnapshot> {
        if let Some(snapshot) = Uri::from_file_path(path).and_then(|uri| self.snapshot(&uri)) {
            return Some(snapshot);
        }
        // Editors spell file URIs their own way (`%3A`, lower-case drive letters).
        self.uris()
            .into_iter()
            .find(|uri| file_path(uri).as_deref() == Some(path))
            .and_then(|uri| self.snapshot(&uri))
    }
}

impl OpenDocuments for [DocumentSnapshot] {
    fn open_document(&self, path: &Path) -> Option<DocumentSnapshot> {
        self.iter()
            .find(|snapshot| file_path(snapshot.uri()).as_deref() == Some(path))
            .cloned()
    }
}

fn file_path(uri: &Uri) -> Option<PathBuf> {
    let is_file = uri
        .scheme()
        .is_some_and(|scheme| scheme.as_str().eq_ignore_ascii_case("file"));
    if !is_file {
        return None;
    }
    uri.to_file_path().map(Cow::into_owned)
}

/// How a changeset lands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// What goes to the editor, one entry per file, in the changeset's order.
    pub files: Vec<FilePlan>,
    /// What the server writes itself: files the editor does not hold, and file
    /// operations the client does not take.
    pub disk: Vec<DiskOperation>,
    /// Files whose change was re-based onto text the user typed since the agent
    /// read it.
    pub rebased: Vec<PathBuf>,
    /// The before and after of every file in `files`. The server records the
    /// `disk` operations' own results (from `write_to_disk`) into it.
    pub checkpoint: Checkpoint,
}

/// The editor's part for one file (a rename counts as one file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePlan {
    pub path: PathBuf,
    pub operations: Vec<DocumentChangeOperation>,
    /// For a document open in the editor: the state that proves the edit landed.
    pub expected: Option<ExpectedState>,
    /// For files the editor reads from disk to apply the operations: what must
    /// be there (`check_preconditions`) right before sending.
    pub preconditions: Vec<DiskPrecondition>,
}

/// One `workspace/applyEdit` and what confirms it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyRequest {
    pub edit: WorkspaceEdit,
    pub expected: Vec<ExpectedState>,
    pub preconditions: Vec<DiskPrecondition>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.disk.is_empty()
    }

    /// Everything for the editor in one applyEdit, or `None` when it has no part.
    pub fn apply_request(&self) -> Option<ApplyRequest> {
        if self.files.is_empty() {
            return None;
        }
        Some(request(&self.files))
    }

    /// One applyEdit per file: Neovim checks only the first file's version.
    pub fn split_per_file(&self) -> Vec<ApplyRequest> {
        self.files
            .iter()
            .map(|file| request(std::slice::from_ref(file)))
            .collect()
    }
}

fn request(files: &[FilePlan]) -> ApplyRequest {
    let operations: Vec<DocumentChangeOperation> = files
        .iter()
        .flat_map(|file| file.operations.iter().cloned())
        .collect();
    let only_edits = operations
        .iter()
        .all(|operation| matches!(operation, DocumentChangeOperation::Edit(_)));
    let document_changes = if only_edits {
        DocumentChanges::Edits(
            operations
                .into_iter()
                .filter_map(|operation| match operation {
                    DocumentChangeOperation::Edit(edit) => Some(edit),
                    DocumentChangeOperation::Op(_) => None,
                })
                .collect(),
        )
    } else {
        DocumentChanges::Operations(operations)
    };
    ApplyRequest {
        edit: WorkspaceEdit {
            changes: None,
            document_changes: Some(document_changes),
            change_annotations: None,
        },
        expected: files
            .iter()
            .filter_map(|file| file.expected.clone())
            .collect(),
        preconditions: files
            .iter()
            .flat_map(|file| file.preconditions.iter().cloned())
            .collect(),
    }
}

/// Plans `changeset` against the documents open now. Fails as a whole (nothing
/// to apply) when a file conflicts with the user's edits, lies outside `roots`,
/// or is in a state the agent did not expect.
pub fn workspace_edit(
    changeset: &Changeset,
    documents: &(impl OpenDocuments + ?Sized),
    capabilities: &EditCapabilities,
    roots: &[PathBuf],
) -> Result<Plan, EditError> {
    let mut plan = Plan::default();
    for (path, change) in &changeset.files {
        for path in std::iter::once(path).chain(change.moved_from.as_ref()) {
            if !lexically_inside(roots, path) {
                return Err(EditError::OutsideRoots { path: path.clone() });
            }
        }
        plan_file(&mut plan, path, change, documents, capabilities)?;
    }
    Ok(plan)
}

fn plan_file(
    plan: &mut Plan,
    path: &Path,
    change: &FileChange,
    documents: &(impl OpenDocuments + ?Sized),
    capabilities: &EditCapabilities,
) -> Result<(), EditError> {
    let moved_from = change
        .moved_from
        .as_deref()
        .filter(|source| *source != path);
    let source = moved_from.unwrap_or(path);
    let open = documents.open_document(source);
    if moved_from.is_some() && documents.open_document(path).is_some() {
        return Err(EditError::AlreadyExists {
            path: path.to_owned(),
        });
    }
    let base = change.base.as_ref().map(|base| base.text.as_str());
    match (&change.proposed, base, open) {
        (None, None, _) => Ok(()),
        (None, Some(base), open) => plan_delete(plan, source, base, open, capabilities),
        (Some(proposed), base, Some(document)) => plan_open(
            plan,
            path,
            moved_from,
            base,
            proposed,
            &document,
            capabilities,
        ),
        (Some(proposed), base, None) => {
            plan_closed(plan, path, moved_from, base, proposed, capabilities)
        }
    }
}

/// The agent deletes `path` (which it read as `base`).
fn plan_delete(
    plan: &mut Plan,
    path: &Path,
    base: &str,
    open: Option<DocumentSnapshot>,
    capabilities: &EditCapabilities,
) -> Result<(), EditError> {
    let uri = match &open {
        Some(document) if *document.text() != base => {
            return Err(EditError::EditedInEditor {
                path: path.to_owned(),
                version: document.version(),
            });
        }
        Some(document) => document.uri().clone(),
        None => file_uri(path)?,
    };
    if !capabilities.delete_files {
        plan.disk.push(DiskOperation::Delete {
            path: path.to_owned(),
            expected: base.to_owned(),
        });
        return Ok(());
    }
    let delete = ResourceOp::Delete(DeleteFile {
        uri,
        options: Some(DeleteFileOptions {
            recursive: Some(false),
            ignore_if_not_exists: Some(false),
            annotation_id: None,
        }),
    });
    plan.files.push(FilePlan {
        path: path.to_owned(),
        operations: vec![DocumentChangeOperation::Op(delete)],
        expected: None,
        preconditions: match open {
            Some(_) => Vec::new(),
            None => vec![DiskPrecondition {
                path: path.to_owned(),
                expected: Some(base.to_owned()),
            }],
        },
    });
    plan.checkpoint.record(
        path.to_owned(),
        CheckpointFile {
            before: Some(base.to_owned()),
            after: None,
            moved_from: None,
        },
    );
    Ok(())
}

/// The file (at its old path when moved) is open in the editor: edit the buffer
/// as it is now, re-basing the agent's change if the user typed since.
fn plan_open(
    plan: &mut Plan,
    path: &Path,
    moved_from: Option<&Path>,
    base: Option<&str>,
    proposed: &str,
    document: &DocumentSnapshot,
    capabilities: &EditCapabilities,
) -> Result<(), EditError> {
    let source = moved_from.unwrap_or(path);
    let base = base.unwrap_or_default();
    let current: Cow<'_, str> = if *document.text() == base {
        Cow::Borrowed(base)
    } else {
        Cow::Owned(document.text().to_string())
    };
    let target = if current == base {
        proposed.to_owned()
    } else {
        let merged = three_way_merge(base, proposed, &current)
            .into_result()
            .map_err(|lines| EditError::Conflict {
                path: source.to_owned(),
                lines,
                version: Some(document.version()),
            })?;
        plan.rebased.push(path.to_owned());
        merged
    };
    if let Some(from) = moved_from.filter(|_| !capabilities.rename_files) {
        plan.disk.push(DiskOperation::Rename {
            from: from.to_owned(),
            to: path.to_owned(),
            expected: current.into_owned(),
            text: target,
        });
        return Ok(());
    }
    let edits = text_edits(&current, &target, document.encoding());
    let mut operations = Vec::new();
    if !edits.is_empty() {
        operations.push(versioned_edit(
            document.uri().clone(),
            Some(document.version()),
            edits,
        ));
    }
    let mut expected = (!operations.is_empty()).then(|| ExpectedState {
        uri: document.uri().clone(),
        version_before: Some(document.version()),
        version_after: None,
        content_hash: ContentHash::of_str(&target),
    });
    if moved_from.is_some() {
        let new_uri = file_uri(path)?;
        operations.push(rename(document.uri().clone(), new_uri.clone()));
        // The editor reopens the buffer under its new name.
        expected = Some(ExpectedState {
            uri: new_uri,
            version_before: None,
            version_after: None,
            content_hash: ContentHash::of_str(&target),
        });
    }
    if operations.is_empty() {
        return Ok(());
    }
    plan.files.push(FilePlan {
        path: path.to_owned(),
        operations,
        expected,
        preconditions: Vec::new(),
    });
    plan.checkpoint.record(
        path.to_owned(),
        CheckpointFile {
            before: Some(current.into_owned()),
            after: Some(target),
            moved_from: moved_from.map(Path::to_owned),
        },
    );
    Ok(())
}

/// The file is not open in the editor: create or rename it through the editor
/// where the client takes those operations, else write it on disk.
fn plan_closed(
    plan: &mut Plan,
    path: &Path,
    moved_from: Option<&Path>,
    base: Option<&str>,
    proposed: &str,
    capabilities: &EditCapabilities,
) -> Result<(), EditError> {
    match (base, moved_from) {
        (None, _) if capabilities.create_files => {
            let uri = file_uri(path)?;
            let mut operations = vec![DocumentChangeOperation::Op(ResourceOp::Create(
                CreateFile {
                    uri: uri.clone(),
                    options: Some(CreateFileOptions {
                        overwrite: Some(false),
                        ignore_if_exists: Some(false),
                    }),
                    annotation_id: None,
                },
            ))];
            if !proposed.is_empty() {
                let insert = TextEdit {
                    range: Range::new(Position::new(0, 0), Position::new(0, 0)),
                    new_text: proposed.to_owned(),
                };
                operations.push(versioned_edit(uri, None, vec![insert]));
            }
            plan.files.push(FilePlan {
                path: path.to_owned(),
                operations,
                expected: None,
                preconditions: vec![DiskPrecondition {
                    path: path.to_owned(),
                    expected: None,
                }],
            });
            plan.checkpoint.record(
                path.to_owned(),
                CheckpointFile {
                    before: None,
                    after: Some(proposed.to_owned()),
                    moved_from: None,
                },
            );
        }
        (None, _) => plan.disk.push(DiskOperation::Write {
            path: path.to_owned(),
            expected: None,
            text: proposed.to_owned(),
        }),
        (Some(base), Some(from)) if capabilities.rename_files => {
            let new_uri = file_uri(path)?;
            let mut operations = vec![rename(file_uri(from)?, new_uri.clone())];
            let edits = text_edits(base, proposed, capabilities.encoding);
            if !edits.is_empty() {
                operations.push(versioned_edit(new_uri, None, edits));
            }
            plan.files.push(FilePlan {
                path: path.to_owned(),
                operations,
                expected: None,
                preconditions: vec![
                    DiskPrecondition {
                        path: from.to_owned(),
                        expected: Some(base.to_owned()),
                    },
                    DiskPrecondition {
                        path: path.to_owned(),
                        expected: None,
                    },
                ],
            });
            plan.checkpoint.record(
                path.to_owned(),
                CheckpointFile {
                    before: Some(base.to_owned()),
                    after: Some(proposed.to_owned()),
                    moved_from: Some(from.to_owned()),
                },
            );
        }
        (Some(base), Some(from)) => plan.disk.push(DiskOperation::Rename {
            from: from.to_owned(),
            to: path.to_owned(),
            expected: base.to_owned(),
            text: proposed.to_owned(),
        }),
        (Some(base), None) => {
            if base != proposed {
                plan.disk.push(DiskOperation::Write {
                    path: path.to_owned(),
                    expected: Some(base.to_owned()),
                    text: proposed.to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn versioned_edit(uri: Uri, version: Option<i32>, edits: Vec<TextEdit>) -> DocumentChangeOperation {
    DocumentChangeOperation::Edit(TextDocumentEdit {
        text_document: OptionalVersionedTextDocumentIdentifier { uri, version },
        edits: edits.into_iter().map(OneOf::Left).collect(),
    })
}

fn rename(old_uri: Uri, new_uri: Uri) -> DocumentChangeOperation {
    DocumentChangeOperation::Op(ResourceOp::Rename(RenameFile {
        old_uri,
        new_uri,
        options: Some(RenameFileOptions {
            overwrite: Some(false),
            ignore_if_exists: Some(false),
        }),
        annotation_id: None,
    }))
}

fn file_uri(path: &Path) -> Result<Uri, EditError> {
    Uri::from_file_path(path).ok_or_else(|| EditError::OutsideRoots {
        path: path.to_owned(),
    })
}
