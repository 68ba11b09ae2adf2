//! "Undo last agent change" (invariant 5): the last turn's checkpoint is reverted
//! hunk by hunk around whatever the user typed since; the hunks the user touched
//! stay, and the user is told which. The reverting edits land like the agent's
//! own (versioned, confirmed). Also the turn's unified diff for `agent/turnDiff`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentls_core::diff::unified_diff;
use lsp_types::MessageType;
use tower_lsp_server::Client;

use super::landing::{land, read_file};
use super::{TaskError, TurnCheckpoint};
use crate::edits::{undo_plan, Checkpoint};
use crate::ext::{RefusedHunk, UndoResult};
use crate::state::State;

/// An undo planned against the buffers as they are now: what it will revert
/// and what it keeps, known before any edit is sent.
pub(super) struct PlannedUndo {
    pub result: UndoResult,
    changes: agentls_core::workspace::Changeset,
}

/// Plans reverting `last` around whatever the user typed since. Cheap: reads the
/// buffers (or disk) of the files the turn changed and diffs them; sends nothing.
pub(super) fn plan(state: &State, last: &TurnCheckpoint) -> PlannedUndo {
    let mut current = BTreeMap::new();
    let paths = last
        .checkpoint
        .files
        .iter()
        .flat_map(|(path, file)| std::iter::once(path.clone()).chain(file.moved_from.clone()));
    for path in paths {
        let Some(root) = last.roots.iter().find(|root| path.starts_with(root)) else {
            continue;
        };
        if let Ok(snapshot) = read_file(state, root, &path) {
            current.insert(path, snapshot);
        }
    }
    let plan = undo_plan(&last.checkpoint, &current);
    let reverted: Vec<PathBuf> = plan.changes.files.keys().cloned().collect();
    let refused: Vec<RefusedHunk> = plan
        .refused
        .iter()
        .map(|hunk| RefusedHunk {
            path: hunk.path.clone(),
            lines: hunk.lines.to_string(),
        })
        .collect();
    // The editor's own undo (`u`, Ctrl+Z) may have taken the change back
    // already: every file holds its text from before the turn again.
    let undone_in_editor = last.checkpoint.files.iter().all(|(path, file)| {
        current.get(path).map(|snapshot| snapshot.text.as_str()) == file.before.as_deref()
    });
    let mut message = format!("agentls: undid {}", last.title);
    match reverted.len() {
        0 if undone_in_editor && refused.is_empty() => {
            message = format!(
                "agentls: {} is already undone in the editor: nothing to revert",
                last.title
            );
        }
        0 => message.push_str(": nothing left to revert"),
        1 => message.push_str(&format!(" in {}", state.relative(&reverted[0]))),
        n => message.push_str(&format!(" in {n} files")),
    }
    if !refused.is_empty() {
        let kept: Vec<String> = refused
            .iter()
            .map(|hunk| format!("{} of {}", hunk.lines, state.relative(&hunk.path)))
            .collect();
        message.push_str(&format!(
            "; kept {} because you edited them since",
            kept.join(", ")
        ));
    }
    PlannedUndo {
        result: UndoResult {
            title: last.title.clone(),
            reverted,
            refused,
            message,
        },
        changes: plan.changes,
    }
}

/// Lands a planned undo like any agent edit (versioned, confirmed from the
/// didChange) and tells the user how it went. Waits on the editor: run it off
/// the request.
pub(super) async fn land_planned(
    state: &Arc<State>,
    client: &Client,
    last: &TurnCheckpoint,
    planned: &PlannedUndo,
) -> Result<(), TaskError> {
    let landing = land(state, client, &planned.changes, &last.roots).await;
    if let Some(error) = landing.error {
        let message = format!("agentls: could not undo {}: {error}", last.title);
        client.show_message(MessageType::ERROR, &message).await;
        return Err(TaskError::Setup(message));
    }
    let kind = if planned.result.refused.is_empty() {
        MessageType::INFO
    } else {
        MessageType::WARNING
    };
    client.show_message(kind, &planned.result.message).await;
    Ok(())
}

/// One unified diff of everything a turn changed, paths relative to the root
/// that holds them (`a/src/lib.rs`, `/dev/null` for a created or deleted file).
pub(super) fn turn_diff(checkpoint: &Checkpoint, roots: &[PathBuf]) -> String {
    let shown = |path: &Path| -> String {
        roots
            .iter()
            .find_map(|root| path.strip_prefix(root).ok())
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let mut diff = String::new();
    for (path, file) in &checkpoint.files {
        let old_path = file.moved_from.as_deref().unwrap_or(path);
        let old_name = file.before.as_ref().map(|_| shown(old_path));
        let new_name = file.after.as_ref().map(|_| shown(path));
        diff.push_str(&unified_diff(
            old_name.as_deref(),
            new_name.as_deref(),
            file.before.as_deref().unwrap_or_default(),
            file.after.as_deref().unwrap_or_default(),
        ));
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::CheckpointFile;

    #[test]
    fn turn_diff_of_an_edit_and_a_created_file() {
        let mut checkpoint = Checkpoint::default();
        checkpoint.record(
            PathBuf::from("/w/src/lib.rs"),
            CheckpointFile {
                before: Some("fn a() {}\nfn b() {}\n".into()),
                after: Some("fn a() {}\nfn b() { 1 }\n".into()),
                moved_from: None,
            },
        );
        checkpoint.record(
            PathBuf::from("/w/tests/new.rs"),
            CheckpointFile {
                before: None,
                after: Some("#[test]\nfn t() {}\n".into()),
                moved_from: None,
            },
        );
        expect_test::expect![[r#"
            --- a/src/lib.rs
            +++ b/src/lib.rs
            @@ -1,2 +1,2 @@
             fn a() {}
            -fn b() {}
            +fn b() { 1 }
            --- /dev/null
            +++ b/tests/new.rs
            @@ -0,0 +1,2 @@
            +#[test]
            +fn t() {}
        "#]]
        .assert_eq(&turn_diff(&checkpoint, &[PathBuf::from("/w")]));
    }
}
