//! `workspace/executeCommand agentls.*`: what the agent code actions run. Every
//! command answers at once (Helix gives up after 20 s and ignores the reply) and
//! says what happened with `window/showMessage` too; a task's turn runs in the
//! background.

use std::sync::Arc;

use agentls_core::protocol::ReviewDecision;
use lsp_types::{ExecuteCommandParams, MessageType};
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::{Client, UriExt};

use super::agent::task_error;
use crate::server::State;
use crate::tasks::kind::{self, TaskArgs, TaskKind};
use crate::tasks::{self, TaskError, TaskInfo, TaskRequest};

pub const FIX: &str = "agentls.fix";
pub const UNDO: &str = "agentls.undo";
pub const STOP: &str = "agentls.stop";
pub const APPROVE: &str = "agentls.approve";
pub const APPROVE_FOR_THREAD: &str = "agentls.approveForThread";
pub const DENY: &str = "agentls.deny";
pub const SHOW_CONTEXT: &str = "agentls.showContext";

/// Every command the server registers.
pub const COMMANDS: &[&str] = &[
    FIX,
    "agentls.explain",
    "agentls.implement",
    "agentls.writeTests",
    "agentls.doComment",
    UNDO,
    STOP,
    APPROVE,
    APPROVE_FOR_THREAD,
    DENY,
    SHOW_CONTEXT,
];

pub async fn handle(
    state: &Arc<State>,
    client: &Client,
    params: ExecuteCommandParams,
) -> Result<Option<Value>> {
    let command = params.command.as_str();
    let outcome = match command {
        UNDO => {
            // The revert lands in the background; the reply goes out now.
            if let Err(error) = state.tasks.undo(state, client) {
                client
                    .show_message(MessageType::WARNING, format!("agentls: {error}"))
                    .await;
            }
            Ok(json!({}))
        }
        SHOW_CONTEXT => {
            let args = task_args(&params.arguments, SHOW_CONTEXT)?;
            let context = super::agent_context::ContextParams {
                uri: args.uri,
                range: args.range,
                diagnostics: args.diagnostics,
            };
            tokio::spawn(super::agent_context::show(
                state.clone(),
                client.clone(),
                context,
            ));
            Ok(json!({}))
        }
        STOP => {
            let stopped = state.tasks.stop_all().await;
            if stopped == 0 {
                client
                    .show_message(MessageType::INFO, "agentls: no agent task is running")
                    .await;
            }
            Ok(json!({ "stopped": stopped }))
        }
        APPROVE | APPROVE_FOR_THREAD | DENY => {
            let decision = match command {
                APPROVE => ReviewDecision::Approved,
                APPROVE_FOR_THREAD => ReviewDecision::ApprovedForThread,
                _ => ReviewDecision::Denied,
            };
            let id = approval_id(&params.arguments)?;
            match state.tasks.decide(id.as_deref(), decision).await {
                Ok(pending) => {
                    let verb = if decision == ReviewDecision::Denied {
                        "denied"
                    } else {
                        "approved"
                    };
                    client
                        .show_message(
                            MessageType::INFO,
                            format!("agentls: {verb} `{}`", pending.command()),
                        )
                        .await;
                    Ok(json!({ "id": pending.id.to_string() }))
                }
                Err(error) => Err(error),
            }
        }
        other => match TaskKind::from_command(other) {
            Some(kind) => {
                let args = task_args(&params.arguments, other)?;
                start_task(state, client, kind, args)
                    .await
                    .map(|thread_id| json!({ "threadId": thread_id }))
            }
            None => {
                return Err(Error::invalid_params(format!(
                    "unknown command {other:?}; agentls has {}",
                    COMMANDS.join(", ")
                )))
            }
        },
    };
    match outcome {
        Ok(value) => Ok(Some(value)),
        Err(error) => {
            // Helix ignores the reply: say it where every editor shows it.
            client
                .show_message(MessageType::WARNING, format!("agentls: {error}"))
                .await;
            Err(task_error(error))
        }
    }
}

fn task_args(arguments: &[Value], command: &str) -> Result<TaskArgs> {
    let [argument] = arguments else {
        return Err(Error::invalid_params(format!(
            "{command} takes one argument {{uri, range, diagnostics?}}, got {}",
            arguments.len()
        )));
    };
    serde_json::from_value(argument.clone())
        .map_err(|error| Error::invalid_params(format!("{command}: {error}")))
}

/// `"3"`, `3` or `{ "id": "3" }`; none means the latest pending approval.
fn approval_id(arguments: &[Value]) -> Result<Option<String>> {
    match arguments.first() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) => Ok(Some(id.clone())),
        Some(Value::Number(id)) => Ok(Some(id.to_string())),
        Some(Value::Object(object)) => match object.get("id") {
            Some(Value::String(id)) => Ok(Some(id.clone())),
            Some(Value::Number(id)) => Ok(Some(id.to_string())),
            _ => Err(Error::invalid_params("the approval argument has no \"id\"")),
        },
        Some(other) => Err(Error::invalid_params(format!(
            "an approval id is a string or a number, got {other}"
        ))),
    }
}

/// Starts a code-action task on the document and range of `args`.
pub async fn start_task(
    state: &Arc<State>,
    client: &Client,
    kind: TaskKind,
    args: TaskArgs,
) -> std::result::Result<agentls_core::protocol::ThreadId, TaskError> {
    let setup = |message: String| TaskError::Setup(message);
    let snapshot = state.documents.snapshot(&args.uri).ok_or_else(|| {
        setup(format!(
            "unknown document {}: open it first",
            args.uri.as_str()
        ))
    })?;
    super::code_action::check_range(&snapshot, &args.range)
        .map_err(|error| setup(error.message.into_owned()))?;
    let path = args
        .uri
        .to_file_path()
        .map(|path| path.into_owned())
        .ok_or_else(|| setup(format!("{} is not a file on disk", args.uri.as_str())))?;
    let root = tasks::root_for(state, Some(&path))?;
    let relative = match path.strip_prefix(&root) {
        Ok(inside) => inside.display().to_string(),
        Err(_) => tasks::relative(state, &path),
    };
    let mut lines = (args.range.start.line + 1, args.range.end.line + 1);
    let instruction = match kind {
        TaskKind::DoComment => Some(
            kind::instruction_comment(snapshot.text(), &args.range)
                .map(|(line, instruction)| {
                    lines = (line, line);
                    instruction
                })
                .ok_or_else(|| {
                    setup(format!(
                        "no `agent:` comment in or above line {} of {relative}",
                        args.range.start.line + 1
                    ))
                })?,
        ),
        _ => None,
    };
    let text = kind::task_text(
        kind,
        &relative,
        lines,
        &args.diagnostics,
        instruction.as_deref(),
    );
    let selection =
        crate::symbols::select(state, snapshot, path.clone(), args.range, &args.diagnostics).await;
    tracing::debug!(
        n_pieces = selection.pieces.len(),
        n_tokens = selection.n_tokens,
        "context selected"
    );
    let context = selection.to_context_items();
    state
        .tasks
        .start(
            state,
            client,
            TaskRequest {
                thread: None,
                info: TaskInfo {
                    title: kind.title().to_string(),
                    path: Some(path),
                    exclusive: !kind.read_only(),
                },
                text,
                context,
                root,
            },
        )
        .await
}
