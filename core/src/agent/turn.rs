//! One turn: the user's input, then model call after model call (each followed by
//! the tools it asked for and any steer that arrived) until the model answers
//! without calling a tool. However a turn ends, every tool call in the history
//! gets an answer, so the history stays valid for the next request and for a
//! resume.

use tracing::Instrument;

use super::compaction;
use super::hooks;
use super::inbox::{Inbox, Stop, TurnInput};
use super::mcp_tools;
use super::prompt;
use super::sampling::{self, assistant_item, reasoning_item, Sample, SampleError, Visibility};
use super::state::{Call, Halt, ThreadState, Turn};
use super::tool_calls;
use crate::model::{ProviderError, ResponseItem, Role, TokenUsage};
use crate::protocol::{ContextItem, Event, InterruptReason, ThreadItem, ThreadItemKind};
use crate::rollout::{unanswered_calls, RolloutLine, TurnOutcome, ABORTED_CALL_OUTPUT};

/// How a turn ended, as the thread task needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TurnEnd {
    Completed,
    Interrupted,
    Failed,
    /// Interrupted by a shutdown: the thread ends too.
    Shutdown,
}

pub(crate) async fn run_turn(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    input: TurnInput,
) -> TurnEnd {
    let mut turn = Turn {
        id: state.next_id("turn"),
        usage: TokenUsage::default(),
        changed_files: Vec::new(),
        hook_context: Vec::new(),
    };
    let span = tracing::info_span!("turn", thread_id = %state.id(), turn_id = %turn.id);
    async {
        let at = state.shared.clock.now();
        state
            .record(RolloutLine::TurnStarted {
                turn_id: turn.id.clone(),
                at,
            })
            .await;
        state.sync_rollout().await;
        state
            .emit(Event::TurnStarted {
                turn_id: turn.id.clone(),
            })
            .await;
        let result = turn_body(state, inbox, &mut turn, input).await;
        let ended = finish(state, &turn, result).await;
        let late_steers = inbox.end_turn();
        if !late_steers.is_empty() {
            state
                .emit(Event::Warning {
                    message: format!(
                        "{} message(s) sent to the turn arrived after it stopped and were not delivered",
                        late_steers.len()
                    ),
                })
                .await;
        }
        ended
    }
    .instrument(span)
    .await
}

async fn turn_body(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &mut Turn,
    input: TurnInput,
) -> Result<(), Halt> {
    let mut context = input.context;
    context.extend(hooks::user_prompt_submit(state, inbox, &input.text).await?);
    add_user_message(state, &turn.id, input.text, context).await;
    let mut compacted_this_step = false;
    let mut stop_continuations = 0;
    loop {
        if !compacted_this_step && compaction::is_due(state) {
            compaction::compact(state, inbox, &turn.id).await?;
            compacted_this_step = true;
        }
        mcp_tools::refresh(state, inbox).await?;
        let request = prompt::request(state, &state.history, &[]);
        let sample =
            match sampling::sample(state, inbox, &turn.id, request, Visibility::Streamed).await {
                Ok(sample) => sample,
                Err(SampleError::ContextLength(message)) => {
                    if compacted_this_step {
                        return Err(Halt::Fatal(
                            ProviderError::ContextLengthExceeded(message).to_string(),
                        ));
                    }
                    tracing::info!(%message, "context window exceeded: compacting");
                    compaction::compact(state, inbox, &turn.id).await?;
                    compacted_this_step = true;
                    continue;
                }
                Err(SampleError::Failed(error)) => return Err(Halt::Fatal(error.to_string())),
                Err(SampleError::Stopped(stop)) => return Err(Halt::Stop(stop)),
            };
        compacted_this_step = false;
        let calls = record_sample(state, turn, sample).await;
        let called_tools = !calls.is_empty();
        if called_tools {
            tool_calls::run(state, inbox, turn, calls).await?;
            let hook_context = std::mem::take(&mut turn.hook_context);
            if !hook_context.is_empty() {
                state
                    .push_history(prompt::user_message("", &hook_context))
                    .await;
            }
        }
        // The tool boundary: steers submitted so far join the history here.
        inbox.poll_ready()?;
        let steers = inbox.take_steers();
        let steered = !steers.is_empty();
        for text in steers {
            add_user_message(state, &turn.id, text, Vec::new()).await;
        }
        if !called_tools && !steered {
            let Some(reason) = hooks::stop(state, inbox, stop_continuations).await? else {
                return Ok(());
            };
            stop_continuations += 1;
            tracing::info!(%reason, "a Stop hook keeps the turn going");
            let context = [ContextItem {
                label: "Stop hook".into(),
                path: None,
                text: reason,
            }];
            state
                .push_history(prompt::user_message(
                    "A Stop hook did not let the turn end yet; continue.",
                    &context,
                ))
                .await;
        }
    }
}

async fn add_user_message(
    state: &mut ThreadState,
    turn_id: &str,
    text: String,
    context: Vec<ContextItem>,
) {
    state
        .push_history(prompt::user_message(&text, &context))
        .await;
    let item = ThreadItem {
        id: state.next_id("item"),
        kind: ThreadItemKind::UserMessage { text, context },
    };
    state.start_item(turn_id, item.clone()).await;
    state.complete_item(turn_id, item).await;
}

/// Append a model answer to the history, finish its items, report its usage, and
/// hand back the tool calls it made.
async fn record_sample(state: &mut ThreadState, turn: &mut Turn, sample: Sample) -> Vec<Call> {
    let mut calls = Vec::new();
    for (item, item_id) in sample.items.into_iter().zip(sample.item_ids) {
        state.push_history(without_oversized_arguments(&item)).await;
        match (item, item_id) {
            (
                ResponseItem::Message {
                    role: Role::Assistant,
                    text,
                },
                Some(item_id),
            ) => {
                state
                    .complete_item(&turn.id, assistant_item(&item_id, text))
                    .await
            }
            (ResponseItem::Reasoning { summary, .. }, Some(item_id)) => {
                state
                    .complete_item(&turn.id, reasoning_item(&item_id, summary))
                    .await
            }
            (
                ResponseItem::FunctionCall {
                    call_id,
                    name,
                    arguments,
                },
                _,
            ) => calls.push(Call {
                call_id,
                name,
                arguments,
            }),
            _ => {}
        }
    }
    if let Some(usage) = sample.usage {
        add_usage(&mut turn.usage, &usage);
        let history_len = state.history.len();
        state.last_usage = Some((usage, history_len));
        state
            .record(RolloutLine::Usage { usage, history_len })
            .await;
        state
            .emit(Event::TokenUsage {
                turn_id: turn.id.clone(),
                last: usage,
                turn_total: turn.usage,
            })
            .await;
    }
    calls
}

/// The item as the history keeps it: a call's arguments past
/// `tools::MAX_ARGUMENT_BYTES` become `{}` (the call is refused, and the bytes
/// would otherwise go out again with every request of the thread).
fn without_oversized_arguments(item: &ResponseItem) -> ResponseItem {
    match item {
        ResponseItem::FunctionCall {
            call_id,
            name,
            arguments,
        } if arguments.len() > crate::tools::MAX_ARGUMENT_BYTES => ResponseItem::FunctionCall {
            call_id: call_id.clone(),
            name: name.clone(),
            arguments: "{}".to_string(),
        },
        other => other.clone(),
    }
}

fn add_usage(total: &mut TokenUsage, usage: &TokenUsage) {
    total.input_tokens += usage.input_tokens;
    total.cached_input_tokens += usage.cached_input_tokens;
    total.output_tokens += usage.output_tokens;
    total.reasoning_output_tokens += usage.reasoning_output_tokens;
    total.total_tokens += usage.total_tokens;
}

/// Close the turn: answer calls left open, record and announce the outcome.
async fn finish(state: &mut ThreadState, turn: &Turn, result: Result<(), Halt>) -> TurnEnd {
    if result.is_err() {
        for call_id in unanswered_calls(&state.history) {
            state
                .push_history(ResponseItem::FunctionCallOutput {
                    call_id,
                    output: ABORTED_CALL_OUTPUT.to_string(),
                    is_error: true,
                })
                .await;
        }
    }
    let (outcome, event, ended) = match result {
        Ok(()) => (
            TurnOutcome::Completed,
            Event::TurnCompleted {
                turn_id: turn.id.clone(),
                usage: turn.usage,
                changed_files: turn.changed_files.clone(),
            },
            TurnEnd::Completed,
        ),
        Err(Halt::Fatal(error)) => {
            tracing::warn!(%error, "turn failed");
            (
                TurnOutcome::Failed,
                Event::TurnFailed {
                    turn_id: turn.id.clone(),
                    error,
                },
                TurnEnd::Failed,
            )
        }
        Err(halt) => {
            let (reason, ended) = match halt {
                Halt::Stop(Stop::Shutdown) => (InterruptReason::Shutdown, TurnEnd::Shutdown),
                Halt::Abort => (InterruptReason::Aborted, TurnEnd::Interrupted),
                _ => (InterruptReason::User, TurnEnd::Interrupted),
            };
            (
                TurnOutcome::Interrupted,
                Event::TurnInterrupted {
                    turn_id: turn.id.clone(),
                    reason,
                },
                ended,
            )
        }
    };
    state
        .record(RolloutLine::TurnEnded {
            turn_id: turn.id.clone(),
            outcome,
        })
        .await;
    state.sync_rollout().await;
    state.emit(event).await;
    ended
}
