//! Table tests of the patch grammar and its application, through `plan_patch`
//! over an in-memory workspace.

use std::path::PathBuf;

use super::super::{plan_patch, ToolError};
use super::{patch_summary, plan_patch_text};
use crate::testing::{MemoryWorkspace, ROOT};
use crate::workspace::{FileChange, FileSnapshot, Workspace};

/// Each changed file: (path relative to the root, new text or `None` for a delete).
type Changed = Result<Vec<(String, Option<String>)>, String>;

/// Apply `patch` to `files` in memory.
fn check(files: &[(&str, &str)], patch: &str) -> Changed {
    let workspace = MemoryWorkspace::new(files);
    match plan_patch_text(patch, &workspace) {
        Ok(changes) => Ok(changes
            .files
            .into_iter()
            .map(|(path, change)| {
                let relative = path.strip_prefix(ROOT).unwrap().display().to_string();
                (relative, change.proposed)
            })
            .collect()),
        Err(ToolError::Respond(message)) => Err(message),
        Err(ToolError::Fatal(message)) => panic!("fatal: {message}"),
    }
}

fn wrap(body: &str) -> String {
    format!("*** Begin Patch\n{body}*** End Patch\n")
}

fn changed(path: &str, text: &str) -> (String, Option<String>) {
    (path.to_string(), Some(text.to_string()))
}

#[test]
fn tools_patch_parse_errors_name_the_line() {
    let cases: &[(&str, &str)] = &[
        (
            "",
            "invalid patch: the patch is empty; it must start with '*** Begin Patch'",
        ),
        (
            "hello\n*** End Patch",
            "invalid patch: line 1: the patch must start with '*** Begin Patch', got 'hello'",
        ),
        (
            "*** Begin Patch\n*** Add File: a.txt\n+x\n",
            "invalid patch: line 3: the patch must end with '*** End Patch', got '+x'",
        ),
        (
            "*** Begin Patch\n*** Delete File: a.txt\n*** End Patch\ntrailing words\n",
            "invalid patch: line 4: text after '*** End Patch': 'trailing words'",
        ),
        (
            "*** Begin Patch\n*** Rename File: a.txt\n*** End Patch",
            "invalid patch: line 2: '*** Rename File: a.txt' is not a file header; expected \
             '*** Add File: <path>', '*** Delete File: <path>' or '*** Update File: <path>'",
        ),
        (
            "*** Begin Patch\n*** Add File: a.txt\n+one\ntwo\n*** End Patch",
            "invalid patch: line 4: every line of an added file starts with '+', got 'two'",
        ),
        (
            "*** Begin Patch\n*** Update File: a.txt\n*** End Patch",
            "invalid patch: line 2: '*** Update File: a.txt' has no hunks",
        ),
        (
            "*** Begin Patch\n*** Update File: a.txt\n@@ fn main\n*** End Patch",
            "invalid patch: line 3: the @@ hunk in the changes to a.txt has no lines",
        ),
        (
            "*** Begin Patch\n*** Update File: a.txt\n@@\n-old\nnew\n*** End Patch",
            "invalid patch: line 5: unexpected line 'new' in the changes to a.txt; every line \
             of a hunk starts with ' ' (context), '-' (removed) or '+' (added)",
        ),
        (
            "*** Begin Patch\n*** Update File: a.txt\n@@\n*** End of File\n*** End Patch",
            "invalid patch: line 4: '*** End of File' must follow the lines of a hunk",
        ),
        (
            "*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n*** Move to: b.txt\n*** End Patch",
            "invalid patch: line 5: '*** Move to:' must come right after \
             '*** Update File: a.txt'",
        ),
        (
            "*** Begin Patch\n*** Move to: b.txt\n*** End Patch",
            "invalid patch: line 2: '*** Move to:' must come right after \
             '*** Update File: <path>'",
        ),
        (
            "*** Begin Patch\n*** Delete File:   \n*** End Patch",
            "invalid patch: line 2: '*** Delete File:' has no path",
        ),
        (
            "apply_patch <<'EOF'\n*** Begin Patch\n*** Delete File: a\n*** End Patch\n",
            "invalid patch: line 4: the heredoc opened on line 1 is not closed by 'EOF'",
        ),
        (
            "*** Begin Patch\n\n*** End Patch",
            "the patch changes no files: put '*** Add File:', '*** Delete File:' or \
             '*** Update File:' sections between '*** Begin Patch' and '*** End Patch'",
        ),
    ];
    for (patch, expected) in cases {
        assert_eq!(
            check(&[("a.txt", "a\n")], patch),
            Err(expected.to_string()),
            "{patch:?}"
        );
    }
}

#[test]
fn tools_patch_add_delete_update() {
    let files = [("a.txt", "one\ntwo\nthree\n"), ("old.txt", "bye\n")];
    let cases: Vec<(&str, String, Changed)> =
        vec![
        (
            "add",
            wrap("*** Add File: src/new.rs\n+fn main() {\n+\n+}\n"),
            Ok(vec![changed("src/new.rs", "fn main() {\n\n}\n")]),
        ),
        (
            "add with a blank line whose '+' the model dropped",
            wrap("*** Add File: b.txt\n+x\n\n+y\n\n"),
            Ok(vec![changed("b.txt", "x\n\ny\n")]),
        ),
        (
            "add an empty file",
            wrap("*** Add File: empty.txt\n"),
            Ok(vec![changed("empty.txt", "")]),
        ),
        (
            "add over an existing file",
            wrap("*** Add File: a.txt\n+x\n"),
            Err("cannot add a.txt: it already exists; use '*** Update File: a.txt' to change it"
                .to_string()),
        ),
        (
            "delete",
            wrap("*** Delete File: old.txt\n"),
            Ok(vec![("old.txt".to_string(), None)]),
        ),
        (
            "delete a missing file",
            wrap("*** Delete File: gone.txt\n"),
            Err("cannot delete gone.txt: it does not exist".to_string()),
        ),
        (
            "update",
            wrap("*** Update File: a.txt\n@@\n one\n-two\n+2\n three\n"),
            Ok(vec![changed("a.txt", "one\n2\nthree\n")]),
        ),
        (
            "update without the first @@",
            wrap("*** Update File: a.txt\n-two\n+2\n"),
            Ok(vec![changed("a.txt", "one\n2\nthree\n")]),
        ),
        (
            "update a missing file",
            wrap("*** Update File: gone.txt\n@@\n-x\n+y\n"),
            Err("cannot update gone.txt: it does not exist".to_string()),
        ),
        (
            "lines not found",
            wrap("*** Update File: a.txt\n@@\n one\n-zwei\n+2\n"),
            Err("failed to find the expected lines in a.txt:\none\nzwei".to_string()),
        ),
        (
            "padding around markers",
            "  *** Begin Patch  \n*** Update File:   a.txt  \n@@\n-two\n+2\n  *** End Patch  "
                .to_string(),
            Ok(vec![changed("a.txt", "one\n2\nthree\n")]),
        ),
        (
            "outside the root",
            wrap("*** Add File: ../evil.txt\n+x\n"),
            Err("../evil.txt is outside the workspace root /ws".to_string()),
        ),
        (
            "absolute path inside the root",
            wrap("*** Update File: /ws/a.txt\n@@\n-one\n+1\n"),
            Ok(vec![changed("a.txt", "1\ntwo\nthree\n")]),
        ),
        (
            "absolute path outside the root",
            wrap("*** Delete File: /etc/passwd\n"),
            Err("/etc/passwd is outside the workspace root /ws".to_string()),
        ),
        (
            "a hunk of context only changes nothing",
            wrap("*** Update File: a.txt\n@@\n two\n"),
            Ok(vec![]),
        ),
    ];
    for (name, patch, expected) in cases {
        assert_eq!(check(&files, &patch), expected, "{name}");
    }
}

#[test]
fn tools_patch_locating_hunks() {
    let rust =
        "fn first() {\n    let x = 1;\n    x\n}\n\nfn second() {\n    let x = 1;\n    x\n}\n";
    let cases: Vec<(&str, String, Result<String, String>)> = vec![
        (
            "@@ context picks the second function",
            wrap("*** Update File: lib.rs\n@@ fn second() {\n-    let x = 1;\n+    let x = 2;\n"),
            Ok(rust.replacen("fn second() {\n    let x = 1;", "fn second() {\n    let x = 2;", 1)),
        ),
        (
            "@@ context may be part of the line",
            wrap("*** Update File: lib.rs\n@@ fn second\n-    let x = 1;\n+    let x = 2;\n"),
            Ok(rust.replacen("fn second() {\n    let x = 1;", "fn second() {\n    let x = 2;", 1)),
        ),
        (
            "the same lines twice without context are ambiguous",
            wrap("*** Update File: lib.rs\n@@\n-    let x = 1;\n+    let x = 2;\n"),
            Err("the expected lines occur 2 times in lib.rs (at lines 2, 7); add an '@@' line \
                 naming the enclosing function or class, or more context lines, to pick one:\n    let x = 1;"
                .to_string()),
        ),
        (
            "@@ context not found",
            wrap("*** Update File: lib.rs\n@@ fn third\n-    x\n+    y\n"),
            Err("failed to find the context line 'fn third' in lib.rs".to_string()),
        ),
        (
            "stacked @@ contexts narrow in turn",
            wrap("*** Update File: lib.rs\n@@ fn first\n@@ fn second\n     let x = 1;\n-    x\n+    x + 1\n"),
            Ok(rust.replacen("    x\n}\n", "    x + 1\n}\n", 2).replacen("    x + 1\n}\n", "    x\n}\n", 1)),
        ),
        (
            "unified-diff ranges after @@ are ignored",
            wrap("*** Update File: lib.rs\n@@ -6,3 +6,3 @@ fn second() {\n-    let x = 1;\n+    let x = 3;\n"),
            Ok(rust.replacen("fn second() {\n    let x = 1;", "fn second() {\n    let x = 3;", 1)),
        ),
        (
            "bare unified-diff ranges mean no context",
            wrap("*** Update File: lib.rs\n@@ -1,2 +1,2 @@\n-fn first() {\n+fn first_renamed() {\n"),
            Ok(rust.replacen("fn first()", "fn first_renamed()", 1)),
        ),
        (
            "hunks apply in order, each after the previous",
            wrap("*** Update File: lib.rs\n@@\n fn first() {\n-    let x = 1;\n+    let x = 10;\n@@\n-    let x = 1;\n+    let x = 20;\n"),
            Ok(rust.replacen("let x = 1;", "let x = 10;", 1).replacen("let x = 1;", "let x = 20;", 1)),
        ),
        (
            "a hunk before the previous one is not found",
            wrap("*** Update File: lib.rs\n@@ fn second\n-    x\n+    y\n@@\n-fn first() {\n+fn one() {\n"),
            Err("failed to find the expected lines in lib.rs:\nfn first() {".to_string()),
        ),
        (
            "blank lines between hunks separate them",
            wrap("*** Update File: lib.rs\n@@ fn first\n-    x\n+    a\n\n@@ fn second\n-    x\n+    b\n\n"),
            Ok(rust.replacen("    x\n", "    a\n", 1).replacen("    x\n", "    b\n", 1)),
        ),
        (
            "an empty line inside a hunk is an empty context line",
            wrap("*** Update File: lib.rs\n@@\n }\n\n-fn second() {\n+fn two() {\n"),
            Ok(rust.replacen("fn second()", "fn two()", 1)),
        ),
        (
            "a trailing empty context line the file lacks is forgiven",
            wrap("*** Update File: lib.rs\n@@ fn second\n     x\n-}\n+} // end\n \n"),
            Ok(format!("{}}} // end\n", &rust[..rust.len() - 2])),
        ),
        (
            "pure addition after the @@ context",
            wrap("*** Update File: lib.rs\n@@ fn second() {\n+    // second\n"),
            Ok(rust.replacen("fn second() {\n", "fn second() {\n    // second\n", 1)),
        ),
        (
            "pure addition without context appends",
            wrap("*** Update File: lib.rs\n@@\n+// end\n"),
            Ok(format!("{rust}// end\n")),
        ),
        (
            "*** End of File anchors at the end",
            wrap("*** Update File: lib.rs\n@@\n     let x = 1;\n     x\n-}\n+} // last\n*** End of File\n"),
            Ok(format!("{}}} // last\n", &rust[..rust.len() - 2])),
        ),
        (
            "*** End of File lines not at the end",
            wrap("*** Update File: lib.rs\n@@\n-fn first() {\n+fn one() {\n*** End of File\n"),
            Err("failed to find the expected lines at the end of lib.rs:\nfn first() {".to_string()),
        ),
    ];
    for (name, patch, expected) in cases {
        let got = check(&[("lib.rs", rust)], &patch).map(|mut files| {
            assert_eq!(files.len(), 1, "{name}");
            files.remove(0).1.unwrap()
        });
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn tools_patch_tolerant_matching() {
    let cases: Vec<(&str, &str, String, Result<&str, String>)> = vec![
        (
            "trailing whitespace in the file",
            "a  \nb\t\nc\n",
            wrap("*** Update File: f.txt\n@@\n a\n-b\n+B\n"),
            Ok("a  \nB\nc\n"),
        ),
        (
            "leading whitespace differs; context keeps the file's text",
            "    if x {\n        y();\n    }\n",
            wrap("*** Update File: f.txt\n@@\n if x {\n-    y();\n+        z();\n"),
            Ok("    if x {\n        z();\n    }\n"),
        ),
        (
            "typographic punctuation in the file",
            "let s = \u{201C}hi\u{201D};\nlet d = 1 \u{2013} 2;\nlet n = a\u{00A0}b;\n",
            wrap("*** Update File: f.txt\n@@\n let s = \"hi\";\n-let d = 1 - 2;\n+let d = 3;\n let n = a b;\n"),
            Ok("let s = \u{201C}hi\u{201D};\nlet d = 3;\nlet n = a\u{00A0}b;\n"),
        ),
        (
            "typographic punctuation in the patch",
            "say('it's')\n",
            wrap("*** Update File: f.txt\n@@\n-say(\u{2018}it\u{2019}s\u{2019})\n+say(\"it's\")\n"),
            Ok("say(\"it's\")\n"),
        ),
        (
            "an exact match beats a tolerant one elsewhere",
            "x = 1 \nx = 1\n",
            wrap("*** Update File: f.txt\n@@\n-x = 1\n+x = 2\n"),
            Ok("x = 1 \nx = 2\n"),
        ),
        (
            "a tolerant match that is not unique is ambiguous",
            "  x\n\tx\n",
            wrap("*** Update File: f.txt\n@@\n-x\n+y\n"),
            Err("the expected lines occur 2 times in f.txt (at lines 1, 2); add an '@@' line \
                 naming the enclosing function or class, or more context lines, to pick one:\nx"
                .to_string()),
        ),
    ];
    for (name, text, patch, expected) in cases {
        let got = check(&[("f.txt", text)], &patch).map(|mut files| files.remove(0).1.unwrap());
        assert_eq!(got, expected.map(str::to_string), "{name}");
    }
}

#[test]
fn tools_patch_line_endings_and_final_newline() {
    let cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "crlf stays crlf",
            "one\r\ntwo\r\nthree\r\n",
            wrap("*** Update File: f.txt\n@@\n one\n-two\n+2\n+2.5\n"),
            "one\r\n2\r\n2.5\r\nthree\r\n",
        ),
        (
            "crlf patch text on an lf file",
            "one\ntwo\n",
            "*** Begin Patch\r\n*** Update File: f.txt\r\n@@\r\n-two\r\n+2\r\n*** End Patch\r\n"
                .to_string(),
            "one\n2\n",
        ),
        (
            "no final newline stays so",
            "one\ntwo",
            wrap("*** Update File: f.txt\n@@\n-two\n+2\n"),
            "one\n2",
        ),
        (
            "no final newline, lines appended at the end",
            "one\ntwo",
            wrap("*** Update File: f.txt\n@@\n two\n+three\n*** End of File\n"),
            "one\ntwo\nthree",
        ),
        (
            "no final newline, last line removed",
            "one\ntwo",
            wrap("*** Update File: f.txt\n@@\n one\n-two\n"),
            "one",
        ),
        (
            "final newline kept when the last line is replaced",
            "one\ntwo\n",
            wrap("*** Update File: f.txt\n@@\n-two\n+2\n*** End of File\n"),
            "one\n2\n",
        ),
        (
            "crlf without a final newline",
            "a\r\nb",
            wrap("*** Update File: f.txt\n@@\n-a\n+A\n"),
            "A\r\nb",
        ),
        (
            "mixed endings: untouched lines keep theirs, new lines take the majority",
            "a\r\nb\nc\r\nd\r\n",
            wrap("*** Update File: f.txt\n@@\n-b\n+B\n"),
            "a\r\nB\r\nc\r\nd\r\n",
        ),
    ];
    for (name, text, patch, expected) in cases {
        let got = check(&[("f.txt", text)], &patch).map(|mut files| files.remove(0).1.unwrap());
        assert_eq!(got, Ok(expected.to_string()), "{name}");
    }
}

#[test]
fn tools_patch_moves() {
    let files = [("src/old.rs", "fn a() {}\n"), ("src/taken.rs", "x\n")];
    let workspace = MemoryWorkspace::new(&files);
    let changes = plan_patch_text(
        &wrap("*** Update File: src/old.rs\n*** Move to: src/new.rs\n@@\n-fn a() {}\n+fn b() {}\n"),
        &workspace,
    )
    .unwrap();
    assert_eq!(
        changes.files.into_iter().collect::<Vec<_>>(),
        vec![(
            PathBuf::from("/ws/src/new.rs"),
            FileChange {
                base: Some(FileSnapshot {
                    text: "fn a() {}\n".into(),
                    version: Some(1),
                }),
                proposed: Some("fn b() {}\n".into()),
                moved_from: Some(PathBuf::from("/ws/src/old.rs")),
            }
        )]
    );

    let cases: Vec<(&str, String, Changed)> = vec![
        (
            "move with unchanged content",
            wrap("*** Update File: src/old.rs\n*** Move to: lib/old.rs\n@@\n fn a() {}\n"),
            Ok(vec![changed("lib/old.rs", "fn a() {}\n")]),
        ),
        (
            "move onto an existing file",
            wrap("*** Update File: src/old.rs\n*** Move to: src/taken.rs\n@@\n fn a() {}\n"),
            Err("cannot move src/old.rs to src/taken.rs: src/taken.rs already exists".to_string()),
        ),
        (
            "move outside the root",
            wrap("*** Update File: src/old.rs\n*** Move to: ../../x.rs\n@@\n fn a() {}\n"),
            Err("../../x.rs is outside the workspace root /ws".to_string()),
        ),
        (
            "move of a missing file",
            wrap("*** Update File: src/gone.rs\n*** Move to: src/new.rs\n@@\n-x\n+y\n"),
            Err("cannot update src/gone.rs: it does not exist".to_string()),
        ),
        (
            "move onto itself is a plain update",
            wrap("*** Update File: src/old.rs\n*** Move to: ./src/old.rs\n@@\n-fn a() {}\n+fn c() {}\n"),
            Ok(vec![changed("src/old.rs", "fn c() {}\n")]),
        ),
    ];
    for (name, patch, expected) in cases {
        assert_eq!(check(&files, &patch), expected, "{name}");
    }
}

#[test]
fn tools_patch_multiple_files() {
    let files = [
        ("a.txt", "alpha\n"),
        ("b.txt", "beta\n"),
        ("c.txt", "gamma\n"),
    ];
    let patch = wrap(
        "*** Add File: d.txt\n+delta\n*** Update File: a.txt\n@@\n-alpha\n+ALPHA\n\
         *** Delete File: b.txt\n*** Update File: c.txt\n*** Move to: e.txt\n@@\n-gamma\n+epsilon\n",
    );
    let workspace = MemoryWorkspace::new(&files);
    let changes = plan_patch_text(&patch, &workspace).unwrap();
    assert_eq!(
        patch_summary(&changes, workspace.root()),
        "M a.txt\nD b.txt\nA d.txt\nR c.txt -> e.txt"
    );
    assert_eq!(
        check(&files, &patch),
        Ok(vec![
            changed("a.txt", "ALPHA\n"),
            ("b.txt".to_string(), None),
            changed("d.txt", "delta\n"),
            changed("e.txt", "epsilon\n"),
        ])
    );

    let duplicates = [
        wrap("*** Update File: a.txt\n@@\n-alpha\n+1\n*** Update File: ./a.txt\n@@\n-1\n+2\n"),
        wrap("*** Delete File: a.txt\n*** Add File: a.txt\n+new\n"),
        wrap("*** Update File: c.txt\n*** Move to: a2.txt\n@@\n-gamma\n+g\n*** Add File: a2.txt\n+x\n"),
    ];
    let expected = [
        "the patch touches a.txt more than once: put all its changes in one '*** Update File:' section",
        "the patch touches a.txt more than once: put all its changes in one '*** Update File:' section",
        "the patch touches a2.txt more than once: put all its changes in one '*** Update File:' section",
    ];
    for (patch, expected) in duplicates.iter().zip(expected) {
        assert_eq!(check(&files, patch), Err(expected.to_string()), "{patch}");
    }

    // One bad file fails the whole patch: nothing is half-applied.
    let half =
        wrap("*** Update File: a.txt\n@@\n-alpha\n+A\n*** Update File: b.txt\n@@\n-nope\n+x\n");
    assert_eq!(
        check(&files, &half),
        Err("failed to find the expected lines in b.txt:\nnope".to_string())
    );
}

#[test]
fn tools_patch_wrappings_and_arguments() {
    let files = [("a.txt", "one\n")];
    let body = "*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+1\n*** End Patch";
    let expected = Ok(vec![changed("a.txt", "1\n")]);
    let texts = [
        format!("apply_patch <<'EOF'\n{body}\nEOF\n"),
        format!("applypatch <<\"PATCH\"\n{body}\nPATCH"),
        format!("<<EOF\n{body}\nEOF"),
        format!("\n\n{body}\n\n"),
    ];
    for text in &texts {
        assert_eq!(check(&files, text), expected, "{text:?}");
    }

    let workspace = MemoryWorkspace::new(&files);
    let json = serde_json::json!({ "input": body }).to_string();
    let via_input = plan_patch(&json, &workspace).unwrap();
    let via_raw = plan_patch(body, &workspace).unwrap();
    let via_patch_key = plan_patch(
        &serde_json::json!({ "patch": body }).to_string(),
        &workspace,
    )
    .unwrap();
    assert_eq!(via_input, via_raw);
    assert_eq!(via_input, via_patch_key);
    assert_eq!(
        via_input.files[&PathBuf::from("/ws/a.txt")].base,
        Some(FileSnapshot {
            text: "one\n".into(),
            version: Some(1)
        })
    );

    assert_eq!(
        plan_patch(r#"{"inptu": "x"}"#, &workspace),
        Err(ToolError::Respond(
            "invalid apply_patch arguments: expected {\"input\": \"*** Begin Patch\\n…\\n*** End Patch\"}"
                .into()
        ))
    );
    let Err(ToolError::Respond(message)) = plan_patch(r#"{"input": 3}"#, &workspace) else {
        panic!("a number is not a patch");
    };
    assert!(
        message.starts_with("invalid apply_patch arguments: "),
        "{message}"
    );
}

#[tokio::test]
async fn tools_patch_planned_changes_land_and_read_back() {
    let workspace = MemoryWorkspace::new(&[("a.txt", "one\n")]);
    let changes = plan_patch_text(
        &wrap("*** Update File: a.txt\n@@\n-one\n+two\n"),
        &workspace,
    )
    .unwrap();
    workspace.apply(changes).await.unwrap();
    let snapshot = workspace.read_file(&PathBuf::from("/ws/a.txt")).unwrap();
    assert_eq!(snapshot.text, "two\n");
}
