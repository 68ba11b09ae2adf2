//! Review before apply (`[approvals] edits = "review"`): the agent's change waits
//! for the user, and the turn waits for the outcome (bounded by
//! `approvals.timeout_secs`), so the model hears what was refused.
//!
//! Two ways, by what the client can do:
//! - a client that declares `workspace.workspaceEdit.changeAnnotationSupport`
//!   (VS Code) gets the change as one `workspace/applyEdit` whose edits carry one
//!   annotation per file with `needsConfirmation`: its preview lets the user
//!   accept, cancel, or untick files and hunks. Its answer says `applied: true`
//!   even when the user unticked some, so what landed is read from the buffers
//!   once their didChanges settle, hunk by hunk (`edits::reviewed`);
//! - every other client (Neovim, Helix apply annotated edits without asking), and
//!   changes a preview could not show (created, renamed, deleted or unopened
//!   files), get agentls's own review: the change waits as a `PendingChange`,
//!   announced with `showMessage`, shown as a unified diff ("Agent: Review
//!   change"), and applied or discarded by code action or command. On apply it
//!   lands like any edit: re-planned against the buffers as they are then, so
//!   what the user typed meanwhile is merged, or the change is refused as stale
//!   when it overlaps.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentls_core::diff::unified_diff;
use agentls_core::workspace::Changeset;
use lsp_types::MessageType;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tower_lsp_server::Client;

use super::landing::{land, read_file, LandError, Landing, CONFIRM_TIMEOUT};
use super::TaskError;
use crate::edits::{self, three_way_merge, CheckpointFile, Plan};
use crate::outgoing::show_document;
use crate::state::{lock, State};

/// After the preview's answer, how long the buffers must stay quiet before the
/// server judges what landed (a file the user unticked never changes). Neovim
/// debounces didChange by 150 ms; VS Code sends them before it answers.
const SETTLE: Duration = Duration::from_millis(750);

/// A change waiting for the user's answer. `id` is the server's (1, 2, …, as
/// for approvals: easy to type in `:lsp-workspace-command agentls.applyPending 2`).
#[derive(Clone, Debug)]
pub(crate) struct PendingChange {
    pub id: u64,
    /// The task that proposes it (`Fix this`).
    pub title: String,
    /// The files it changes (absolute; a moved file by its new path).
    pub files: Vec<PathBuf>,
    changes: Changeset,
    roots: Vec<PathBuf>,
}

/// The user's answer to a pending change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReviewAnswer {
    Apply,
    Discard,
}

struct Entry {
    change: PendingChange,
    answer: oneshot::Sender<ReviewAnswer>,
}

/// The pending changes of every thread. A cheap handle: the `Tasks` and every
/// thread's workspace share it. One lock, held for a map operation.
#[derive(Clone, Default)]
pub(crate) struct Reviews {
    pending: Arc<Mutex<BTreeMap<u64, Entry>>>,
    next_id: Arc<AtomicU64>,
}

/// Removes its change from the registry when dropped: the wait timed out, or the
/// turn was interrupted while the change waited.
struct Registered {
    reviews: Reviews,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.reviews.pending).remove(&self.id);
    }
}

impl Reviews {
    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The changes waiting, oldest first.
    pub(crate) fn pending(&self) -> Vec<PendingChange> {
        lock(&self.pending)
            .values()
            .map(|entry| entry.change.clone())
            .collect()
    }

    fn register(&self, change: PendingChange) -> (oneshot::Receiver<ReviewAnswer>, Registered) {
        let (sender, receiver) = oneshot::channel();
        let id = change.id;
        lock(&self.pending).insert(
            id,
            Entry {
                change,
                answer: sender,
            },
        );
        let registered = Registered {
            reviews: self.clone(),
            id,
        };
        (receiver, registered)
    }

    /// The change with `id`, or the latest one.
    pub(crate) fn find(&self, id: Option<&str>) -> Result<PendingChange, TaskError> {
        let pending = lock(&self.pending);
        match id {
            Some(id) => {
                let key = parse_id(id)?;
                pending
                    .get(&key)
                    .map(|entry| entry.change.clone())
                    .ok_or_else(|| TaskError::UnknownChange(id.to_string()))
            }
            None => pending
                .values()
                .next_back()
                .map(|entry| entry.change.clone())
                .ok_or(TaskError::NoChange),
        }
    }

    /// Answers the change with `id` (or the latest one): the first answer counts.
    pub(crate) fn answer(
        &self,
        id: Option<&str>,
        answer: ReviewAnswer,
    ) -> Result<PendingChange, TaskError> {
        let entry = {
            let mut pending = lock(&self.pending);
            match id {
                Some(id) => pending
                    .remove(&parse_id(id)?)
                    .ok_or_else(|| TaskError::UnknownChange(id.to_string()))?,
                None => pending
                    .pop_last()
                    .map(|(_, entry)| entry)
                    .ok_or(TaskError::NoChange)?,
            }
        };
        tracing::info!(change = entry.change.id, ?answer, "pending change answered");
        // The turn stopped waiting just now (interrupted): nothing lands, and
        // the registry no longer holds it either way.
        let _ = entry.answer.send(answer);
        Ok(entry.change)
    }
}

fn parse_id(id: &str) -> Result<u64, TaskError> {
    id.trim()
        .parse()
        .map_err(|_| TaskError::UnknownChange(id.to_string()))
}

impl PendingChange {
    /// `src/lib.rs`, `src/lib.rs and src/main.rs`, `3 files`.
    pub(crate) fn files_shown(&self, state: &State) -> String {
        files_shown(state, &self.files)
    }

    /// The `showMessage` that announces the change.
    fn announcement(&self, state: &State, helix: bool) -> String {
        let names: Vec<String> = self
            .files
            .iter()
            .map(|path| {
                path.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        announcement(
            self.id,
            &self.title,
            &self.files_shown(state),
            &names,
            helix,
        )
    }
}

/// A pending change's announcement. Helix shows one status line of about 80
/// columns: it gets only what to do, a long path giving way to the file's name
/// (`names`).
fn announcement(id: u64, title: &str, files: &str, names: &[String], helix: bool) -> String {
    if helix {
        let short = match names {
            [one] if files.chars().count() > 30 => one.clone(),
            [_] => files.to_string(),
            many => format!("{} files", many.len()),
        };
        return format!("agentls: review the change to {short}? space a → Agent: Apply or Discard");
    }
    format!(
        "agentls: {title} proposes a change to {files}; it waits for your review: \
         \"Agent: Review change\" shows it, \"Agent: Apply change\" (agentls.applyPending {id}) \
         applies it, \"Agent: Discard change\" (agentls.discardPending {id}) discards it"
    )
}

fn files_shown(state: &State, files: &[PathBuf]) -> String {
    match files {
        [] => "no file".to_string(),
        [one] => state.relative(one),
        [one, two] => format!("{} and {}", state.relative(one), state.relative(two)),
        many => format!("{} files", many.len()),
    }
}

/// Reviews `changes`: planned against the buffers now (a conflict refuses it
/// at once, as without review), then previewed by the editor or held as a
/// pending change until the user answers. Returns what landed and why the rest
/// did not.
pub(super) async fn review(
    reviews: &Reviews,
    state: &State,
    client: &Client,
    title: &str,
    changes: &Changeset,
    roots: &[PathBuf],
) -> Landing {
    let capabilities = state.session().edit_capabilities;
    let plan = match edits::workspace_edit(changes, &state.documents, &capabilities, roots) {
        Ok(plan) => plan,
        Err(error) => return Landing::failed(error.into()),
    };
    if plan.is_empty() {
        return Landing::default();
    }
    let timeout = Duration::from_secs(state.config().approvals.timeout_secs);
    let id = reviews.next_id();
    if capabilities.change_annotations && plan.disk.is_empty() && edits::previewable(&plan.files) {
        return preview(state, client, &plan, id, title, timeout).await;
    }
    let change = PendingChange {
        id,
        title: title.to_string(),
        files: changes.files.keys().cloned().collect(),
        changes: changes.clone(),
        roots: roots.to_vec(),
    };
    let files = change.files_shown(state);
    let (answer, _registered) = reviews.register(change.clone());
    let helix = state.session().is_helix();
    client
        .show_message(MessageType::WARNING, change.announcement(state, helix))
        .await;
    match tokio::time::timeout(timeout, answer).await {
        Ok(Ok(ReviewAnswer::Apply)) => land(state, client, changes, roots).await,
        // A closed channel: the registry dropped it (the server is going away).
        Ok(Ok(ReviewAnswer::Discard)) | Ok(Err(_)) => {
            Landing::failed(LandError::Discarded { files })
        }
        Err(_) => Landing::failed(LandError::Unanswered {
            files,
            seconds: timeout.as_secs(),
        }),
    }
}

/// The change as one annotated applyEdit that the editor previews; then what
/// landed, read from the buffers.
async fn preview(
    state: &State,
    client: &Client,
    plan: &Plan,
    id: u64,
    title: &str,
    timeout: Duration,
) -> Landing {
    let paths: Vec<PathBuf> = plan.files.iter().map(|file| file.path.clone()).collect();
    let files = files_shown(state, &paths);
    let request = edits::annotated_request(&plan.files, id, &format!("Agent: {title}"), |path| {
        state.relative(path)
    });
    let mut changed = state.document_changes.subscribe();
    tracing::debug!(review = id, files = %files, "workspace/applyEdit for review");
    let answer = tokio::time::timeout(timeout, client.apply_edit(request.edit)).await;
    let declined = |reason: String| {
        Landing::failed(LandError::Declined {
            files: files.clone(),
            reason,
        })
    };
    match answer {
        Err(_) => {
            return Landing::failed(LandError::Unanswered {
                files,
                seconds: timeout.as_secs(),
            })
        }
        Ok(Err(error)) => {
            return declined(format!(
                "the editor answered the review with an error: {}",
                error.message
            ))
        }
        Ok(Ok(response)) if !response.applied => {
            return declined(match response.failure_reason {
                Some(reason) => format!("the editor did not apply it: {reason}"),
                // VS Code answers so when the user discards the preview or
                // applies it with nothing ticked, and when the buffer moved
                // past the edit's version meanwhile.
                None => {
                    "the user applied none of it in the preview (or the file changed meanwhile)"
                        .to_string()
                }
            });
        }
        Ok(Ok(_)) => {}
    }
    settle(state, plan, &mut changed).await;
    let mut landing = Landing::default();
    let mut refused = Vec::new();
    for file in &plan.files {
        let (Some(expected), Some(change)) =
            (&file.expected, plan.checkpoint.files.get(&file.path))
        else {
            continue;
        };
        let (Some(before), Some(after)) = (&change.before, &change.after) else {
            continue;
        };
        let shown = state.relative(&file.path);
        let Some(snapshot) = state.documents.snapshot(&expected.uri) else {
            refused.push(format!("{shown} (closed during the review; not changed)"));
            continue;
        };
        let now = snapshot.text().to_string();
        let judged = edits::reviewed(before, after, &now);
        if now != *before {
            // What landed stays in the buffer for the user to save, as every
            // agent edit does (landing.rs).
            landing.checkpoint.record(
                file.path.clone(),
                CheckpointFile {
                    before: Some(before.clone()),
                    after: Some(now.clone()),
                    moved_from: None,
                },
            );
        }
        if judged.is_accepted() {
            continue;
        }
        if judged.is_refused() {
            refused.push(format!("{shown} (all of it; the file is as you read it)"));
            continue;
        }
        let mut parts = Vec::new();
        for span in &judged.refused {
            parts.push(format!("{span} (left as you read it)"));
        }
        for span in &judged.altered {
            parts.push(format!("{span} (applied only in part)"));
        }
        refused.push(format!(
            "{shown}: {} of the lines as you read them",
            parts.join(", ")
        ));
    }
    if !refused.is_empty() {
        landing.error = Some(LandError::RefusedInReview {
            refused: refused.join("; "),
        });
    }
    landing
}

/// Waits until every file shows the proposed text, or the buffers have been
/// quiet for `SETTLE`, at most `CONFIRM_TIMEOUT`.
async fn settle(state: &State, plan: &Plan, changed: &mut tokio::sync::watch::Receiver<u64>) {
    let deadline = Instant::now() + CONFIRM_TIMEOUT;
    loop {
        let all_landed = plan.files.iter().all(|file| {
            file.expected.as_ref().is_some_and(|expected| {
                state
                    .documents
                    .snapshot(&expected.uri)
                    .is_some_and(|snapshot| {
                        expected.confirm(&snapshot) == edits::Confirmation::Landed
                    })
            })
        });
        if all_landed {
            return;
        }
        let quiet_until = (Instant::now() + SETTLE).min(deadline);
        match tokio::time::timeout_at(quiet_until, changed.changed()).await {
            Ok(Ok(())) if Instant::now() < deadline => {}
            _ => return,
        }
    }
}

/// "Agent: Review change": the change as a unified diff against the files as
/// they are now (re-based onto what the user typed since, or marked stale where
/// that overlaps), opened with `window/showDocument` where the client can, else
/// shown as a message.
pub(super) async fn show(state: &State, client: &Client, change: &PendingChange) {
    let text = review_text(state, change);
    let written = state
        .data_dir()
        .map_err(|error| error.to_string())
        .and_then(|data_dir| {
            let directory = data_dir.join("reviews");
            std::fs::create_dir_all(&directory)
                .map_err(|error| format!("{}: {error}", directory.display()))?;
            let path = directory.join(format!("change-{}.diff", change.id));
            std::fs::write(&path, &text).map_err(|error| format!("{}: {error}", path.display()))?;
            Ok(path)
        });
    match &written {
        Ok(path) if show_document(state, client, path).await => return,
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not write the review file"),
    }
    client.show_message(MessageType::INFO, text).await;
}

/// The review page: what to do, then the diff of each file.
fn review_text(state: &State, change: &PendingChange) -> String {
    let mut notes = Vec::new();
    let mut diff = String::new();
    for (path, file) in &change.changes.files {
        let source = file.moved_from.as_ref().unwrap_or(path);
        let now = change
            .roots
            .iter()
            .find(|root| source.starts_with(root))
            .and_then(|root| read_file(state, root, source).ok())
            .map(|snapshot| snapshot.text);
        let base = file.base.as_ref().map(|base| base.text.clone());
        // Against the text now, with the change re-based onto it; against the
        // text the agent read where that overlaps what the user typed since.
        let (old_text, new_text) = match (&base, &now, &file.proposed) {
            (Some(base), Some(now), Some(proposed)) if now != base => {
                match three_way_merge(base, proposed, now).into_result() {
                    Ok(merged) => (Some(now.clone()), Some(merged)),
                    Err(lines) => {
                        let lines: Vec<String> = lines.iter().map(ToString::to_string).collect();
                        notes.push(format!(
                            "{} changed since the agent read it, at {}, where the agent changes it \
                             too: applying will fail; discard the change, or undo your edit first. \
                             The diff below is against the text the agent read.",
                            state.relative(path),
                            lines.join(", ")
                        ));
                        (Some(base.clone()), Some(proposed.clone()))
                    }
                }
            }
            (base, now, proposed) => (now.clone().or(base.clone()), proposed.clone()),
        };
        let old_name = old_text.as_ref().map(|_| state.relative(source));
        let new_name = new_text.as_ref().map(|_| state.relative(path));
        diff.push_str(&unified_diff(
            old_name.as_deref(),
            new_name.as_deref(),
            old_text.as_deref().unwrap_or_default(),
            new_text.as_deref().unwrap_or_default(),
        ));
    }
    let mut text = format!(
        "agentls: {} proposes this change (pending change {id}).\n\
         Apply it with \"Agent: Apply change\" (agentls.applyPending {id}),\n\
         discard it with \"Agent: Discard change\" (agentls.discardPending {id}).\n",
        change.title,
        id = change.id
    );
    for note in notes {
        text.push_str(&format!("\nStale: {note}\n"));
    }
    text.push('\n');
    text.push_str(&diff);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helix_gets_what_to_do_within_80_columns() {
        let deep = "crates/some-long-crate-name/src/module/submodule/file.rs";
        for (files, names) in [
            ("src/lib.rs", vec!["lib.rs".to_string()]),
            (deep, vec!["file.rs".to_string()]),
            ("3 files", vec!["a.rs".into(), "b.rs".into(), "c.rs".into()]),
        ] {
            let message = announcement(1, "Fix this", files, &names, true);
            assert!(message.chars().count() <= 80, "{message}");
        }
        expect_test::expect![
            "agentls: review the change to file.rs? space a → Agent: Apply or Discard"
        ]
        .assert_eq(&announcement(
            1,
            "Fix this",
            deep,
            &["file.rs".to_string()],
            true,
        ));
    }
}
