//! One task per session reads its thread's events for the thread's whole life
//! and tells the client: message and thought chunks as they stream, tool calls
//! announced when they start and updated when they finish (file changes with
//! their diffs), plans, permission requests for commands; at a turn's end it
//! hands the outcome to the waiting `session/prompt`. Every update of a turn is
//! queued on the connection before the outcome, so the client has them all
//! before the prompt's answer.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use agent_client_protocol::v1::schema::{
    SessionNotification, SessionUpdate, ToolCallStatus, ToolCallUpdate,
};
use agentls_core::protocol::{Event, ItemDelta, ThreadItem, ThreadItemKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::client_fs::ClientWorkspace;
use super::convert;
use super::permission::{self, Question};
use super::state::{Peer, Session, TurnOutcome};

pub(crate) struct Relay {
    pub(crate) peer: Peer,
    pub(crate) session: Arc<Session>,
    pub(crate) workspace: Arc<ClientWorkspace>,
    pub(crate) root: PathBuf,
}

/// What the relay keeps between events.
#[derive(Default)]
struct Progress {
    /// Items whose text streamed as deltas: their completion adds nothing.
    streamed: HashSet<String>,
    /// Tool calls announced and not finished.
    open: HashSet<String>,
    /// Permission requests waiting for the client, by approval id.
    asking: HashMap<String, JoinHandle<()>>,
}

impl Relay {
    pub(crate) async fn run(self, mut events: mpsc::Receiver<Event>) {
        let mut progress = Progress::default();
        while let Some(event) = events.recv().await {
            self.event(&mut progress, event);
        }
        self.end_turn(&mut progress);
        self.session.finish_turn(TurnOutcome::Failed(format!(
            "session {} has ended",
            self.session.id
        )));
    }

    fn send(&self, update: SessionUpdate) {
        let notification = SessionNotification::new(self.session.id.clone(), update);
        if let Err(error) = self.peer.send_notification(notification) {
            tracing::debug!(session_id = %self.session.id, %error, "session/update not sent");
        }
    }

    fn event(&self, progress: &mut Progress, event: Event) {
        match event {
            Event::ThreadStarted { .. } | Event::TokenUsage { .. } => {}
            Event::TurnStarted { .. } => progress.streamed.clear(),
            Event::ItemStarted { item, .. } => self.item_started(progress, &item),
            Event::ItemDelta { item_id, delta, .. } => match delta {
                ItemDelta::AssistantText { text } => {
                    progress.streamed.insert(item_id);
                    self.send(SessionUpdate::AgentMessageChunk(convert::chunk(text)));
                }
                ItemDelta::ReasoningSummary { text } => {
                    progress.streamed.insert(item_id);
                    self.send(SessionUpdate::AgentThoughtChunk(convert::chunk(text)));
                }
                // Shown whole when the command ends.
                ItemDelta::CommandOutput { .. } => {}
            },
            Event::ItemCompleted { item, .. } => self.item_completed(progress, &item),
            Event::ApprovalRequested {
                id,
                item_id,
                argv,
                cwd,
                sandbox_escalation,
                tool_call,
                ..
            } => {
                let call = match &tool_call {
                    Some(tool_call) => convert::pending_tool_call(&item_id, tool_call),
                    None => convert::pending_command(&item_id, &argv, &cwd, &self.root),
                };
                if progress.open.insert(item_id) {
                    self.send(SessionUpdate::ToolCall(call.clone()));
                }
                let question = Question {
                    session_id: self.session.id.clone(),
                    approval_id: id.clone(),
                    tool_call: ToolCallUpdate::from(call),
                    sandbox_escalation,
                };
                let task = tokio::spawn(permission::ask(
                    self.peer.clone(),
                    self.session.thread().clone(),
                    question,
                ));
                progress.asking.insert(id, task);
            }
            Event::ApprovalResolved { id, .. } => {
                // Decided: by the client's answer, or by the core's timeout, in
                // which case the request still waiting is withdrawn.
                if let Some(task) = progress.asking.remove(&id) {
                    task.abort();
                }
            }
            Event::Retrying {
                attempt,
                max,
                delay_ms,
                reason,
                discarded_items,
                ..
            } => {
                for item_id in discarded_items {
                    if progress.open.remove(&item_id) {
                        self.send(SessionUpdate::ToolCallUpdate(convert::abandoned(&item_id)));
                    }
                }
                self.send(SessionUpdate::AgentThoughtChunk(convert::chunk(format!(
                    "\n(retrying {attempt}/{max} in {:.1} s: {reason}; anything above from the failed attempt is discarded)\n",
                    delay_ms as f64 / 1000.0
                ))));
            }
            Event::Warning { message } => self.send(SessionUpdate::AgentMessageChunk(
                convert::chunk(format!("\n\n> warning: {message}\n\n")),
            )),
            Event::TurnCompleted { .. } => {
                self.end_turn(progress);
                self.session.finish_turn(TurnOutcome::Completed);
            }
            Event::TurnInterrupted { .. } => {
                self.end_turn(progress);
                self.session.finish_turn(TurnOutcome::Cancelled);
            }
            Event::TurnFailed { error, .. } => {
                self.end_turn(progress);
                self.session.finish_turn(TurnOutcome::Failed(error));
            }
        }
    }

    fn item_started(&self, progress: &mut Progress, item: &ThreadItem) {
        let Some(call) = convert::announce(item, &self.root) else {
            return;
        };
        if progress.open.insert(item.id.clone()) {
            self.send(SessionUpdate::ToolCall(call));
        } else {
            // Announced already, while its approval was asked: it runs now.
            let mut update = ToolCallUpdate::from(call);
            update.fields.status = Some(ToolCallStatus::InProgress);
            self.send(SessionUpdate::ToolCallUpdate(update));
        }
    }

    fn item_completed(&self, progress: &mut Progress, item: &ThreadItem) {
        let streamed = progress.streamed.contains(&item.id);
        match &item.kind {
            ThreadItemKind::AssistantMessage { text } if !streamed && !text.is_empty() => self
                .send(SessionUpdate::AgentMessageChunk(convert::chunk(
                    text.clone(),
                ))),
            ThreadItemKind::Reasoning { summary } if !streamed && !summary.is_empty() => self.send(
                SessionUpdate::AgentThoughtChunk(convert::chunk(summary.join("\n"))),
            ),
            ThreadItemKind::Plan { steps, .. } => {
                self.send(SessionUpdate::Plan(convert::plan(steps)))
            }
            ThreadItemKind::Compaction { .. } => self.send(SessionUpdate::AgentThoughtChunk(
                convert::chunk("\n(the conversation was compacted to fit the context window)\n"),
            )),
            ThreadItemKind::ToolCall { .. }
            | ThreadItemKind::CommandExecution { .. }
            | ThreadItemKind::FileChange { .. } => {
                let landed = match item.kind {
                    ThreadItemKind::FileChange { .. } => self.workspace.take_landed(),
                    _ => Vec::new(),
                };
                if let Some(update) = convert::finish(item, &landed) {
                    progress.open.remove(&item.id);
                    self.send(SessionUpdate::ToolCallUpdate(update));
                }
            }
            ThreadItemKind::UserMessage { .. }
            | ThreadItemKind::AssistantMessage { .. }
            | ThreadItemKind::Reasoning { .. } => {}
        }
    }

    /// A turn ended: tool calls still open will never finish, questions still
    /// open are withdrawn.
    fn end_turn(&self, progress: &mut Progress) {
        for (_, task) in progress.asking.drain() {
            task.abort();
        }
        for item_id in std::mem::take(&mut progress.open) {
            self.send(SessionUpdate::ToolCallUpdate(convert::abandoned(&item_id)));
        }
    }
}
