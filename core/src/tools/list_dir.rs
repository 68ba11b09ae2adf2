//! `list_dir`: what a directory holds, walked on disk with the `ignore` crate so
//! `.gitignore`d and hidden files stay out unless asked for.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;
use serde::Deserialize;

use super::paths::{display_path, resolve_in_workspace};
use super::{parse_arguments, ToolError};

const MAX_DEPTH: usize = 5;
const MAX_ENTRIES: usize = 1000;

#[derive(Deserialize)]
struct ListDirParams {
    path: Option<String>,
    depth: Option<usize>,
    #[serde(default)]
    hidden: bool,
}

pub(crate) async fn run(arguments: &str, root: &Path) -> Result<String, ToolError> {
    let params: ListDirParams = parse_arguments("list_dir", arguments)?;
    let dir = resolve_in_workspace(root, params.path.as_deref().unwrap_or("."))?;
    let depth = params.depth.unwrap_or(1).clamp(1, MAX_DEPTH);
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || list(&root, &dir, depth, params.hidden))
        .await
        .map_err(|error| ToolError::Fatal(format!("list_dir stopped unexpectedly: {error}")))?
}

fn list(root: &Path, dir: &Path, depth: usize, hidden: bool) -> Result<String, ToolError> {
    let shown = display_path(root, dir);
    if !dir.exists() {
        return Err(ToolError::Respond(format!("{shown} does not exist")));
    }
    if !dir.is_dir() {
        return Err(ToolError::Respond(format!(
            "{shown} is a file, not a directory: use read_file to read it"
        )));
    }
    let walker = WalkBuilder::new(dir)
        .hidden(!hidden)
        .require_git(false)
        .max_depth(Some(depth))
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    let mut entries: Vec<String> = Vec::new();
    let mut truncated = false;
    for entry in walker {
        // An unreadable entry is skipped, as `ls` would print it and go on.
        let Ok(entry) = entry else { continue };
        if entry.depth() == 0 {
            continue;
        }
        if entries.len() == MAX_ENTRIES {
            truncated = true;
            break;
        }
        let path: PathBuf = entry.path().to_path_buf();
        let mut line = display_path(root, &path);
        if entry.file_type().is_some_and(|kind| kind.is_dir()) {
            line.push('/');
        }
        entries.push(line);
    }
    if entries.is_empty() {
        return Ok(format!("({shown} is empty)"));
    }
    let mut out = entries.join("\n");
    out.push('\n');
    if truncated {
        out.push_str(&format!(
            "[stopped after {MAX_ENTRIES} entries; list a subdirectory or use a smaller depth]\n"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("src/nested")).unwrap();
        fs::create_dir_all(root.join("target/debug")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join(".gitignore"), "target/\n*.log\n").unwrap();
        fs::write(root.join(".env"), "SECRET=1\n").unwrap();
        fs::write(root.join("Cargo.toml"), "[package]\n").unwrap();
        fs::write(root.join("debug.log"), "noise\n").unwrap();
        fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
        fs::write(root.join("src/nested/deep.rs"), "\n").unwrap();
        fs::write(root.join("target/debug/app"), "bin").unwrap();
        dir
    }

    #[tokio::test]
    async fn tools_list_dir_respects_gitignore_and_hidden() {
        let dir = tree();
        let out = run("{}", dir.path()).await.unwrap();
        assert_eq!(out, "Cargo.toml\nsrc/\n");
        let hidden = run(r#"{"hidden": true}"#, dir.path()).await.unwrap();
        assert_eq!(hidden, ".env\n.gitignore\nCargo.toml\nsrc/\n");
    }

    #[tokio::test]
    async fn tools_list_dir_depth_and_subdirectory() {
        let dir = tree();
        let out = run(r#"{"path": "src", "depth": 3}"#, dir.path())
            .await
            .unwrap();
        assert_eq!(out, "src/main.rs\nsrc/nested/\nsrc/nested/deep.rs\n");
    }

    #[tokio::test]
    async fn tools_list_dir_errors() {
        let dir = tree();
        let cases = [
            (r#"{"path": "nope"}"#, "nope does not exist".to_string()),
            (
                r#"{"path": "Cargo.toml"}"#,
                "Cargo.toml is a file, not a directory: use read_file to read it".to_string(),
            ),
            (
                r#"{"path": "../"}"#,
                format!("../ is outside the workspace root {}", dir.path().display()),
            ),
        ];
        for (arguments, expected) in cases {
            assert_eq!(
                run(arguments, dir.path()).await,
                Err(ToolError::Respond(expected)),
                "{arguments}"
            );
        }
        fs::create_dir(dir.path().join("void")).unwrap();
        assert_eq!(
            run(r#"{"path": "void"}"#, dir.path()).await.unwrap(),
            "(void is empty)"
        );
    }
}
