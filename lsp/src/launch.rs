//! Starting a task from a spot in a document: the code actions' tasks ("Fix
//! this" …) and `agent/turnStart`. Both check the spot, pick the context around
//! it with the symbol index, and queue the turn on `Tasks`; the turn runs in the
//! background.

use agentls_core::protocol::ThreadId;

use crate::ext::{TaskArgs, TurnStartParams};
use crate::tasks::kind::{self, TaskKind};
use crate::tasks::{TaskError, TaskInfo, TaskRequest};
use crate::validate;
use crate::world::World;

/// Starts a code-action task on the document and range of `args`.
pub(crate) async fn code_action_task(
    world: &World,
    kind: TaskKind,
    args: TaskArgs,
) -> Result<ThreadId, TaskError> {
    let state = &world.state;
    let setup = |message: String| TaskError::Setup(message);
    let snapshot = state.documents.snapshot(&args.uri).ok_or_else(|| {
        setup(format!(
            "unknown document {}: open it first",
            args.uri.as_str()
        ))
    })?;
    validate::check_range(&snapshot, &args.range)
        .map_err(|error| setup(error.message.into_owned()))?;
    let path = validate::file_path(&args.uri)
        .map_err(|_| setup(format!("{} is not a file on disk", args.uri.as_str())))?;
    let root = state.root_for(Some(&path))?;
    let relative = match path.strip_prefix(&root) {
        Ok(inside) => inside.display().to_string(),
        Err(_) => state.relative(&path),
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
    let selection = world
        .symbols
        .select(state, snapshot, path.clone(), args.range, &args.diagnostics)
        .await;
    tracing::debug!(
        n_pieces = selection.pieces.len(),
        n_tokens = selection.n_tokens,
        "context selected"
    );
    let request = TaskRequest {
        thread: None,
        info: TaskInfo {
            title: kind.title().to_string(),
            path: Some(path),
            exclusive: !kind.read_only(),
        },
        text,
        context: selection.to_context_items(),
        root,
    };
    world.tasks.start(state, &world.client, request).await
}

/// Starts the turn `agent/turnStart` asks for: the user's own text, with the
/// code around `range` when the turn is about a document.
pub(crate) async fn custom_turn(
    world: &World,
    params: TurnStartParams,
) -> tower_lsp_server::jsonrpc::Result<ThreadId> {
    let state = &world.state;
    if params.text.trim().is_empty() {
        return Err(crate::errors::invalid_params("the turn's text is empty"));
    }
    let mut context = Vec::new();
    let mut path = None;
    if let Some(uri) = &params.uri {
        let snapshot = validate::open_document(state, uri)?;
        let file = validate::file_path(uri)?;
        if let Some(range) = &params.range {
            validate::check_range(&snapshot, range)?;
            let selection = world
                .symbols
                .select(state, snapshot, file.clone(), *range, &[])
                .await;
            context = selection.to_context_items();
        }
        path = Some(file);
    }
    let root = state
        .root_for(path.as_deref())
        .map_err(|error| crate::errors::from_task(error.into()))?;
    let title: String = params
        .text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(60)
        .collect();
    let request = TaskRequest {
        thread: params.thread_id,
        info: TaskInfo {
            title,
            path,
            exclusive: true,
        },
        text: params.text,
        context,
        root,
    };
    world
        .tasks
        .start(state, &world.client, request)
        .await
        .map_err(crate::errors::from_task)
}
