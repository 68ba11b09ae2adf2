//! `workspace_edit`: what the editor receives for open, stale, closed, created,
//! renamed and deleted files.

use agentls_core::workspace::FileChange;
use expect_test::expect;
use lsp_types::{
    ClientCapabilities, GeneralClientCapabilities, PositionEncodingKind, ResourceOperationKind,
    WorkspaceClientCapabilities, WorkspaceEditClientCapabilities,
};

use super::{apply, changeset, edit_file, edits_for, path, root, snapshot, store, uri, user_types};
use crate::document::PositionEncoding;
use crate::edits::{
    workspace_edit, DiskOperation, DiskPrecondition, EditCapabilities, EditError, LineSpan,
};

const MAIN: &str =
    "fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n\nfn helper() -> u32 {\n    41\n}\n";

fn no_resource_operations() -> EditCapabilities {
    EditCapabilities {
        encoding: PositionEncoding::Utf16,
        ..EditCapabilities::default()
    }
}

fn all_resource_operations() -> EditCapabilities {
    EditCapabilities {
        encoding: PositionEncoding::Utf16,
        create_files: true,
        rename_files: true,
        delete_files: true,
        change_annotations: false,
    }
}

#[test]
fn an_open_file_gets_a_versioned_minimal_edit() {
    let main = path("src/main.rs");
    let documents = store(PositionEncoding::Utf16, &[(&main, 7, MAIN)]);
    let proposed = MAIN.replace("41", "42");
    let changes = changeset(vec![(
        main.clone(),
        edit_file(snapshot(MAIN, Some(7)), &proposed),
    )]);

    let plan =
        workspace_edit(&changes, &documents, &no_resource_operations(), &root()).expect("plans");

    assert!(plan.disk.is_empty() && plan.rebased.is_empty());
    let request = plan.apply_request().expect("something to send");
    expect![[r#"
        {
          "documentChanges": [
            {
              "textDocument": {
                "uri": "file:///work/project/src/main.rs",
                "version": 7
              },
              "edits": [
                {
                  "range": {
                    "start": {
                      "line": 6,
                      "character": 4
                    },
                    "end": {
                      "line": 6,
                      "character": 6
                    }
                  },
                  "newText": "42"
                }
              ]
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&request.edit).expect("serialises"));
    assert_eq!(request.expected.len(), 1);
    assert_eq!(request.expected[0].uri, uri(&main));
    assert_eq!(request.expected[0].version_before, Some(7));
    let checkpoint = &plan.checkpoint.files[&main];
    assert_eq!(checkpoint.before.as_deref(), Some(MAIN));
    assert_eq!(checkpoint.after.as_deref(), Some(proposed.as_str()));
}

#[test]
fn a_stale_version_is_rebased_when_the_user_edited_elsewhere() {
    let main = path("src/main.rs");
    let documents = store(PositionEncoding::Utf16, &[(&main, 7, MAIN)]);
    let users_text = MAIN.replace("let x = 1;", "let x = 1; // typed by the user");
    user_types(&documents, &main, 9, &users_text);
    let proposed = MAIN.replace("41", "42");
    let changes = changeset(vec![(
        main.clone(),
        edit_file(snapshot(MAIN, Some(7)), &proposed),
    )]);

    let plan =
        workspace_edit(&changes, &documents, &no_resource_operations(), &root()).expect("plans");

    assert_eq!(plan.rebased, std::slice::from_ref(&main));
    let request = plan.apply_request().expect("something to send");
    let edits = edits_for(&request.edit, &uri(&main));
    assert_eq!(edits.len(), 1);
    let (version, edits) = &edits[0];
    assert_eq!(*version, Some(9), "computed against the current version");
    let result = apply(&users_text, edits, PositionEncoding::Utf16).expect("applies");
    assert_eq!(result, users_text.replace("41", "42"));
    assert_eq!(request.expected[0].version_before, Some(9));
}

#[test]
fn a_stale_version_conflicts_when_the_user_edited_the_same_lines() {
    let main = path("src/main.rs");
    let documents = store(PositionEncoding::Utf16, &[(&main, 7, MAIN)]);
    user_types(&documents, &main, 8, &MAIN.replace("41", "40 + 1"));
    let changes = changeset(vec![(
        main.clone(),
        edit_file(snapshot(MAIN, Some(7)), &MAIN.replace("41", "42")),
    )]);

    let error = workspace_edit(&changes, &documents, &no_resource_operations(), &root())
        .expect_err("conflicts");

    assert_eq!(
        error,
        EditError::Conflict {
            path: main,
            lines: vec![LineSpan::new(6, 7)],
            version: Some(8),
        }
    );
    expect![[r#"/work/project/src/main.rs: the agent's change overlaps the user's edits at line 7 of version 8 in the editor; nothing was applied"#]]
        .assert_eq(&error.to_string());
}

#[test]
fn one_conflicting_file_stops_the_whole_changeset() {
    let (main, lib) = (path("src/main.rs"), path("src/lib.rs"));
    let documents = store(
        PositionEncoding::Utf16,
        &[(&main, 1, MAIN), (&lib, 1, "pub fn f() {}\n")],
    );
    user_types(&documents, &lib, 2, "pub fn g() {}\n");
    let changes = changeset(vec![
        (
            main.clone(),
            edit_file(snapshot(MAIN, Some(1)), &MAIN.replace("41", "42")),
        ),
        (
            lib.clone(),
            edit_file(snapshot("pub fn f() {}\n", Some(1)), "pub fn h() {}\n"),
        ),
    ]);
    let result = workspace_edit(&changes, &documents, &no_resource_operations(), &root());
    assert!(matches!(result, Err(EditError::Conflict { path, .. }) if path == lib));
}

#[test]
fn a_file_read_from_disk_but_open_now_is_edited_in_its_buffer() {
    let main = path("src/main.rs");
    let documents = store(PositionEncoding::Utf16, &[(&main, 3, MAIN)]);
    let changes = changeset(vec![(
        main.clone(),
        edit_file(snapshot(MAIN, None), &MAIN.replace("41", "42")),
    )]);
    let plan =
        workspace_edit(&changes, &documents, &no_resource_operations(), &root()).expect("plans");
    assert!(plan.disk.is_empty());
    let request = plan.apply_request().expect("something to send");
    assert_eq!(edits_for(&request.edit, &uri(&main))[0].0, Some(3));
}

#[test]
fn a_file_not_open_is_written_on_disk() {
    let main = path("src/main.rs");
    let documents = store(PositionEncoding::Utf16, &[]);
    let proposed = MAIN.replace("41", "42");
    let changes = changeset(vec![(
        main.clone(),
        edit_file(snapshot(MAIN, None), &proposed),
    )]);
    let plan =
        workspace_edit(&changes, &documents, &all_resource_operations(), &root()).expect("plans");
    assert!(plan.apply_request().is_none());
    assert_eq!(
        plan.disk,
        [DiskOperation::Write {
            path: main,
            expected: Some(MAIN.to_owned()),
            text: proposed,
        }]
    );
}

#[test]
fn created_files_use_create_file_only_where_the_client_supports_it() {
    let new = path("src/new.rs");
    let documents = store(PositionEncoding::Utf16, &[]);
    let changes = changeset(vec![(
        new.clone(),
        FileChange {
            base: None,
            proposed: Some("pub fn new() {}\n".to_owned()),
            moved_from: None,
        },
    )]);

    let plan =
        workspace_edit(&changes, &documents, &all_resource_operations(), &root()).expect("plans");
    assert!(plan.disk.is_empty());
    let request = plan.apply_request().expect("something to send");
    expect![[r#"
        {
          "documentChanges": [
            {
              "kind": "create",
              "uri": "file:///work/project/src/new.rs",
              "options": {
                "overwrite": false,
                "ignoreIfExists": false
              }
            },
            {
              "textDocument": {
                "uri": "file:///work/project/src/new.rs",
                "version": null
              },
              "edits": [
                {
                  "range": {
                    "start": {
                      "line": 0,
                      "character": 0
                    },
                    "end": {
                      "line": 0,
                      "character": 0
                    }
                  },
                  "newText": "pub fn new() {}\n"
                }
              ]
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&request.edit).expect("serialises"));
    assert_eq!(
        request.preconditions,
        [DiskPrecondition {
            path: new.clone(),
            expected: None,
        }]
    );

    let plan =
        workspace_edit(&changes, &documents, &no_resource_operations(), &root()).expect("plans");
    assert!(plan.apply_request().is_none());
    assert_eq!(
        plan.disk,
        [DiskOperation::Write {
            path: new,
            expected: None,
            text: "pub fn new() {}\n".to_owned(),
        }]
    );
}

#[test]
fn an_open_file_renamed_is_edited_then_renamed() {
    let (old, new) = (path("src/old.rs"), path("src/new.rs"));
    let documents = store(PositionEncoding::Utf16, &[(&old, 4, MAIN)]);
    let changes = changeset(vec![(
        new.clone(),
        FileChange {
            base: Some(snapshot(MAIN, Some(4))),
            proposed: Some(MAIN.replace("41", "42")),
            moved_from: Some(old.clone()),
        },
    )]);

    let plan =
        workspace_edit(&changes, &documents, &all_resource_operations(), &root()).expect("plans");
    let request = plan.apply_request().expect("something to send");
    let json = serde_json::to_value(&request.edit).expect("serialises");
    let kinds: Vec<String> = json["documentChanges"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|operation| match operation.get("kind") {
            Some(kind) => format!("{} {}", kind.as_str().unwrap_or("?"), operation["newUri"]),
            None => format!(
                "edit {} v{}",
                operation["textDocument"]["uri"], operation["textDocument"]["version"]
            ),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "edit \"file:///work/project/src/old.rs\" v4",
            "rename \"file:///work/project/src/new.rs\"",
        ]
    );
    assert_eq!(request.expected[0].uri, uri(&new));
    assert_eq!(plan.checkpoint.files[&new].moved_from.as_ref(), Some(&old));

    let plan =
        workspace_edit(&changes, &documents, &no_resource_operations(), &root()).expect("plans");
    assert!(plan.apply_request().is_none());
    assert_eq!(
        plan.disk,
        [DiskOperation::Rename {
            from: old,
            to: new,
            expected: MAIN.to_owned(),
            text: MAIN.replace("41", "42"),
        }]
    );
}

#[test]
fn a_closed_file_renamed_gets_rename_file_and_an_edit_of_the_new_uri() {
    let (old, new) = (path("src/old.rs"), path("src/new.rs"));
    let documents = store(PositionEncoding::Utf16, &[]);
    let changes = changeset(vec![(
        new.clone(),
        FileChange {
            base: Some(snapshot(MAIN, None)),
            proposed: Some(MAIN.replace("41", "42")),
            moved_from: Some(old.clone()),
        },
    )]);
    let plan =
        workspace_edit(&changes, &documents, &all_resource_operations(), &root()).expect("plans");
    let request = plan.apply_request().expect("something to send");
    let edits = edits_for(&request.edit, &uri(&new));
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0].0, None,
        "a document the editor opens for the edit has no version yet"
    );
    assert_eq!(
        apply(MAIN, &edits[0].1, PositionEncoding::Utf16).as_deref(),
        Ok(MAIN.replace("41", "42").as_str())
    );
    assert_eq!(
        request.preconditions,
        [
            DiskPrecondition {
                path: old,
                expected: Some(MAIN.to_owned()),
            },
            DiskPrecondition {
                path: new,
                expected: None,
            },
        ]
    );
}

#[test]
fn deleting_a_buffer_the_user_edited_is_refused() {
    let main = path("src/main.rs");
    let documents = store(PositionEncoding::Utf16, &[(&main, 1, MAIN)]);
    user_types(&documents, &main, 2, "// the user's text\n");
    let changes = changeset(vec![(
        main.clone(),
        FileChange {
            base: Some(snapshot(MAIN, Some(1))),
            proposed: None,
            moved_from: None,
        },
    )]);
    let error = workspace_edit(&changes, &documents, &all_resource_operations(), &root())
        .expect_err("refused");
    assert_eq!(
        error,
        EditError::EditedInEditor {
            path: main,
            version: 2
        }
    );
}

#[test]
fn deletes_use_delete_file_only_where_the_client_supports_it() {
    let main = path("src/main.rs");
    let documents = store(PositionEncoding::Utf16, &[(&main, 1, MAIN)]);
    let changes = changeset(vec![(
        main.clone(),
        FileChange {
            base: Some(snapshot(MAIN, Some(1))),
            proposed: None,
            moved_from: None,
        },
    )]);
    let plan =
        workspace_edit(&changes, &documents, &all_resource_operations(), &root()).expect("plans");
    let json = serde_json::to_string(&plan.apply_request().expect("something").edit).expect("json");
    assert_eq!(
        json,
        r#"{"documentChanges":[{"kind":"delete","uri":"file:///work/project/src/main.rs","options":{"recursive":false,"ignoreIfNotExists":false}}]}"#
    );
    let plan =
        workspace_edit(&changes, &documents, &no_resource_operations(), &root()).expect("plans");
    assert_eq!(
        plan.disk,
        [DiskOperation::Delete {
            path: main,
            expected: MAIN.to_owned(),
        }]
    );
}

#[test]
fn paths_outside_the_roots_are_refused() {
    let documents = store(PositionEncoding::Utf16, &[]);
    for outside in [
        "/etc/passwd",
        "/work/project/../secrets.txt",
        "/work/project-other/a.rs",
        "relative.rs",
    ] {
        let changes = changeset(vec![(outside.into(), edit_file(snapshot("a", None), "b"))]);
        let result = workspace_edit(&changes, &documents, &all_resource_operations(), &root());
        assert!(
            matches!(result, Err(EditError::OutsideRoots { .. })),
            "{outside}: {result:?}"
        );
    }
}

#[test]
fn split_per_file_sends_one_file_per_apply_edit() {
    let (main, lib) = (path("src/main.rs"), path("src/lib.rs"));
    let documents = store(
        PositionEncoding::Utf16,
        &[(&main, 1, MAIN), (&lib, 5, "pub fn f() {}\n")],
    );
    let changes = changeset(vec![
        (
            main.clone(),
            edit_file(snapshot(MAIN, Some(1)), &MAIN.replace("41", "42")),
        ),
        (
            lib.clone(),
            edit_file(snapshot("pub fn f() {}\n", Some(5)), "pub fn g() {}\n"),
        ),
    ]);
    let plan =
        workspace_edit(&changes, &documents, &no_resource_operations(), &root()).expect("plans");
    let requests = plan.split_per_file();
    assert_eq!(requests.len(), 2);
    for (request, (path, version)) in requests.iter().zip([(&lib, 5), (&main, 1)]) {
        let edits = edits_for(&request.edit, &uri(path));
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].0, Some(version));
        assert_eq!(request.expected.len(), 1);
        assert_eq!(request.expected[0].uri, uri(path));
    }
    assert_eq!(plan.apply_request().expect("one request").expected.len(), 2);
}

#[test]
fn positions_are_in_the_documents_encoding() {
    let main = path("src/main.rs");
    let text = "let 😀 = \"é\"; let x = 1;\n";
    for (encoding, character) in [
        (PositionEncoding::Utf8, 21),
        (PositionEncoding::Utf16, 18),
        (PositionEncoding::Utf32, 17),
    ] {
        let documents = store(encoding, &[(&main, 1, text)]);
        let changes = changeset(vec![(
            main.clone(),
            edit_file(snapshot(text, Some(1)), &text.replace("x", "y")),
        )]);
        let plan = workspace_edit(&changes, &documents, &no_resource_operations(), &root())
            .expect("plans");
        let edits = edits_for(&plan.apply_request().expect("request").edit, &uri(&main));
        assert_eq!(
            edits[0].1[0].range.start.character, character,
            "{encoding:?}"
        );
    }
}

#[test]
fn capabilities_come_from_the_client() {
    let capabilities = ClientCapabilities {
        workspace: Some(WorkspaceClientCapabilities {
            workspace_edit: Some(WorkspaceEditClientCapabilities {
                document_changes: Some(true),
                resource_operations: Some(vec![
                    ResourceOperationKind::Create,
                    ResourceOperationKind::Rename,
                ]),
                change_annotation_support: Some(
                    lsp_types::ChangeAnnotationWorkspaceEditClientCapabilities {
                        groups_on_label: Some(true),
                    },
                ),
                ..WorkspaceEditClientCapabilities::default()
            }),
            ..WorkspaceClientCapabilities::default()
        }),
        general: Some(GeneralClientCapabilities {
            position_encodings: Some(vec![
                PositionEncodingKind::UTF8,
                PositionEncodingKind::UTF16,
            ]),
            ..GeneralClientCapabilities::default()
        }),
        ..ClientCapabilities::default()
    };
    assert_eq!(
        EditCapabilities::from_client(&capabilities),
        EditCapabilities {
            encoding: PositionEncoding::Utf8,
            create_files: true,
            rename_files: true,
            delete_files: false,
            change_annotations: true,
        }
    );
    // Neovim 0.7 advertises no resource operations (and no change annotations).
    assert_eq!(
        EditCapabilities::from_client(&ClientCapabilities::default()),
        EditCapabilities::default()
    );
}

#[test]
fn an_unchanged_file_sends_nothing() {
    let main = path("src/main.rs");
    let documents = store(PositionEncoding::Utf16, &[(&main, 1, MAIN)]);
    let changes = changeset(vec![(
        main.clone(),
        edit_file(snapshot(MAIN, Some(1)), MAIN),
    )]);
    let plan =
        workspace_edit(&changes, &documents, &no_resource_operations(), &root()).expect("plans");
    assert!(plan.is_empty());
    assert!(plan.apply_request().is_none());
}
