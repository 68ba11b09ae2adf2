//! `ExpectedState::confirm`: proof from the didChange that an edit landed, since
//! `applied: true` proves nothing.

use lsp_types::TextDocumentContentChangeEvent;

use super::{changeset, edit_file, path, root, snapshot, store, uri, user_types};
use crate::document::PositionEncoding;
use crate::edits::{workspace_edit, Confirmation, ContentHash, EditCapabilities, ExpectedState};

const TEXT: &str = "alpha\r\nbeta 😀\r\ngamma\r\n";

#[test]
fn an_edit_is_confirmed_only_once_the_buffer_holds_its_result() {
    let file = path("notes.txt");
    let documents = store(PositionEncoding::Utf16, &[(&file, 10, TEXT)]);
    let proposed = TEXT.replace("beta", "BETA");
    let changes = changeset(vec![(
        file.clone(),
        edit_file(snapshot(TEXT, Some(10)), &proposed),
    )]);
    let plan =
        workspace_edit(&changes, &documents, &EditCapabilities::default(), &root()).expect("plans");
    let request = plan.apply_request().expect("request");
    let expected = &request.expected[0];
    let current = || documents.snapshot(&uri(&file)).expect("open");

    // The editor answered `applied: true` but sent nothing (Neovim dropping it).
    assert_eq!(expected.confirm(&current()), Confirmation::NotYet);

    // The editor applies the edit: its didChange carries the edits.
    let lsp_types::DocumentChanges::Edits(edits) =
        request.edit.document_changes.clone().expect("changes")
    else {
        panic!("text edits only")
    };
    let changes = edits[0]
        .edits
        .iter()
        .rev()
        .map(|edit| match edit {
            lsp_types::OneOf::Left(edit) => TextDocumentContentChangeEvent {
                range: Some(edit.range),
                range_length: None,
                text: edit.new_text.clone(),
            },
            lsp_types::OneOf::Right(_) => panic!("no annotations sent"),
        })
        .collect();
    documents.change(&uri(&file), 13, changes).expect("applies");
    assert_eq!(expected.confirm(&current()), Confirmation::Landed);

    // The user types on: the edit is no longer what the buffer holds.
    user_types(&documents, &file, 14, &format!("{proposed}more\r\n"));
    assert_eq!(
        expected.confirm(&current()),
        Confirmation::Diverged { version: 14 }
    );
}

#[test]
fn a_different_text_at_a_later_version_diverged() {
    let file = path("notes.txt");
    let documents = store(PositionEncoding::Utf16, &[(&file, 1, TEXT)]);
    let expected = ExpectedState {
        uri: uri(&file),
        version_before: Some(1),
        version_after: None,
        content_hash: ContentHash::of_str("what the edit makes"),
    };
    user_types(&documents, &file, 2, "what the user typed instead");
    let snapshot = documents.snapshot(&uri(&file)).expect("open");
    assert_eq!(
        expected.confirm(&snapshot),
        Confirmation::Diverged { version: 2 }
    );
}

#[test]
fn a_known_version_after_must_match_too() {
    let file = path("notes.txt");
    let documents = store(PositionEncoding::Utf16, &[(&file, 1, TEXT)]);
    user_types(&documents, &file, 3, "result");
    let snapshot = documents.snapshot(&uri(&file)).expect("open");
    let mut expected = ExpectedState {
        uri: uri(&file),
        version_before: Some(1),
        version_after: Some(2),
        content_hash: ContentHash::of_str("result"),
    };
    assert_eq!(
        expected.confirm(&snapshot),
        Confirmation::Diverged { version: 3 }
    );
    expected.version_after = Some(3);
    assert_eq!(expected.confirm(&snapshot), Confirmation::Landed);
}

#[test]
fn the_hash_of_a_rope_is_the_hash_of_its_text() {
    let long: String = (0..5_000)
        .map(|line| format!("line {line} é 😀\r\n"))
        .collect();
    for text in ["", "a", TEXT, long.as_str()] {
        let rope = ropey::Rope::from_str(text);
        assert_eq!(ContentHash::of_rope(&rope), ContentHash::of_str(text));
        assert!(ContentHash::of_str(text).matches(&rope));
    }
    assert_ne!(ContentHash::of_str("ab"), ContentHash::of_str("ba"));
}
