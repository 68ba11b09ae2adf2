//! Landing a changeset in the editor (invariant 4): plan it against the buffers as
//! they are now, write the files the editor does not hold, send one
//! `workspace/applyEdit` per file, and believe an edit only once the didChange
//! that follows shows the text it should produce (Neovim answers `applied: true`
//! even to edits it dropped). Buffers that matched the disk are then brought
//! level so shell commands see what the editor shows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentls_core::workspace::{ApplyError, Changeset, FileSnapshot, WorkspaceError};
use tokio::time::Instant;
use tower_lsp_server::Client;

use crate::edits::{self, Checkpoint, Confirmation, EditError, ExpectedState, OpenDocuments};
use crate::state::State;

/// How long the server waits for the didChange that shows an edit landed. Neovim
/// debounces its didChange by 150 ms; anything past this means the edit was
/// dropped.
pub(super) const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the server waits for the client to answer `workspace/applyEdit`
/// (an editor may ask the user first).
const APPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a landing stopped. What landed before the fault stays landed and is in
/// [`Landing::checkpoint`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum LandError {
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error("{}: the editor refused the edit: {reason}", .path.display())]
    Refused { path: PathBuf, reason: String },
    #[error(
        "{}: the editor did not apply the edit (it answered, but the buffer {state} after {seconds} s)",
        .path.display(),
        seconds = CONFIRM_TIMEOUT.as_secs()
    )]
    NotConfirmed { path: PathBuf, state: String },
    /// Review mode: the user discarded the pending change (or its thread ended).
    #[error("the user discarded the change to {files} in review; nothing of it was applied")]
    Discarded { files: String },
    /// Review mode: no answer within `approvals.timeout_secs`.
    #[error(
        "the user did not answer the review of the change to {files} within {seconds} s; nothing of it was applied"
    )]
    Unanswered { files: String, seconds: u64 },
    /// Review mode: the editor's preview answered `applied: false` or an error.
    #[error("the change to {files} was not applied: {reason}")]
    Declined { files: String, reason: String },
    /// Review mode: the user accepted some of the change in the editor's
    /// preview; `refused` names the files and hunks that did not land.
    #[error("the user refused in review: {refused}")]
    RefusedInReview { refused: String },
}

impl LandError {
    /// What the model is told: nothing of this file changed.
    pub(crate) fn to_apply_error(&self) -> ApplyError {
        match self {
            LandError::Edit(EditError::OutsideRoots { path }) => {
                ApplyError::OutsideWorkspace(path.clone())
            }
            other => ApplyError::NotApplied(other.to_string()),
        }
    }
}

/// What a landing did.
#[derive(Debug, Default)]
pub(crate) struct Landing {
    /// The before and after of every file that landed.
    pub checkpoint: Checkpoint,
    /// Files whose change was re-based onto what the user typed meanwhile.
    pub rebased: Vec<PathBuf>,
    pub error: Option<LandError>,
}

impl Landing {
    pub(super) fn failed(error: LandError) -> Landing {
        Landing {
            error: Some(error),
            ..Landing::default()
        }
    }
}

/// Lands `changes`; never panics, stops at the first file that fails.
pub(crate) async fn land(
    state: &State,
    client: &Client,
    changes: &Changeset,
    roots: &[PathBuf],
) -> Landing {
    let mut landing = Landing::default();
    let capabilities = state.session().edit_capabilities;
    let plan = match edits::workspace_edit(changes, &state.documents, &capabilities, roots) {
        Ok(plan) => plan,
        Err(error) => {
            landing.error = Some(error.into());
            return landing;
        }
    };
    landing.rebased = plan.rebased.clone();
    for operation in &plan.disk {
        match edits::write_to_disk(roots, operation) {
            Ok(file) => landing
                .checkpoint
                .record(operation.path().to_path_buf(), file),
            Err(error) => {
                landing.error = Some(error.into());
                return landing;
            }
        }
    }
    for planned in &plan.files {
        // Plan each file again right before its applyEdit: the user may have
        // typed in it while the files before it landed.
        let single = Changeset {
            files: changes
                .files
                .get_key_value(&planned.path)
                .map(|(path, change)| (path.clone(), change.clone()))
                .into_iter()
                .collect(),
        };
        let fresh = match edits::workspace_edit(&single, &state.documents, &capabilities, roots) {
            Ok(fresh) => fresh,
            Err(error) => {
                landing.error = Some(error.into());
                return landing;
            }
        };
        for path in &fresh.rebased {
            if !landing.rebased.contains(path) {
                landing.rebased.push(path.clone());
            }
        }
        let (Some(file), Some(request)) = (fresh.files.first(), fresh.apply_request()) else {
            continue;
        };
        if let Err(error) = edits::check_preconditions(roots, &request.preconditions) {
            landing.error = Some(error.into());
            return landing;
        }
        let mut changed = state.document_changes.subscribe();
        tracing::debug!(path = %file.path.display(), "workspace/applyEdit");
        let refused = |reason: String| LandError::Refused {
            path: file.path.clone(),
            reason,
        };
        let answer = tokio::time::timeout(APPLY_TIMEOUT, client.apply_edit(request.edit)).await;
        let Ok(answer) = answer else {
            landing.error = Some(refused(format!(
                "no answer to workspace/applyEdit within {} s",
                APPLY_TIMEOUT.as_secs()
            )));
            return landing;
        };
        match answer {
            Ok(response) if response.applied => {}
            Ok(response) => {
                let reason = response
                    .failure_reason
                    .unwrap_or_else(|| "no reason given".to_string());
                landing.error = Some(refused(reason));
                return landing;
            }
            Err(error) => {
                landing.error = Some(refused(error.message.into_owned()));
                return landing;
            }
        }
        for expected in &request.expected {
            if let Err(state_seen) = confirmed(state, expected, &mut changed).await {
                landing.error = Some(LandError::NotConfirmed {
                    path: file.path.clone(),
                    state: state_seen,
                });
                return landing;
            }
        }
        // The change stays in the buffer, which the editor now shows modified:
        // the user saves it as their own edit. Writing it to disk here would trip
        // every editor's check for files changed behind its back (Helix refuses
        // `:w`), and leave the disk changed after the editor's own undo. Commands
        // see the buffer through `unsaved`.
        if let Some(change) = fresh.checkpoint.files.get(&file.path) {
            landing.checkpoint.record(file.path.clone(), change.clone());
        }
    }
    landing
}

/// Waits until the document shows `expected`. The error says what it shows
/// instead.
async fn confirmed(
    state: &State,
    expected: &ExpectedState,
    changed: &mut tokio::sync::watch::Receiver<u64>,
) -> Result<(), String> {
    let deadline = Instant::now() + CONFIRM_TIMEOUT;
    loop {
        let seen = match state.documents.snapshot(&expected.uri) {
            Some(snapshot) => match expected.confirm(&snapshot) {
                Confirmation::Landed => return Ok(()),
                Confirmation::NotYet => "never changed".to_string(),
                Confirmation::Diverged { version } => {
                    format!("shows other text (version {version})")
                }
            },
            None => "was never opened".to_string(),
        };
        match tokio::time::timeout_at(deadline, changed.changed()).await {
            Ok(Ok(())) => {}
            // The server is going away, or the wait is over.
            Ok(Err(_)) | Err(_) => {
                // A file the editor creates need not be opened by it: it landed
                // when the disk holds it.
                if expected.version_before.is_none()
                    && state.documents.snapshot(&expected.uri).is_none()
                {
                    return Ok(());
                }
                return Err(seen);
            }
        }
    }
}

/// Reads a file as the agent sees it: the open buffer (unsaved text included),
/// else the disk.
pub(crate) fn read_file(
    state: &State,
    root: &Path,
    path: &Path,
) -> Result<FileSnapshot, WorkspaceError> {
    let full = agentls_core::disk::contain(root, path)
        .ok_or_else(|| WorkspaceError::OutsideWorkspace(path.to_path_buf()))?;
    if let Some(document) = state.documents.open_document(&full) {
        return Ok(FileSnapshot {
            text: document.text().to_string(),
            version: Some(document.version()),
        });
    }
    agentls_core::disk::read_text(&full).map(|text| FileSnapshot {
        text,
        version: None,
    })
}
