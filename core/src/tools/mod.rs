//! The tools the model calls: their specs (part of the cached prompt prefix), the
//! read-only tools that run at once (the symbol tools among them, over the
//! `context` index), the `apply_patch` grammar that turns a patch
//! into a `Changeset`, and the argument parsing of `shell` and `update_plan`, whose
//! running belongs to the loop (approval, sandbox, events).

mod grep;
mod list_dir;
mod patch;
mod paths;
mod plan;
mod read_file;
mod shell;
mod specs;
mod symbols;

use crate::context::SharedIndex;
use crate::workspace::{Changeset, Workspace};

pub(crate) use patch::patch_text_from_arguments;
pub use patch::{patch_paths, patch_summary, plan_patch_text};
pub use paths::resolve_in_workspace;
pub use plan::{parse_plan_args, PlanStatus, PlanStep};
pub use shell::{format_command_output, parse_shell_args, patch_from_shell, ShellArgs};
pub use specs::specs;

/// Why a tool call did not do what the model asked. Neither variant is retried by
/// the loop: `Respond` goes back to the model as the tool's output (marked as an
/// error) and the turn goes on, so the model can correct itself; `Fatal` ends the
/// turn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// Told to the model; the turn goes on.
    #[error("{0}")]
    Respond(String),
    /// The turn must stop.
    #[error("{0}")]
    Fatal(String),
}

/// The longest arguments a tool call may have: above any model's output limit,
/// so only a broken or hostile provider sends more. Such a call is not run; its
/// arguments are not kept in the history (every later request would carry them)
/// and the model is told.
pub const MAX_ARGUMENT_BYTES: usize = 1 << 20;

/// Why a call whose arguments are longer than [`MAX_ARGUMENT_BYTES`] did not run.
pub fn oversized_arguments(name: &str, n_bytes: usize) -> Option<ToolError> {
    (n_bytes > MAX_ARGUMENT_BYTES).then(|| {
        ToolError::Respond(format!(
            "the arguments of this {name} call are {n_bytes} bytes, more than the limit of \
             {MAX_ARGUMENT_BYTES}; nothing was run: send a smaller call"
        ))
    })
}

/// How the loop runs a tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolKind {
    /// Runs at once through `run_read_only`: `read_file`, `list_dir`, `grep`,
    /// `find_definition`, `find_references`, `outline`.
    ReadOnly,
    /// `apply_patch`: `plan_patch`, then `Workspace::apply`.
    Patch,
    /// `shell`: `parse_shell_args`, approval, the sandboxed runner.
    Shell,
    /// `update_plan`: `parse_plan_args`, then an event for the front end.
    Plan,
}

/// The kind of the tool called `name`, `None` for a tool that does not exist.
pub fn kind_of(name: &str) -> Option<ToolKind> {
    match name {
        "read_file" | "list_dir" | "grep" | "find_definition" | "find_references" | "outline" => {
            Some(ToolKind::ReadOnly)
        }
        "apply_patch" => Some(ToolKind::Patch),
        "shell" => Some(ToolKind::Shell),
        "update_plan" => Some(ToolKind::Plan),
        _ => None,
    }
}

/// Whether the tool called `name` looks names up in the symbol index.
pub fn needs_symbols(name: &str) -> bool {
    matches!(name, "find_definition" | "find_references")
}

/// Run one of the read-only tools. File reads go through `workspace.read_file` (the
/// editor's unsaved buffers win); `list_dir` and `grep` walk the disk under the
/// workspace root; `find_definition` and `find_references` look names up in
/// `symbols` and answer a tool error without one.
pub async fn run_read_only(
    name: &str,
    arguments: &str,
    workspace: &dyn Workspace,
    symbols: Option<&SharedIndex>,
) -> Result<String, ToolError> {
    let index = || {
        symbols.ok_or_else(|| {
            ToolError::Respond("the symbol index is not available; use grep".to_string())
        })
    };
    match name {
        "read_file" => read_file::run(arguments, workspace),
        "list_dir" => list_dir::run(arguments, workspace.root()).await,
        "grep" => grep::run(arguments, workspace.root()).await,
        "find_definition" => symbols::find_definition(arguments, workspace, index()?),
        "find_references" => symbols::find_references(arguments, workspace, index()?),
        "outline" => symbols::outline_tool(arguments, workspace),
        other => Err(ToolError::Respond(format!(
            "{other} is not a read-only tool"
        ))),
    }
}

/// Parse an `apply_patch` call (`{"input": "*** Begin Patch …"}`) and apply it in
/// memory to the files as `workspace.read_file` gives them. Nothing is written: the
/// loop lands the result with `Workspace::apply`.
pub fn plan_patch(arguments: &str, workspace: &dyn Workspace) -> Result<Changeset, ToolError> {
    let text = patch::patch_text_from_arguments(arguments)?;
    plan_patch_text(&text, workspace)
}

/// Decode a tool's JSON arguments. An empty string counts as `{}` (some providers
/// send nothing for a call without arguments).
fn parse_arguments<T: serde::de::DeserializeOwned>(
    tool: &str,
    arguments: &str,
) -> Result<T, ToolError> {
    let arguments = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    serde_json::from_str(arguments)
        .map_err(|error| ToolError::Respond(format!("invalid {tool} arguments: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_kind_of_every_spec() {
        let kinds: Vec<_> = specs()
            .iter()
            .map(|spec| (spec.name.clone(), kind_of(&spec.name)))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("read_file".to_string(), Some(ToolKind::ReadOnly)),
                ("list_dir".to_string(), Some(ToolKind::ReadOnly)),
                ("grep".to_string(), Some(ToolKind::ReadOnly)),
                ("apply_patch".to_string(), Some(ToolKind::Patch)),
                ("shell".to_string(), Some(ToolKind::Shell)),
                ("update_plan".to_string(), Some(ToolKind::Plan)),
                ("find_definition".to_string(), Some(ToolKind::ReadOnly)),
                ("find_references".to_string(), Some(ToolKind::ReadOnly)),
                ("outline".to_string(), Some(ToolKind::ReadOnly)),
            ]
        );
        assert_eq!(kind_of("rm_rf"), None);
    }

    #[test]
    fn tools_specs_are_byte_stable() {
        let first = serde_json::to_string(&specs()).unwrap();
        let second = serde_json::to_string(&specs()).unwrap();
        assert_eq!(first, second);
        for spec in specs() {
            assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
            assert!(!spec.description.is_empty(), "{}", spec.name);
        }
    }

    #[tokio::test]
    async fn tools_run_read_only_refuses_other_tools() {
        let workspace = crate::testing::MemoryWorkspace::new(&[]);
        let error = run_read_only("shell", "{}", &workspace, None)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ToolError::Respond("shell is not a read-only tool".into())
        );
    }
}
