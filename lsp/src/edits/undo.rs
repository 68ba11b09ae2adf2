//! Undoing a turn (invariant 5): the turn's checkpoint holds each file's text
//! before and after the agent's changes; undo reverts exactly the agent's hunks,
//! hunk by hunk, around whatever the user typed since, and refuses only the hunks
//! the user has touched, saying which.
//!
//! Reverting is a three-way merge whose base is the agent's result, whose one side
//! is the text before the turn and whose other side is the text now; the plan is a
//! `Changeset`, so it lands through the same versioned, re-based path as the
//! agent's own edits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use agentls_core::workspace::{Changeset, FileChange, FileSnapshot};

use super::lines::Lines;
use super::merge::three_way_merge;
use super::{to_u32, LineSpan};

/// One turn's changes: for each file (by the path it has after the turn), its text
/// before and after.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub files: BTreeMap<PathBuf, CheckpointFile>,
}

/// One file's change within a turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointFile {
    /// `None`: the turn created the file.
    pub before: Option<String>,
    /// `None`: the turn deleted the file.
    pub after: Option<String>,
    /// The path the file had before the turn, when the turn moved it.
    pub moved_from: Option<PathBuf>,
}

impl Checkpoint {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Records a change to `path` made after the ones already held: the file
    /// keeps its earliest `before` and takes the latest `after`, and a move of a
    /// file already moved is recorded from its original path.
    pub fn record(&mut self, path: PathBuf, change: CheckpointFile) {
        let earlier = self
            .files
            .remove(change.moved_from.as_deref().unwrap_or(&path));
        let combined = match earlier {
            Some(earlier) => {
                // A file the turn created has no earlier place to go back to.
                let moved_from = match earlier.before {
                    Some(_) => earlier.moved_from.or(change.moved_from),
                    None => None,
                };
                CheckpointFile {
                    before: earlier.before,
                    after: change.after,
                    moved_from: moved_from.filter(|origin| *origin != path),
                }
            }
            None => change,
        };
        // Created and then deleted within the turn: nothing to undo.
        if combined.before.is_none() && combined.after.is_none() {
            return;
        }
        self.files.insert(path, combined);
    }

    /// Records every change of `later`, which happened after the ones held.
    pub fn absorb(&mut self, later: Checkpoint) {
        for (path, change) in later.files {
            self.record(path, change);
        }
    }
}

/// What undoing a checkpoint does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UndoPlan {
    /// The reverting changes, based on the current texts (hand them to
    /// `workspace_edit`).
    pub changes: Changeset,
    /// The agent's hunks left in place because the user edited them since.
    pub refused: Vec<RefusedHunk>,
}

/// An agent's hunk that undo leaves alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedHunk {
    pub path: PathBuf,
    /// Where it is in the current text (for a file the user deleted since, in the
    /// text the agent left).
    pub lines: LineSpan,
}

/// Reverts `checkpoint` against `current`, the files as they are now (from the
/// buffers where open, else the disk; a path missing from the map has no file).
pub fn undo_plan(checkpoint: &Checkpoint, current: &BTreeMap<PathBuf, FileSnapshot>) -> UndoPlan {
    let mut plan = UndoPlan::default();
    for (path, change) in &checkpoint.files {
        let original_path = change.moved_from.clone().unwrap_or_else(|| path.clone());
        let now = match &change.after {
            Some(_) => current.get(path),
            // The agent deleted the file; whatever is there now is the user's.
            None => None,
        };
        let refuse_all = |plan: &mut UndoPlan, text: &str| {
            plan.refused.push(RefusedHunk {
                path: path.clone(),
                lines: whole(text),
            });
        };
        match (&change.before, &change.after) {
            (None, None) => {}
            // The agent deleted it: restore it, unless a file is there again.
            (Some(before), None) => match current.get(&original_path) {
                None => {
                    plan.changes.files.insert(
                        original_path,
                        FileChange {
                            base: None,
                            proposed: Some(before.clone()),
                            moved_from: None,
                        },
                    );
                }
                Some(now) if now.text == *before => {}
                Some(now) => refuse_all(&mut plan, &now.text),
            },
            (before, Some(after)) => {
                let Some(now) = now else {
                    refuse_all(&mut plan, after);
                    continue;
                };
                // A file now sitting where the agent moved this one from is the
                // user's: moving back would overwrite it.
                if change.moved_from.is_some() && current.contains_key(&original_path) {
                    refuse_all(&mut plan, &now.text);
                    continue;
                }
                let before = before.as_deref().unwrap_or_default();
                let merged = three_way_merge(after, before, &now.text);
                plan.refused
                    .extend(merged.conflicts.iter().map(|lines| RefusedHunk {
                        path: path.clone(),
                        lines: *lines,
                    }));
                let created = change.before.is_none();
                let proposed = if created && merged.conflicts.is_empty() && merged.text.is_empty() {
                    None
                } else {
                    Some(merged.text)
                };
                let moved = change.moved_from.is_some();
                if moved || proposed.as_deref() != Some(now.text.as_str()) {
                    plan.changes.files.insert(
                        original_path,
                        FileChange {
                            base: Some(now.clone()),
                            proposed,
                            moved_from: moved.then(|| path.clone()),
                        },
                    );
                }
            }
        }
    }
    plan
}

/// All the lines of `text`.
fn whole(text: &str) -> LineSpan {
    LineSpan::new(0, to_u32(Lines::new(text).len()))
}
