//! `apply_patch`: the Codex patch grammar, applied in memory to the files as the
//! workspace gives them, producing the `Changeset` the loop lands.

mod apply;
mod parse;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use super::paths::{display_path, resolve_writable};
use super::ToolError;
use crate::workspace::{Changeset, FileChange, FileSnapshot, Workspace, WorkspaceError};
use parse::FileOp;

#[derive(Deserialize)]
struct ApplyPatchParams {
    input: Option<String>,
    patch: Option<String>,
}

/// The patch text of an `apply_patch` call: `{"input": "…"}` (`"patch"` is taken
/// too), or the bare patch text that freeform tool calls send.
pub(crate) fn patch_text_from_arguments(arguments: &str) -> Result<String, ToolError> {
    let trimmed = arguments.trim_start();
    if !trimmed.starts_with('{') {
        return Ok(arguments.to_string());
    }
    let params: ApplyPatchParams = serde_json::from_str(arguments)
        .map_err(|error| ToolError::Respond(format!("invalid apply_patch arguments: {error}")))?;
    params.input.or(params.patch).ok_or_else(|| {
        ToolError::Respond(
            "invalid apply_patch arguments: expected {\"input\": \"*** Begin Patch\\n…\\n*** End Patch\"}"
                .to_string(),
        )
    })
}

/// The files a patch names (a move's both ends), as absolute paths under
/// `root`, read from its headers alone: what hooks are told, before and after
/// the patch lands. Empty when the text is not a patch.
pub fn patch_paths(text: &str, root: &Path) -> Vec<std::path::PathBuf> {
    let Ok(patch) = parse::parse(text) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for op in &patch.files {
        let (path, move_to) = match op {
            FileOp::Add { path, .. } | FileOp::Delete { path } => (path, None),
            FileOp::Update { path, move_to, .. } => (path, move_to.as_ref()),
        };
        paths.extend(
            std::iter::once(path)
                .chain(move_to)
                .map(|path| root.join(path)),
        );
    }
    paths
}

/// Parse patch text (optionally wrapped in an `apply_patch <<'EOF'` heredoc) and
/// apply it in memory. Every file is read through `workspace.read_file`; the
/// result keeps each snapshot as the change's `base`. Nothing is written.
pub fn plan_patch_text(text: &str, workspace: &dyn Workspace) -> Result<Changeset, ToolError> {
    let patch = parse::parse(text).map_err(|error| ToolError::Respond(error.to_string()))?;
    if patch.files.is_empty() {
        return Err(ToolError::Respond(
            "the patch changes no files: put '*** Add File:', '*** Delete File:' or \
             '*** Update File:' sections between '*** Begin Patch' and '*** End Patch'"
                .to_string(),
        ));
    }
    let root = workspace.root();

    let mut touched = BTreeSet::new();
    let mut note = |path: &Path| -> Result<(), ToolError> {
        if touched.insert(path.to_path_buf()) {
            Ok(())
        } else {
            Err(ToolError::Respond(format!(
                "the patch touches {} more than once: put all its changes in one \
                 '*** Update File:' section",
                display_path(root, path)
            )))
        }
    };

    let mut changes = Changeset::default();
    for op in &patch.files {
        match op {
            FileOp::Add { path, lines } => {
                let target = resolve_writable(root, path)?;
                note(&target)?;
                let shown = display_path(root, &target);
                match workspace.read_file(&target) {
                    Err(WorkspaceError::NotFound(_)) => {}
                    Ok(_) | Err(WorkspaceError::NotText(_)) => {
                        return Err(ToolError::Respond(format!(
                            "cannot add {shown}: it already exists; use '*** Update File: \
                             {shown}' to change it"
                        )))
                    }
                    Err(other) => return Err(read_error("add", &shown, other)),
                }
                let mut text = lines.join("\n");
                if !lines.is_empty() {
                    text.push('\n');
                }
                changes.files.insert(
                    target,
                    FileChange {
                        base: None,
                        proposed: Some(text),
                        moved_from: None,
                    },
                );
            }
            FileOp::Delete { path } => {
                let target = resolve_writable(root, path)?;
                note(&target)?;
                let shown = display_path(root, &target);
                let snapshot = read_existing(workspace, &target, "delete", &shown)?;
                changes.files.insert(
                    target,
                    FileChange {
                        base: Some(snapshot),
                        proposed: None,
                        moved_from: None,
                    },
                );
            }
            FileOp::Update {
                path,
                move_to,
                hunks,
            } => {
                let source = resolve_writable(root, path)?;
                note(&source)?;
                let shown = display_path(root, &source);
                let destination = match move_to {
                    Some(move_to) => {
                        let destination = resolve_writable(root, move_to)?;
                        (destination != source).then_some(destination)
                    }
                    None => None,
                };
                let snapshot = read_existing(workspace, &source, "update", &shown)?;
                let proposed = apply::apply_hunks(&snapshot.text, hunks, &shown)
                    .map_err(ToolError::Respond)?;
                match destination {
                    Some(destination) => {
                        note(&destination)?;
                        let shown_destination = display_path(root, &destination);
                        match workspace.read_file(&destination) {
                            Err(WorkspaceError::NotFound(_)) => {}
                            Ok(_) | Err(WorkspaceError::NotText(_)) => {
                                return Err(ToolError::Respond(format!(
                                    "cannot move {shown} to {shown_destination}: \
                                     {shown_destination} already exists"
                                )))
                            }
                            Err(other) => {
                                return Err(read_error("move onto", &shown_destination, other))
                            }
                        }
                        changes.files.insert(
                            destination,
                            FileChange {
                                base: Some(snapshot),
                                proposed: Some(proposed),
                                moved_from: Some(source),
                            },
                        );
                    }
                    // A hunk that only restates context changes nothing: leave
                    // the file out rather than send the editor an empty edit.
                    None if proposed == snapshot.text => {}
                    None => {
                        changes.files.insert(
                            source,
                            FileChange {
                                base: Some(snapshot),
                                proposed: Some(proposed),
                                moved_from: None,
                            },
                        );
                    }
                }
            }
        }
    }
    Ok(changes)
}

fn read_existing(
    workspace: &dyn Workspace,
    path: &Path,
    verb: &str,
    shown: &str,
) -> Result<FileSnapshot, ToolError> {
    workspace
        .read_file(path)
        .map_err(|error| read_error(verb, shown, error))
}

fn read_error(verb: &str, shown: &str, error: WorkspaceError) -> ToolError {
    let reason = match error {
        WorkspaceError::NotFound(_) => "it does not exist".to_string(),
        WorkspaceError::OutsideWorkspace(_) => "it is outside the workspace roots".to_string(),
        WorkspaceError::NotText(_) => "it is not UTF-8 text".to_string(),
        WorkspaceError::Io { message, .. } => message,
    };
    ToolError::Respond(format!("cannot {verb} {shown}: {reason}"))
}

/// One line per file of a planned changeset, for the tool's answer to the model:
/// `A path` added, `M path` modified, `D path` deleted, `R old -> new` moved.
pub fn patch_summary(changes: &Changeset, root: &Path) -> String {
    let mut lines = Vec::new();
    for (path, change) in &changes.files {
        let shown = display_path(root, path);
        let line = match (&change.moved_from, &change.base, &change.proposed) {
            (Some(from), _, _) => format!("R {} -> {shown}", display_path(root, from)),
            (None, None, _) => format!("A {shown}"),
            (None, Some(_), None) => format!("D {shown}"),
            (None, Some(_), Some(_)) => format!("M {shown}"),
        };
        lines.push(line);
    }
    lines.join("\n")
}
