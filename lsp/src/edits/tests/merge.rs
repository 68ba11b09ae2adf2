//! `three_way_merge`: the user's edits and the agent's, line by line.

use super::{mutate, random_text};
use crate::edits::{three_way_merge, LineSpan};

const BASE: &str =
    "fn a() {\n    one();\n}\n\nfn b() {\n    two();\n}\n\nfn c() {\n    three();\n}\n";

/// Merges, expecting success.
fn merges(base: &str, ours: &str, theirs: &str) -> String {
    three_way_merge(base, ours, theirs)
        .into_result()
        .unwrap_or_else(|lines| panic!("conflict at {lines:?}"))
}

/// Merges, expecting conflicts; returns them as shown to the user.
fn conflicts(base: &str, ours: &str, theirs: &str) -> Vec<String> {
    let merged = three_way_merge(base, ours, theirs);
    assert!(!merged.conflicts.is_empty(), "expected a conflict");
    merged.conflicts.iter().map(LineSpan::to_string).collect()
}

#[test]
fn user_edits_elsewhere_merge() {
    let ours = BASE.replace("one();", "one_fixed();");
    let theirs = BASE.replace("three();", "three(); // user");
    let expected = BASE
        .replace("one();", "one_fixed();")
        .replace("three();", "three(); // user");
    assert_eq!(merges(BASE, &ours, &theirs), expected);
}

#[test]
fn user_edits_the_same_lines_conflict() {
    let ours = BASE.replace("two();", "two_by_agent();");
    let theirs = BASE.replace("two();", "two_by_user();");
    assert_eq!(conflicts(BASE, &ours, &theirs), ["line 6"]);
    let merged = three_way_merge(BASE, &ours, &theirs);
    assert_eq!(merged.text, theirs, "a conflict keeps the user's text");
}

#[test]
fn user_edits_adjacent_lines_merge() {
    // The agent changes line 6, the user line 5 and line 7: no line in common.
    let ours = BASE.replace("two();", "two_by_agent();");
    let theirs = BASE
        .replace("fn b() {", "fn b_by_user() {")
        .replace("two();\n}", "two();\n} // user");
    let expected = theirs.replace("two();", "two_by_agent();");
    assert_eq!(merges(BASE, &ours, &theirs), expected);
}

#[test]
fn both_make_the_identical_change() {
    let both = BASE
        .replace("one();", "uno();")
        .replace("three();", "tres();");
    assert_eq!(merges(BASE, &both, &both), both);
    // Identical in one place, different elsewhere: still clean.
    let ours = both.clone();
    let theirs = BASE
        .replace("one();", "uno();")
        .replace("fn b()", "fn bee()");
    let expected = both.replace("fn b()", "fn bee()");
    assert_eq!(merges(BASE, &ours, &theirs), expected);
}

#[test]
fn insertions_at_the_same_place_conflict_unless_identical() {
    let ours = BASE.replace("fn b() {\n", "fn b() {\n    agent();\n");
    let theirs = BASE.replace("fn b() {\n", "fn b() {\n    user();\n");
    assert_eq!(conflicts(BASE, &ours, &theirs), ["line 6"]);
    assert_eq!(merges(BASE, &ours, &ours), ours);
}

#[test]
fn an_insertion_just_above_the_other_sides_change_merges() {
    let ours = BASE.replace("two();", "two_by_agent();");
    let theirs = BASE.replace("fn b() {\n", "fn b() {\n    // user comment\n");
    let expected = theirs.replace("two();", "two_by_agent();");
    assert_eq!(merges(BASE, &ours, &theirs), expected);
}

#[test]
fn the_user_deleting_lines_the_agent_changed_conflicts() {
    let ours = BASE.replace("three();", "three_by_agent();");
    let theirs = BASE.replace("fn c() {\n    three();\n}\n", "");
    assert_eq!(conflicts(BASE, &ours, &theirs), ["before line 9"]);
}

#[test]
fn several_conflicts_are_all_named() {
    let ours = BASE.replace("one();", "1();").replace("three();", "3();");
    let theirs = BASE.replace("one();", "I();").replace("three();", "III();");
    assert_eq!(conflicts(BASE, &ours, &theirs), ["line 2", "line 10"]);
}

#[test]
fn crlf_texts_merge_line_by_line() {
    let base = "a\r\nb\r\nc\r\nd\r\n";
    let ours = "a\r\nB\r\nc\r\nd\r\n";
    let theirs = "a\r\nb\r\nc\r\nD\r\n";
    assert_eq!(merges(base, ours, theirs), "a\r\nB\r\nc\r\nD\r\n");
}

/// Merging with an unchanged side gives the other side; merging identical sides
/// gives either; over random texts.
#[test]
fn merge_laws_hold_over_random_texts() {
    let mut rng = fastrand::Rng::with_seed(0x3e76_0001);
    for case in 0..2_000 {
        let base = random_text(&mut rng, 30);
        let ours = mutate(&mut rng, &base).concat();
        let theirs = mutate(&mut rng, &base).concat();
        let base = base.concat();
        assert_eq!(merges(&base, &ours, &base), ours, "case {case}");
        assert_eq!(merges(&base, &base, &theirs), theirs, "case {case}");
        assert_eq!(merges(&base, &ours, &ours), ours, "case {case}");
        // Whatever the outcome, a merge never panics, and it does not depend
        // on which side is the agent's.
        let merged = three_way_merge(&base, &ours, &theirs);
        let swapped = three_way_merge(&base, &theirs, &ours);
        assert_eq!(
            merged.conflicts.is_empty(),
            swapped.conflicts.is_empty(),
            "case {case}"
        );
        if merged.conflicts.is_empty() {
            assert_eq!(merged.text, swapped.text, "case {case}");
        }
    }
}
