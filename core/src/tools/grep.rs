//! `grep`: a regex search over the files under a path, walked on disk with the
//! `ignore` crate and searched with ripgrep's own searcher.

use std::path::Path;

use globset::{Glob, GlobMatcher};
use grep_matcher::LineTerminator;
use grep_regex::RegexMatcherBuilder;
use grep_searcher::sinks::Lossy;
use grep_searcher::{BinaryDetection, SearcherBuilder};
use ignore::WalkBuilder;
use serde::Deserialize;

use super::paths::{display_path, resolve_in_workspace};
use super::{parse_arguments, ToolError};

const DEFAULT_MAX_RESULTS: usize = 100;
const MAX_RESULTS: usize = 1000;
/// Matching lines longer than this are cut (minified code).
const MAX_LINE_CHARS: usize = 300;

#[derive(Deserialize)]
struct GrepParams {
    pattern: String,
    path: Option<String>,
    include: Option<String>,
    #[serde(default)]
    case_insensitive: bool,
    max_results: Option<usize>,
    #[serde(default)]
    hidden: bool,
}

pub(crate) async fn run(arguments: &str, root: &Path) -> Result<String, ToolError> {
    let params: GrepParams = parse_arguments("grep", arguments)?;
    let start = resolve_in_workspace(root, params.path.as_deref().unwrap_or("."))?;
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || search(&root, &start, &params))
        .await
        .map_err(|error| ToolError::Fatal(format!("grep stopped unexpectedly: {error}")))?
}

fn search(root: &Path, start: &Path, params: &GrepParams) -> Result<String, ToolError> {
    let matcher = RegexMatcherBuilder::new()
        .case_insensitive(params.case_insensitive)
        .line_terminator(Some(b'\n'))
        .crlf(true)
        .build(&params.pattern)
        .map_err(|error| {
            ToolError::Respond(format!("invalid regex '{}': {error}", params.pattern))
        })?;
    let include: Option<GlobMatcher> = match params.include.as_deref() {
        Some(glob) => Some(
            Glob::new(glob)
                .map_err(|error| ToolError::Respond(format!("invalid glob '{glob}': {error}")))?
                .compile_matcher(),
        ),
        None => None,
    };
    let max_results = params
        .max_results
        .unwrap_or(DEFAULT_MAX_RESULTS)
        .clamp(1, MAX_RESULTS);
    let shown_start = display_path(root, start);
    if !start.exists() {
        return Err(ToolError::Respond(format!("{shown_start} does not exist")));
    }

    let mut searcher = SearcherBuilder::new()
        .line_terminator(LineTerminator::crlf())
        .binary_detection(BinaryDetection::quit(b'\x00'))
        .line_number(true)
        .build();
    let walker = WalkBuilder::new(start)
        .hidden(!params.hidden)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();

    let mut results: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut unreadable = 0;
    'files: for entry in walker {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_some_and(|kind| kind.is_file()) {
            continue;
        }
        let shown = display_path(root, entry.path());
        if let Some(include) = &include {
            let name_matches = entry
                .path()
                .file_name()
                .is_some_and(|name| include.is_match(name));
            if !name_matches && !include.is_match(&shown) {
                continue;
            }
        }
        let mut file_results = Vec::new();
        let mut file_full = false;
        let sink = Lossy(|line_number, line: &str| {
            if results.len() + file_results.len() == max_results {
                file_full = true;
                return Ok(false);
            }
            file_results.push(format!("{shown}:{line_number}: {}", cut_line(line)));
            Ok(true)
        });
        // A file that cannot be read (permissions, vanished) is skipped, and counted.
        if searcher.search_path(&matcher, entry.path(), sink).is_err() {
            unreadable += 1;
        }
        results.append(&mut file_results);
        if file_full {
            truncated = true;
            break 'files;
        }
    }

    let mut out = if results.is_empty() {
        format!("no matches for '{}' in {shown_start}\n", params.pattern)
    } else {
        results.join("\n") + "\n"
    };
    if unreadable > 0 {
        out.push_str(&format!("[{unreadable} files could not be read]\n"));
    }
    if truncated {
        out.push_str(&format!(
            "[stopped after {max_results} matches; narrow the pattern or the path, or raise max_results]\n"
        ));
    }
    Ok(out)
}

fn cut_line(line: &str) -> String {
    let line = line.trim_end_matches(['\n', '\r']);
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}… [line cut]", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("src")).unwrap();
        fs::create_dir_all(root.join("target")).unwrap();
        fs::write(root.join(".gitignore"), "target/\n").unwrap();
        fs::write(root.join(".hidden.rs"), "fn secret_main() {}\n").unwrap();
        fs::write(
            root.join("src/main.rs"),
            "fn main() {\r\n    helper();\r\n}\r\n",
        )
        .unwrap();
        fs::write(
            root.join("src/lib.rs"),
            "pub fn helper() {}\nfn Main() {}\n",
        )
        .unwrap();
        fs::write(root.join("README.md"), "call main to start\n").unwrap();
        fs::write(root.join("target/gen.rs"), "fn main() {}\n").unwrap();
        fs::write(root.join("src/blob.bin"), b"fn main\x00\x01\x02").unwrap();
        dir
    }

    async fn grep(dir: &tempfile::TempDir, arguments: &str) -> Result<String, ToolError> {
        run(arguments, dir.path()).await
    }

    #[tokio::test]
    async fn tools_grep_searches_sorted_skipping_ignored_hidden_and_binary() {
        let dir = tree();
        let out = grep(&dir, r#"{"pattern": "fn \\w*main"}"#).await.unwrap();
        assert_eq!(out, "src/main.rs:1: fn main() {\n");
        let hidden = grep(&dir, r#"{"pattern": "fn \\w*main", "hidden": true}"#)
            .await
            .unwrap();
        assert_eq!(
            hidden,
            ".hidden.rs:1: fn secret_main() {}\nsrc/main.rs:1: fn main() {\n"
        );
    }

    #[tokio::test]
    async fn tools_grep_case_insensitive_include_and_path() {
        let dir = tree();
        let out = grep(
            &dir,
            r#"{"pattern": "fn main", "case_insensitive": true, "include": "*.rs"}"#,
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            "src/lib.rs:2: fn Main() {}\nsrc/main.rs:1: fn main() {\n"
        );
        let md = grep(&dir, r#"{"pattern": "main", "include": "*.md"}"#)
            .await
            .unwrap();
        assert_eq!(md, "README.md:1: call main to start\n");
        let scoped = grep(&dir, r#"{"pattern": "helper", "path": "src/lib.rs"}"#)
            .await
            .unwrap();
        assert_eq!(scoped, "src/lib.rs:1: pub fn helper() {}\n");
        let glob_path = grep(&dir, r#"{"pattern": "helper", "include": "src/**/m*.rs"}"#)
            .await
            .unwrap();
        assert_eq!(glob_path, "src/main.rs:2:     helper();\n");
    }

    #[tokio::test]
    async fn tools_grep_max_results_with_a_note() {
        let dir = tree();
        let out = grep(&dir, r#"{"pattern": "\\w", "max_results": 2}"#)
            .await
            .unwrap();
        assert_eq!(
            out,
            "README.md:1: call main to start\nsrc/lib.rs:1: pub fn helper() {}\n\
             [stopped after 2 matches; narrow the pattern or the path, or raise max_results]\n"
        );
    }

    #[tokio::test]
    async fn tools_grep_errors_and_no_match() {
        let dir = tree();
        assert_eq!(
            grep(&dir, r#"{"pattern": "zzz_nothing"}"#).await.unwrap(),
            "no matches for 'zzz_nothing' in .\n"
        );
        let Err(ToolError::Respond(message)) = grep(&dir, r#"{"pattern": "fn ("}"#).await else {
            panic!("an invalid regex must be refused");
        };
        assert!(message.starts_with("invalid regex 'fn (': "), "{message}");
        let Err(ToolError::Respond(message)) =
            grep(&dir, r#"{"pattern": "x", "include": "a[b"}"#).await
        else {
            panic!("an invalid glob must be refused");
        };
        assert!(message.starts_with("invalid glob 'a[b': "), "{message}");
        assert_eq!(
            grep(&dir, r#"{"pattern": "x", "path": "gone"}"#).await,
            Err(ToolError::Respond("gone does not exist".into()))
        );
        assert_eq!(
            grep(&dir, r#"{"pattern": "x", "path": "/"}"#).await,
            Err(ToolError::Respond(format!(
                "/ is outside the workspace root {}",
                dir.path().display()
            )))
        );
    }
}
