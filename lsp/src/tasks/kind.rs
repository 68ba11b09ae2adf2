//! The tasks a user can hand the agent from a code action, what each asks of the
//! model, and the cheap text checks that decide which actions a spot offers
//! (`codeAction` runs on every cursor move in VS Code: a few lines are scanned,
//! never the file).

use std::borrow::Cow;

use lsp_types::{Diagnostic, DiagnosticSeverity, Range};
use ropey::Rope;

use crate::ext::command;

/// A task offered as a code action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TaskKind {
    Fix,
    Explain,
    Implement,
    WriteTests,
    DoComment,
}

impl TaskKind {
    pub(crate) const ALL: [TaskKind; 5] = [
        TaskKind::Fix,
        TaskKind::Explain,
        TaskKind::Implement,
        TaskKind::WriteTests,
        TaskKind::DoComment,
    ];

    /// The `workspace/executeCommand` command that starts it.
    pub(crate) fn command(self) -> &'static str {
        match self {
            TaskKind::Fix => command::FIX,
            TaskKind::Explain => command::EXPLAIN,
            TaskKind::Implement => command::IMPLEMENT,
            TaskKind::WriteTests => command::WRITE_TESTS,
            TaskKind::DoComment => command::DO_COMMENT,
        }
    }

    pub(crate) fn from_command(command: &str) -> Option<TaskKind> {
        TaskKind::ALL
            .into_iter()
            .find(|kind| kind.command() == command)
    }

    /// The title after `Agent: `.
    pub(crate) fn title(self) -> &'static str {
        match self {
            TaskKind::Fix => "Fix this",
            TaskKind::Explain => "Explain this",
            TaskKind::Implement => "Implement this",
            TaskKind::WriteTests => "Write tests for this",
            TaskKind::DoComment => "Do what the comment says",
        }
    }

    /// Whether the model should leave the files alone.
    pub(crate) fn read_only(self) -> bool {
        matches!(self, TaskKind::Explain)
    }
}

/// What a task asks of the model: the text of the user message.
pub(crate) fn task_text(
    kind: TaskKind,
    relative: &str,
    lines: (u32, u32),
    diagnostics: &[Diagnostic],
    instruction: Option<&str>,
) -> String {
    let place = format!("`{relative}` {}", line_label(lines));
    match kind {
        TaskKind::Fix => {
            let mut text = if diagnostics.is_empty() {
                // Helix's "Fix this" away from the diagnostic's columns.
                format!(
                    "Fix the problem in {place}. The editor sent no diagnostic for it: find \
                     what is wrong there (build or run the tests if you can) first.\n"
                )
            } else {
                format!("Fix the problem the editor reports in {place}:\n")
            };
            for diagnostic in diagnostics {
                text.push_str(&format!("- {}\n", describe_diagnostic(diagnostic)));
            }
            text.push_str(
                "Make the smallest change that fixes it, then say in a sentence or two what you changed.",
            );
            text
        }
        TaskKind::Explain => format!(
            "Explain what the code at {place} does and why, for a developer about to change it. \
             Do not change any file. Answer in Markdown."
        ),
        TaskKind::Implement => format!(
            "Implement the unfinished code at {place} (the `todo!()`, stub or TODO there). Keep \
             the existing signatures, make it work, then say briefly what you did."
        ),
        TaskKind::WriteTests => format!(
            "Write tests for the code at {place}, where and how this project keeps its tests. \
             Run them if you can, then say briefly what they cover."
        ),
        TaskKind::DoComment => format!(
            "Do what this instruction comment in {place} asks: \"{}\". Remove the instruction \
             comment when it is done, then say briefly what you did.",
            instruction.unwrap_or_default()
        ),
    }
}

/// `line 4` or `lines 4-9`, one-based.
pub(crate) fn line_label((first, last): (u32, u32)) -> String {
    if first == last {
        format!("line {first}")
    } else {
        format!("lines {first}-{last}")
    }
}

/// `error: expected i32, found &str (rustc E0308) at line 3`.
pub(crate) fn describe_diagnostic(diagnostic: &Diagnostic) -> String {
    let severity = match diagnostic.severity {
        Some(DiagnosticSeverity::ERROR) => "error",
        Some(DiagnosticSeverity::WARNING) => "warning",
        Some(DiagnosticSeverity::INFORMATION) => "info",
        Some(DiagnosticSeverity::HINT) => "hint",
        _ => "problem",
    };
    let mut origin = diagnostic.source.clone().unwrap_or_default();
    if let Some(code) = &diagnostic.code {
        let code = match code {
            lsp_types::NumberOrString::Number(number) => number.to_string(),
            lsp_types::NumberOrString::String(text) => text.clone(),
        };
        if !origin.is_empty() {
            origin.push(' ');
        }
        origin.push_str(&code);
    }
    let origin = if origin.is_empty() {
        String::new()
    } else {
        format!(" ({origin})")
    };
    format!(
        "{severity}: {}{origin} at line {}",
        diagnostic.message.trim(),
        diagnostic.range.start.line + 1
    )
}

/// How far around the cursor the cheap checks look.
const LOOK_ABOVE: usize = 3;
const LOOK_BELOW: usize = 12;

/// Markers of unfinished code, any language.
const UNFINISHED: [&str; 7] = [
    "todo!(",
    "unimplemented!(",
    "TODO",
    "FIXME",
    "NotImplementedError",
    "not implemented",
    "Not implemented",
];

/// Whether there is unfinished code (a `todo!()`, a TODO comment, a stub body)
/// at the lines of `range` or just below them.
pub(crate) fn has_unfinished_code(text: &Rope, range: &Range) -> bool {
    lines_around(text, range, 1, LOOK_BELOW).any(|line| {
        let trimmed = line.trim();
        UNFINISHED.iter().any(|marker| line.contains(marker))
            || trimmed == "pass"
            || trimmed == "..."
            // Python's one-line stubs: `def f(): ...`, `def f(): pass`.
            || (trimmed.starts_with("def ") && (trimmed.ends_with(": ...") || trimmed.ends_with(": pass")))
    })
}

/// The instruction of an `agent:` comment in or just above `range`
/// (`// agent: make this iterative`), with its one-based line.
pub(crate) fn instruction_comment(text: &Rope, range: &Range) -> Option<(u32, String)> {
    let first = (range.start.line as usize).saturating_sub(LOOK_ABOVE);
    let lines: Vec<Cow<'_, str>> = lines_between(text, first, range.end.line as usize).collect();
    lines.iter().enumerate().rev().find_map(|(offset, line)| {
        let instruction = parse_instruction(line)?;
        Some(((first + offset) as u32 + 1, instruction))
    })
}

fn parse_instruction(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    let body = ["//", "#", "--", "/*", "*"]
        .iter()
        .find_map(|opener| trimmed.strip_prefix(opener))?;
    let body = body.trim_start_matches(['/', '!', '*']).trim_start();
    let lower = body.get(..6)?.to_ascii_lowercase();
    if lower != "agent:" {
        return None;
    }
    let instruction = body[6..].trim().trim_end_matches("*/").trim();
    (!instruction.is_empty()).then(|| instruction.to_string())
}

fn lines_around<'a>(
    text: &'a Rope,
    range: &Range,
    above: usize,
    below: usize,
) -> impl Iterator<Item = Cow<'a, str>> + 'a {
    let first = (range.start.line as usize).saturating_sub(above);
    lines_between(text, first, range.end.line as usize + below)
}

/// Lines `first..=last` of the text, those that exist, borrowed where the rope
/// holds a line in one piece: one descent of the rope, not one per line, since
/// code actions ask for these on every cursor move.
fn lines_between(text: &Rope, first: usize, last: usize) -> impl Iterator<Item = Cow<'_, str>> {
    let n_lines = text.len_lines();
    let first = first.min(n_lines);
    let count = (last.min(n_lines.saturating_sub(1)) + 1).saturating_sub(first);
    text.lines_at(first).take(count).map(Cow::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::Position;

    fn range(line: u32) -> Range {
        Range::new(Position::new(line, 0), Position::new(line, 0))
    }

    #[test]
    fn instruction_comments_in_every_comment_style() {
        for (source, expected) in [
            (
                "// agent: make this iterative\nfn f() {}\n",
                Some("make this iterative"),
            ),
            ("# Agent: use a set\n", Some("use a set")),
            ("/* agent: inline it */\n", Some("inline it")),
            (
                "/// agent: document the panics\n",
                Some("document the panics"),
            ),
            ("// the agent: is not an instruction\n", None),
            ("// agent:\n", None),
        ] {
            let text = Rope::from_str(source);
            let found = instruction_comment(&text, &range(1)).map(|(_, text)| text);
            assert_eq!(found.as_deref(), expected, "{source:?}");
        }
    }

    #[test]
    fn unfinished_code_is_found_below_the_cursor_only_nearby() {
        let text = Rope::from_str("fn a() {\n    todo!()\n}\n");
        assert!(has_unfinished_code(&text, &range(0)));
        let far = format!("fn a() {{}}\n{}fn b() {{ todo!() }}\n", "\n".repeat(40));
        assert!(!has_unfinished_code(&Rope::from_str(&far), &range(0)));
        let python = Rope::from_str("def f():\n    pass\n");
        assert!(has_unfinished_code(&python, &range(0)));
        for one_line in ["def f(x): ...\n", "    def g(self) -> int: pass\n"] {
            assert!(
                has_unfinished_code(&Rope::from_str(one_line), &range(0)),
                "{one_line:?}"
            );
        }
        // A finished one-liner is not a stub.
        let done = Rope::from_str("def f(x): return x\n");
        assert!(!has_unfinished_code(&done, &range(0)));
    }

    #[test]
    fn fix_text_lists_the_diagnostics() {
        let diagnostic = Diagnostic {
            range: range(2),
            severity: Some(DiagnosticSeverity::ERROR),
            code: Some(lsp_types::NumberOrString::String("E0308".into())),
            source: Some("rustc".into()),
            message: "mismatched types".into(),
            ..Default::default()
        };
        let text = task_text(TaskKind::Fix, "src/lib.rs", (3, 3), &[diagnostic], None);
        expect_test::expect![[r#"
            Fix the problem the editor reports in `src/lib.rs` line 3:
            - error: mismatched types (rustc E0308) at line 3
            Make the smallest change that fixes it, then say in a sentence or two what you changed."#]]
        .assert_eq(&text);
    }
}
