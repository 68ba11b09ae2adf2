//! A `shell` call once its arguments are checked: approval per policy (asked of
//! the front end, remembered for the thread when the user says so), the
//! sandboxed run with its output relayed as it comes, and an offer to run again
//! outside the sandbox when the sandbox refused something. Kept apart from the
//! dispatcher in `tool_calls` because this is where the loop decides what may
//! run on the user's machine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::Instrument;

use super::ask::Question;
use super::inbox::Inbox;
use super::state::{Call, Halt, HookPermission, ThreadState, Turn};
use crate::approval;
use crate::config::ApprovalPolicy;
use crate::process::{CommandOutcome, CommandSpec, OutputChunk, SandboxError, SandboxPolicy};
use crate::protocol::{
    CommandStatus, Event, ItemDelta, ReviewDecision, ThreadItem, ThreadItemKind,
};
use crate::rollout::RolloutLine;
use crate::tools::{self, ShellArgs};

/// The most command output the model reads (head and tail kept).
const COMMAND_OUTPUT_BUDGET: usize = 16 * 1024;
/// Output chunks in flight between a command and the thread.
const OUTPUT_CHUNKS: usize = 64;

/// Run the command of `call` in `cwd` (inside the workspace): ask first when the
/// policy says so, run it sandboxed, offer an unsandboxed run when the sandbox
/// refused something, and answer the call with the output. `permission` is
/// what `PreToolUse` hooks decided: run unasked, or ask whatever the policy.
pub(crate) async fn run(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &Turn,
    call: &Call,
    args: ShellArgs,
    cwd: PathBuf,
    permission: HookPermission,
) -> Result<(), Halt> {
    let root = state.shared.workspace.root().to_path_buf();
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
    let (needs_approval, justification) = match permission {
        HookPermission::AsPolicy => (
            needs_approval && !state.approved_commands.contains(&argv),
            args.justification.clone(),
        ),
        HookPermission::Allow => (false, None),
        HookPermission::Ask(reason) => (
            true,
            reason.or_else(|| Some("a PreToolUse hook asks before this command".to_string())),
        ),
    };
    if needs_approval {
        let decision = ask(
            state,
            inbox,
            turn,
            &item_id,
            &argv,
            &cwd,
            justification,
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
                state.answer(call, message.clone(), true).await;
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
        overlays: state.shared.workspace.unsaved(),
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
            state.answer(call, message.clone(), true).await;
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
    state.answer(call, output.clone(), is_error).await;
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
    turn: &Turn,
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

/// Ask about a command (`ask::ask`).
#[allow(clippy::too_many_arguments)]
pub(super) async fn ask(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &Turn,
    item_id: &str,
    argv: &[String],
    cwd: &Path,
    reason: Option<String>,
    sandbox_escalation: bool,
) -> Result<ReviewDecision, Halt> {
    let question = Question {
        argv: argv.to_vec(),
        cwd: cwd.to_path_buf(),
        reason,
        sandbox_escalation,
        tool_call: None,
        shown: shell_words(argv),
    };
    super::ask::ask(state, inbox, turn, item_id, question).await
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
