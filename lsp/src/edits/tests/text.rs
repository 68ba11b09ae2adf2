//! `text_edits`: small edits, exact positions in every encoding, CRLF kept.

use expect_test::{expect, Expect};
use lsp_types::{Position, Range, TextDocumentContentChangeEvent, TextEdit};

use super::{apply, mutate, random_text, uri, ENCODINGS};
use crate::document::{DocumentStore, PositionEncoding};
use crate::edits::text_edits;

/// Renders edits as `line:character-line:character "new text"`, one a line.
fn render(edits: &[TextEdit]) -> String {
    edits
        .iter()
        .map(|edit| {
            let Range { start, end } = edit.range;
            format!(
                "{}:{}-{}:{} {:?}\n",
                start.line, start.character, end.line, end.character, edit.new_text
            )
        })
        .collect()
}

/// Checks the edits in `encoding` against `expected`, and that they turn `old`
/// into `new` in every encoding.
fn check(old: &str, new: &str, encoding: PositionEncoding, expected: Expect) {
    for encoding in ENCODINGS {
        let edits = text_edits(old, new, encoding);
        assert_eq!(
            apply(old, &edits, encoding).as_deref(),
            Ok(new),
            "{encoding:?}"
        );
    }
    expected.assert_eq(&render(&text_edits(old, new, encoding)));
}

#[test]
fn one_word_changed_sends_one_small_edit() {
    let old = "fn main() {\n    let value = compute(alpha, beta);\n    println!(\"{value}\");\n}\n";
    let new =
        "fn main() {\n    let result = compute(alpha, beta);\n    println!(\"{value}\");\n}\n";
    check(
        old,
        new,
        PositionEncoding::Utf16,
        expect![[r#"
            1:8-1:13 "result"
        "#]],
    );
}

#[test]
fn identical_texts_need_no_edit() {
    check(
        "same\r\ntext",
        "same\r\ntext",
        PositionEncoding::Utf16,
        expect![[""]],
    );
}

#[test]
fn crlf_line_endings_are_kept_and_never_split() {
    check(
        "one\r\ntwo\r\nthree\r\n",
        "one\r\n2\r\nthree\r\nfour\r\n",
        PositionEncoding::Utf16,
        expect![[r#"
            1:0-1:3 "2"
            3:0-3:0 "four\r\n"
        "#]],
    );
    // LF to CRLF on one line: the edit replaces the line break whole.
    check(
        "a\nb\n",
        "a\r\nb\n",
        PositionEncoding::Utf16,
        expect![[r#"
            0:1-1:0 "\r\n"
        "#]],
    );
}

#[test]
fn a_lone_cr_ends_a_line() {
    check(
        "old\rkeep\r",
        "new\rkeep\r",
        PositionEncoding::Utf16,
        expect![[r#"
            0:0-0:3 "new"
        "#]],
    );
}

#[test]
fn positions_count_the_negotiated_units_after_emoji() {
    let old = "😀 é x = 1;\n";
    let new = "😀 é y = 1;\n";
    check(
        old,
        new,
        PositionEncoding::Utf8,
        expect![[r#"
        0:8-0:9 "y"
    "#]],
    );
    check(
        old,
        new,
        PositionEncoding::Utf16,
        expect![[r#"
        0:5-0:6 "y"
    "#]],
    );
    check(
        old,
        new,
        PositionEncoding::Utf32,
        expect![[r#"
        0:4-0:5 "y"
    "#]],
    );
}

#[test]
fn combining_marks_stay_with_their_letter() {
    check(
        "café au lait",
        "cafe\u{301} au lait",
        PositionEncoding::Utf16,
        expect![[r#"
            0:0-0:4 "cafe\u{301}"
        "#]],
    );
    check(
        "cafe\u{301} noir",
        "cafe\u{301} blanc",
        PositionEncoding::Utf16,
        expect![[r#"
            0:6-0:10 "blanc"
        "#]],
    );
}

#[test]
fn whole_line_groups_are_inserted_and_deleted_at_line_starts() {
    check(
        "a\nb\nc\n",
        "a\nnew 1\nnew 2\nb\nc\n",
        PositionEncoding::Utf16,
        expect![[r#"
            1:0-1:0 "new 1\nnew 2\n"
        "#]],
    );
    check(
        "a\nb\nc\nd\n",
        "a\nd\n",
        PositionEncoding::Utf16,
        expect![[r#"
            1:0-3:0 ""
        "#]],
    );
}

#[test]
fn the_last_line_without_a_line_break() {
    check(
        "first\nlast",
        "first\nlast\nmore",
        PositionEncoding::Utf16,
        expect![[r#"
            1:4-1:4 "\nmore"
        "#]],
    );
    check(
        "",
        "all new\n",
        PositionEncoding::Utf16,
        expect![[r#"
        0:0-0:0 "all new\n"
    "#]],
    );
    check(
        "all gone\r\n",
        "",
        PositionEncoding::Utf16,
        expect![[r#"
        0:0-1:0 ""
    "#]],
    );
}

#[test]
fn edits_are_proportional_to_the_change_not_the_file() {
    let old: String = (0..2_000)
        .map(|line| format!("line {line} of the file\n"))
        .collect();
    let new = old
        .replace("line 100 of", "line one hundred of")
        .replace("line 1500 of", "line 1500 in");
    let edits = text_edits(&old, &new, PositionEncoding::Utf16);
    assert_eq!(
        render(&edits),
        "100:5-100:8 \"one hundred\"\n1500:10-1500:12 \"in\"\n"
    );
}

/// Random pairs of texts, related (a few changes) and unrelated: applying the
/// edits to the old text always gives exactly the new one, in every encoding.
#[test]
fn edits_turn_old_into_new_over_random_texts() {
    let mut rng = fastrand::Rng::with_seed(0xed17_0001);
    for case in 0..3_000 {
        let old = random_text(&mut rng, 40);
        let new = if case % 4 == 0 {
            random_text(&mut rng, 40)
        } else {
            mutate(&mut rng, &old)
        };
        let (old, new) = (old.concat(), new.concat());
        for encoding in ENCODINGS {
            let edits = text_edits(&old, &new, encoding);
            assert_eq!(
                apply(&old, &edits, encoding).as_deref(),
                Ok(new.as_str()),
                "case {case} {encoding:?}: {old:?} -> {new:?}: {edits:?}"
            );
        }
    }
}

/// The same, applied by the document store the way the server sees an editor
/// apply them (each change in turn, last first): positions agree with the
/// store's own conversion.
#[test]
fn the_document_store_applies_the_edits_to_the_same_text() {
    let mut rng = fastrand::Rng::with_seed(0xed17_0002);
    let uri = uri(&super::path("random.txt"));
    for case in 0..500 {
        let old_pieces = random_text(&mut rng, 30);
        let new_pieces = if case % 2 == 0 {
            mutate(&mut rng, &old_pieces)
        } else {
            random_text(&mut rng, 30)
        };
        let (old, new) = (old_pieces.concat(), new_pieces.concat());
        for encoding in ENCODINGS {
            let store = DocumentStore::new();
            store.set_encoding(encoding);
            store
                .open(uri.clone(), "plaintext", 1, old.clone())
                .expect("opens");
            let edits = text_edits(&old, &new, encoding);
            let changes = edits
                .iter()
                .rev()
                .map(|edit| TextDocumentContentChangeEvent {
                    range: Some(edit.range),
                    range_length: None,
                    text: edit.new_text.clone(),
                })
                .collect();
            store.change(&uri, 2, changes).expect("applies");
            let text = store.snapshot(&uri).expect("open").text().to_string();
            assert_eq!(
                text, new,
                "case {case} {encoding:?}: {old:?} -> {new:?}: {edits:?}"
            );
        }
    }
}

#[test]
fn positions_never_fall_between_cr_and_lf() {
    // Every edit boundary next to a CRLF is before the CR or after the LF.
    let old = "a\r\nb\r\nc";
    for new in [
        "a\rb\r\nc",
        "a\nb\r\nc",
        "a\r\n\r\nb\r\nc",
        "ab\r\nc",
        "a\r\nxb\r\nc",
    ] {
        for encoding in ENCODINGS {
            let edits = text_edits(old, new, encoding);
            for edit in &edits {
                for Position { line, character } in [edit.range.start, edit.range.end] {
                    let line_len = old.split("\r\n").nth(line as usize).map_or(0, str::len);
                    assert!(character as usize <= line_len, "{new:?} {edit:?}");
                }
            }
            assert_eq!(apply(old, &edits, encoding).as_deref(), Ok(new));
        }
    }
}

/// similar 2.7's `Compact` pass gave an insertion after an unchanged run the
/// index of the run's start (its issue #95): the edit landed one token early.
#[test]
fn regression_similar_compact_stale_indices_misplaced_an_insertion() {
    check(
        "foo}(🇫🇷a\n",
        "}({}(🇫🇷a\n",
        PositionEncoding::Utf16,
        expect![[r#"
            0:0-0:3 "}({"
        "#]],
    );
}
