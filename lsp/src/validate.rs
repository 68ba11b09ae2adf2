//! Checks on what a client sends before anything acts on it: a range inside the
//! document as the server has it, a document that is open and on disk, a thread
//! root inside the workspace folders, a command's arguments. Each failure is a
//! `-32602` naming the offending value (built in `errors`).

use std::path::PathBuf;

use lsp_types::{Range, Uri};
use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::UriExt;

use crate::document::DocumentSnapshot;
use crate::errors;
use crate::ext::{TaskArgs, UserTaskArgs};
use crate::state::State;

/// A request's range must lie in the document as the server has it: the client
/// and server agree on every version (notifications arrive in order), so a range
/// past the end is the client's mistake, and answering for a clamped range would
/// act on text the user did not select.
pub(crate) fn check_range(snapshot: &DocumentSnapshot, range: &Range) -> Result<()> {
    let lines = snapshot.text().len_lines() as u32;
    for position in [range.start, range.end] {
        if position.line >= lines {
            return Err(errors::invalid_params(format_args!(
                "position {}:{} is past the end of {} ({lines} lines)",
                position.line,
                position.character,
                snapshot.uri().as_str()
            )));
        }
    }
    if (range.start.line, range.start.character) > (range.end.line, range.end.character) {
        return Err(errors::invalid_params(format_args!(
            "range start {}:{} is after its end {}:{}",
            range.start.line, range.start.character, range.end.line, range.end.character
        )));
    }
    Ok(())
}

/// The open document at `uri`.
pub(crate) fn open_document(state: &State, uri: &Uri) -> Result<DocumentSnapshot> {
    state
        .documents
        .snapshot(uri)
        .ok_or_else(|| errors::unknown_document(uri))
}

/// The path of a `file:` URI.
pub(crate) fn file_path(uri: &Uri) -> Result<PathBuf> {
    uri.to_file_path()
        .map(|path| path.into_owned())
        .ok_or_else(|| errors::not_a_file(uri))
}

/// The open document at `uri` and its path, with `range` checked against it.
pub(crate) fn located(
    state: &State,
    uri: &Uri,
    range: &Range,
) -> Result<(DocumentSnapshot, PathBuf)> {
    let snapshot = open_document(state, uri)?;
    check_range(&snapshot, range)?;
    Ok((snapshot, file_path(uri)?))
}

/// The root a thread started by a client works in: its `cwd`, which must be a
/// directory inside one of the workspace roots (the agent may write anywhere
/// under its root: invariant 6), else the first root.
pub(crate) fn thread_root(state: &State, cwd: Option<PathBuf>) -> Result<PathBuf> {
    let Some(cwd) = cwd else {
        return state
            .root_for(None)
            .map_err(|error| errors::from_task(error.into()));
    };
    let roots = state.session().roots;
    let absolute = match (cwd.is_absolute(), roots.first()) {
        (true, _) => cwd.clone(),
        (false, Some(first)) => first.join(&cwd),
        (false, None) => {
            return Err(errors::invalid_params(format_args!(
                "cwd {} is relative and there is no workspace folder",
                cwd.display()
            )))
        }
    };
    let real = std::fs::canonicalize(&absolute)
        .ok()
        .filter(|real| real.is_dir())
        .ok_or_else(|| {
            errors::invalid_params(format_args!(
                "cwd {} is not a directory",
                absolute.display()
            ))
        })?;
    let inside = roots.iter().any(|root| {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
        real.starts_with(root)
    });
    if !roots.is_empty() && !inside {
        let shown: Vec<String> = roots
            .iter()
            .map(|root| root.display().to_string())
            .collect();
        return Err(errors::invalid_params(format_args!(
            "cwd {} is outside the workspace folders ({})",
            real.display(),
            shown.join(", ")
        )));
    }
    Ok(real)
}

/// The one argument of a task command: `{uri, range, diagnostics?}`.
pub(crate) fn task_args(arguments: &[Value], command: &str) -> Result<TaskArgs<'static>> {
    let [argument] = arguments else {
        return Err(errors::invalid_params(format_args!(
            "{command} takes one argument {{uri, range, diagnostics?}}, got {}",
            arguments.len()
        )));
    };
    serde_json::from_value(argument.clone())
        .map_err(|error| errors::invalid_params(format_args!("{command}: {error}")))
}

/// `agentls.userTask`'s one argument `{task, uri, range, diagnostics?}`.
pub(crate) fn user_task_args(arguments: &[Value]) -> Result<UserTaskArgs<'static>> {
    let command = crate::ext::command::USER_TASK;
    let [argument] = arguments else {
        return Err(errors::invalid_params(format_args!(
            "{command} takes one argument {{task, uri, range, diagnostics?}}, got {}",
            arguments.len()
        )));
    };
    serde_json::from_value(argument.clone())
        .map_err(|error| errors::invalid_params(format_args!("{command}: {error}")))
}

/// `"3"`, `3` or `{ "id": "3" }`; none means the latest pending one. `what`
/// names it in the error (`approval`, `change`).
pub(crate) fn pending_id(arguments: &[Value], what: &str) -> Result<Option<String>> {
    let invalid = |message: String| -> Error { errors::invalid_params(message) };
    match arguments.first() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) => Ok(Some(id.clone())),
        Some(Value::Number(id)) => Ok(Some(id.to_string())),
        Some(Value::Object(object)) => match object.get("id") {
            Some(Value::String(id)) => Ok(Some(id.clone())),
            Some(Value::Number(id)) => Ok(Some(id.to_string())),
            _ => Err(invalid(format!("the {what} argument has no \"id\""))),
        },
        Some(other) => Err(invalid(format!(
            "the {what} id is a string or a number, got {other}"
        ))),
    }
}
