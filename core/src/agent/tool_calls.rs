//! Running the tool calls of one model answer, in the order the model made them:
//! consecutive read-only calls together, in parallel; each patch, command or plan
//! alone. Every call ends with its output in the history (a refusal or a malformed
//! argument is an output the model reads, marked as an error) and a finished
//! thread item.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::inbox::Inbox;
use super::thread::ThreadState;
use super::turn::{Halt, Turn};
use crate::approval;
use crate::config::ApprovalPolicy;
use crate::context::SharedIndex;
use crate::language::Language;
use crate::model::ResponseItem;
use crate::process::{CommandOutcome, CommandSpec, OutputChunk, SandboxError, SandboxPolicy};
use crate::protocol::{
    CommandStatus, Event, FileChangeKind, FileDiff, ItemDelta, PatchStatus, PlanStep,
    PlanStepStatus, ReviewDecision, ThreadItem, ThreadItemKind,
};
use crate::rollout::RolloutLine;
use crate::tools::{self, PlanStatus, ToolError, ToolKind};
use crate::workspace::{ApplyError, Changeset};

/// The most command output the model reads (head and tail kept).
const COMMAND_OUTPUT_BUDGET: usize = 16 * 1024;
/// Output chunks in flight between a command and the thread.
const OUTPUT_CHUNKS: usize = 64;

/// A tool call the model made.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) call_id: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
}

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
        match tools::kind_of(&call.name) {
            Some(ToolKind::ReadOnly) => {
                let batch = calls[index..]
                    .iter()
                    .take_while(|call| tools::kind_of(&call.name) == Some(ToolKind::ReadOnly))
                    .count();
                run_read_only(state, inbox, turn, &calls[index..index + batch]).await?;
                index += batch;
                continue;
            }
            Some(ToolKind::Patch) => {
                match tools::plan_patch(&call.arguments, &*state.shared.workspace) {
                    Ok(changes) => apply_patch(state, inbox, turn, call, changes).await?,
                    Err(error) => answer_error(state, turn, call, error).await?,
                }
            }
            Some(ToolKind::Shell) => run_shell(state, inbox, turn, call).await?,
            Some(ToolKind::Plan) => update_plan(state, turn, call).await?,
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
        index += 1;
    }
    Ok(())
}

/// Put a call's output in the history.
async fn answer(state: &mut ThreadState, call: &Call, output: String, is_error: bool) {
    tracing::trace!(call_id = %call.call_id, %output, is_error, "tool output");
    state
        .push_history(ResponseItem::FunctionCallOutput {
            call_id: call.call_id.clone(),
            output,
            is_error,
        })
        .await;
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
            arguments: call.arguments.clone(),
            output: Some(message.clone()),
            is_error: true,
        },
    };
    state.start_item(&turn.id, item.clone()).await;
    answer(state, call, message, true).await;
    state.complete_item(&turn.id, item).await;
    Ok(())
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
        answer(state, call, output.clone(), is_error).await;
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
            answer(
                state,
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
            answer(state, call, message.clone(), true).await;
            state
                .complete_item(&turn.id, item(PatchStatus::Failed, Some(message)))
                .await;
        }
    }
    Ok(())
}

/// The unified diff of each file of `changes`, paths shown relative to `root`.
pub(crate) fn file_diffs(changes: &Changeset, root: &Path) -> Vec<FileDiff> {
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
                (FileChangeKind::Add, _) => "/dev/null".to_string(),
                (_, Some(from)) => format!("a/{}", shown(from)),
                _ => format!("a/{}", shown(path)),
            };
            let new_name = match kind {
                FileChangeKind::Delete => "/dev/null".to_string(),
                _ => format!("b/{}", shown(path)),
            };
            let diff = similar::TextDiff::from_lines(old, new)
                .unified_diff()
                .context_radius(3)
                .header(&old_name, &new_name)
                .to_string();
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
    answer(state, call, "Plan updated".to_string(), false).await;
    state.complete_item(&turn.id, item).await;
    Ok(())
}

/// A `shell` call: approval per policy, the sandboxed run, and an offer to run
/// again outside the sandbox when the sandbox refused something.
async fn run_shell(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &mut Turn,
    call: &Call,
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
    let argv = args.argv;
    let config = &state.shared.config;
    let approval_policy = config.approvals.policy;
    let sandbox_policy = config.sandbox.policy;
    let timeout = args
        .timeout
        .unwrap_or(Duration::from_secs(config.sandbox.command_timeout_secs));
    let item_id = state.next_id("item");
    let command_item = |output: String, exit_code, status| ThreadItem {
        id: item_id.clone(),
        kind: ThreadItemKind::CommandExecution {
            call_id: call.call_id.clone(),
            argv: argv.clone(),
            cwd: cwd.clone(),
            output,
            exit_code,
            status,
        },
    };
    // The item starts once the command may run: a front end that shows it as
    // running must not say so while the user is still asked. A declined command
    // still gets its item, started and completed at once.
    let started = command_item(String::new(), None, CommandStatus::InProgress);

    let needs_approval = if state.shared.unconfined {
        approval_policy != ApprovalPolicy::Never
    } else {
        approval::needs_approval(approval_policy, &argv)
    };
    if needs_approval && !state.approved_commands.contains(&argv) {
        let decision = ask(
            state,
            inbox,
            turn,
            &item_id,
            &argv,
            &cwd,
            args.justification.clone(),
            false,
        )
        .await?;
        match decision {
            ReviewDecision::Approved => {}
            ReviewDecision::ApprovedForThread => {
                remember_approval(state, &argv, false).await;
            }
            ReviewDecision::Denied => {
                let message = format!(
                    "the user denied running `{}`; do not try to run it another way, continue without it or ask the user",
                    shell_words(&argv)
                );
                answer(state, call, message.clone(), true).await;
                state.start_item(&turn.id, started).await;
                state
                    .complete_item(
                        &turn.id,
                        command_item(message, None, CommandStatus::Declined),
                    )
                    .await;
                return Ok(());
            }
            ReviewDecision::Abort => {
                state.start_item(&turn.id, started).await;
                state
                    .complete_item(
                        &turn.id,
                        command_item(String::new(), None, CommandStatus::Declined),
                    )
                    .await;
                return Err(Halt::Abort);
            }
        }
    }
    state.start_item(&turn.id, started).await;

    let spec = CommandSpec {
        argv: argv.clone(),
        cwd: cwd.clone(),
        writable_roots: vec![root],
        timeout,
        policy: sandbox_policy,
    };
    let first = run_command(state, inbox, turn, &item_id, spec.clone()).await;
    let first = match first {
        Ok(result) => result,
        Err(halt) => {
            state
                .complete_item(
                    &turn.id,
                    command_item(String::new(), None, CommandStatus::Interrupted),
                )
                .await;
            return Err(halt);
        }
    };
    let outcome = match first {
        Ok(outcome) => outcome,
        Err(error) => {
            let message = format!("the command could not run: {error}");
            answer(state, call, message.clone(), true).await;
            state
                .complete_item(&turn.id, command_item(message, None, CommandStatus::Failed))
                .await;
            return Ok(());
        }
    };

    let (outcome, note) = if outcome.sandbox_denied && sandbox_policy != SandboxPolicy::FullAccess {
        match escalate(state, inbox, turn, &item_id, spec, outcome).await {
            Ok(escalated) => escalated,
            Err(halt) => {
                let status = match halt {
                    Halt::Abort => CommandStatus::Declined,
                    _ => CommandStatus::Interrupted,
                };
                state
                    .complete_item(&turn.id, command_item(String::new(), None, status))
                    .await;
                return Err(halt);
            }
        }
    } else {
        (outcome, String::new())
    };
    let output = format!(
        "{note}{}",
        tools::format_command_output(&outcome, COMMAND_OUTPUT_BUDGET)
    );
    let status = if outcome.exit_code == Some(0) && !outcome.timed_out {
        CommandStatus::Completed
    } else {
        CommandStatus::Failed
    };
    let is_error = status != CommandStatus::Completed;
    answer(state, call, output.clone(), is_error).await;
    state
        .complete_item(&turn.id, command_item(output, outcome.exit_code, status))
        .await;
    Ok(())
}

/// The sandbox refused something: ask to run the command again without it
/// (unless the policy never asks). Returns the outcome to report and a note for
/// the model on what happened.
async fn escalate(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &mut Turn,
    item_id: &str,
    spec: CommandSpec,
    sandboxed: CommandOutcome,
) -> Result<(CommandOutcome, String), Halt> {
    let words = shell_words(&spec.argv);
    if state.shared.config.approvals.policy == ApprovalPolicy::Never {
        return Ok((
            sandboxed,
            format!("the sandbox blocked part of `{words}` and the approval policy does not allow running commands outside it\n"),
        ));
    }
    if !state.approved_escalations.contains(&spec.argv) {
        let reason = format!(
            "the sandbox blocked part of `{words}` (a write outside the workspace or a network connection); run it again without the sandbox?"
        );
        let decision = ask(
            state,
            inbox,
            turn,
            item_id,
            &spec.argv,
            &spec.cwd,
            Some(reason),
            true,
        )
        .await?;
        match decision {
            ReviewDecision::Approved => {}
            ReviewDecision::ApprovedForThread => {
                remember_approval(state, &spec.argv, true).await;
            }
            ReviewDecision::Denied => {
                return Ok((
                    sandboxed,
                    format!("the sandbox blocked part of `{words}` and the user declined to run it outside the sandbox\n"),
                ))
            }
            ReviewDecision::Abort => return Err(Halt::Abort),
        }
    }
    let unsandboxed = CommandSpec {
        policy: SandboxPolicy::FullAccess,
        ..spec
    };
    match run_command(state, inbox, turn, item_id, unsandboxed).await? {
        Ok(outcome) => Ok((
            outcome,
            "the sandbox blocked the first run; this is the output of a second run outside the sandbox, approved by the user\n".to_string(),
        )),
        Err(error) => Ok((
            sandboxed,
            format!("the sandbox blocked part of `{words}` and the run outside the sandbox could not start: {error}\n"),
        )),
    }
}

async fn remember_approval(state: &mut ThreadState, argv: &[String], sandbox_escalation: bool) {
    let set = if sandbox_escalation {
        &mut state.approved_escalations
    } else {
        &mut state.approved_commands
    };
    if set.insert(argv.to_vec()) {
        state
            .record(RolloutLine::ApprovedForThread {
                argv: argv.to_vec(),
                sandbox_escalation,
            })
            .await;
    }
}

/// Ask the front end and wait for its decision; no answer within
/// `approvals.timeout_secs` counts as a denial.
#[allow(clippy::too_many_arguments)]
async fn ask(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &Turn,
    item_id: &str,
    argv: &[String],
    cwd: &Path,
    reason: Option<String>,
    sandbox_escalation: bool,
) -> Result<ReviewDecision, Halt> {
    let id = state.next_id("approval");
    state
        .emit(Event::ApprovalRequested {
            turn_id: turn.id.clone(),
            id: id.clone(),
            item_id: item_id.to_string(),
            argv: argv.to_vec(),
            cwd: cwd.to_path_buf(),
            reason,
            sandbox_escalation,
        })
        .await;
    let timeout = Duration::from_secs(state.shared.config.approvals.timeout_secs);
    let decision = match inbox.decision(&id, timeout).await? {
        Some(decision) => decision,
        None => {
            state
                .emit(Event::Warning {
                    message: format!(
                        "no answer to the approval of `{}` within {} s: treated as denied",
                        shell_words(argv),
                        timeout.as_secs()
                    ),
                })
                .await;
            ReviewDecision::Denied
        }
    };
    state
        .emit(Event::ApprovalResolved {
            turn_id: turn.id.clone(),
            id,
            item_id: item_id.to_string(),
            decision,
        })
        .await;
    Ok(decision)
}

/// Run a command, relaying its output as deltas of its item. The outer error is
/// an interrupt (the command is dropped, which kills it).
async fn run_command(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &Turn,
    item_id: &str,
    spec: CommandSpec,
) -> Result<Result<CommandOutcome, SandboxError>, Halt> {
    let span = tracing::info_span!("command", argv = ?spec.argv, policy = ?spec.policy);
    let runner = state.shared.runner.clone();
    let (sender, mut receiver) = mpsc::channel::<OutputChunk>(OUTPUT_CHUNKS);
    let state = &*state;
    let relay = async move {
        let run = runner.run(spec, Some(sender));
        tokio::pin!(run);
        let mut open = true;
        loop {
            tokio::select! {
                biased;
                chunk = receiver.recv(), if open => match chunk {
                    Some(chunk) => relay_chunk(state, turn, item_id, chunk).await,
                    None => open = false,
                },
                outcome = &mut run => {
                    while let Ok(chunk) = receiver.try_recv() {
                        relay_chunk(state, turn, item_id, chunk).await;
                    }
                    return outcome;
                }
            }
        }
    };
    Ok(inbox.run(relay.instrument(span)).await?)
}

async fn relay_chunk(state: &ThreadState, turn: &Turn, item_id: &str, chunk: OutputChunk) {
    state
        .emit(Event::ItemDelta {
            turn_id: turn.id.clone(),
            item_id: item_id.to_string(),
            delta: ItemDelta::CommandOutput {
                stream: chunk.stream,
                text: String::from_utf8_lossy(&chunk.bytes).into_owned(),
            },
        })
        .await;
}

/// A command as a user would type it, for messages.
fn shell_words(argv: &[String]) -> String {
    match argv {
        [shell, flag, script] if flag == "-lc" && (shell == "bash" || shell == "sh") => {
            script.clone()
        }
        _ => argv
            .iter()
            .map(|word| {
                if word.is_empty()
                    || word.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c))
                {
                    format!("'{}'", word.replace('\'', "'\\''"))
                } else {
                    word.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}
