//! One thread's events, as the editor shows them: a work-done progress per turn
//! (thinking, reading, running a command with its elapsed time, waiting for
//! approval, applying edits), `showMessage` at start, end and failure (Neovim and
//! Helix show no progress by default), approvals, the final answer, and for
//! clients that declared `experimental.agentls` the `agent/*` notifications.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentls_core::config::EditApproval;
use agentls_core::protocol::{Event, ReviewDecision, ThreadId, ThreadItem, ThreadItemKind};
use lsp_types::notification::{Notification, Progress};
use lsp_types::request::WorkDoneProgressCreate;
use lsp_types::{
    MessageType, ProgressParams, ProgressParamsValue, ProgressToken, WorkDoneProgress,
    WorkDoneProgressBegin, WorkDoneProgressCreateParams, WorkDoneProgressEnd,
    WorkDoneProgressReport,
};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tower_lsp_server::Client;

use super::{approvals, display_command, TaskInfo, Tasks};
use crate::ext::{self, TurnStatus};
use crate::outgoing::answered;
use crate::state::State;

/// A turn as the relay follows it.
struct TurnView {
    turn_id: String,
    info: TaskInfo,
    token: Option<ProgressToken>,
    /// The latest assistant message: the answer, once the turn completes.
    answer: String,
    /// The command running now and when it started, for the elapsed time.
    command: Option<(String, Instant)>,
    /// A command that ran in the sandbox and waits for approval to run again
    /// outside it: it runs once more when approved (its item has started).
    escalating: Option<String>,
    /// The approvals asked in this turn: the core's id to the one clients see.
    approval_ids: Vec<(String, u64)>,
}

/// Relays the events of thread `id` until it ends.
pub(super) async fn run(
    tasks: Tasks,
    state: Arc<State>,
    client: Client,
    id: ThreadId,
    mut events: mpsc::Receiver<Event>,
) {
    let mut turn: Option<TurnView> = None;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let running_command = turn.as_ref().is_some_and(|turn| turn.command.is_some());
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => relay(&tasks, &state, &client, &id, &mut turn, event).await,
                None => break,
            },
            _ = ticker.tick(), if running_command => {
                if let Some(view) = &turn {
                    if let Some((command, started)) = &view.command {
                        let message = format!("running `{command}` ({} s)", started.elapsed().as_secs());
                        report(&client, view, &message).await;
                    }
                }
            }
        }
    }
    tracing::info!(thread_id = %id, "thread ended");
    tasks.thread_ended(&id);
}

async fn relay(
    tasks: &Tasks,
    state: &Arc<State>,
    client: &Client,
    id: &ThreadId,
    turn: &mut Option<TurnView>,
    event: Event,
) {
    let extensions = state.session().agentls_extensions;
    match event {
        Event::ThreadStarted { .. } => {}
        Event::TurnStarted { turn_id } => {
            let view = begin_turn(tasks, state, client, id, &turn_id).await;
            if extensions {
                let params = ext::TurnStartedParams {
                    thread_id: id.clone(),
                    turn_id,
                    title: view.info.title.clone(),
                };
                notify::<ext::TurnStarted>(client, params).await;
            }
            *turn = Some(view);
        }
        Event::ItemStarted { turn_id, item } => {
            if let Some(view) = turn.as_mut() {
                if let Some(mut message) = describe_start(&item, state_root(state, view).as_deref())
                {
                    match &item.kind {
                        ThreadItemKind::CommandExecution { argv, .. } => {
                            view.command = Some((display_command(argv), Instant::now()));
                        }
                        // The change waits for the user: the progress says so
                        // too, since in Helix it shares (and may overwrite) the
                        // line the review's announcement went to.
                        ThreadItemKind::FileChange { .. }
                            if view
                                .info
                                .edits
                                .unwrap_or_else(|| state.config().approvals.edits)
                                == EditApproval::Review =>
                        {
                            message = WAITING_FOR_REVIEW.to_string();
                        }
                        _ => {}
                    }
                    report(client, view, &message).await;
                }
            }
            if extensions {
                let params = ext::ItemParams {
                    thread_id: id.clone(),
                    turn_id,
                    item,
                };
                notify::<ext::ItemStarted>(client, params).await;
            }
        }
        Event::ItemDelta {
            turn_id,
            item_id,
            delta,
        } => {
            if extensions {
                let params = ext::ItemDeltaParams {
                    thread_id: id.clone(),
                    turn_id,
                    item_id,
                    delta,
                };
                notify::<ext::ItemDeltaNotification>(client, params).await;
            }
        }
        Event::ItemCompleted { turn_id, item } => {
            if let Some(view) = turn.as_mut() {
                match &item.kind {
                    ThreadItemKind::AssistantMessage { text } => view.answer = text.clone(),
                    ThreadItemKind::CommandExecution { .. } => {
                        view.command = None;
                        report(client, view, "thinking").await;
                    }
                    _ => {}
                }
            }
            if extensions {
                let params = ext::ItemParams {
                    thread_id: id.clone(),
                    turn_id,
                    item,
                };
                notify::<ext::ItemCompleted>(client, params).await;
            }
        }
        Event::ApprovalRequested {
            turn_id,
            id: core_id,
            item_id,
            argv,
            cwd,
            reason,
            sandbox_escalation,
            tool_call,
        } => {
            let title = turn
                .as_ref()
                .map(|view| view.info.title.clone())
                .unwrap_or_default();
            if let Some(view) = turn.as_mut() {
                // A command asked about again (to leave the sandbox) is not
                // running while the user decides: no elapsed-time reports.
                view.command = None;
                view.escalating = sandbox_escalation.then(|| display_command(&argv));
                // Helix shows this (with display-progress-messages) where its
                // one-line announcement has no room for the reason.
                let why = reason
                    .as_deref()
                    .map(|reason| format!(": {reason}"))
                    .unwrap_or_default();
                let message = match &tool_call {
                    Some(call) => format!("waiting for approval to call `{}`", call.name),
                    None => format!(
                        "waiting for approval to run `{}`{why}",
                        display_command(&argv)
                    ),
                };
                report(client, view, &message).await;
            }
            let Some(pending) = approvals::register(
                tasks,
                id,
                core_id.clone(),
                argv,
                cwd,
                reason,
                sandbox_escalation,
                title,
                tool_call,
            ) else {
                return;
            };
            if let Some(view) = turn.as_mut() {
                view.approval_ids.push((core_id, pending.id));
            }
            if extensions {
                let params = ext::ApprovalRequestedParams {
                    thread_id: id.clone(),
                    turn_id,
                    item_id,
                    id: pending.id.to_string(),
                    argv: pending.argv.clone(),
                    cwd: pending.cwd.clone(),
                    reason: pending.reason.clone(),
                    sandbox_escalation: pending.escalation,
                    tool_call: pending.tool_call.clone(),
                };
                notify::<ext::ApprovalRequested>(client, params).await;
            }
            approvals::ask(tasks.clone(), state.clone(), client.clone(), pending).await;
        }
        Event::ApprovalResolved {
            turn_id,
            id: core_id,
            item_id,
            decision,
        } => {
            let shown_id = turn.as_ref().and_then(|view| {
                view.approval_ids
                    .iter()
                    .find(|(core, _)| *core == core_id)
                    .map(|(_, shown)| shown.to_string())
            });
            if let (true, Some(shown_id)) = (extensions, shown_id) {
                let params = ext::ApprovalResolvedParams {
                    thread_id: id.clone(),
                    turn_id,
                    item_id,
                    id: shown_id,
                    decision,
                };
                notify::<ext::ApprovalResolved>(client, params).await;
            }
            if let Some(view) = turn.as_mut() {
                let approved = matches!(
                    decision,
                    ReviewDecision::Approved | ReviewDecision::ApprovedForThread
                );
                match view.escalating.take() {
                    Some(command) if approved => {
                        report(client, view, &format!("running `{command}`")).await;
                        view.command = Some((command, Instant::now()));
                    }
                    _ => report(client, view, if approved { "approved" } else { "denied" }).await,
                }
            }
        }
        Event::TokenUsage { .. } => {}
        Event::Retrying {
            attempt,
            max,
            delay_ms,
            reason,
            ..
        } => {
            if let Some(view) = turn.as_ref() {
                let message = format!(
                    "{reason}; retry {attempt} of {max} in {:.1} s",
                    delay_ms as f64 / 1000.0
                );
                report(client, view, &message).await;
            }
        }
        Event::Warning { message } => {
            client
                .show_message(MessageType::WARNING, format!("agentls: {message}"))
                .await;
        }
        Event::TurnCompleted {
            turn_id,
            usage,
            changed_files,
        } => {
            let view = turn.take();
            let changes = tasks.turn_ended(id, state);
            let diff = super::undo::turn_diff(&changes.checkpoint, &state.session().roots);
            if extensions {
                if !diff.is_empty() {
                    let params = ext::TurnDiffParams {
                        thread_id: id.clone(),
                        turn_id: turn_id.clone(),
                        diff,
                    };
                    notify::<ext::TurnDiff>(client, params).await;
                }
                let params = ext::TurnCompletedParams {
                    thread_id: id.clone(),
                    turn_id,
                    status: TurnStatus::Completed,
                    usage: Some(usage),
                    reason: None,
                    error: None,
                    changed_files,
                };
                notify::<ext::TurnCompleted>(client, params).await;
            }
            if let Some(view) = view {
                end_progress(client, &view, "done").await;
                let answer = super::answers::deliver(
                    state,
                    client,
                    id,
                    &view.turn_id,
                    &view.info,
                    &view.answer,
                    &changes.files,
                )
                .await;
                if let Some(answer) = answer {
                    tasks.remember_answer(answer);
                }
            }
        }
        Event::TurnInterrupted { turn_id, reason } => {
            let view = turn.take();
            let changes = tasks.turn_ended(id, state);
            if extensions {
                let params = ext::TurnCompletedParams {
                    thread_id: id.clone(),
                    turn_id,
                    status: TurnStatus::Interrupted,
                    usage: None,
                    reason: Some(reason),
                    error: None,
                    changed_files: changes.files.clone(),
                };
                notify::<ext::TurnCompleted>(client, params).await;
            }
            if let Some(view) = view {
                end_progress(client, &view, "stopped").await;
                let kept = if changes.files.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; its changes to {} stay (\"Agent: Undo last agent change\" reverts them)",
                        changes.files.len()
                    ) + " file(s)"
                };
                client
                    .show_message(
                        MessageType::INFO,
                        format!("agentls: {} stopped{kept}", view.info.title),
                    )
                    .await;
            }
        }
        Event::TurnFailed { turn_id, error } => {
            let view = turn.take();
            let changes = tasks.turn_ended(id, state);
            if extensions {
                let params = ext::TurnCompletedParams {
                    thread_id: id.clone(),
                    turn_id,
                    status: TurnStatus::Failed,
                    usage: None,
                    reason: None,
                    error: Some(error.clone()),
                    changed_files: changes.files.clone(),
                };
                notify::<ext::TurnCompleted>(client, params).await;
            }
            let title = match &view {
                Some(view) => {
                    end_progress(client, view, "failed").await;
                    view.info.title.clone()
                }
                None => "the agent task".to_string(),
            };
            client
                .show_message(
                    MessageType::ERROR,
                    format!("agentls: {title} failed: {error}"),
                )
                .await;
        }
    }
}

async fn begin_turn(
    tasks: &Tasks,
    state: &Arc<State>,
    client: &Client,
    id: &ThreadId,
    turn_id: &str,
) -> TurnView {
    let session = state.session();
    let (info, token) = tasks.turn_started(id, session.work_done_progress);
    let mut token = token;
    if let Some(requested) = token.clone() {
        // The client must accept the token before progress may use it.
        let created = answered(client.send_request::<WorkDoneProgressCreate>(
            WorkDoneProgressCreateParams {
                token: requested.clone(),
            },
        ))
        .await;
        match created {
            Some(Ok(())) => {
                send_progress(
                    client,
                    &requested,
                    WorkDoneProgress::Begin(WorkDoneProgressBegin {
                        title: format!("Agent: {}", info.title),
                        cancellable: Some(true),
                        message: Some("thinking".to_string()),
                        percentage: None,
                    }),
                )
                .await;
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "the client refused a progress token");
                token = None;
            }
            None => token = None,
        }
    }
    let place = info
        .path
        .as_deref()
        .map(|path| format!(" on {}", state.relative(path)))
        .unwrap_or_default();
    client
        .show_message(
            MessageType::INFO,
            format!(
                "agentls: {}{place} started; \"Agent: Stop agent\" stops it",
                info.title
            ),
        )
        .await;
    TurnView {
        turn_id: turn_id.to_string(),
        info,
        token,
        answer: String::new(),
        command: None,
        escalating: None,
        approval_ids: Vec::new(),
    }
}

/// The progress while a change waits in review (`[approvals] edits = "review"`).
const WAITING_FOR_REVIEW: &str = "waiting for your review: Agent: Apply or Discard change";

/// What the progress says when an item starts.
fn describe_start(item: &ThreadItem, root: Option<&Path>) -> Option<String> {
    match &item.kind {
        ThreadItemKind::Reasoning { .. } => Some("thinking".to_string()),
        ThreadItemKind::ToolCall {
            tool, arguments, ..
        } => {
            let arguments: Value = serde_json::from_str(arguments).unwrap_or(Value::Null);
            let target = arguments
                .get("path")
                .or_else(|| arguments.get("name"))
                .or_else(|| arguments.get("pattern"))
                .and_then(Value::as_str)
                .map(|target| {
                    root.and_then(|root| Path::new(target).strip_prefix(root).ok())
                        .map(|relative| relative.display().to_string())
                        .unwrap_or_else(|| target.to_string())
                });
            Some(match (tool.as_str(), target) {
                ("read_file", Some(path)) => format!("reading {path}"),
                ("list_dir", Some(path)) => format!("listing {path}"),
                ("grep", Some(pattern)) => format!("searching for {pattern}"),
                (tool, Some(target)) => format!("{tool} {target}"),
                (tool, None) => tool.replace('_', " "),
            })
        }
        ThreadItemKind::CommandExecution { argv, .. } => {
            Some(format!("running `{}`", display_command(argv)))
        }
        ThreadItemKind::FileChange { .. } => Some("applying edits".to_string()),
        ThreadItemKind::Plan { .. } => Some("planning".to_string()),
        ThreadItemKind::Compaction { .. } => Some("compacting the conversation".to_string()),
        ThreadItemKind::UserMessage { .. } | ThreadItemKind::AssistantMessage { .. } => None,
    }
}

fn state_root(state: &State, _view: &TurnView) -> Option<std::path::PathBuf> {
    state.session().roots.first().cloned()
}

async fn report(client: &Client, view: &TurnView, message: &str) {
    if let Some(token) = &view.token {
        send_progress(
            client,
            token,
            WorkDoneProgress::Report(WorkDoneProgressReport {
                cancellable: Some(true),
                message: Some(message.to_string()),
                percentage: None,
            }),
        )
        .await;
    }
}

async fn end_progress(client: &Client, view: &TurnView, message: &str) {
    if let Some(token) = &view.token {
        send_progress(
            client,
            token,
            WorkDoneProgress::End(WorkDoneProgressEnd {
                message: Some(message.to_string()),
            }),
        )
        .await;
    }
}

async fn send_progress(client: &Client, token: &ProgressToken, value: WorkDoneProgress) {
    client
        .send_notification::<Progress>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        })
        .await;
}

/// A custom notification (`agent/*`), for clients that declared
/// `experimental.agentls`.
async fn notify<N: Notification>(client: &Client, params: N::Params) {
    client.send_notification::<N>(params).await;
}
