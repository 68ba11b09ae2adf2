//! The `agent/*` requests for richer clients (docs/lsp-extensions.md), named after
//! Codex's app-server: threads, turns, steering, interrupting, undo and approvals.
//! Each answers as soon as its op is queued; what the turn does arrives as
//! `agent/*` notifications.

use std::path::PathBuf;
use std::sync::Arc;

use agentls_core::protocol::{ReviewDecision, ThreadId, ThreadItem};
use agentls_core::rollout::ThreadSummary;
use lsp_types::{Range, Uri};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::{Client, UriExt};

use crate::server::State;
use crate::tasks::{self, TaskError, TaskInfo, TaskRequest, UndoResult};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartParams {
    /// The workspace root the thread works in; the first workspace folder when
    /// unset.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartResult {
    pub thread_id: ThreadId,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadResumeParams {
    pub thread_id: ThreadId,
    #[serde(default)]
    pub cwd: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadResumeResult {
    pub thread_id: ThreadId,
    /// The thread's items as they were when it stopped.
    pub items: Vec<ThreadItem>,
}

#[derive(Debug, Deserialize)]
pub struct ThreadListParams {}

#[derive(Debug, Serialize)]
pub struct ThreadListResult {
    pub threads: Vec<ThreadSummary>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnStartParams {
    /// The thread to continue; a new thread when unset.
    #[serde(default)]
    pub thread_id: Option<ThreadId>,
    pub text: String,
    /// The document the turn is about: its code around `range` goes with the text.
    #[serde(default)]
    pub uri: Option<Uri>,
    #[serde(default)]
    pub range: Option<Range>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnStartResult {
    pub thread_id: ThreadId,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnSteerParams {
    pub thread_id: ThreadId,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadParams {
    pub thread_id: ThreadId,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApproveParams {
    /// The approval's id, from `agent/approvalRequested`.
    pub id: String,
    /// `approved` (the default), `approvedForThread`, `denied` or `abort`.
    #[serde(default = "approved")]
    pub decision: ReviewDecision,
}

fn approved() -> ReviewDecision {
    ReviewDecision::Approved
}

/// Task errors as JSON-RPC errors: the client named something that does not
/// exist (invalid params), or the server could not do it (request failed).
pub fn task_error(error: TaskError) -> Error {
    let code = match error {
        TaskError::UnknownThread(_) | TaskError::UnknownApproval(_) => ErrorCode::InvalidParams,
        _ => ErrorCode::ServerError(-32803),
    };
    Error {
        code,
        message: error.to_string().into(),
        data: None,
    }
}

/// The root a thread started by a client works in: its `cwd`, which must be a
/// directory inside one of the workspace roots (the agent may write anywhere
/// under its root: invariant 6), else the first root.
fn thread_root(state: &State, cwd: Option<PathBuf>) -> Result<PathBuf> {
    let Some(cwd) = cwd else {
        return tasks::root_for(state, None).map_err(task_error);
    };
    let roots = state.session().roots;
    let absolute = match (cwd.is_absolute(), roots.first()) {
        (true, _) => cwd.clone(),
        (false, Some(first)) => first.join(&cwd),
        (false, None) => {
            return Err(Error::invalid_params(format!(
                "cwd {} is relative and there is no workspace folder",
                cwd.display()
            )))
        }
    };
    let real = std::fs::canonicalize(&absolute)
        .ok()
        .filter(|real| real.is_dir())
        .ok_or_else(|| {
            Error::invalid_params(format!("cwd {} is not a directory", absolute.display()))
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
        return Err(Error::invalid_params(format!(
            "cwd {} is outside the workspace folders ({})",
            real.display(),
            shown.join(", ")
        )));
    }
    Ok(real)
}

pub fn thread_start(
    state: &Arc<State>,
    client: &Client,
    params: ThreadStartParams,
) -> Result<ThreadStartResult> {
    let root = thread_root(state, params.cwd)?;
    let thread_id = state
        .tasks
        .start_thread(state, client, &root)
        .map_err(task_error)?;
    Ok(ThreadStartResult { thread_id })
}

pub fn thread_resume(
    state: &Arc<State>,
    client: &Client,
    params: ThreadResumeParams,
) -> Result<ThreadResumeResult> {
    let root = thread_root(state, params.cwd)?;
    let items = state
        .tasks
        .resume_thread(state, client, &root, &params.thread_id)
        .map_err(task_error)?;
    Ok(ThreadResumeResult {
        thread_id: params.thread_id,
        items,
    })
}

pub fn thread_list(state: &State, _params: ThreadListParams) -> Result<ThreadListResult> {
    let threads = state.tasks.list_threads(state).map_err(task_error)?;
    Ok(ThreadListResult { threads })
}

pub async fn turn_start(
    state: &Arc<State>,
    client: &Client,
    params: TurnStartParams,
) -> Result<TurnStartResult> {
    if params.text.trim().is_empty() {
        return Err(Error::invalid_params("the turn's text is empty"));
    }
    let mut context = Vec::new();
    let mut path = None;
    if let Some(uri) = &params.uri {
        let snapshot = state
            .documents
            .snapshot(uri)
            .ok_or_else(|| Error::invalid_params(format!("unknown document {}", uri.as_str())))?;
        let file = uri
            .to_file_path()
            .map(|path| path.into_owned())
            .ok_or_else(|| Error::invalid_params(format!("{} is not a file", uri.as_str())))?;
        if let Some(range) = &params.range {
            super::code_action::check_range(&snapshot, range)?;
            let selection =
                crate::symbols::select(state, snapshot, file.clone(), *range, &[]).await;
            context = selection.to_context_items();
        }
        path = Some(file);
    }
    let root = tasks::root_for(state, path.as_deref()).map_err(task_error)?;
    let title: String = params
        .text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(60)
        .collect();
    let thread_id = state
        .tasks
        .start(
            state,
            client,
            TaskRequest {
                thread: params.thread_id,
                info: TaskInfo {
                    title,
                    path,
                    exclusive: true,
                },
                text: params.text,
                context,
                root,
            },
        )
        .await
        .map_err(task_error)?;
    Ok(TurnStartResult { thread_id })
}

pub async fn turn_steer(state: &State, params: TurnSteerParams) -> Result<Value> {
    state
        .tasks
        .steer(&params.thread_id, params.text)
        .await
        .map_err(task_error)?;
    Ok(json!({}))
}

pub async fn turn_interrupt(state: &State, params: ThreadParams) -> Result<Value> {
    state
        .tasks
        .interrupt(&params.thread_id)
        .await
        .map_err(task_error)?;
    Ok(json!({}))
}

pub async fn undo(state: &Arc<State>, client: &Client) -> Result<UndoResult> {
    state.tasks.undo(state, client).map_err(task_error)
}

pub async fn approve(state: &State, params: ApproveParams) -> Result<Value> {
    state
        .tasks
        .decide(Some(&params.id), params.decision)
        .await
        .map_err(task_error)?;
    Ok(json!({}))
}
