//! `read_file`: a file's lines numbered like `cat -n`, read through the workspace
//! so an open buffer's unsaved text is what the model sees.

use std::path::Path;

use serde::Deserialize;

use super::paths::{display_path, resolve_in_workspace};
use super::{parse_arguments, ToolError};
use crate::workspace::{Workspace, WorkspaceError};

/// Lines returned when the model gives no `limit`, and the most it may ask for.
pub(crate) const DEFAULT_LIMIT: usize = 2000;
/// Longer lines are cut (minified files would otherwise fill the context).
const MAX_LINE_CHARS: usize = 2000;

#[derive(Deserialize)]
struct ReadFileParams {
    path: String,
    offset: Option<usize>,
    limit: Option<usize>,
}

pub(crate) fn run(arguments: &str, workspace: &dyn Workspace) -> Result<String, ToolError> {
    let params: ReadFileParams = parse_arguments("read_file", arguments)?;
    let root = workspace.root();
    let path = resolve_in_workspace(root, &params.path)?;
    let shown = display_path(root, &path);
    let offset = params.offset.unwrap_or(1);
    if offset == 0 {
        return Err(ToolError::Respond(
            "offset 0 is not a line number: lines count from 1".to_string(),
        ));
    }
    let limit = match params.limit {
        Some(0) => {
            return Err(ToolError::Respond(
                "limit 0 reads nothing: ask for 1 line or more".to_string(),
            ))
        }
        Some(limit) => limit.min(DEFAULT_LIMIT),
        None => DEFAULT_LIMIT,
    };
    let snapshot = workspace
        .read_file(&path)
        .map_err(|error| read_error(error, &path, &shown))?;

    let lines: Vec<&str> = snapshot.text.lines().collect();
    if lines.is_empty() {
        return Ok(format!("({shown} is empty)"));
    }
    if offset > lines.len() {
        return Err(ToolError::Respond(format!(
            "offset {offset} is past the end of {shown}, which has {} lines",
            lines.len()
        )));
    }
    let end = (offset - 1 + limit).min(lines.len());
    let mut out = String::new();
    for (index, line) in lines[offset - 1..end].iter().enumerate() {
        out.push_str(&format!("{:>6}\t{}\n", offset + index, cut_line(line)));
    }
    if end < lines.len() {
        out.push_str(&format!(
            "[showing lines {offset}-{end} of {}; read more with offset={}]\n",
            lines.len(),
            end + 1
        ));
    }
    Ok(out)
}

fn cut_line(line: &str) -> String {
    let line = line.strip_suffix('\r').unwrap_or(line);
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!(
            "{}… [line cut, {} more bytes]",
            &line[..cut],
            line.len() - cut
        ),
        None => line.to_string(),
    }
}

fn read_error(error: WorkspaceError, path: &Path, shown: &str) -> ToolError {
    let message = match error {
        // Only now touch the disk: the common path never does.
        WorkspaceError::NotFound(_) | WorkspaceError::Io { .. } if path.is_dir() => {
            format!("{shown} is a directory: use list_dir to see what it holds")
        }
        WorkspaceError::NotFound(_) => format!("{shown} does not exist"),
        WorkspaceError::OutsideWorkspace(_) => format!("{shown} is outside the workspace roots"),
        WorkspaceError::NotText(_) => format!("{shown} is not UTF-8 text"),
        WorkspaceError::Io { message, .. } => format!("could not read {shown}: {message}"),
    };
    ToolError::Respond(message)
}

#[cfg(test)]
mod tests {
    use super::super::run_read_only;
    use super::*;
    use crate::testing::MemoryWorkspace;

    async fn read(workspace: &MemoryWorkspace, arguments: &str) -> Result<String, ToolError> {
        run_read_only("read_file", arguments, workspace, None).await
    }

    #[tokio::test]
    async fn tools_read_file_numbers_lines() {
        let workspace = MemoryWorkspace::new(&[("a.txt", "one\r\ntwo\nthree")]);
        let out = read(&workspace, r#"{"path": "a.txt"}"#).await.unwrap();
        assert_eq!(out, "     1\tone\n     2\ttwo\n     3\tthree\n");
    }

    #[tokio::test]
    async fn tools_read_file_offset_and_limit_with_a_note() {
        let text: String = (1..=10).map(|n| format!("line {n}\n")).collect();
        let workspace = MemoryWorkspace::new(&[("a.txt", &text)]);
        let out = read(
            &workspace,
            r#"{"path": "/ws/a.txt", "offset": 4, "limit": 2}"#,
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            "     4\tline 4\n     5\tline 5\n[showing lines 4-5 of 10; read more with offset=6]\n"
        );
        let tail = read(&workspace, r#"{"path": "a.txt", "offset": 9}"#)
            .await
            .unwrap();
        assert_eq!(tail, "     9\tline 9\n    10\tline 10\n");
    }

    #[tokio::test]
    async fn tools_read_file_caps_long_files() {
        let text: String = (1..=2500).map(|n| format!("{n}\n")).collect();
        let workspace = MemoryWorkspace::new(&[("big.txt", &text)]);
        let out = read(&workspace, r#"{"path": "big.txt"}"#).await.unwrap();
        assert_eq!(out.lines().count(), 2001);
        assert!(out.ends_with("[showing lines 1-2000 of 2500; read more with offset=2001]\n"));
    }

    #[tokio::test]
    async fn tools_read_file_cuts_long_lines_on_char_boundaries() {
        let line = "é".repeat(2100);
        let workspace = MemoryWorkspace::new(&[("min.js", &line)]);
        let out = read(&workspace, r#"{"path": "min.js"}"#).await.unwrap();
        assert!(out.ends_with("… [line cut, 200 more bytes]\n"), "{out}");
    }

    #[tokio::test]
    async fn tools_read_file_errors() {
        let workspace = MemoryWorkspace::new(&[("a.txt", "x\n"), ("empty.txt", "")]);
        let cases = [
            (r#"{"path": "missing.rs"}"#, "missing.rs does not exist"),
            (
                r#"{"path": "../secret"}"#,
                "../secret is outside the workspace root /ws",
            ),
            (
                r#"{"path": "a.txt", "offset": 5}"#,
                "offset 5 is past the end of a.txt, which has 1 lines",
            ),
            (
                r#"{"path": "a.txt", "offset": 0}"#,
                "offset 0 is not a line number: lines count from 1",
            ),
            (
                r#"{"path": "a.txt", "limit": 0}"#,
                "limit 0 reads nothing: ask for 1 line or more",
            ),
            (
                r#"{"offset": 1}"#,
                "invalid read_file arguments: missing field `path` at line 1 column 13",
            ),
        ];
        for (arguments, expected) in cases {
            assert_eq!(
                read(&workspace, arguments).await,
                Err(ToolError::Respond(expected.to_string())),
                "{arguments}"
            );
        }
        assert_eq!(
            read(&workspace, r#"{"path": "empty.txt"}"#).await.unwrap(),
            "(empty.txt is empty)"
        );
    }
}
