//! `shell`: its arguments, and how a finished command is told to the model. The
//! running (approval, sandbox, streaming) is the loop's.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{parse_arguments, ToolError};
use crate::process::CommandOutcome;

/// A parsed `shell` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellArgs {
    /// The program and its arguments; a script arrives as `["bash", "-lc", script]`.
    pub argv: Vec<String>,
    /// As the model wrote it; resolve it with `resolve_in_workspace`.
    pub workdir: Option<PathBuf>,
    pub timeout: Option<Duration>,
    /// Why the model wants the command, shown with an approval request.
    pub justification: Option<String>,
}

#[derive(Deserialize)]
struct ShellParams {
    command: serde_json::Value,
    workdir: Option<PathBuf>,
    timeout_ms: Option<u64>,
    justification: Option<String>,
}

/// Parse `{"command": ["cargo", "test"]}` or `{"command": "cargo test && ls"}`
/// (a script, run as `bash -lc`), with optional `workdir`, `timeout_ms` and
/// `justification`.
pub fn parse_shell_args(arguments: &str) -> Result<ShellArgs, ToolError> {
    let params: ShellParams = parse_arguments("shell", arguments)?;
    let argv = match params.command {
        serde_json::Value::String(script) => vec!["bash".to_string(), "-lc".to_string(), script],
        serde_json::Value::Array(words) => {
            let mut argv = Vec::with_capacity(words.len());
            for word in words {
                match word {
                    serde_json::Value::String(word) => argv.push(word),
                    other => {
                        return Err(ToolError::Respond(format!(
                            "every word of command must be a string, got {other}"
                        )))
                    }
                }
            }
            argv
        }
        other => {
            return Err(ToolError::Respond(format!(
                "command must be an argv array of strings or a script string, got {other}"
            )))
        }
    };
    let is_empty = match argv.as_slice() {
        [] => true,
        [program, ..] if program.trim().is_empty() => true,
        [_, flag, script] if flag == "-lc" => script.trim().is_empty(),
        _ => false,
    };
    if is_empty {
        return Err(ToolError::Respond(
            "the command is empty: give an argv array such as [\"cargo\", \"test\"] or a script string"
                .to_string(),
        ));
    }
    if params.timeout_ms == Some(0) {
        return Err(ToolError::Respond(
            "timeout_ms 0 leaves the command no time: give milliseconds above 0".to_string(),
        ));
    }
    Ok(ShellArgs {
        argv,
        workdir: params
            .workdir
            .filter(|workdir| !workdir.as_os_str().is_empty()),
        timeout: params.timeout_ms.map(Duration::from_millis),
        justification: params
            .justification
            .map(|text| text.trim().to_string())
            .filter(|text| !text.is_empty()),
    })
}

/// The patch text when a command is really an `apply_patch` call, as models
/// trained on Codex send it through the shell: `["apply_patch", patch]` or
/// `["bash", "-lc", "apply_patch <<'EOF'\n…\nEOF"]`. Feed it to `plan_patch_text`.
pub fn patch_from_shell(argv: &[String]) -> Option<String> {
    let is_apply_patch = |name: &str| name == "apply_patch" || name == "applypatch";
    match argv {
        [program, patch] if is_apply_patch(program) => Some(patch.clone()),
        [shell, flag, script]
            if matches!(shell.as_str(), "bash" | "sh" | "zsh")
                && matches!(flag.as_str(), "-lc" | "-c") =>
        {
            let first_word = script.split_whitespace().next()?;
            let first_word = first_word.split("<<").next().unwrap_or(first_word);
            is_apply_patch(first_word).then(|| script.clone())
        }
        _ => None,
    }
}

/// What the model reads after a command: exit code, wall time and the output
/// (stdout then stderr), cut to `budget_bytes` by keeping the head and the tail
/// around a marker that says how much was left out.
pub fn format_command_output(outcome: &CommandOutcome, budget_bytes: usize) -> String {
    let mut out = String::new();
    match outcome.exit_code {
        Some(code) => out.push_str(&format!("exit code: {code}\n")),
        None => out.push_str("exit code: none (ended by a signal)\n"),
    }
    out.push_str(&format!(
        "wall time: {:.1} s\n",
        outcome.duration.as_secs_f64()
    ));
    if outcome.timed_out {
        out.push_str("the command timed out and was killed\n");
    }
    if outcome.sandbox_denied {
        out.push_str("the sandbox denied something the command tried (a write outside the workspace or a network connection)\n");
    }
    for note in &outcome.notes {
        out.push_str(note);
        out.push('\n');
    }

    let stdout = String::from_utf8_lossy(&outcome.stdout);
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    let body = match (stdout.is_empty(), stderr.is_empty()) {
        (true, true) => {
            out.push_str("output: (none)\n");
            return out;
        }
        (false, true) => {
            out.push_str("output:\n");
            stdout.into_owned()
        }
        (true, false) => {
            out.push_str("output:\n");
            stderr.into_owned()
        }
        (false, false) => {
            let separator = if stdout.ends_with('\n') { "" } else { "\n" };
            format!("stdout:\n{stdout}{separator}stderr:\n{stderr}")
        }
    };
    out.push_str(&truncate_middle(&body, budget_bytes));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Keep the first and last parts of `text` within `budget` bytes, cutting at line
/// ends when one is near and never inside a UTF-8 character.
fn truncate_middle(text: &str, budget: usize) -> String {
    if text.len() <= budget {
        return text.to_string();
    }
    let head_budget = budget / 2;
    let tail_budget = budget - head_budget;

    let mut head_end = floor_char_boundary(text, head_budget);
    if let Some(newline) = text[..head_end].rfind('\n') {
        if newline + 1 >= head_end / 2 {
            head_end = newline + 1;
        }
    }
    let mut tail_start = ceil_char_boundary(text, text.len() - tail_budget);
    if let Some(newline) = text[tail_start..].find('\n') {
        let candidate = tail_start + newline + 1;
        if candidate < text.len() && text.len() - candidate >= tail_budget / 2 {
            tail_start = candidate;
        }
    }
    let cut = &text[head_end..tail_start];
    let cut_lines = cut.matches('\n').count();
    let mut out = String::with_capacity(budget + 80);
    out.push_str(&text[..head_end]);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "[… {} bytes ({cut_lines} lines) cut from the middle of the output …]\n",
        cut.len()
    ));
    out.push_str(&text[tail_start..]);
    out
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn ceil_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn tools_shell_parse_args() {
        let cases: Vec<(&str, Result<ShellArgs, String>)> = vec![
            (
                r#"{"command": ["cargo", "test"]}"#,
                Ok(ShellArgs {
                    argv: argv(&["cargo", "test"]),
                    workdir: None,
                    timeout: None,
                    justification: None,
                }),
            ),
            (
                r#"{"command": "cargo test 2>&1 | tail", "workdir": "core", "timeout_ms": 1500, "justification": " run the tests "}"#,
                Ok(ShellArgs {
                    argv: argv(&["bash", "-lc", "cargo test 2>&1 | tail"]),
                    workdir: Some(PathBuf::from("core")),
                    timeout: Some(Duration::from_millis(1500)),
                    justification: Some("run the tests".into()),
                }),
            ),
            (
                r#"{"command": ["ls"], "workdir": "", "justification": "  "}"#,
                Ok(ShellArgs {
                    argv: argv(&["ls"]),
                    workdir: None,
                    timeout: None,
                    justification: None,
                }),
            ),
            (
                r#"{"command": []}"#,
                Err("the command is empty: give an argv array such as [\"cargo\", \"test\"] or a script string".into()),
            ),
            (
                r#"{"command": "   "}"#,
                Err("the command is empty: give an argv array such as [\"cargo\", \"test\"] or a script string".into()),
            ),
            (
                r#"{"command": ["ls"], "timeout_ms": 0}"#,
                Err("timeout_ms 0 leaves the command no time: give milliseconds above 0".into()),
            ),
            (
                r#"{"cmd": ["ls"]}"#,
                Err("invalid shell arguments: missing field `command` at line 1 column 15".into()),
            ),
            (
                r#"{"command": [1, 2]}"#,
                Err("every word of command must be a string, got 1".into()),
            ),
            (
                r#"{"command": {"program": "ls"}}"#,
                Err("command must be an argv array of strings or a script string, got {\"program\":\"ls\"}".into()),
            ),
            (
                r#"{"command": ["ls"], "timeout_ms": -5}"#,
                Err("invalid shell arguments: invalid value: integer `-5`, expected u64 at line 1 column 36".into()),
            ),
        ];
        for (arguments, expected) in cases {
            let expected = expected.map_err(ToolError::Respond);
            assert_eq!(parse_shell_args(arguments), expected, "{arguments}");
        }
    }

    #[test]
    fn tools_shell_patch_from_shell() {
        let patch = "*** Begin Patch\n*** Delete File: a\n*** End Patch";
        let heredoc = format!("apply_patch <<'EOF'\n{patch}\nEOF\n");
        let cases: Vec<(Vec<String>, Option<String>)> = vec![
            (argv(&["apply_patch", patch]), Some(patch.to_string())),
            (argv(&["applypatch", patch]), Some(patch.to_string())),
            (argv(&["bash", "-lc", &heredoc]), Some(heredoc.clone())),
            (
                argv(&["bash", "-lc", "apply_patch<<EOF\nx\nEOF"]),
                Some("apply_patch<<EOF\nx\nEOF".to_string()),
            ),
            (argv(&["bash", "-lc", "cargo test"]), None),
            (argv(&["apply_patch"]), None),
            (argv(&["bash", "-lc", "apply_patches"]), None),
            (argv(&["python", "-c", "apply_patch"]), None),
        ];
        for (command, expected) in cases {
            assert_eq!(patch_from_shell(&command), expected, "{command:?}");
        }
    }

    fn outcome(stdout: &str, stderr: &str, exit_code: Option<i32>) -> CommandOutcome {
        CommandOutcome {
            exit_code,
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
            timed_out: false,
            sandbox_denied: false,
            duration: Duration::from_millis(1234),
            notes: Vec::new(),
        }
    }

    #[test]
    fn tools_shell_format_output() {
        let cases: Vec<(CommandOutcome, &str)> = vec![
            (
                outcome("ok\n", "", Some(0)),
                "exit code: 0\nwall time: 1.2 s\noutput:\nok\n",
            ),
            (
                outcome("", "boom", Some(101)),
                "exit code: 101\nwall time: 1.2 s\noutput:\nboom\n",
            ),
            (
                outcome("out", "err\n", Some(1)),
                "exit code: 1\nwall time: 1.2 s\nstdout:\nout\nstderr:\nerr\n",
            ),
            (
                CommandOutcome {
                    timed_out: true,
                    sandbox_denied: true,
                    ..outcome("", "", None)
                },
                "exit code: none (ended by a signal)\nwall time: 1.2 s\n\
                 the command timed out and was killed\n\
                 the sandbox denied something the command tried (a write outside the workspace or a network connection)\n\
                 output: (none)\n",
            ),
        ];
        for (outcome, expected) in cases {
            assert_eq!(format_command_output(&outcome, 1000), expected);
        }
    }

    #[test]
    fn tools_shell_format_output_keeps_head_and_tail() {
        let stdout: String = (1..=100).map(|n| format!("line {n:03}\n")).collect();
        let out = format_command_output(&outcome(&stdout, "", Some(0)), 100);
        assert_eq!(
            out,
            "exit code: 0\nwall time: 1.2 s\noutput:\nline 001\nline 002\nline 003\nline 004\nline 005\n\
             [… 810 bytes (90 lines) cut from the middle of the output …]\n\
             line 096\nline 097\nline 098\nline 099\nline 100\n"
        );
    }

    #[test]
    fn tools_shell_format_output_is_utf8_safe() {
        // No newlines to snap to: the cut falls inside multi-byte characters.
        let stdout = "é".repeat(500) + &"😀".repeat(100);
        for budget in [0, 1, 2, 3, 5, 7, 64, 101, 999] {
            let out = format_command_output(&outcome(&stdout, "", Some(0)), budget);
            assert!(out.contains("cut from the middle"), "{budget}: {out}");
            let kept = out.len() - out.find("output:\n").unwrap();
            assert!(kept < budget + 120, "{budget}: {kept}");
        }
    }
}
