//! The agent loop: threads and turns. An [`Agent`] holds what every thread shares
//! (provider, workspace, command runner, configuration, data directory, clock) and
//! starts or resumes threads. Each thread is one tokio task that owns all of the
//! thread's state; front ends reach it only through its [`Thread`] handle: ops in,
//! events out (see `crate::protocol`).
//!
//! Back-pressure: both channels are bounded. A front end that stops reading events
//! stalls its thread at the next event (which in turn stops reading the model's
//! stream), it never grows memory; `submit` waits while `OP_CAPACITY` ops are
//! queued. A front end that reads events on one task and submits ops on another
//! cannot deadlock; one that does both on one task must keep reading events while
//! it submits.
//!
//! Map of the submodules, callers first; calls run one way, down this list:
//! - `thread`: the task of one thread, idle between turns;
//! - `turn`: one turn, model call after model call until the model stops;
//! - `compaction`: replacing old history with a hand-off summary;
//! - `sampling`: one model call with retries, relaying the stream as events;
//! - `tool_calls`: running the tools a model call asked for;
//! - `hooks`: the user's hooks at the loop's events (`crate::hooks` runs them);
//! - `shell`: a shell command: approval, the sandboxed run, escalation;
//! - `mcp_tools`: the MCP tools offered, kept current before each model call;
//! - `mcp_call`: an MCP tool call: approval, the call, its failures;
//! - `ask`: asking the front end for an approval (commands and MCP calls);
//! - `prompt`: the stable prompt prefix and the requests built on it;
//! - `inbox`: ops arriving while a turn runs (interrupt, steer, approvals);
//! - `state`: the leaf they all take: `Shared`, `ThreadState`, `Turn`, `Halt`;
//! - `environment`: the clock and the machine, as the prompt describes them.

mod ask;
mod compaction;
mod environment;
mod hooks;
mod inbox;
mod mcp_call;
mod mcp_tools;
mod prompt;
mod sampling;
mod shell;
mod state;
mod thread;
mod tool_calls;
mod turn;

pub use crate::rollout::ThreadSummary;
pub use environment::{Clock, EnvironmentInfo, SystemClock};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;

use self::state::{Shared, ThreadState};
use crate::config::Config;
use crate::context::SharedIndex;
use crate::mcp::McpHub;
use crate::model::Provider;
use crate::process::CommandRunner;
use crate::protocol::{Event, Op, ThreadId, ThreadItem};
use crate::rollout::{self, RolloutError, ThreadMeta, ROLLOUT_VERSION};
use crate::workspace::Workspace;

/// How many ops may wait for a thread to take them.
pub const OP_CAPACITY: usize = 64;
/// How many events may wait for the front end to read them.
pub const EVENT_CAPACITY: usize = 512;

/// Why a thread could not be started, resumed, listed or read back.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Its rollout could not be written or read (a disk fault, a malformed or
    /// missing file, no data directory); nothing is retried.
    #[error(transparent)]
    Rollout(#[from] RolloutError),
}

/// Where threads keep their rollouts unless the front end says otherwise:
/// `$XDG_DATA_HOME/agentls`, else `~/.local/share/agentls`, with the variables
/// read through `env`.
pub fn default_data_dir(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, AgentError> {
    Ok(rollout::default_data_dir(env)?)
}

/// Every thread in `data_dir`, most recently updated first.
pub fn list_threads(data_dir: &Path) -> Result<Vec<ThreadSummary>, AgentError> {
    Ok(rollout::list_threads(data_dir)?)
}

/// The finished items of a thread as its rollout holds them now, in order. A
/// running thread's rollout is written item by item, so this reads a live
/// thread too, without disturbing it.
pub fn thread_items(data_dir: &Path, id: &ThreadId) -> Result<Vec<ThreadItem>, AgentError> {
    let loaded = rollout::load(data_dir, id)?;
    Ok(loaded.items.into_iter().map(|(_, item)| item).collect())
}

/// Starts and resumes threads. Cheap to clone; threads run on their own tasks, so
/// several run at once.
#[derive(Clone)]
pub struct Agent {
    shared: Arc<Shared>,
}

/// How to start a thread.
#[derive(Clone, Debug, Default)]
pub struct ThreadOptions {
    /// The working directory of the thread's commands; the workspace root when
    /// unset. AGENTS.md files are read from the root down to it.
    pub cwd: Option<PathBuf>,
}

impl Agent {
    /// An agent over these seams. Rollouts go to `<data_dir>/threads/`.
    pub fn new(
        config: Config,
        provider: Arc<dyn Provider>,
        workspace: Arc<dyn Workspace>,
        runner: Arc<dyn CommandRunner>,
        data_dir: PathBuf,
    ) -> Agent {
        Agent {
            shared: Arc::new(Shared {
                provider,
                workspace,
                runner,
                config,
                data_dir,
                clock: Arc::new(SystemClock),
                environment: EnvironmentInfo::detect(),
                unconfined: false,
                symbols: Arc::new(tokio::sync::OnceCell::new()),
                mcp: McpHub::default(),
            }),
        }
    }

    /// The same agent with another clock (tests pin the date with it).
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Agent {
        self.rebuild(|shared| shared.clock = clock)
    }

    /// The same agent with another environment description.
    pub fn with_environment(self, environment: EnvironmentInfo) -> Agent {
        self.rebuild(|shared| shared.environment = environment)
    }

    /// Say that the runner cannot confine commands on this machine
    /// (`SandboxedRunner::every_command_needs_approval`): every command then needs
    /// approval, unless the approval policy is `never`.
    pub fn with_unconfined_commands(self, unconfined: bool) -> Agent {
        self.rebuild(|shared| shared.unconfined = unconfined)
    }

    /// The same agent using the front end's symbol index (the language server
    /// keeps it current from the editor); without one, the symbol tools index
    /// the workspace root on first use.
    pub fn with_symbols(self, index: SharedIndex) -> Agent {
        self.rebuild(|shared| {
            shared.symbols = Arc::new(tokio::sync::OnceCell::new_with(Some(index)))
        })
    }

    /// The same agent offering the tools of these MCP servers (shared by the
    /// front end's agents of one workspace, so each server runs once).
    pub fn with_mcp(self, hub: McpHub) -> Agent {
        self.rebuild(|shared| shared.mcp = hub)
    }

    fn rebuild(self, change: impl FnOnce(&mut Shared)) -> Agent {
        let mut shared = Shared {
            provider: self.shared.provider.clone(),
            workspace: self.shared.workspace.clone(),
            runner: self.shared.runner.clone(),
            config: self.shared.config.clone(),
            data_dir: self.shared.data_dir.clone(),
            clock: self.shared.clock.clone(),
            environment: self.shared.environment.clone(),
            unconfined: self.shared.unconfined,
            symbols: self.shared.symbols.clone(),
            mcp: self.shared.mcp.clone(),
        };
        change(&mut shared);
        Agent {
            shared: Arc::new(shared),
        }
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.shared.data_dir
    }

    /// Start a new thread: its prompt prefix is fixed now (environment, date,
    /// AGENTS.md) and its rollout created. Must be called within a tokio runtime.
    pub fn start_thread(&self, options: ThreadOptions) -> Result<Thread, AgentError> {
        let shared = &self.shared;
        let cwd = options
            .cwd
            .unwrap_or_else(|| shared.workspace.root().to_path_buf());
        let created = shared.clock.now();
        let prefix = prompt::build_prefix(shared, &cwd, created);
        let meta = ThreadMeta {
            id: ThreadId::new(),
            version: ROLLOUT_VERSION,
            created,
            cwd,
            instructions: prefix.instructions,
            tools: prefix.tools,
            prefix: prefix.items,
        };
        let (events, receiver) = mpsc::channel(EVENT_CAPACITY);
        let state = ThreadState::create(shared.clone(), meta, events)?;
        Ok(self.spawn(state, receiver, Vec::new(), false))
    }

    /// Continue a thread from its rollout. The thread's past items come with the
    /// handle (`Thread::past_items`); its next request is byte for byte the one it
    /// would have sent had it never stopped.
    pub fn resume_thread(&self, id: &ThreadId) -> Result<Thread, AgentError> {
        let loaded = rollout::load(&self.shared.data_dir, id)?;
        let past_items = loaded.items.iter().map(|(_, item)| item.clone()).collect();
        let (events, receiver) = mpsc::channel(EVENT_CAPACITY);
        let state = ThreadState::resume(self.shared.clone(), loaded, events)?;
        Ok(self.spawn(state, receiver, past_items, true))
    }

    /// Every thread in the data directory, most recently updated first.
    pub fn list_threads(&self) -> Result<Vec<ThreadSummary>, AgentError> {
        list_threads(&self.shared.data_dir)
    }

    fn spawn(
        &self,
        state: ThreadState,
        events: mpsc::Receiver<Event>,
        past_items: Vec<ThreadItem>,
        resumed: bool,
    ) -> Thread {
        let id = state.id().clone();
        let (ops_tx, ops_rx) = mpsc::channel(OP_CAPACITY);
        let task = tokio::spawn(thread::run(state, ops_rx, resumed));
        Thread {
            handle: ThreadHandle { id, ops: ops_tx },
            events,
            past_items,
            task,
        }
    }
}

/// A running thread: submit ops, read events. Dropping it (or its op side, see
/// `into_parts`) shuts the thread down: a running turn is interrupted and recorded
/// as such, so the thread can be resumed.
pub struct Thread {
    handle: ThreadHandle,
    events: mpsc::Receiver<Event>,
    past_items: Vec<ThreadItem>,
    task: tokio::task::JoinHandle<()>,
}

impl Thread {
    pub fn id(&self) -> &ThreadId {
        &self.handle.id
    }

    /// Submit an op; waits only while the op queue is full.
    pub async fn submit(&self, op: Op) -> Result<(), ThreadClosed> {
        self.handle.submit(op).await
    }

    /// The next event; `None` once the thread has ended.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The items of a resumed thread as they were before it stopped.
    pub fn past_items(&self) -> &[ThreadItem] {
        &self.past_items
    }

    /// A cloneable op sender, the event receiver, and the task (which ends after
    /// `Op::Shutdown` or once every op sender is dropped).
    pub fn into_parts(
        self,
    ) -> (
        ThreadHandle,
        mpsc::Receiver<Event>,
        tokio::task::JoinHandle<()>,
    ) {
        (self.handle, self.events, self.task)
    }
}

/// The op side of a thread; clone it to submit from several places.
#[derive(Clone, Debug)]
pub struct ThreadHandle {
    id: ThreadId,
    ops: mpsc::Sender<Op>,
}

/// The thread has ended and takes no more ops.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("thread {0} has ended")]
pub struct ThreadClosed(pub ThreadId);

impl ThreadHandle {
    pub fn id(&self) -> &ThreadId {
        &self.id
    }

    pub async fn submit(&self, op: Op) -> Result<(), ThreadClosed> {
        self.ops
            .send(op)
            .await
            .map_err(|_| ThreadClosed(self.id.clone()))
    }

    /// Submits without waiting; fails when the thread has ended or its op queue
    /// is full.
    pub fn try_submit(&self, op: Op) -> Result<(), TrySubmitError> {
        self.ops.try_send(op).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => TrySubmitError::QueueFull(self.id.clone()),
            mpsc::error::TrySendError::Closed(_) => TrySubmitError::Closed(self.id.clone()),
        })
    }
}

/// Why `ThreadHandle::try_submit` did not queue an op; the op is dropped either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrySubmitError {
    /// `OP_CAPACITY` ops are waiting: the thread is alive but busy. Worth trying
    /// again later, or `submit`, which waits for room.
    #[error("thread {0} is busy: its op queue is full")]
    QueueFull(ThreadId),
    /// The thread has ended and takes no more ops; trying again cannot help.
    #[error("thread {0} has ended")]
    Closed(ThreadId),
}

#[cfg(test)]
mod tests;

/// The agent's free functions and the op handle, without a running thread.
#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::protocol::ThreadItemKind;
    use crate::rollout::{RolloutLine, RolloutWriter};

    #[test]
    fn default_data_dir_follows_xdg_then_home() {
        let xdg = |name: &str| (name == "XDG_DATA_HOME").then(|| "/xdg".to_string());
        assert_eq!(
            default_data_dir(&xdg).unwrap(),
            PathBuf::from("/xdg/agentls")
        );
        let home = |name: &str| (name == "HOME").then(|| "/home/u".to_string());
        assert_eq!(
            default_data_dir(&home).unwrap(),
            PathBuf::from("/home/u/.local/share/agentls")
        );
        let error = default_data_dir(&|_: &str| None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no data directory: set XDG_DATA_HOME or HOME"
        );
    }

    #[test]
    fn a_written_thread_is_listed_and_its_items_read_back() {
        let data_dir = tempfile::tempdir().unwrap();
        assert_eq!(list_threads(data_dir.path()).unwrap(), Vec::new());
        let meta = ThreadMeta {
            id: ThreadId::new(),
            version: ROLLOUT_VERSION,
            created: chrono::Utc::now(),
            cwd: PathBuf::from("/w"),
            instructions: String::new(),
            tools: Vec::new(),
            prefix: Vec::new(),
        };
        let mut writer = RolloutWriter::create(data_dir.path(), &meta).unwrap();
        let item = ThreadItem {
            id: "item-2".to_string(),
            kind: ThreadItemKind::UserMessage {
                text: "hello".to_string(),
                context: Vec::new(),
            },
        };
        writer
            .append(&RolloutLine::Item {
                turn_id: "turn-1".to_string(),
                item: item.clone(),
            })
            .unwrap();

        let threads = list_threads(data_dir.path()).unwrap();
        assert_eq!(threads.len(), 1);
        assert_eq!(threads[0].id, meta.id);
        assert_eq!(thread_items(data_dir.path(), &meta.id).unwrap(), vec![item]);
        let missing = ThreadId::new();
        let error = thread_items(data_dir.path(), &missing).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("no thread {missing} in the data directory")
        );
    }

    fn handle(capacity: usize) -> (ThreadHandle, mpsc::Receiver<Op>) {
        let (ops, receiver) = mpsc::channel(capacity);
        let handle = ThreadHandle {
            id: ThreadId("thread-1".to_string()),
            ops,
        };
        (handle, receiver)
    }

    #[test]
    fn try_submit_to_a_full_queue_is_not_a_closed_thread() {
        let (handle, _receiver) = handle(1);
        assert_eq!(handle.try_submit(Op::Interrupt), Ok(()));
        let error = handle.try_submit(Op::Interrupt).unwrap_err();
        assert_eq!(error, TrySubmitError::QueueFull(handle.id().clone()));
        assert_eq!(
            error.to_string(),
            "thread thread-1 is busy: its op queue is full"
        );
    }

    #[test]
    fn try_submit_to_an_ended_thread_is_closed() {
        let (handle, receiver) = handle(1);
        drop(receiver);
        let error = handle.try_submit(Op::Interrupt).unwrap_err();
        assert_eq!(error, TrySubmitError::Closed(handle.id().clone()));
        assert_eq!(error.to_string(), "thread thread-1 has ended");
    }
}
