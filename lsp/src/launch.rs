//! Starting a task from a spot in a document: the code actions' tasks ("Fix
//! this" …, and the user's own `[[tasks]]`) and `agent/turnStart`. Both check the spot, pick the context around
//! it with the symbol index, and queue the turn on `Tasks`; the turn runs in the
//! background.

use std::path::PathBuf;

use agentls_core::config::EditApproval;
use agentls_core::protocol::ThreadId;
use agentls_core::user_tasks::{self, TaskEdits};

use crate::document::DocumentSnapshot;
use crate::ext::{TaskArgs, TurnStartParams, UserTaskArgs};
use crate::tasks::kind::{self, TaskKind};
use crate::tasks::user;
use crate::tasks::{TaskError, TaskInfo, TaskRequest};
use crate::validate;
use crate::world::World;

/// A task's spot, checked: the document as it is now, its file, the root
/// the task runs in and the file's path as the prompt names it.
struct Located {
    snapshot: DocumentSnapshot,
    path: PathBuf,
    root: PathBuf,
    relative: String,
}

fn locate(world: &World, args: &TaskArgs<'_>) -> Result<Located, TaskError> {
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
    Ok(Located {
        snapshot,
        path,
        root,
        relative,
    })
}

/// Picks the context around the spot and queues the turn.
async fn queue(
    world: &World,
    located: Located,
    args: &TaskArgs<'_>,
    info: TaskInfo,
    text: String,
) -> Result<ThreadId, TaskError> {
    let state = &world.state;
    let selection = world
        .symbols
        .select(
            state,
            located.snapshot,
            located.path,
            args.range,
            &args.diagnostics,
        )
        .await;
    tracing::debug!(
        n_pieces = selection.pieces.len(),
        n_tokens = selection.n_tokens,
        "context selected"
    );
    let request = TaskRequest {
        thread: None,
        info,
        text,
        context: selection.to_context_items(),
        root: located.root,
    };
    world.tasks.start(state, &world.client, request).await
}

/// Starts a code-action task on the document and range of `args`.
pub(crate) async fn code_action_task(
    world: &World,
    kind: TaskKind,
    args: TaskArgs<'_>,
) -> Result<ThreadId, TaskError> {
    let located = locate(world, &args)?;
    let relative = &located.relative;
    let mut lines = (args.range.start.line + 1, args.range.end.line + 1);
    let instruction = match kind {
        TaskKind::DoComment => Some(
            kind::instruction_comment(located.snapshot.text(), &args.range)
                .map(|(line, instruction)| {
                    lines = (line, line);
                    instruction
                })
                .ok_or_else(|| {
                    TaskError::Setup(format!(
                        "no `agent:` comment in or above line {} of {relative}",
                        args.range.start.line + 1
                    ))
                })?,
        ),
        _ => None,
    };
    let text = kind::task_text(
        kind,
        relative,
        lines,
        &args.diagnostics,
        instruction.as_deref(),
    );
    let info = TaskInfo {
        title: kind.title().to_string(),
        path: Some(located.path.clone()),
        exclusive: !kind.read_only(),
        edits: None,
    };
    queue(world, located, &args, info, text).await
}

/// Starts the user's task (`[[tasks]]`) that `args` names, its prompt's
/// placeholders filled in from the spot; it runs like the built-in tasks.
pub(crate) async fn user_task(
    world: &World,
    args: UserTaskArgs<'_>,
) -> Result<ThreadId, TaskError> {
    let tasks = world.state.config().tasks;
    let Some(task) = tasks.iter().find(|task| task.title == args.task) else {
        let known: Vec<&str> = tasks.iter().map(|task| task.title.as_str()).collect();
        return Err(TaskError::Setup(format!(
            "no task titled {:?} in the configuration ([[tasks]]){}",
            args.task,
            if known.is_empty() {
                String::new()
            } else {
                format!("; the tasks are: {}", known.join(", "))
            }
        )));
    };
    let located = locate(world, &args.spot)?;
    let snapshot = &located.snapshot;
    let range = args.spot.range;
    let rope = snapshot.text();
    let start = snapshot.position_to_char(range.start).min(rope.len_chars());
    let end = snapshot
        .position_to_char(range.end)
        .clamp(start, rope.len_chars());
    let selection = rope.slice(start..end).to_string();
    let byte = snapshot.position_to_byte(range.start);
    let symbol = user::definition_at(
        &world.symbols.index,
        &located.path,
        byte,
        user::is_named_item,
    );
    let values = user::placeholder_values(
        selection,
        symbol,
        located.relative.clone(),
        snapshot.language_id(),
        &args.spot.diagnostics,
    );
    let text = user_tasks::expand(&task.prompt, &values);
    let info = TaskInfo {
        title: task.short_title().to_string(),
        path: Some(located.path.clone()),
        exclusive: true,
        edits: task.edits.map(|edits| match edits {
            TaskEdits::Apply => EditApproval::Apply,
            TaskEdits::Review => EditApproval::Review,
        }),
    };
    queue(world, located, &args.spot, info, text).await
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
            edits: None,
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
