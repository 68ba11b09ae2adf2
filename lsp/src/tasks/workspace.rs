//! `EditorWorkspace`, the `Workspace` the core's agent works through in the
//! server: reads come from the editor's buffers over the disk; a changeset
//! lands at once (`landing`) or, with `[approvals] edits = "review"`, after the
//! user's review (`review`). What landed joins the turn's checkpoint; what did
//! not goes back to the model as the tool's result and to the user as a message.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentls_core::config::EditApproval;
use agentls_core::process::Overlay;
use agentls_core::workspace::{ApplyError, Changeset, FileSnapshot, Workspace, WorkspaceError};
use futures::future::BoxFuture;
use tower_lsp_server::Client;

use super::landing::{land, read_file};
use super::review::{self, Reviews};
use crate::edits::Checkpoint;
use crate::state::{lock, State};

/// The files of one thread, as its agent sees them: the editor's buffers over the
/// disk. Each thread has its own, so what a turn changed lands in its own
/// checkpoint.
pub(crate) struct EditorWorkspace {
    root: PathBuf,
    state: Arc<State>,
    client: Client,
    changes: Arc<std::sync::Mutex<TurnChanges>>,
    reviews: Reviews,
}

/// What the running turn of a thread has changed so far.
#[derive(Debug, Default)]
pub(crate) struct TurnChanges {
    /// The task's title (`Fix this`), for the review's label.
    pub title: String,
    /// The task's own way for its edits to land, over `[approvals] edits`.
    pub edits: Option<EditApproval>,
    pub checkpoint: Checkpoint,
    /// Files changed, in order of first change.
    pub files: Vec<PathBuf>,
}

impl EditorWorkspace {
    pub(crate) fn new(
        root: PathBuf,
        state: Arc<State>,
        client: Client,
        changes: Arc<std::sync::Mutex<TurnChanges>>,
        reviews: Reviews,
    ) -> EditorWorkspace {
        EditorWorkspace {
            root,
            state,
            client,
            changes,
            reviews,
        }
    }

    fn roots(&self) -> Vec<PathBuf> {
        let mut roots = self.state.session().roots;
        if !roots.contains(&self.root) {
            roots.push(self.root.clone());
        }
        roots
    }
}

impl Workspace for EditorWorkspace {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read_file(&self, path: &Path) -> Result<FileSnapshot, WorkspaceError> {
        read_file(&self.state, &self.root, path)
    }

    /// The open buffers under the roots whose text the disk does not hold:
    /// agent edits the user has not saved (they are never written behind the
    /// editor's back) and the user's own unsaved typing.
    fn unsaved(&self) -> Vec<Overlay> {
        let roots = self.roots();
        let mut unsaved = Vec::new();
        for uri in self.state.documents.uris() {
            let Ok(path) = crate::validate::file_path(&uri) else {
                continue;
            };
            if !roots.iter().any(|root| path.starts_with(root)) {
                continue;
            }
            let Some(text) = self.state.documents.text_unkept(&uri) else {
                continue;
            };
            match std::fs::read(&path) {
                Ok(saved) if saved == text.as_bytes() => {}
                // Unreadable or missing: nothing to show over.
                Err(_) => {}
                Ok(_) => unsaved.push(Overlay { path, text }),
            }
        }
        unsaved
    }

    fn apply(&self, changes: Changeset) -> BoxFuture<'_, Result<(), ApplyError>> {
        Box::pin(async move {
            let roots = self.roots();
            let edits = lock(&self.changes)
                .edits
                .unwrap_or(self.state.config().approvals.edits);
            let landing = match edits {
                EditApproval::Apply => land(&self.state, &self.client, &changes, &roots).await,
                EditApproval::Review => {
                    let title = lock(&self.changes).title.clone();
                    review::review(
                        &self.reviews,
                        &self.state,
                        &self.client,
                        &title,
                        &changes,
                        &roots,
                    )
                    .await
                }
            };
            let landed: Vec<PathBuf> = landing.checkpoint.files.keys().cloned().collect();
            {
                let mut turn = lock(&self.changes);
                for path in &landed {
                    if !turn.files.contains(path) {
                        turn.files.push(path.clone());
                    }
                }
                turn.checkpoint.absorb(landing.checkpoint);
            }
            for path in &landing.rebased {
                tracing::info!(path = %path.display(), "agent edit re-based onto the user's changes");
            }
            match landing.error {
                None => Ok(()),
                Some(error) => {
                    tracing::warn!(%error, "agent edit not applied");
                    let message = if landed.is_empty() {
                        format!("agentls: {error}; the agent was told")
                    } else {
                        format!(
                            "agentls: the agent's edit landed only in part ({} changed): {error}; the agent was told",
                            landed
                                .iter()
                                .map(|path| self.state.relative(path))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    self.client
                        .show_message(lsp_types::MessageType::WARNING, message)
                        .await;
                    let error = error.to_apply_error();
                    if landed.is_empty() {
                        Err(error)
                    } else {
                        Err(ApplyError::Partial {
                            landed,
                            error: Box::new(error),
                        })
                    }
                }
            }
        })
    }
}
