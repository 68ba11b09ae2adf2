//! Review before apply: the annotated preview edit, and which hunks landed
//! after the user accepted all, some or none of them.

use expect_test::expect;

use super::{apply, changeset, edit_file, path, root, snapshot, store};
use crate::document::PositionEncoding;
use crate::edits::{
    annotated_request, previewable, reviewed, workspace_edit, EditCapabilities, LineSpan, Reviewed,
};

const BEFORE: &str = "fn a() {\n    1\n}\n\nfn b() {\n    2\n}\n\nfn c() {\n    3\n}\n";

fn capabilities() -> EditCapabilities {
    EditCapabilities {
        encoding: PositionEncoding::Utf16,
        change_annotations: true,
        ..EditCapabilities::default()
    }
}

#[test]
fn the_preview_edit_has_one_annotation_per_file_each_needing_confirmation() {
    let (lib, main) = (path("src/lib.rs"), path("src/main.rs"));
    let documents = store(
        PositionEncoding::Utf16,
        &[(&lib, 3, BEFORE), (&main, 1, "fn main() {}\n")],
    );
    let changes = changeset(vec![
        (
            lib.clone(),
            edit_file(
                snapshot(BEFORE, Some(3)),
                &BEFORE.replace("    2", "    20"),
            ),
        ),
        (
            main.clone(),
            edit_file(snapshot("fn main() {}\n", Some(1)), "fn main() { run() }\n"),
        ),
    ]);
    let plan = workspace_edit(&changes, &documents, &capabilities(), &root()).expect("plans");
    assert!(previewable(&plan.files));
    let request = annotated_request(&plan.files, 7, "Agent: Fix this", |path| {
        path.strip_prefix("/work/project")
            .unwrap()
            .display()
            .to_string()
    });
    let json = serde_json::to_value(&request.edit).unwrap();
    let mut annotations: Vec<_> = json["changeAnnotations"]
        .as_object()
        .unwrap()
        .iter()
        // Sorted keys, whether or not serde_json keeps insertion order (its
        // `preserve_order` feature is on when the whole workspace is built).
        .map(|(id, annotation)| {
            let sorted: std::collections::BTreeMap<String, serde_json::Value> =
                serde_json::from_value(annotation.clone()).unwrap();
            format!("{id}: {}", serde_json::to_string(&sorted).unwrap())
        })
        .collect();
    annotations.sort();
    expect![[r#"
        [
            "agentls/review/7/1: {\"description\":\"src/lib.rs\",\"label\":\"Agent: Fix this\",\"needsConfirmation\":true}",
            "agentls/review/7/2: {\"description\":\"src/main.rs\",\"label\":\"Agent: Fix this\",\"needsConfirmation\":true}",
        ]
    "#]]
    .assert_debug_eq(&annotations);
    expect![[r#"
        {
          "textDocument": {
            "uri": "file:///work/project/src/lib.rs",
            "version": 3
          },
          "edits": [
            {
              "range": {
                "start": {
                  "line": 5,
                  "character": 4
                },
                "end": {
                  "line": 5,
                  "character": 5
                }
              },
              "newText": "20",
              "annotationId": "agentls/review/7/1"
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&json["documentChanges"][0]).unwrap());
    assert_eq!(
        json["documentChanges"][1]["edits"][0]["annotationId"],
        "agentls/review/7/2"
    );
    assert_eq!(request.expected.len(), 2);
}

#[test]
fn created_deleted_and_unopened_files_are_not_previewable() {
    let lib = path("src/lib.rs");
    let documents = store(PositionEncoding::Utf16, &[]);
    let changes = changeset(vec![(
        lib,
        edit_file(snapshot(BEFORE, None), &BEFORE.replace("    2", "    20")),
    )]);
    let all_operations = EditCapabilities {
        create_files: true,
        rename_files: true,
        delete_files: true,
        ..capabilities()
    };
    let plan = workspace_edit(&changes, &documents, &all_operations, &root()).expect("plans");
    assert!(!previewable(&plan.files), "a file on disk only: {plan:?}");
    let created = changeset(vec![(
        path("src/new.rs"),
        agentls_core::workspace::FileChange {
            base: None,
            proposed: Some("fn new() {}\n".into()),
            moved_from: None,
        },
    )]);
    let plan = workspace_edit(&created, &documents, &all_operations, &root()).expect("plans");
    assert!(!previewable(&plan.files), "a created file: {plan:?}");
}

#[test]
fn what_landed_is_judged_hunk_by_hunk() {
    let proposed = BEFORE
        .replace("    1\n", "    10\n")
        .replace("fn b() {\n    2\n", "fn b() {\n    let two = 2;\n    two\n")
        .replace("    3\n", "    30\n");
    let everything = reviewed(BEFORE, &proposed, &proposed);
    assert!(everything.is_accepted() && !everything.is_refused());
    assert_eq!(everything.accepted.len(), 3);

    let nothing = reviewed(BEFORE, &proposed, BEFORE);
    assert!(nothing.is_refused());
    assert_eq!(
        nothing.refused,
        vec![
            LineSpan::new(1, 2),
            LineSpan::new(5, 6),
            LineSpan::new(9, 10)
        ]
    );

    // The user unticked the middle hunk.
    let some = BEFORE
        .replace("    1\n", "    10\n")
        .replace("    3\n", "    30\n");
    assert_eq!(
        reviewed(BEFORE, &proposed, &some),
        Reviewed {
            accepted: vec![LineSpan::new(1, 2), LineSpan::new(9, 10)],
            refused: vec![LineSpan::new(5, 6)],
            altered: Vec::new(),
        }
    );

    // Only one of the two edits inside the middle hunk landed.
    let part = BEFORE.replace("fn b() {\n    2\n", "fn b() {\n    let two = 2;\n    2\n");
    let judged = reviewed(BEFORE, &proposed, &part);
    assert_eq!(judged.altered, vec![LineSpan::new(5, 6)]);
    assert_eq!(
        judged.refused,
        vec![LineSpan::new(1, 2), LineSpan::new(9, 10)]
    );
    assert_eq!(LineSpan::new(5, 6).to_string(), "line 6");
}

#[test]
fn partial_acceptance_of_word_edits_is_applied_as_an_editor_would() {
    // The preview's items are the plan's text edits: applying a subset of them
    // gives a text that `reviewed` reads as accepted, refused or altered.
    let lib = path("src/lib.rs");
    let documents = store(PositionEncoding::Utf16, &[(&lib, 1, BEFORE)]);
    let proposed = BEFORE
        .replace("    1\n", "    10\n")
        .replace("    3\n", "    30\n");
    let changes = changeset(vec![(lib, edit_file(snapshot(BEFORE, Some(1)), &proposed))]);
    let plan = workspace_edit(&changes, &documents, &capabilities(), &root()).expect("plans");
    let request = annotated_request(&plan.files, 1, "Agent: Fix this", |_| String::new());
    let json = serde_json::to_value(&request.edit).unwrap();
    let edits: Vec<lsp_types::TextEdit> =
        serde_json::from_value(json["documentChanges"][0]["edits"].clone()).unwrap();
    assert_eq!(edits.len(), 2);
    let first_only = apply(BEFORE, &edits[..1], PositionEncoding::Utf16).unwrap();
    let judged = reviewed(BEFORE, &proposed, &first_only);
    assert_eq!(judged.accepted, vec![LineSpan::new(1, 2)]);
    assert_eq!(judged.refused, vec![LineSpan::new(9, 10)]);
}
