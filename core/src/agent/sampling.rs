//! One model call: send the request, relay the stream as item events, collect the
//! finished output items. Retryable faults are tried again after
//! `provider::backoff_delay`, up to `provider.max_retries` times, each retry an
//! `Event::Retrying`; what a failed attempt streamed is discarded.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use tracing::Instrument;

use super::inbox::{Inbox, Stop};
use super::state::ThreadState;
use crate::model::{ModelRequest, ProviderError, ResponseEvent, ResponseItem, Role, TokenUsage};
use crate::protocol::{Event, ItemDelta, ThreadItem, ThreadItemKind};

/// The finished answer of one model call.
#[derive(Debug, Default)]
pub(crate) struct Sample {
    /// The output items, in the order the model produced them.
    pub(crate) items: Vec<ResponseItem>,
    /// For each item, the thread item id it was shown under (assistant messages
    /// and reasoning), if any.
    pub(crate) item_ids: Vec<Option<String>>,
    pub(crate) usage: Option<TokenUsage>,
}

impl Sample {
    /// The assistant text of the answer, all messages joined.
    pub(crate) fn text(&self) -> String {
        let mut text = String::new();
        for item in &self.items {
            if let ResponseItem::Message {
                role: Role::Assistant,
                text: message,
            } = item
            {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(message);
            }
        }
        text
    }
}

/// Why a model call gave no answer.
#[derive(Debug)]
pub(crate) enum SampleError {
    /// The request does not fit: compact and try again.
    ContextLength(String),
    /// Not retryable, or out of retries.
    Failed(ProviderError),
    Stopped(Stop),
}

/// Whether the answer is shown as it streams (a turn step) or not (a compaction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Visibility {
    Streamed,
    Silent,
}

/// Call the model with retries.
pub(crate) async fn sample(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn_id: &str,
    request: ModelRequest,
    visibility: Visibility,
) -> Result<Sample, SampleError> {
    let max_retries = state.shared.config.provider.max_retries;
    let base = Duration::from_millis(state.shared.config.provider.retry_base_ms);
    let mut retries = 0;
    loop {
        let span = tracing::info_span!(
            "model_call",
            provider = state.shared.provider.name(),
            attempt = retries + 1,
            n_input_items = request.input.len(),
        );
        if tracing::enabled!(tracing::Level::TRACE) {
            let body = serde_json::to_string(&request).unwrap_or_default();
            tracing::trace!(parent: &span, %body, "model request");
        }
        let mut started = Vec::new();
        let attempt = attempt(state, turn_id, request.clone(), visibility, &mut started);
        let result = inbox.run(attempt.instrument(span)).await;
        match result {
            Err(stop) => return Err(SampleError::Stopped(stop)),
            Ok(Ok(sample)) => return Ok(sample),
            Ok(Err(ProviderError::ContextLengthExceeded(message))) => {
                return Err(SampleError::ContextLength(message))
            }
            Ok(Err(error)) if error.is_retryable() && retries < max_retries => {
                retries += 1;
                let delay = crate::provider::backoff_delay(retries, base, error.retry_after());
                tracing::warn!(%error, attempt = retries, ?delay, "retrying the model call");
                state
                    .emit(Event::Retrying {
                        turn_id: turn_id.to_string(),
                        attempt: retries,
                        max: max_retries,
                        delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        reason: error.to_string(),
                        discarded_items: started,
                    })
                    .await;
                inbox
                    .run(tokio::time::sleep(delay))
                    .await
                    .map_err(SampleError::Stopped)?;
            }
            Ok(Err(error)) => return Err(SampleError::Failed(error)),
        }
    }
}

/// The items being streamed in one attempt.
#[derive(Default)]
struct Collector {
    sample: Sample,
    /// The assistant message being streamed: its item id and text so far.
    message: Option<(String, String)>,
    /// The reasoning summary being streamed.
    reasoning: Option<(String, String)>,
    /// Tool calls started but not finished: name and arguments so far, by call id,
    /// with the order they started in.
    calls: HashMap<String, (usize, String, String)>,
}

/// Relays one streamed piece of an item (assistant text or reasoning summary):
/// the first piece starts the item, every piece is appended to it and, when the
/// attempt is visible, sent as a delta.
struct Relay<'a, N, W> {
    turn_id: &'a str,
    visible: bool,
    new_item: N,
    wrap: W,
}

impl<N, W> Relay<'_, N, W>
where
    N: Fn(&str) -> ThreadItem,
    W: Fn(String) -> ItemDelta,
{
    async fn piece(
        self,
        state: &mut ThreadState,
        slot: &mut Option<(String, String)>,
        started: &mut Vec<String>,
        delta: String,
    ) {
        let item_id = match slot {
            Some((item_id, text)) => {
                text.push_str(&delta);
                item_id.clone()
            }
            None => {
                let item_id = state.next_id("item");
                *slot = Some((item_id.clone(), delta.clone()));
                if self.visible {
                    started.push(item_id.clone());
                    state
                        .start_item(self.turn_id, (self.new_item)(&item_id))
                        .await;
                }
                item_id
            }
        };
        if self.visible {
            state
                .emit(Event::ItemDelta {
                    turn_id: self.turn_id.to_string(),
                    item_id,
                    delta: (self.wrap)(delta),
                })
                .await;
        }
    }
}

/// One attempt: the stream from start to `Completed`.
async fn attempt(
    state: &mut ThreadState,
    turn_id: &str,
    request: ModelRequest,
    visibility: Visibility,
    started: &mut Vec<String>,
) -> Result<Sample, ProviderError> {
    let provider = state.shared.provider.clone();
    let mut stream = provider.stream(request).await?;
    let visible = visibility == Visibility::Streamed;
    let mut collector = Collector::default();
    while let Some(event) = stream.next().await {
        match event? {
            ResponseEvent::Created => {}
            ResponseEvent::OutputTextDelta { delta } => {
                let relay = Relay {
                    turn_id,
                    visible,
                    new_item: |id: &str| assistant_item(id, String::new()),
                    wrap: |text| ItemDelta::AssistantText { text },
                };
                relay
                    .piece(state, &mut collector.message, started, delta)
                    .await;
            }
            ResponseEvent::ReasoningSummaryDelta { delta } => {
                let relay = Relay {
                    turn_id,
                    visible,
                    new_item: |id: &str| reasoning_item(id, Vec::new()),
                    wrap: |text| ItemDelta::ReasoningSummary { text },
                };
                relay
                    .piece(state, &mut collector.reasoning, started, delta)
                    .await;
            }
            ResponseEvent::ToolCallStarted { call_id, name } => {
                let order = collector.calls.len();
                collector
                    .calls
                    .entry(call_id)
                    .or_insert((order, name, String::new()));
            }
            ResponseEvent::ToolCallArgumentsDelta { call_id, delta } => {
                if let Some((_, _, arguments)) = collector.calls.get_mut(&call_id) {
                    arguments.push_str(&delta);
                }
            }
            ResponseEvent::OutputItemDone { item } => {
                let item_id = match &item {
                    ResponseItem::Message {
                        role: Role::Assistant,
                        text,
                    } => Some(
                        take_or_start(
                            state,
                            turn_id,
                            &mut collector.message,
                            visible,
                            started,
                            || assistant_item("", text.clone()),
                        )
                        .await,
                    ),
                    ResponseItem::Reasoning { summary, .. } => Some(
                        take_or_start(
                            state,
                            turn_id,
                            &mut collector.reasoning,
                            visible,
                            started,
                            || reasoning_item("", summary.clone()),
                        )
                        .await,
                    ),
                    ResponseItem::FunctionCall { call_id, .. } => {
                        collector.calls.remove(call_id);
                        None
                    }
                    _ => None,
                };
                collector.sample.items.push(item);
                collector.sample.item_ids.push(item_id);
            }
            ResponseEvent::Completed { usage, .. } => {
                collector.sample.usage = usage;
                return Ok(finish(collector));
            }
        }
    }
    Err(ProviderError::StreamEnded)
}

/// The id of the item that `OutputItemDone` finishes: the one being streamed, or
/// a new one (announced) when the provider sent the item whole.
async fn take_or_start(
    state: &mut ThreadState,
    turn_id: &str,
    streaming: &mut Option<(String, String)>,
    visible: bool,
    started: &mut Vec<String>,
    item: impl FnOnce() -> ThreadItem,
) -> String {
    if let Some((item_id, _)) = streaming.take() {
        return item_id;
    }
    let item_id = state.next_id("item");
    if visible {
        started.push(item_id.clone());
        let mut item = item();
        item.id = item_id.clone();
        state.start_item(turn_id, item).await;
    }
    item_id
}

/// Items a provider streamed but never sent whole are kept as streamed, so no
/// text or call the user saw is lost from the history.
fn finish(mut collector: Collector) -> Sample {
    if let Some((item_id, summary)) = collector.reasoning.take() {
        collector.sample.items.push(ResponseItem::Reasoning {
            id: None,
            summary: vec![summary],
            encrypted_content: None,
        });
        collector.sample.item_ids.push(Some(item_id));
    }
    if let Some((item_id, text)) = collector.message.take() {
        collector.sample.items.push(ResponseItem::Message {
            role: Role::Assistant,
            text,
        });
        collector.sample.item_ids.push(Some(item_id));
    }
    let mut calls: Vec<_> = collector.calls.into_iter().collect();
    calls.sort_by_key(|(_, (order, _, _))| *order);
    for (call_id, (_, name, arguments)) in calls {
        collector.sample.items.push(ResponseItem::FunctionCall {
            call_id,
            name,
            arguments,
        });
        collector.sample.item_ids.push(None);
    }
    collector.sample
}

pub(crate) fn assistant_item(id: &str, text: String) -> ThreadItem {
    ThreadItem {
        id: id.to_string(),
        kind: ThreadItemKind::AssistantMessage { text },
    }
}

pub(crate) fn reasoning_item(id: &str, summary: Vec<String>) -> ThreadItem {
    ThreadItem {
        id: id.to_string(),
        kind: ThreadItemKind::Reasoning { summary },
    }
}
