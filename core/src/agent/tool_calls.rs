//! Running the tool calls of one model answer, in the order the model made them:
//! consecutive read-only calls together, in parallel; each patch, command or plan
//! alone. Every call ends with its output in the history (a refusal or a malformed
//! argument is an output the model reads, marked as an error) and a finished
//! thread item.

use std::path::{Path, PathBuf};

use futures::future::join_all;

use super::hooks::{self, Gate};
use super::inbox::Inbox;
use super::mcp_call;
use super::shell;
use super::state::{Call, Halt, HookPermission, ThreadState, Turn};
use crate::context::SharedIndex;
use crate::language::Language;
use crate::protocol::{
    FileChangeKind, FileDiff, PatchStatus, PlanStep, PlanStepStatus, ThreadItem, ThreadItemKind,
};
use crate::tools::{self, PlanStatus, ToolError, ToolKind};
use crate::workspace::{ApplyError, Changeset};

/// Run `calls`; stops at the first that halts the turn (its later calls are
/// answered by the turn's end).
pub(crate) async fn run(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &mut Turn,
    calls: Vec<Call>,
) -> Result<(), Halt> {
    let mut index = 0;
    while index < calls.len() {
        let call = &calls[index];
        tracing::debug!(tool = %call.name, call_id = %call.call_id, "tool call");
        if let Some(error) = tools::oversized_arguments(&call.name, call.arguments.len()) {
            answer_error(state, turn, call, error).await?;
            index += 1;
            continue;
        }
        let permission = match hooks::pre_tool_use(state, inbox, turn, call).await? {
            Gate::Run(permission) => permission,
            Gate::Refused(message) => {
                answer_error(state, turn, call, ToolError::Respond(message)).await?;
                index += 1;
                continue;
            }
        };
        match tools::kind_of(&call.name) {
            Some(ToolKind::ReadOnly) => {
                // The first call's hooks ran above; a later one with hooks of
                // its own starts the next batch.
                let batch = 1 + calls[index + 1..]
                    .iter()
                    .take_while(|call| {
                        tools::kind_of(&call.name) == Some(ToolKind::ReadOnly)
                            && tools::oversized_arguments(&call.name, call.arguments.len())
                                .is_none()
                            && !hooks::guards(state, &call.name)
                    })
                    .count();
                let batch = &calls[index..index + batch];
                run_read_only(state, inbox, turn, batch).await?;
                for call in batch {
                    hooks::post_tool_use(state, inbox, turn, call).await?;
                }
                index += batch.len();
                continue;
            }
            Some(ToolKind::Patch) => {
                match tools::plan_patch(&call.arguments, &*state.shared.workspace) {
                    Ok(changes) => apply_patch(state, inbox, turn, call, changes).await?,
                    Err(error) => answer_error(state, turn, call, error).await?,
                }
            }
            Some(ToolKind::Shell) => run_shell(state, inbox, turn, call, permission).await?,
            Some(ToolKind::Plan) => update_plan(state, turn, call).await?,
            None if state.meta.tools.iter().any(|tool| tool.name == call.name) => {
                match state.shared.mcp.tool_info(&call.name) {
                    Some(info) => mcp_call::run(state, inbox, turn, call, info, permission).await?,
                    None => {
                        let error = ToolError::Respond(format!(
                            "the tool `{}` is not available now (its MCP server stopped offering it)",
                            call.name
                        ));
                        answer_error(state, turn, call, error).await?;
                    }
                }
            }
            None => {
                let names: Vec<String> = state
                    .meta
                    .tools
                    .iter()
                    .map(|tool| tool.name.clone())
                    .collect();
                let error = ToolError::Respond(format!(
                    "there is no tool `{}`; the tools are: {}",
                    call.name,
                    names.join(", ")
                ));
                answer_error(state, turn, call, error).await?;
            }
        }
        hooks::post_tool_use(state, inbox, turn, &calls[index]).await?;
        index += 1;
    }
    Ok(())
}

/// A call that did not get as far as running: its error goes to the model (or
/// halts the turn when fatal) and shows as a tool call item.
async fn answer_error(
    state: &mut ThreadState,
    turn: &Turn,
    call: &Call,
    error: ToolError,
) -> Result<(), Halt> {
    let message = match error {
        ToolError::Respond(message) => message,
        ToolError::Fatal(message) => return Err(Halt::Fatal(message)),
    };
    let item = ThreadItem {
        id: state.next_id("item"),
        kind: ThreadItemKind::ToolCall {
            call_id: call.call_id.clone(),
            tool: call.name.clone(),
            arguments: shown_arguments(&call.arguments),
            output: Some(message.clone()),
            is_error: true,
        },
    };
    state.start_item(&turn.id, item.clone()).await;
    state.answer(call, message, true).await;
    state.complete_item(&turn.id, item).await;
    Ok(())
}

/// A refused call's arguments as its item shows them: oversized ones are not
/// copied into events and the rollout.
fn shown_arguments(arguments: &str) -> String {
    if arguments.len() > tools::MAX_ARGUMENT_BYTES {
        "{}".to_string()
    } else {
        arguments.to_string()
    }
}

async fn run_read_only(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &Turn,
    calls: &[Call],
) -> Result<(), Halt> {
    let mut item_ids = Vec::with_capacity(calls.len());
    for call in calls {
        let item_id = state.next_id("item");
        state
            .start_item(&turn.id, tool_item(&item_id, call, None, false))
            .await;
        item_ids.push(item_id);
    }
    let workspace = state.shared.workspace.clone();
    let symbols = if calls.iter().any(|call| tools::needs_symbols(&call.name)) {
        inbox.run(symbol_index(state)).await?
    } else {
        None
    };
    let results = inbox
        .run(join_all(calls.iter().map(|call| {
            tools::run_read_only(&call.name, &call.arguments, &*workspace, symbols.as_ref())
        })))
        .await?;
    let mut fatal = None;
    for ((call, item_id), result) in calls.iter().zip(item_ids).zip(results) {
        let (output, is_error) = match result {
            Ok(output) => (output, false),
            Err(ToolError::Respond(message)) => (message, true),
            Err(ToolError::Fatal(message)) => {
                fatal.get_or_insert(message);
                continue;
            }
        };
        state.answer(call, output.clone(), is_error).await;
        state
            .complete_item(&turn.id, tool_item(&item_id, call, Some(output), is_error))
            .await;
    }
    match fatal {
        Some(message) => Err(Halt::Fatal(message)),
        None => Ok(()),
    }
}

/// The agent's symbol index, built from the workspace root (off the async
/// threads) the first time a thread needs one the front end did not give.
async fn symbol_index(state: &ThreadState) -> Option<SharedIndex> {
    let roots = vec![state.shared.workspace.root().to_path_buf()];
    // The same cache the language server keeps (it is per set of roots), so a
    // headless run in a workspace indexed before parses only what changed.
    let cache = state
        .shared
        .config
        .context
        .index_cache
        .then(|| crate::context::cache_path(&state.shared.data_dir, &roots));
    state
        .shared
        .symbols
        .get_or_try_init(|| async move {
            tokio::task::spawn_blocking(move || {
                let index = SharedIndex::new();
                let options = crate::context::BuildOptions {
                    cache,
                    ..Default::default()
                };
                index.build(&roots, &options, &|_| {}).map(|_| index)
            })
            .await
            .map_err(|error| error.to_string())?
            .map_err(|error| error.to_string())
        })
        .await
        .map_err(|error| tracing::warn!(%error, "could not index the workspace"))
        .ok()
        .cloned()
}

fn tool_item(item_id: &str, call: &Call, output: Option<String>, is_error: bool) -> ThreadItem {
    ThreadItem {
        id: item_id.to_string(),
        kind: ThreadItemKind::ToolCall {
            call_id: call.call_id.clone(),
            tool: call.name.clone(),
            arguments: call.arguments.clone(),
            output,
            is_error,
        },
    }
}

/// Land a planned patch through the workspace and show it as a file change.
async fn apply_patch(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &mut Turn,
    call: &Call,
    changes: Changeset,
) -> Result<(), Halt> {
    let root = state.shared.workspace.root().to_path_buf();
    let diffs = file_diffs(&changes, &root);
    let summary = tools::patch_summary(&changes, &root);
    let item_id = state.next_id("item");
    let item = |status, error| ThreadItem {
        id: item_id.clone(),
        kind: ThreadItemKind::FileChange {
            call_id: call.call_id.clone(),
            changes: diffs.clone(),
            status,
            error,
        },
    };
    state
        .start_item(&turn.id, item(PatchStatus::InProgress, None))
        .await;
    let paths: Vec<PathBuf> = changes.files.keys().cloned().collect();
    let workspace = state.shared.workspace.clone();
    // Interruptible: an editor may hold an edit for review indefinitely. An edit
    // already handed to the editor may still land after an interrupt.
    // For the symbol index: per changed file, its new text (`None`: gone), and
    // the path a move left (gone too).
    let index_updates: Vec<(PathBuf, Option<String>, Option<PathBuf>)> = changes
        .files
        .iter()
        .map(|(path, change)| {
            (
                path.clone(),
                change.proposed.clone(),
                change.moved_from.clone(),
            )
        })
        .collect();
    // The call is in the rollout already; on disk before the edit can land.
    state.sync_rollout().await;
    let outcome = inbox.run(workspace.apply(changes)).await?;
    // What changed: everything, or the files that landed before a fault.
    let changed: Vec<PathBuf> = match &outcome {
        Ok(()) => paths,
        Err(ApplyError::Partial { landed, .. }) => landed.clone(),
        Err(_) => Vec::new(),
    };
    // Keep the symbol tools current within the turn (the language server also
    // re-indexes from the didChange that follows).
    if let Some(index) = state.shared.symbols.get() {
        for (path, proposed, moved_from) in &index_updates {
            if !changed.contains(path) {
                continue;
            }
            match (proposed, Language::from_path(path)) {
                (Some(text), Some(language)) => index.update_file(path, language, text),
                _ => index.remove_file(path),
            }
            if let Some(from) = moved_from {
                index.remove_file(from);
            }
        }
    }
    for path in changed {
        turn.note_changed(path);
    }
    match outcome {
        Ok(()) => {
            state
                .answer(
                    call,
                    format!("Success. Updated the following files:\n{summary}"),
                    false,
                )
                .await;
            state
                .complete_item(&turn.id, item(PatchStatus::Applied, None))
                .await;
        }
        Err(error) => {
            let message = match error {
                ApplyError::Partial { .. } => error.to_string(),
                other => format!("the patch was not applied: {other}"),
            };
            state.answer(call, message.clone(), true).await;
            state
                .complete_item(&turn.id, item(PatchStatus::Failed, Some(message)))
                .await;
        }
    }
    Ok(())
}

/// The unified diff of each file of `changes`, paths shown relative to `root`
/// (`diff::unified_diff`: a file only moved shows as a rename header).
fn file_diffs(changes: &Changeset, root: &Path) -> Vec<FileDiff> {
    let shown = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    changes
        .files
        .iter()
        .map(|(path, change)| {
            let old = change.base.as_ref().map_or("", |base| base.text.as_str());
            let new = change.proposed.as_deref().unwrap_or("");
            let kind = match (&change.base, &change.proposed) {
                (None, _) => FileChangeKind::Add,
                (Some(_), None) => FileChangeKind::Delete,
                (Some(_), Some(_)) => FileChangeKind::Update {
                    moved_from: change.moved_from.clone(),
                },
            };
            let old_name = match (&kind, &change.moved_from) {
                (FileChangeKind::Add, _) => None,
                (_, Some(from)) => Some(shown(from)),
                _ => Some(shown(path)),
            };
            let new_name = match kind {
                FileChangeKind::Delete => None,
                _ => Some(shown(path)),
            };
            let diff =
                crate::diff::unified_diff(old_name.as_deref(), new_name.as_deref(), old, new);
            FileDiff {
                path: path.clone(),
                kind,
                diff,
            }
        })
        .collect()
}

async fn update_plan(state: &mut ThreadState, turn: &Turn, call: &Call) -> Result<(), Halt> {
    let (explanation, steps) = match tools::parse_plan_args(&call.arguments) {
        Ok(plan) => plan,
        Err(error) => return answer_error(state, turn, call, error).await,
    };
    let steps = steps
        .into_iter()
        .map(|step| PlanStep {
            step: step.step,
            status: match step.status {
                PlanStatus::Pending => PlanStepStatus::Pending,
                PlanStatus::InProgress => PlanStepStatus::InProgress,
                PlanStatus::Completed => PlanStepStatus::Completed,
            },
        })
        .collect();
    let item = ThreadItem {
        id: state.next_id("item"),
        kind: ThreadItemKind::Plan {
            call_id: call.call_id.clone(),
            explanation,
            steps,
        },
    };
    state.start_item(&turn.id, item.clone()).await;
    state.answer(call, "Plan updated".to_string(), false).await;
    state.complete_item(&turn.id, item).await;
    Ok(())
}

/// A `shell` call: its arguments checked and its working directory resolved
/// here (a malformed call is an answer to the model, a patch sent through the
/// shell is applied as a patch), the command itself run by `shell::run`.
async fn run_shell(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &mut Turn,
    call: &Call,
    permission: HookPermission,
) -> Result<(), Halt> {
    let args = match tools::parse_shell_args(&call.arguments) {
        Ok(args) => args,
        Err(error) => return answer_error(state, turn, call, error).await,
    };
    // Models trained on Codex send patches through the shell.
    if let Some(patch) = tools::patch_from_shell(&args.argv) {
        return match tools::plan_patch_text(&patch, &*state.shared.workspace) {
            Ok(changes) => apply_patch(state, inbox, turn, call, changes).await,
            Err(error) => answer_error(state, turn, call, error).await,
        };
    }
    let root = state.shared.workspace.root().to_path_buf();
    let cwd = match &args.workdir {
        Some(workdir) => match tools::resolve_in_workspace(&root, &workdir.to_string_lossy()) {
            Ok(cwd) => cwd,
            Err(error) => return answer_error(state, turn, call, error).await,
        },
        None => state.meta.cwd.clone(),
    };
    shell::run(state, inbox, turn, call, args, cwd, permission).await
}
