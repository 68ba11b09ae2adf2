//! The loop's shared state types, in a leaf that imports none of the loop's
//! files: what every thread of an agent shares (`Shared`), what one thread owns
//! (`ThreadState`), what one turn accumulates (`Turn`), why a turn stops early
//! (`Halt`) and the tool calls a model answer makes (`Call`). Thread, turn,
//! sampling, tool calls, compaction and prompt all take these, so the calls
//! between those files run one way: thread → turn → sampling → tool_calls.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::environment::{Clock, EnvironmentInfo};
use super::inbox::Stop;
use crate::config::Config;
use crate::context::SharedIndex;
use crate::mcp::McpHub;
use crate::model::{Provider, ResponseItem, TokenUsage};
use crate::process::CommandRunner;
use crate::protocol::{ContextItem, Event, ThreadId, ThreadItem};
use crate::rollout::{LoadedThread, RolloutError, RolloutLine, RolloutWriter, ThreadMeta};
use crate::workspace::Workspace;

/// What every thread of an agent shares. Read-only: each thread owns its own state.
pub(crate) struct Shared {
    pub(crate) provider: Arc<dyn Provider>,
    pub(crate) workspace: Arc<dyn Workspace>,
    pub(crate) runner: Arc<dyn CommandRunner>,
    pub(crate) config: Config,
    pub(crate) data_dir: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) environment: EnvironmentInfo,
    /// The runner cannot confine commands: ask before every command unless the
    /// approval policy is `never`.
    pub(crate) unconfined: bool,
    /// The symbol index the symbol tools use: the front end's
    /// (`Agent::with_symbols`), or built from the workspace root on the first
    /// call that needs one.
    pub(crate) symbols: Arc<tokio::sync::OnceCell<SharedIndex>>,
    /// The MCP servers whose tools threads offer (`Agent::with_mcp`; empty
    /// without).
    pub(crate) mcp: McpHub,
}

/// Everything a thread knows; owned by its task.
pub(crate) struct ThreadState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) meta: ThreadMeta,
    /// The model history after the prefix (`meta.prefix`).
    pub(crate) history: Vec<ResponseItem>,
    pub(crate) approved_commands: HashSet<Vec<String>>,
    pub(crate) approved_escalations: HashSet<Vec<String>>,
    /// MCP tools (`SERVER__tool`) the user approved for the thread.
    pub(crate) approved_tools: HashSet<String>,
    /// The MCP tools were listed for this thread at least once (a new thread
    /// retries servers whose start failed).
    pub(crate) mcp_listed: bool,
    /// MCP servers whose failure, and tools left out whose reason, the user
    /// was told about in this thread.
    pub(crate) mcp_failures_told: HashSet<String>,
    /// The provider's last usage report and the history length it covered.
    pub(crate) last_usage: Option<(TokenUsage, usize)>,
    next_seq: u64,
    rollout: RolloutWriter,
    rollout_failed: bool,
    events: mpsc::Sender<Event>,
}

impl ThreadState {
    /// A new thread whose prefix is fixed in `meta`; creates its rollout.
    pub(crate) fn create(
        shared: Arc<Shared>,
        meta: ThreadMeta,
        events: mpsc::Sender<Event>,
    ) -> Result<ThreadState, RolloutError> {
        let rollout = RolloutWriter::create(&shared.data_dir, &meta)?;
        tracing::info!(thread_id = %meta.id, path = %rollout.path().display(), "thread started");
        Ok(ThreadState {
            shared,
            meta,
            history: Vec::new(),
            approved_commands: HashSet::new(),
            approved_escalations: HashSet::new(),
            approved_tools: HashSet::new(),
            mcp_listed: false,
            mcp_failures_told: HashSet::new(),
            last_usage: None,
            next_seq: 1,
            rollout,
            rollout_failed: false,
            events,
        })
    }

    /// A thread loaded from its rollout, appending to the same file.
    pub(crate) fn resume(
        shared: Arc<Shared>,
        loaded: LoadedThread,
        events: mpsc::Sender<Event>,
    ) -> Result<ThreadState, RolloutError> {
        let path = crate::rollout::rollout_path(&shared.data_dir, &loaded.meta.id);
        let mut rollout = RolloutWriter::open(&path)?;
        // Answers for calls a crash left open go to the file too, so the next
        // resume reads the same history.
        for item in &loaded.repairs {
            rollout.append(&RolloutLine::History { item: item.clone() })?;
        }
        tracing::info!(thread_id = %loaded.meta.id, n_items = loaded.history.len(), "thread resumed");
        Ok(ThreadState {
            shared,
            meta: loaded.meta,
            history: loaded.history,
            approved_commands: loaded.approved_commands.into_iter().collect(),
            approved_escalations: loaded.approved_escalations.into_iter().collect(),
            approved_tools: loaded.approved_tools.into_iter().collect(),
            mcp_listed: false,
            mcp_failures_told: HashSet::new(),
            last_usage: loaded.last_usage,
            next_seq: loaded.next_seq,
            rollout,
            rollout_failed: false,
            events,
        })
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
    /// Sync the rollout to disk (`RolloutWriter::sync`); a failure is reported
    /// like a failed write.
    pub(crate) async fn sync_rollout(&mut self) {
        if let Err(error) = self.rollout.sync() {
            tracing::error!(%error, thread_id = %self.meta.id, "rollout sync failed");
            if !self.rollout_failed {
                self.rollout_failed = true;
                self.emit(Event::Warning {
                    message: format!("the thread could not be saved to disk: {error}"),
                })
                .await;
            }
        }
    }

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

    /// Put a tool call's output in the history.
    pub(crate) async fn answer(&mut self, call: &Call, output: String, is_error: bool) {
        tracing::trace!(call_id = %call.call_id, %output, is_error, "tool output");
        self.push_history(ResponseItem::FunctionCallOutput {
            call_id: call.call_id.clone(),
            output,
            is_error,
        })
        .await;
    }
}

/// Why a turn stops before the model ends it.
#[derive(Debug)]
pub(crate) enum Halt {
    Stop(Stop),
    /// An approval was answered with `Abort`.
    Abort,
    /// The turn cannot go on; the message is for the user.
    Fatal(String),
}

impl From<Stop> for Halt {
    fn from(stop: Stop) -> Self {
        Halt::Stop(stop)
    }
}

/// What a turn accumulates.
pub(crate) struct Turn {
    pub(crate) id: String,
    pub(crate) usage: TokenUsage,
    pub(crate) changed_files: Vec<PathBuf>,
    /// What `PostToolUse` hooks said about this step's calls, for the model
    /// after the calls' outputs.
    pub(crate) hook_context: Vec<ContextItem>,
}

impl Turn {
    pub(crate) fn note_changed(&mut self, path: PathBuf) {
        if !self.changed_files.contains(&path) {
            self.changed_files.push(path);
        }
    }
}

/// What `PreToolUse` hooks decided about a command's approval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum HookPermission {
    /// Ask or not as the approval policy says.
    #[default]
    AsPolicy,
    /// Run without asking (still sandboxed).
    Allow,
    /// Ask the user, with the hook's reason.
    Ask(Option<String>),
}

/// A tool call the model made.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) call_id: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
}
