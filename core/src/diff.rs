//! The unified diff of one file, rendered one way for every place that shows a
//! change (a patch's file changes in the loop, a turn's diff in the language
//! server), so a client reads the same format whoever made the change.

/// Lines of unchanged text around each change, as `git diff` shows by default.
const CONTEXT_LINES: usize = 3;

/// The unified diff of a file from `old_text` to `new_text`, in git's form:
/// `--- a/<old_name>` and `+++ b/<new_name>`, with `/dev/null` for a side given
/// as `None` (the file was created, or deleted), then the hunks. Names are shown
/// as given, typically relative to the workspace root.
///
/// A file renamed without a change of text gets git's rename header
/// (`diff --git a/<old> b/<new>`, `rename from`, `rename to`) rather than
/// nothing, so the move still shows. Unchanged text under one name is the empty
/// string.
pub fn unified_diff(
    old_name: Option<&str>,
    new_name: Option<&str>,
    old_text: &str,
    new_text: &str,
) -> String {
    let old_header = old_name.map_or_else(|| "/dev/null".to_string(), |name| format!("a/{name}"));
    let new_header = new_name.map_or_else(|| "/dev/null".to_string(), |name| format!("b/{name}"));
    let unified = similar::TextDiff::from_lines(old_text, new_text)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(&old_header, &new_header)
        .to_string();
    match (old_name, new_name) {
        (Some(from), Some(to)) if unified.is_empty() && from != to => {
            format!("diff --git {old_header} {new_header}\nrename from {from}\nrename to {to}\n")
        }
        _ => unified,
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::unified_diff;

    #[test]
    fn diff_of_an_edit() {
        let diff = unified_diff(
            Some("src/lib.rs"),
            Some("src/lib.rs"),
            "fn a() {}\nfn b() {}\n",
            "fn a() {}\nfn b() { 1 }\n",
        );
        expect![[r#"
            --- a/src/lib.rs
            +++ b/src/lib.rs
            @@ -1,2 +1,2 @@
             fn a() {}
            -fn b() {}
            +fn b() { 1 }
        "#]]
        .assert_eq(&diff);
    }

    #[test]
    fn diff_keeps_three_lines_of_context() {
        let old: String = (1..=10).map(|line| format!("{line}\n")).collect();
        let new = old.replace("5\n", "five\n");
        let diff = unified_diff(Some("n.txt"), Some("n.txt"), &old, &new);
        expect![[r#"
            --- a/n.txt
            +++ b/n.txt
            @@ -2,7 +2,7 @@
             2
             3
             4
            -5
            +five
             6
             7
             8
        "#]]
        .assert_eq(&diff);
    }

    #[test]
    fn diff_of_a_created_and_a_deleted_file() {
        let created = unified_diff(None, Some("tests/new.rs"), "", "#[test]\nfn t() {}\n");
        expect![[r#"
            --- /dev/null
            +++ b/tests/new.rs
            @@ -0,0 +1,2 @@
            +#[test]
            +fn t() {}
        "#]]
        .assert_eq(&created);
        let deleted = unified_diff(Some("old.rs"), None, "gone\n", "");
        expect![[r#"
            --- a/old.rs
            +++ /dev/null
            @@ -1 +0,0 @@
            -gone
        "#]]
        .assert_eq(&deleted);
    }

    #[test]
    fn diff_of_a_pure_rename_is_a_rename_header() {
        let diff = unified_diff(Some("old.txt"), Some("new.txt"), "same\n", "same\n");
        expect![[r#"
            diff --git a/old.txt b/new.txt
            rename from old.txt
            rename to new.txt
        "#]]
        .assert_eq(&diff);
    }

    #[test]
    fn diff_of_a_rename_with_an_edit_is_the_edit_under_both_names() {
        let diff = unified_diff(Some("old.txt"), Some("new.txt"), "one\n", "two\n");
        expect![[r#"
            --- a/old.txt
            +++ b/new.txt
            @@ -1 +1 @@
            -one
            +two
        "#]]
        .assert_eq(&diff);
    }

    #[test]
    fn diff_of_unchanged_text_is_empty() {
        assert_eq!(unified_diff(Some("a.rs"), Some("a.rs"), "x\n", "x\n"), "");
        assert_eq!(unified_diff(None, Some("empty.rs"), "", ""), "");
    }
}
