//! The tasks a user can hand the agent from a code action, what each asks of the
//! model, and the cheap text checks that decide which actions a spot offers
//! (`codeAction` runs on every cursor move in VS Code: a few lines are scanned,
//! never the file).

use std::sync::LazyLock;

use lsp_types::{Diagnostic, DiagnosticSeverity, Range};
use memchr::memmem::Finder;
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

/// The instruction of an `agent:` comment in or just above `range`
/// (`// agent: make this iterative`), with its one-based line.
pub(crate) fn instruction_comment(text: &Rope, range: &Range) -> Option<(u32, String)> {
    Around::read(text, range).instruction_comment()
}

/// The lines around a spot that the cheap checks read (`LOOK_ABOVE` above
/// its first line to `LOOK_BELOW` below its last), copied out of the rope
/// once: `codeAction` makes both checks on every cursor move, and reading a
/// few hundred bytes from the rope's chunks costs less than walking it line
/// by line.
pub(crate) struct Around {
    /// The 0-based number of the first line in `text`.
    first: usize,
    /// The spot's first and last lines.
    spot: (usize, usize),
    text: String,
}

impl Around {
    pub(crate) fn read(text: &Rope, range: &Range) -> Around {
        let spot = (range.start.line as usize, range.end.line as usize);
        let n_lines = text.len_lines();
        let first = spot.0.saturating_sub(LOOK_ABOVE).min(n_lines);
        let start = text.line_to_byte(first);
        let end = text
            .line_to_byte((spot.1 + LOOK_BELOW + 1).min(n_lines))
            .max(start);
        let mut window = String::with_capacity(end - start);
        let (chunks, chunk_start, _, _) = text.chunks_at_byte(start);
        let mut at = chunk_start;
        for chunk in chunks {
            if at >= end {
                break;
            }
            let from = start.saturating_sub(at);
            let to = (end - at).min(chunk.len());
            // Line starts are char boundaries, and so are the chunks' ends.
            window.push_str(&chunk[from..to]);
            at += chunk.len();
        }
        Around {
            first,
            spot,
            text: window,
        }
    }

    /// Whether there is unfinished code on the line above the spot, its lines,
    /// or the `LOOK_BELOW` lines below it. The markers are searched across
    /// those lines at once with finders made once (no marker spans a line
    /// break); only the stub checks go line by line.
    pub(crate) fn has_unfinished_code(&self) -> bool {
        static FINDERS: LazyLock<Vec<Finder<'static>>> = LazyLock::new(|| {
            UNFINISHED
                .iter()
                .map(|marker| Finder::new(marker.as_bytes()))
                .collect()
        });
        let from = self.spot.0.saturating_sub(1);
        let Some(offset) = self
            .lines()
            .find(|(number, _, _)| *number >= from)
            .map(|(_, offset, _)| offset)
        else {
            return false;
        };
        let below = &self.text.as_bytes()[offset..];
        FINDERS.iter().any(|finder| finder.find(below).is_some())
            || self
                .lines()
                .filter(|(number, _, _)| *number >= from)
                .any(|(_, _, line)| {
                    let trimmed = line.trim();
                    trimmed == "pass"
                        || trimmed == "..."
                        // Python's one-line stubs: `def f(): ...`, `def f(): pass`.
                        || (trimmed.starts_with("def ")
                            && (trimmed.ends_with(": ...") || trimmed.ends_with(": pass")))
                })
    }

    /// The instruction of an `agent:` comment on the spot's lines or the
    /// `LOOK_ABOVE` lines above, the nearest the spot's end first, with its
    /// one-based line.
    pub(crate) fn instruction_comment(&self) -> Option<(u32, String)> {
        let lines: Vec<(usize, &str)> = self
            .lines()
            .take_while(|(number, _, _)| *number <= self.spot.1)
            .map(|(number, _, line)| (number, line))
            .collect();
        lines.iter().rev().find_map(|(number, line)| {
            let instruction = parse_instruction(line)?;
            Some((*number as u32 + 1, instruction))
        })
    }

    /// The window's lines: each line's number, where it starts in the window,
    /// and its text without its line break. Lines end where the rope's do: at
    /// LF, CR LF, or a CR alone (ropey is built with `cr_lines`).
    fn lines(&self) -> impl Iterator<Item = (usize, usize, &str)> + '_ {
        let text = self.text.as_str();
        let mut offset = 0;
        let mut number = self.first;
        std::iter::from_fn(move || {
            if offset >= text.len() {
                return None;
            }
            let rest = &text[offset..];
            let (length, next) = match memchr::memchr2(b'\n', b'\r', rest.as_bytes()) {
                Some(at) if rest[at..].starts_with("\r\n") => (at, at + 2),
                Some(at) => (at, at + 1),
                None => (rest.len(), rest.len()),
            };
            let line = (number, offset, &rest[..length]);
            offset += next;
            number += 1;
            Some(line)
        })
    }
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

    fn has_unfinished_code(text: &Rope, line: u32) -> bool {
        Around::read(text, &range(line)).has_unfinished_code()
    }

    #[test]
    fn unfinished_code_is_found_below_the_cursor_only_nearby() {
        let text = Rope::from_str("fn a() {\n    todo!()\n}\n");
        assert!(has_unfinished_code(&text, 0));
        let far = format!("fn a() {{}}\n{}fn b() {{ todo!() }}\n", "\n".repeat(40));
        assert!(!has_unfinished_code(&Rope::from_str(&far), 0));
        let python = Rope::from_str("def f():\n    pass\n");
        assert!(has_unfinished_code(&python, 0));
        for one_line in ["def f(x): ...\n", "    def g(self) -> int: pass\n"] {
            assert!(
                has_unfinished_code(&Rope::from_str(one_line), 0),
                "{one_line:?}"
            );
        }
        // A finished one-liner is not a stub.
        let done = Rope::from_str("def f(x): return x\n");
        assert!(!has_unfinished_code(&done, 0));
    }

    /// The checks on the copied window answer as reading the rope line by line
    /// does, at every line of texts with markers and comments at the window's
    /// edges, CR LF and lone CR line ends, stubs and multi-byte characters.
    #[test]
    fn checks_on_the_window_match_reading_line_by_line() {
        fn line_by_line(text: &Rope, line: usize) -> bool {
            let first = line.saturating_sub(1);
            let last = (line + LOOK_BELOW).min(text.len_lines() - 1);
            (first..=last).any(|index| {
                let line = text.line(index).to_string();
                let trimmed = line.trim();
                UNFINISHED.iter().any(|marker| line.contains(marker))
                    || trimmed == "pass"
                    || trimmed == "..."
                    || (trimmed.starts_with("def ")
                        && (trimmed.ends_with(": ...") || trimmed.ends_with(": pass")))
            })
        }
        fn comment_line_by_line(text: &Rope, line: usize) -> Option<(u32, String)> {
            let first = line.saturating_sub(LOOK_ABOVE);
            let last = line.min(text.len_lines() - 1);
            (first..=last).rev().find_map(|index| {
                let instruction = parse_instruction(&text.line(index).to_string())?;
                Some((index as u32 + 1, instruction))
            })
        }
        let filler = |n: usize, end: &str| format!("let x = 1;{end}").repeat(n);
        let texts = [
            format!("{}    todo!()\n{}", filler(20, "\n"), filler(20, "\n")),
            format!(
                "{}// FIXME later\r\n{}",
                filler(15, "\r\n"),
                filler(15, "\r\n")
            ),
            format!("{}    pass\r{}", filler(10, "\r"), filler(10, "\r")),
            format!("def f():\r\n    pass\r\n{}", filler(30, "\r\n")),
            format!("{}def g(self): ...", filler(25, "\n")),
            format!(
                "{}// agent: first\r\n# agent: second\r{}",
                filler(8, "\r\n"),
                filler(8, "\n")
            ),
            format!("// agent: é à ü\n{}/* agent: last */", filler(6, "\n")),
            // Windows across the rope's chunks (about 1 KiB each), in ASCII
            // and in two-byte characters.
            format!(
                "{}    todo!()\n{}// agent: x\n{}",
                filler(300, "\n"),
                filler(5, "\n"),
                filler(300, "\n")
            ),
            format!(
                "{}  FIXME\n{}",
                format!("{}\n", "é".repeat(37)).repeat(200),
                format!("{}\r\n", "ü".repeat(41)).repeat(200)
            ),
            filler(40, "\n"),
            String::new(),
        ];
        for source in &texts {
            let text = Rope::from_str(source);
            for line in 0..text.len_lines() + 2 {
                assert_eq!(
                    has_unfinished_code(&text, line as u32),
                    line_by_line(&text, line),
                    "line {line} of {source:?}"
                );
                assert_eq!(
                    instruction_comment(&text, &range(line as u32)),
                    comment_line_by_line(&text, line),
                    "line {line} of {source:?}"
                );
            }
        }
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
