//! `undo_plan`: the agent's hunks reverted one by one, the user's later edits
//! kept, and the hunks the user touched refused by name.

use std::collections::BTreeMap;
use std::path::PathBuf;

use agentls_core::workspace::{FileChange, FileSnapshot};

use super::{apply, edits_for, path, root, snapshot, store, uri};
use crate::document::PositionEncoding;
use crate::edits::{
    undo_plan, workspace_edit, Checkpoint, CheckpointFile, EditCapabilities, LineSpan, RefusedHunk,
};

const BEFORE: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n";
/// The agent changed lines 2 and 6 and inserted a line after 4.
const AFTER: &str = "one\nTWO\nthree\nfour\ninserted\nfive\nSIX\nseven\n";

fn checkpoint(files: Vec<(PathBuf, CheckpointFile)>) -> Checkpoint {
    let mut checkpoint = Checkpoint::default();
    for (path, file) in files {
        checkpoint.record(path, file);
    }
    checkpoint
}

fn edited(before: &str, after: &str) -> CheckpointFile {
    CheckpointFile {
        before: Some(before.to_owned()),
        after: Some(after.to_owned()),
        moved_from: None,
    }
}

fn current(files: Vec<(PathBuf, FileSnapshot)>) -> BTreeMap<PathBuf, FileSnapshot> {
    files.into_iter().collect()
}

#[test]
fn without_later_edits_undo_restores_the_text_before() {
    let file = path("list.txt");
    let plan = undo_plan(
        &checkpoint(vec![(file.clone(), edited(BEFORE, AFTER))]),
        &current(vec![(file.clone(), snapshot(AFTER, Some(5)))]),
    );
    assert!(plan.refused.is_empty());
    assert_eq!(
        plan.changes.files[&file],
        FileChange {
            base: Some(snapshot(AFTER, Some(5))),
            proposed: Some(BEFORE.to_owned()),
            moved_from: None,
        }
    );
}

#[test]
fn user_edits_elsewhere_are_kept_and_every_agent_hunk_reverted() {
    let file = path("list.txt");
    let now = AFTER
        .replace("one", "one (user)")
        .replace("seven", "seven (user)");
    let plan = undo_plan(
        &checkpoint(vec![(file.clone(), edited(BEFORE, AFTER))]),
        &current(vec![(file.clone(), snapshot(&now, Some(9)))]),
    );
    assert!(plan.refused.is_empty());
    let expected = BEFORE
        .replace("one", "one (user)")
        .replace("seven", "seven (user)");
    assert_eq!(
        plan.changes.files[&file].proposed.as_deref(),
        Some(expected.as_str())
    );
}

#[test]
fn a_hunk_the_user_edited_since_is_refused_and_named() {
    let file = path("list.txt");
    // The user reworded the agent's line 6; the other two hunks are untouched.
    let now = AFTER.replace("SIX", "Six, said the user");
    let plan = undo_plan(
        &checkpoint(vec![(file.clone(), edited(BEFORE, AFTER))]),
        &current(vec![(file.clone(), snapshot(&now, Some(9)))]),
    );
    assert_eq!(
        plan.refused,
        [RefusedHunk {
            path: file.clone(),
            lines: LineSpan::new(6, 7),
        }]
    );
    assert_eq!(plan.refused[0].lines.to_string(), "line 7");
    let expected = BEFORE.replace("six", "Six, said the user");
    assert_eq!(
        plan.changes.files[&file].proposed.as_deref(),
        Some(expected.as_str())
    );
}

#[test]
fn a_hunk_the_user_already_reverted_needs_nothing() {
    let file = path("list.txt");
    let now = AFTER.replace("TWO", "two");
    let plan = undo_plan(
        &checkpoint(vec![(file.clone(), edited(BEFORE, AFTER))]),
        &current(vec![(file.clone(), snapshot(&now, Some(9)))]),
    );
    assert!(plan.refused.is_empty());
    assert_eq!(plan.changes.files[&file].proposed.as_deref(), Some(BEFORE));
}

#[test]
fn a_created_file_is_deleted_unless_the_user_edited_it() {
    let file = path("new.txt");
    let created = CheckpointFile {
        before: None,
        after: Some("made by the agent\n".to_owned()),
        moved_from: None,
    };
    let plan = undo_plan(
        &checkpoint(vec![(file.clone(), created.clone())]),
        &current(vec![(file.clone(), snapshot("made by the agent\n", None))]),
    );
    assert!(plan.refused.is_empty());
    assert_eq!(plan.changes.files[&file].proposed, None);

    let plan = undo_plan(
        &checkpoint(vec![(file.clone(), created)]),
        &current(vec![(
            file.clone(),
            snapshot("made by the agent, edited by the user\n", Some(3)),
        )]),
    );
    assert_eq!(
        plan.refused,
        [RefusedHunk {
            path: file,
            lines: LineSpan::new(0, 1)
        }]
    );
    assert!(plan.changes.files.is_empty());
}

#[test]
fn a_deleted_file_is_restored_unless_a_file_is_there_again() {
    let file = path("gone.txt");
    let deleted = CheckpointFile {
        before: Some(BEFORE.to_owned()),
        after: None,
        moved_from: None,
    };
    let plan = undo_plan(
        &checkpoint(vec![(file.clone(), deleted.clone())]),
        &current(vec![]),
    );
    assert_eq!(
        plan.changes.files[&file],
        FileChange {
            base: None,
            proposed: Some(BEFORE.to_owned()),
            moved_from: None,
        }
    );
    let plan = undo_plan(
        &checkpoint(vec![(file.clone(), deleted)]),
        &current(vec![(
            file.clone(),
            snapshot("the user's new file\n", None),
        )]),
    );
    assert_eq!(plan.refused.len(), 1);
    assert!(plan.changes.files.is_empty());
}

#[test]
fn a_moved_file_moves_back_with_its_hunks_reverted() {
    let (old, new) = (path("old.txt"), path("new.txt"));
    let moved = CheckpointFile {
        before: Some(BEFORE.to_owned()),
        after: Some(AFTER.to_owned()),
        moved_from: Some(old.clone()),
    };
    let plan = undo_plan(
        &checkpoint(vec![(new.clone(), moved)]),
        &current(vec![(new.clone(), snapshot(AFTER, Some(2)))]),
    );
    assert_eq!(
        plan.changes.files[&old],
        FileChange {
            base: Some(snapshot(AFTER, Some(2))),
            proposed: Some(BEFORE.to_owned()),
            moved_from: Some(new),
        }
    );
}

#[test]
fn a_turn_of_several_tool_calls_keeps_the_first_before_and_the_last_after() {
    let (a, b, c) = (path("a.txt"), path("b.txt"), path("c.txt"));
    let mut turn = checkpoint(vec![(a.clone(), edited("1\n", "2\n"))]);
    turn.absorb(checkpoint(vec![(a.clone(), edited("2\n", "3\n"))]));
    // Moved a → b, then created and deleted c within the turn.
    turn.absorb(checkpoint(vec![(
        b.clone(),
        CheckpointFile {
            before: Some("3\n".to_owned()),
            after: Some("4\n".to_owned()),
            moved_from: Some(a.clone()),
        },
    )]));
    turn.absorb(checkpoint(vec![(
        c.clone(),
        CheckpointFile {
            before: None,
            after: Some("x".to_owned()),
            moved_from: None,
        },
    )]));
    turn.absorb(checkpoint(vec![(
        c,
        CheckpointFile {
            before: Some("x".to_owned()),
            after: None,
            moved_from: None,
        },
    )]));
    assert_eq!(
        turn.files.into_iter().collect::<Vec<_>>(),
        [(
            b,
            CheckpointFile {
                before: Some("1\n".to_owned()),
                after: Some("4\n".to_owned()),
                moved_from: Some(a),
            }
        )]
    );
}

/// Undo lands like any change: through `workspace_edit`, versioned, against the
/// buffer as it is.
#[test]
fn the_undo_changeset_becomes_a_versioned_edit() {
    let file = path("list.txt");
    let now = AFTER.replace("one", "one (user)");
    let documents = store(PositionEncoding::Utf16, &[(&file, 12, &now)]);
    let current_text = documents
        .snapshot(&uri(&file))
        .expect("open")
        .text()
        .to_string();
    let plan = undo_plan(
        &checkpoint(vec![(file.clone(), edited(BEFORE, AFTER))]),
        &current(vec![(file.clone(), snapshot(&current_text, Some(12)))]),
    );
    let edit_plan = workspace_edit(
        &plan.changes,
        &documents,
        &EditCapabilities::default(),
        &root(),
    )
    .expect("plans");
    let request = edit_plan.apply_request().expect("request");
    let edits = edits_for(&request.edit, &uri(&file));
    assert_eq!(edits[0].0, Some(12));
    assert_eq!(
        edits[0].1.len(),
        3,
        "one edit per agent hunk: {:?}",
        edits[0].1
    );
    assert_eq!(
        apply(&now, &edits[0].1, PositionEncoding::Utf16).as_deref(),
        Ok(BEFORE.replace("one", "one (user)").as_str())
    );
}

/// Undo right after the turn restores every file's text before, whatever the
/// texts; a user edit in a line the agent left alone survives it.
#[test]
fn undo_restores_the_text_before_over_random_texts() {
    let mut rng = fastrand::Rng::with_seed(0x0d0_0001);
    let file = path("random.txt");
    for case in 0..1_000 {
        let before = super::random_text(&mut rng, 30);
        let after = super::mutate(&mut rng, &before).concat();
        let before = before.concat();
        let turn = checkpoint(vec![(file.clone(), edited(&before, &after))]);
        let plan = undo_plan(
            &turn,
            &current(vec![(file.clone(), snapshot(&after, Some(1)))]),
        );
        assert!(plan.refused.is_empty(), "case {case}");
        let restored = plan
            .changes
            .files
            .get(&file)
            .map_or(after.as_str(), |change| {
                change.proposed.as_deref().unwrap_or_default()
            });
        assert_eq!(restored, before, "case {case}");
    }
}
