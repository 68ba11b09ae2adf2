//! `find_definition`, `find_references` and `outline`: the symbol index as
//! tools, so the model finds code by name in one call instead of grep-crawling.
//! Definitions come from the index (kept current from the editor's buffers);
//! reference lines and outlines are read through the workspace, so unsaved text
//! is what the model sees.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::paths::{display_path, resolve_in_workspace};
use super::{parse_arguments, ToolError};
use crate::context::{outline, render_outline, summary_in, Definition, FileSymbols, SharedIndex};
use crate::language::Language;
use crate::workspace::Workspace;

/// Definitions shown at most; the rest are counted.
const MAX_DEFINITIONS: usize = 20;
/// References shown by default and at most.
const DEFAULT_REFERENCES: usize = 100;
const MAX_REFERENCES: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FindDefinitionParams {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FindReferencesParams {
    name: String,
    max_results: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutlineParams {
    path: String,
}

/// A bare name: `Parser::new` and `os.path.join` are looked up by their last
/// segment.
fn bare_name(name: &str) -> Result<&str, ToolError> {
    let bare = name.rsplit(['.', ':']).next().unwrap_or(name).trim();
    if bare.is_empty() {
        return Err(ToolError::Respond(format!(
            "{name:?} is not a name: give an identifier such as `parse`"
        )));
    }
    Ok(bare)
}

pub(crate) fn find_definition(
    arguments: &str,
    workspace: &dyn Workspace,
    index: &SharedIndex,
) -> Result<String, ToolError> {
    let params: FindDefinitionParams = parse_arguments("find_definition", arguments)?;
    let name = bare_name(&params.name)?;
    let qualifier = params
        .name
        .strip_suffix(name)
        .map(|rest| rest.trim_end_matches([':', '.']))
        .and_then(|rest| rest.rsplit([':', '.']).next())
        .filter(|rest| !rest.is_empty());
    // Copy what is shown and let the lock go before reading files.
    let (shown, total) = {
        let index = index.read();
        let mut hits = index.definition_refs(name);
        if let Some(qualifier) = qualifier {
            // `Parser::new`: the `new` of `Parser` first.
            hits.sort_by_key(|hit| hit.parent != Some(qualifier));
        }
        let shown: Vec<(std::path::PathBuf, Language, Definition)> = hits
            .iter()
            .take(MAX_DEFINITIONS)
            .map(|hit| (hit.path.to_path_buf(), hit.language, hit.definition()))
            .collect();
        (shown, hits.len())
    };
    if shown.is_empty() {
        return Ok(format!(
            "no definition of `{name}` in the workspace index (it may come from a dependency or the standard library; try grep)"
        ));
    }
    let root = workspace.root();
    let mut out = String::new();
    for (position, (path, language, definition)) in shown.iter().enumerate() {
        if position > 0 {
            out.push('\n');
        }
        let parent = definition
            .parent
            .as_deref()
            .map(|parent| format!(" of `{parent}`"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{}:{}: {} `{}`{parent}\n",
            display_path(root, path),
            definition.lines,
            definition.kind.name(),
            definition.name,
        ));
        // The index keeps no summary of an editor buffer's definitions: made
        // from the text the workspace reads (the buffer's, unsaved edits and all).
        let summary = if definition.summary.is_some() {
            summary_in(definition, *language, "")
        } else {
            match workspace.read_file(path) {
                Ok(snapshot) => summary_in(definition, *language, &snapshot.text),
                Err(error) => format!("(could not read {}: {error})\n", display_path(root, path)),
            }
        };
        out.push_str(&summary);
    }
    if total > MAX_DEFINITIONS {
        out.push_str(&format!(
            "[{} more definitions of `{name}` left out]\n",
            total - MAX_DEFINITIONS
        ));
    }
    Ok(out)
}

pub(crate) fn find_references(
    arguments: &str,
    workspace: &dyn Workspace,
    index: &SharedIndex,
) -> Result<String, ToolError> {
    let params: FindReferencesParams = parse_arguments("find_references", arguments)?;
    let name = bare_name(&params.name)?;
    let limit = params
        .max_results
        .unwrap_or(DEFAULT_REFERENCES)
        .clamp(1, MAX_REFERENCES);
    // Copy what is needed and let the lock go before reading files.
    let mut by_file: BTreeMap<std::path::PathBuf, Vec<u32>> = BTreeMap::new();
    let total = {
        let index = index.read();
        let hits = index.references(name);
        for hit in hits.iter().take(limit) {
            by_file
                .entry(hit.path.to_path_buf())
                .or_default()
                .push(hit.line);
        }
        hits.len()
    };
    if total == 0 {
        return Ok(format!(
            "no references to `{name}` in the workspace index (calls, type uses and `new` are indexed; try grep for other uses)"
        ));
    }
    let root = workspace.root();
    let mut out = String::new();
    for (path, mut lines) in by_file {
        lines.dedup();
        let text = workspace
            .read_file(&path)
            .map(|snapshot| snapshot.text)
            .ok();
        let file_lines: Vec<&str> = text
            .as_deref()
            .map_or(Vec::new(), |text| text.lines().collect());
        let shown = display_path(root, &path);
        for line in lines {
            let content = file_lines
                .get(line as usize - 1)
                .map_or("", |content| content.trim());
            out.push_str(&format!("{shown}:{line}: {content}\n"));
        }
    }
    if total > limit {
        out.push_str(&format!(
            "[showing {limit} of {total} references; ask for more with max_results]\n"
        ));
    }
    Ok(out)
}

pub(crate) fn outline_tool(
    arguments: &str,
    workspace: &dyn Workspace,
) -> Result<String, ToolError> {
    let params: OutlineParams = parse_arguments("outline", arguments)?;
    let root = workspace.root();
    let path = resolve_in_workspace(root, &params.path)?;
    let shown = display_path(root, &path);
    let Some(language) = Language::from_path(&path).filter(|language| *language != Language::Bash)
    else {
        return Err(ToolError::Respond(format!(
            "{shown}: no outline for this kind of file (Rust, Python, TypeScript, JavaScript and Go have one); use read_file"
        )));
    };
    let snapshot = workspace
        .read_file(&path)
        .map_err(|error| ToolError::Respond(format!("could not read {shown}: {error}")))?;
    let symbols = FileSymbols::extract(Path::new(&path), language, &snapshot.text)
        .ok_or_else(|| ToolError::Respond(format!("{shown} could not be parsed")))?;
    let entries = outline(&symbols);
    if entries.is_empty() {
        return Ok(format!(
            "{shown} defines nothing ({} lines)",
            symbols.n_lines
        ));
    }
    Ok(format!(
        "{shown} ({} lines), line ranges then signatures:\n{}",
        symbols.n_lines,
        render_outline(&entries)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::run_read_only;
    use super::*;
    use crate::testing::MemoryWorkspace;
    use expect_test::expect;

    const LIB: &str = "/// Parse it.\npub fn parse(input: &str) -> usize {\n    input.len()\n}\n\npub struct Parser;\n\nimpl Parser {\n    pub fn new() -> Parser {\n        Parser\n    }\n}\n";
    const MAIN: &str =
        "fn main() {\n    let parser = Parser::new();\n    parse(\"x\");\n    parse(\"y\");\n}\n";

    fn workspace_and_index() -> (MemoryWorkspace, SharedIndex) {
        let workspace = MemoryWorkspace::new(&[("src/lib.rs", LIB), ("src/main.rs", MAIN)]);
        let index = SharedIndex::new();
        index.update_file(Path::new("/ws/src/lib.rs"), Language::Rust, LIB);
        index.update_file(Path::new("/ws/src/main.rs"), Language::Rust, MAIN);
        (workspace, index)
    }

    async fn run(name: &str, arguments: &str) -> Result<String, ToolError> {
        let (workspace, index) = workspace_and_index();
        run_read_only(name, arguments, &workspace, Some(&index)).await
    }

    #[tokio::test]
    async fn tools_find_definition() {
        expect![[r#"
            src/lib.rs:2-4: function `parse`
            /// Parse it.
            pub fn parse(input: &str) -> usize {
                input.len()
            }
        "#]]
        .assert_eq(
            &run("find_definition", r#"{"name": "parse"}"#)
                .await
                .unwrap(),
        );
        expect![[r#"
            src/lib.rs:9-11: method `new` of `Parser`
                pub fn new() -> Parser {
                    Parser
                }
        "#]]
        .assert_eq(
            &run("find_definition", r#"{"name": "Parser::new"}"#)
                .await
                .unwrap(),
        );
        assert_eq!(
            run("find_definition", r#"{"name": "missing"}"#).await.unwrap(),
            "no definition of `missing` in the workspace index (it may come from a dependency or the standard library; try grep)"
        );
    }

    #[tokio::test]
    async fn tools_find_references() {
        expect![[r#"
            src/main.rs:3: parse("x");
            src/main.rs:4: parse("y");
        "#]]
        .assert_eq(
            &run("find_references", r#"{"name": "parse"}"#)
                .await
                .unwrap(),
        );
        expect![[r#"
            src/main.rs:3: parse("x");
            [showing 1 of 2 references; ask for more with max_results]
        "#]]
        .assert_eq(
            &run("find_references", r#"{"name": "parse", "max_results": 1}"#)
                .await
                .unwrap(),
        );
    }

    #[tokio::test]
    async fn tools_outline() {
        expect![[r#"
            src/lib.rs (12 lines), line ranges then signatures:
            2-4 pub fn parse(input: &str) -> usize
            6 pub struct Parser;
            8-12 impl Parser
              9-11 pub fn new() -> Parser
        "#]]
        .assert_eq(&run("outline", r#"{"path": "src/lib.rs"}"#).await.unwrap());
        assert_eq!(
            run("outline", r#"{"path": "README.md"}"#).await,
            Err(ToolError::Respond(
                "README.md: no outline for this kind of file (Rust, Python, TypeScript, JavaScript and Go have one); use read_file".into()
            ))
        );
    }

    #[tokio::test]
    async fn tools_symbol_tools_without_an_index() {
        let workspace = MemoryWorkspace::new(&[("src/lib.rs", LIB)]);
        let error = run_read_only("find_definition", r#"{"name": "parse"}"#, &workspace, None)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ToolError::Respond("the symbol index is not available; use grep".into())
        );
        // The outline needs no index.
        assert!(
            run_read_only("outline", r#"{"path": "src/lib.rs"}"#, &workspace, None)
                .await
                .is_ok()
        );
    }
}
