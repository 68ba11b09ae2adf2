//! Compaction: when the context passes `compaction.threshold` of the window, or the
//! provider says it is too long, the model writes a hand-off summary of the
//! history and the history becomes the last `keep_user_messages` user messages
//! verbatim followed by that summary. The prefix stays, so the prompt cache keeps
//! its instructions and tools; the summary comes last because it describes the
//! work done after those messages, and a turn that compacts mid-way continues
//! from it.

use super::inbox::Inbox;
use super::prompt;
use super::sampling::{self, SampleError, Visibility};
use super::state::{Halt, ThreadState};
use crate::model::{ResponseItem, Role};
use crate::protocol::{ThreadItem, ThreadItemKind};
use crate::rollout::RolloutLine;

/// What the model is asked to write.
const SUMMARY_PROMPT: &str =
    "Stop here: you are handing this task over to another engineer who will \
continue from your notes alone. Write a hand-off summary of the conversation so far: the user's \
goal and constraints, what has been done (files read and changed, commands run and their results), \
decisions made and why, what is left to do and the next step. Be specific: name files, functions, \
commands and error messages. Do not call tools.";

/// How the summary opens in the new history, so the next model knows what it is.
pub(crate) const SUMMARY_PREFIX: &str =
    "Another model worked on this task before you and wrote this hand-off summary of the conversation so far:\n\n";

/// How many times the history given to the summariser is trimmed when even the
/// summary request does not fit.
const MAX_TRIMS: usize = 4;

/// Whether the context passed the threshold. Needs a known context window and
/// something to compact.
pub(crate) fn is_due(state: &ThreadState) -> bool {
    let config = &state.shared.config;
    let Some(window) = state
        .shared
        .provider
        .context_window()
        .or(config.provider.context_window)
    else {
        return false;
    };
    if state.history.len() <= config.compaction.keep_user_messages + 1 {
        return false;
    }
    let tokens = prompt::estimate_tokens(state);
    (tokens as f64) > config.compaction.threshold * window as f64
}

/// Replace the history by recent user messages and a summary.
pub(crate) async fn compact(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn_id: &str,
) -> Result<(), Halt> {
    let item_id = state.next_id("item");
    state
        .start_item(
            turn_id,
            ThreadItem {
                id: item_id.clone(),
                kind: ThreadItemKind::Compaction {
                    summary: String::new(),
                },
            },
        )
        .await;
    let prompt_item = ResponseItem::Message {
        role: Role::User,
        text: SUMMARY_PROMPT.to_string(),
    };
    let mut source = state.history.clone();
    let mut trims = 0;
    let summary = loop {
        let request = prompt::request(state, &source, std::slice::from_ref(&prompt_item));
        match sampling::sample(state, inbox, turn_id, request, Visibility::Silent).await {
            Ok(sample) => break sample.text(),
            Err(SampleError::ContextLength(message)) => {
                if trims == MAX_TRIMS || source.len() <= 1 {
                    return Err(Halt::Fatal(format!(
                        "the conversation is too long to summarise: {message}"
                    )));
                }
                trims += 1;
                trim_oldest(&mut source);
            }
            Err(SampleError::Failed(error)) => {
                return Err(Halt::Fatal(format!("compaction failed: {error}")))
            }
            Err(SampleError::Stopped(stop)) => return Err(Halt::Stop(stop)),
        }
    };
    let summary = summary.trim().to_string();
    if summary.is_empty() {
        return Err(Halt::Fatal(
            "compaction failed: the model wrote an empty summary".to_string(),
        ));
    }
    let keep = state.shared.config.compaction.keep_user_messages;
    let mut history = recent_user_messages(&state.history, keep);
    history.push(ResponseItem::Message {
        role: Role::User,
        text: format!("{SUMMARY_PREFIX}{summary}"),
    });
    tracing::info!(
        before = state.history.len(),
        after = history.len(),
        "compacted the history"
    );
    state
        .record(RolloutLine::Compacted {
            history: history.clone(),
        })
        .await;
    state.history = history;
    state.last_usage = None;
    state
        .complete_item(
            turn_id,
            ThreadItem {
                id: item_id,
                kind: ThreadItemKind::Compaction { summary },
            },
        )
        .await;
    Ok(())
}

/// The last `keep` messages the user wrote (earlier summaries excluded), in order.
fn recent_user_messages(history: &[ResponseItem], keep: usize) -> Vec<ResponseItem> {
    let mut kept: Vec<ResponseItem> = history
        .iter()
        .rev()
        .filter(|item| {
            matches!(item, ResponseItem::Message { role: Role::User, text } if !text.starts_with(SUMMARY_PREFIX))
        })
        .take(keep)
        .cloned()
        .collect();
    kept.reverse();
    kept
}

/// Drop the oldest third of `history`, and any tool output whose call went with it
/// (providers reject an output without its call).
fn trim_oldest(history: &mut Vec<ResponseItem>) {
    let cut = (history.len() / 3).max(1);
    history.drain(..cut);
    let calls: std::collections::HashSet<String> = history
        .iter()
        .filter_map(|item| match item {
            ResponseItem::FunctionCall { call_id, .. } => Some(call_id.clone()),
            _ => None,
        })
        .collect();
    history.retain(|item| match item {
        ResponseItem::FunctionCallOutput { call_id, .. } => calls.contains(call_id),
        _ => true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> ResponseItem {
        ResponseItem::Message {
            role: Role::User,
            text: text.into(),
        }
    }

    #[test]
    fn compaction_keeps_the_latest_user_messages_but_not_old_summaries() {
        let history = vec![
            user("one"),
            user(&format!("{SUMMARY_PREFIX}old")),
            ResponseItem::Message {
                role: Role::Assistant,
                text: "a".into(),
            },
            user("two"),
            user("three"),
        ];
        assert_eq!(
            recent_user_messages(&history, 2),
            vec![user("two"), user("three")]
        );
        assert_eq!(
            recent_user_messages(&history, 5),
            vec![user("one"), user("two"), user("three")]
        );
    }

    #[test]
    fn compaction_trimming_drops_orphaned_outputs() {
        let mut history = vec![
            user("a"),
            ResponseItem::FunctionCall {
                call_id: "c1".into(),
                name: "read_file".into(),
                arguments: "{}".into(),
            },
            ResponseItem::FunctionCallOutput {
                call_id: "c1".into(),
                output: "x".into(),
                is_error: false,
            },
            user("b"),
            user("c"),
            user("d"),
        ];
        trim_oldest(&mut history);
        assert_eq!(history, vec![user("b"), user("c"), user("d")]);
    }
}
