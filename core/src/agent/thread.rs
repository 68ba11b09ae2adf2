//! One thread's task and the state it alone owns: the model history, the rollout
//! writer, the approvals granted for the thread, the event sender. Between turns
//! the task waits for ops; a turn runs inside the task, reading ops through the
//! inbox at each point where it waits.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::inbox::{IdleOp, Inbox};
use super::{prompt, turn, AgentError, Shared, ThreadOptions, EVENT_CAPACITY};
use crate::model::{ResponseItem, TokenUsage};
use crate::protocol::{Event, Op, ThreadId, ThreadItem};
use crate::rollout::{LoadedThread, RolloutLine, RolloutWriter, ThreadMeta, ROLLOUT_VERSION};

/// Everything a thread knows; owned by its task.
pub(crate) struct ThreadState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) meta: ThreadMeta,
    /// The model history after the prefix (`meta.prefix`).
    pub(crate) history: Vec<ResponseItem>,
    pub(crate) approved_commands: HashSet<Vec<String>>,
    pub(crate) approved_escalations: HashSet<Vec<String>>,
    /// The provider's last usage report and the history length it covered.
    pub(crate) last_usage: Option<(TokenUsage, usize)>,
    next_seq: u64,
    rollout: RolloutWriter,
    rollout_failed: bool,
    events: mpsc::Sender<Event>,
}

impl ThreadState {
    pub(crate) fn create(
        shared: Arc<Shared>,
        options: ThreadOptions,
    ) -> Result<(ThreadState, mpsc::Receiver<Event>), AgentError> {
        let cwd = options
            .cwd
            .unwrap_or_else(|| shared.workspace.root().to_path_buf());
        let created = shared.clock.now();
        let prefix = prompt::build_prefix(&shared, &cwd, created);
        let meta = ThreadMeta {
            id: ThreadId::new(),
            version: ROLLOUT_VERSION,
            created,
            cwd,
            instructions: prefix.instructions,
            tools: prefix.tools,
            prefix: prefix.items,
        };
        let rollout = RolloutWriter::create(&shared.data_dir, &meta)?;
        let (events, receiver) = mpsc::channel(EVENT_CAPACITY);
        tracing::info!(thread_id = %meta.id, path = %rollout.path().display(), "thread started");
        Ok((
            ThreadState {
                shared,
                meta,
                history: Vec::new(),
                approved_commands: HashSet::new(),
                approved_escalations: HashSet::new(),
                last_usage: None,
                next_seq: 1,
                rollout,
                rollout_failed: false,
                events,
            },
            receiver,
        ))
    }

    pub(crate) fn resume(
        shared: Arc<Shared>,
        loaded: LoadedThread,
    ) -> Result<(ThreadState, mpsc::Receiver<Event>), AgentError> {
        let path = crate::rollout::rollout_path(&shared.data_dir, &loaded.meta.id);
        let mut rollout = RolloutWriter::open(&path)?;
        // Answers for calls a crash left open go to the file too, so the next
        // resume reads the same history.
        for item in &loaded.repairs {
            rollout.append(&RolloutLine::History { item: item.clone() })?;
        }
        let (events, receiver) = mpsc::channel(EVENT_CAPACITY);
        tracing::info!(thread_id = %loaded.meta.id, n_items = loaded.history.len(), "thread resumed");
        Ok((
            ThreadState {
                shared,
                meta: loaded.meta,
                history: loaded.history,
                approved_commands: loaded.approved_commands.into_iter().collect(),
                approved_escalations: loaded.approved_escalations.into_iter().collect(),
                last_usage: loaded.last_usage,
                next_seq: loaded.next_seq,
                rollout,
                rollout_failed: false,
                events,
            },
            receiver,
        ))
    }

    pub(crate) fn id(&self) -> &ThreadId {
        &self.meta.id
    }

    /// A fresh id for an item or a turn, unique in the thread (`item-7`).
    pub(crate) fn next_id(&mut self, kind: &str) -> String {
        let id = format!("{kind}-{}", self.next_seq);
        self.next_seq += 1;
        id
    }

    /// Send an event; waits while the front end is `EVENT_CAPACITY` events behind.
    /// A front end that dropped its receiver is not an error: the thread goes on.
    pub(crate) async fn emit(&self, event: Event) {
        let _ = self.events.send(event).await;
    }

    /// Append a line to the rollout. A failing disk is reported once as a warning;
    /// the thread goes on without a complete rollout rather than stopping.
    pub(crate) async fn record(&mut self, line: RolloutLine) {
        if let Err(error) = self.rollout.append(&line) {
            tracing::error!(%error, thread_id = %self.meta.id, "rollout write failed");
            if !self.rollout_failed {
                self.rollout_failed = true;
                self.emit(Event::Warning {
                    message: format!(
                        "the thread can no longer be saved, resume will miss what follows: {error}"
                    ),
                })
                .await;
            }
        }
    }

    /// Append to the model history (and the rollout).
    pub(crate) async fn push_history(&mut self, item: ResponseItem) {
        self.record(RolloutLine::History { item: item.clone() })
            .await;
        self.history.push(item);
    }

    pub(crate) async fn start_item(&self, turn_id: &str, item: ThreadItem) {
        self.emit(Event::ItemStarted {
            turn_id: turn_id.to_string(),
            item,
        })
        .await;
    }

    /// Record a finished item and tell the front end.
    pub(crate) async fn complete_item(&mut self, turn_id: &str, item: ThreadItem) {
        self.record(RolloutLine::Item {
            turn_id: turn_id.to_string(),
            item: item.clone(),
        })
        .await;
        self.emit(Event::ItemCompleted {
            turn_id: turn_id.to_string(),
            item,
        })
        .await;
    }
}

/// The thread's task: announce the thread, then run turns as input arrives until
/// `Op::Shutdown` or until every op sender is gone.
pub(crate) async fn run(mut state: ThreadState, ops: mpsc::Receiver<Op>, resumed: bool) {
    state
        .emit(Event::ThreadStarted {
            thread_id: state.id().clone(),
            resumed,
        })
        .await;
    let mut inbox = Inbox::new(ops);
    while let IdleOp::Input(input) = inbox.next_idle().await {
        let ended = turn::run_turn(&mut state, &mut inbox, input).await;
        if ended == turn::TurnEnd::Shutdown {
            break;
        }
    }
    tracing::info!(thread_id = %state.id(), "thread ended");
}
