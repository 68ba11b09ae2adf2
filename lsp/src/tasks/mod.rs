//! The agent behind the editor: the threads the server runs, their turns, the
//! approvals they wait for, and the checkpoints "undo" reverts. Handlers reach it
//! through [`Tasks`] and return at once; each thread's events are relayed to the
//! client by its own task (`relay`), so nothing here waits on the model
//! (invariant 7).
//!
//! Map:
//! - `kind`: the code-action tasks, their prompts and the cheap checks that offer
//!   them;
//! - `workspace`: the `Workspace` each thread's agent reads and writes through;
//! - `landing`: the agent's changes as versioned edits the editor applies, and
//!   the files it reads (buffers over disk);
//! - `review`: with `[approvals] edits = "review"`, changes that wait for the
//!   user (the editor's preview, or a pending change answered by code action);
//! - `relay`: one thread's events as progress, messages, approvals, answers and
//!   the `agent/*` notifications;
//! - `approvals`: asking the user, by `showMessageRequest` and by code action;
//! - `undo`: reverting the last turn's changes;
//! - `user`: the user's `[[tasks]]`: where they are offered, their placeholders.
//!
//! State: one `std::sync::Mutex` around the maps, held for a few map operations
//! and never across an await.

mod answers;
mod approvals;
pub(crate) mod kind;
pub(crate) mod landing;
mod relay;
mod review;
mod undo;
pub(crate) mod user;
mod workspace;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use agentls_core::agent::{self, Agent, AgentError, ThreadHandle, ThreadOptions, ThreadSummary};
use agentls_core::config::ProviderConfig;
use agentls_core::context::SharedIndex;
use agentls_core::mcp::McpHub;
use agentls_core::model::Provider;
use agentls_core::process::CommandRunner;
use agentls_core::protocol::{ContextItem, Op, ReviewDecision, ThreadId, ThreadItem};
use agentls_core::provider::{self, Discovered};
use agentls_core::rollout::RolloutError;
use agentls_core::sandbox::SandboxedRunner;
use lsp_types::ProgressToken;
use tower_lsp_server::Client;

pub(crate) use answers::LastAnswer;
pub(crate) use approvals::{display_command, PendingApproval};
pub(crate) use review::{PendingChange, ReviewAnswer};

use crate::edits::Checkpoint;
use crate::ext::UndoResult;
use crate::state::{lock, PlaceError, State};
use review::Reviews;
use workspace::{EditorWorkspace, TurnChanges};

/// Why a task could not start, or an op not reach its thread. Said to the user.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TaskError {
    #[error("the agent is already working on {} ({title}); wait for it or use \"Agent: Stop agent\"", .path.display())]
    Busy { path: PathBuf, title: String },
    #[error("unknown thread {0}")]
    UnknownThread(String),
    #[error("{0}")]
    Setup(String),
    #[error("no approval {0} is pending")]
    UnknownApproval(String),
    #[error("no approval is pending")]
    NoApproval,
    #[error("no change {0} is pending")]
    UnknownChange(String),
    #[error("no agent change is waiting for review")]
    NoChange,
    #[error("thread {0} has ended")]
    Closed(String),
    #[error(transparent)]
    Place(#[from] PlaceError),
}

/// A task as the user sees it: its title and the file it is about.
#[derive(Clone, Debug)]
pub(crate) struct TaskInfo {
    /// `Fix this`, or the start of the user's text for a custom turn.
    pub title: String,
    /// The file the task is about.
    pub path: Option<PathBuf>,
    /// The task edits `path`: a second editing task on it is refused while this
    /// one is queued or runs. ("Explain this" only reads.)
    pub exclusive: bool,
    /// How this task's edits land when it says (a `[[tasks]]` entry's `edits`);
    /// `None`: as `[approvals] edits` says.
    pub edits: Option<agentls_core::config::EditApproval>,
}

/// What to start.
pub(crate) struct TaskRequest {
    /// Continue this thread; a new thread when `None`.
    pub thread: Option<ThreadId>,
    pub info: TaskInfo,
    pub text: String,
    pub context: Vec<ContextItem>,
    /// The workspace root the thread works in.
    pub root: PathBuf,
}

struct ThreadEntry {
    handle: ThreadHandle,
    /// When the thread last finished a turn (a counter): the oldest idle
    /// threads are shut down past `MAX_IDLE_THREADS`.
    last_used: u64,
    root: PathBuf,
    changes: Arc<Mutex<TurnChanges>>,
    /// Tasks submitted whose turn has not started, oldest first.
    queued: VecDeque<TaskInfo>,
    running: Option<RunningTurn>,
}

struct RunningTurn {
    info: TaskInfo,
    token: Option<ProgressToken>,
}

/// One finished turn's changes, which undo reverts.
#[derive(Debug)]
struct TurnCheckpoint {
    title: String,
    checkpoint: Checkpoint,
    roots: Vec<PathBuf>,
}

#[derive(Default)]
struct Inner {
    threads: HashMap<ThreadId, ThreadEntry>,
    approvals: BTreeMap<u64, PendingApproval>,
    checkpoints: Vec<TurnCheckpoint>,
}

/// Threads without a running or queued turn kept alive for `agent/turnStart`
/// to continue; older ones are shut down (their rollouts stay, and
/// `agent/threadResume` brings them back).
const MAX_IDLE_THREADS: usize = 16;

/// What a code action needs to know, taken in one short lock.
#[derive(Clone, Debug, Default)]
pub(crate) struct TaskOverview {
    pub running_turns: usize,
    pub can_undo: bool,
    /// A task has answered: "Agent: Show last answer" has something to show.
    pub has_answer: bool,
    pub approvals: Vec<PendingApproval>,
    /// Changes waiting for the user's review, oldest first.
    pub changes: Vec<PendingChange>,
}

/// The server's agent threads. A cheap handle: clones share the same threads
/// (each thread's relay holds one).
#[derive(Clone)]
pub(crate) struct Tasks {
    inner: Arc<Mutex<Inner>>,
    counters: Arc<Counters>,
    /// The provider last chosen and the `[provider]` configuration it was
    /// chosen for. An async lock: choosing may probe local servers.
    provider: Arc<tokio::sync::Mutex<Option<(ProviderConfig, Discovered)>>>,
    /// The workspace symbol index every thread's agent searches.
    index: SharedIndex,
    /// The last answer a task gave ("Agent: Show last answer").
    last_answer: Arc<Mutex<Option<LastAnswer>>>,
    /// Changes waiting for the user's review (`[approvals] edits = "review"`).
    reviews: Reviews,
    /// The MCP servers of each thread root, shared by its threads (each server
    /// runs once); replaced when the configuration or `.mcp.json` changes.
    mcp: Arc<Mutex<HashMap<PathBuf, McpHub>>>,
}

#[derive(Default)]
struct Counters {
    next_approval: AtomicU64,
    next_token: AtomicU64,
    next_use: AtomicU64,
}

impl Tasks {
    pub(crate) fn new(index: SharedIndex) -> Tasks {
        Tasks {
            inner: Arc::default(),
            counters: Arc::default(),
            provider: Arc::default(),
            last_answer: Arc::default(),
            reviews: Reviews::default(),
            mcp: Arc::default(),
            index,
        }
    }

    pub(crate) fn overview(&self) -> TaskOverview {
        let inner = lock(&self.inner);
        TaskOverview {
            running_turns: inner
                .threads
                .values()
                .filter(|entry| entry.running.is_some() || !entry.queued.is_empty())
                .count(),
            can_undo: !inner.checkpoints.is_empty(),
            has_answer: lock(&self.last_answer).is_some(),
            approvals: inner.approvals.values().cloned().collect(),
            changes: self.reviews.pending(),
        }
    }

    /// Starts a task: a turn on a new or given thread. Returns once the input is
    /// queued; the turn runs in the background.
    pub(crate) async fn start(
        &self,
        state: &Arc<State>,
        client: &Client,
        request: TaskRequest,
    ) -> Result<ThreadId, TaskError> {
        if let (Some(path), true) = (&request.info.path, request.info.exclusive) {
            self.check_not_busy(path)?;
        }
        let handle = match &request.thread {
            Some(id) => self.handle(id)?,
            None => {
                let provider = self.provider(state).await?;
                self.spawn_thread(state, client, &request.root, None, provider)?
                    .0
            }
        };
        let id = handle.id().clone();
        {
            // Checked again under the same lock as the queueing, so two commands
            // racing for one file cannot both pass (the check above only saves
            // starting a thread for nothing). A thread started here and refused
            // stays idle until it is retired.
            let mut inner = lock(&self.inner);
            if let (Some(path), true) = (&request.info.path, request.info.exclusive) {
                busy_with(&inner, path)?;
            }
            if let Some(entry) = inner.threads.get_mut(&id) {
                entry.queued.push_back(request.info.clone());
            }
        }
        let op = Op::UserInput {
            text: request.text,
            context: request.context,
        };
        // The editor may cancel the request while the op waits for room in the
        // thread's queue (`$/cancelRequest` drops this future): the entry queued
        // above must not outlive it, or the file would stay busy for good.
        let mut queued = QueuedEntry {
            tasks: self,
            id: &id,
            submitted: false,
        };
        if handle.submit(op).await.is_err() {
            return Err(TaskError::Closed(id.to_string()));
        }
        queued.submitted = true;
        drop(queued);
        Ok(id)
    }

    /// A new thread with no turn yet (`agent/threadStart`).
    pub(crate) async fn start_thread(
        &self,
        state: &Arc<State>,
        client: &Client,
        root: &Path,
    ) -> Result<ThreadId, TaskError> {
        let provider = self.provider(state).await?;
        let (handle, _) = self.spawn_thread(state, client, root, None, provider)?;
        Ok(handle.id().clone())
    }

    /// Continues a thread from its rollout (`agent/threadResume`).
    pub(crate) async fn resume_thread(
        &self,
        state: &Arc<State>,
        client: &Client,
        root: &Path,
        id: &ThreadId,
    ) -> Result<Vec<ThreadItem>, TaskError> {
        // A thread this server holds (idle since its turn, or running) is
        // already live: its items are read back from its rollout, which is
        // written item by item, and the thread goes on as it is.
        if lock(&self.inner).threads.contains_key(id) {
            return agent::thread_items(&state.data_dir()?, id)
                .map_err(|error| TaskError::Setup(error.to_string()));
        }
        let provider = self.provider(state).await?;
        let (_, items) = self.spawn_thread(state, client, root, Some(id), provider)?;
        Ok(items)
    }

    /// The threads in the data directory, newest first.
    pub(crate) fn list_threads(&self, state: &State) -> Result<Vec<ThreadSummary>, TaskError> {
        let data_dir = state.data_dir()?;
        agent::list_threads(&data_dir).map_err(|error| TaskError::Setup(error.to_string()))
    }

    pub(crate) async fn steer(&self, id: &ThreadId, text: String) -> Result<(), TaskError> {
        self.submit(id, Op::Steer { text }).await
    }

    pub(crate) async fn interrupt(&self, id: &ThreadId) -> Result<(), TaskError> {
        self.submit(id, Op::Interrupt).await
    }

    /// Interrupts every running turn; returns how many there were.
    pub(crate) async fn stop_all(&self) -> usize {
        let handles: Vec<ThreadHandle> = lock(&self.inner)
            .threads
            .values()
            .filter(|entry| entry.running.is_some() || !entry.queued.is_empty())
            .map(|entry| entry.handle.clone())
            .collect();
        for handle in &handles {
            let _ = handle.submit(Op::Interrupt).await;
        }
        handles.len()
    }

    /// The turn whose progress the client cancelled.
    pub(crate) async fn cancel_progress(&self, token: &ProgressToken) {
        let handle = lock(&self.inner)
            .threads
            .values()
            .find(|entry| {
                entry
                    .running
                    .as_ref()
                    .is_some_and(|turn| turn.token.as_ref() == Some(token))
            })
            .map(|entry| entry.handle.clone());
        match handle {
            Some(handle) => {
                tracing::info!(thread_id = %handle.id(), "progress cancelled: interrupting the turn");
                let _ = handle.submit(Op::Interrupt).await;
            }
            None => tracing::debug!(?token, "cancel for a progress that is not a running turn"),
        }
    }

    /// Answers an approval: the one with `id`, or the latest pending one.
    pub(crate) async fn decide(
        &self,
        id: Option<&str>,
        decision: ReviewDecision,
    ) -> Result<PendingApproval, TaskError> {
        let pending = {
            let mut inner = lock(&self.inner);
            match id {
                Some(id) => {
                    let key: u64 = id
                        .trim()
                        .parse()
                        .map_err(|_| TaskError::UnknownApproval(id.to_string()))?;
                    inner
                        .approvals
                        .remove(&key)
                        .ok_or_else(|| TaskError::UnknownApproval(id.to_string()))?
                }
                None => inner
                    .approvals
                    .pop_last()
                    .map(|(_, pending)| pending)
                    .ok_or(TaskError::NoApproval)?,
            }
        };
        tracing::info!(approval = pending.id, ?decision, "approval answered");
        pending
            .thread
            .submit(Op::ApprovalDecision {
                id: pending.core_id.clone(),
                decision,
            })
            .await
            .map_err(|_| TaskError::Closed(pending.thread.id().to_string()))?;
        Ok(pending)
    }

    /// Reverts the last turn that changed files. Answers as soon as the revert is
    /// planned (what it reverts, which hunks it keeps); the edits land in the
    /// background like the agent's own, and the user hears how it went with
    /// `window/showMessage`. If they do not land, the change can be undone later.
    pub(crate) fn undo(
        &self,
        state: &Arc<State>,
        client: &Client,
    ) -> Result<UndoResult, TaskError> {
        let last = lock(&self.inner).checkpoints.pop();
        let Some(last) = last else {
            return Err(TaskError::Setup("there is no agent change to undo".into()));
        };
        let planned = undo::plan(state, &last);
        let result = planned.result.clone();
        let (state, client, tasks) = (state.clone(), client.clone(), self.clone());
        tokio::spawn(async move {
            if undo::land_planned(&state, &client, &last, &planned)
                .await
                .is_err()
            {
                lock(&tasks.inner).checkpoints.push(last);
            }
        });
        Ok(result)
    }

    /// Applies or discards a pending change: the one with `id`, or the latest.
    /// The waiting turn lands it (or not) and tells the model.
    pub(crate) fn answer_change(
        &self,
        id: Option<&str>,
        answer: ReviewAnswer,
    ) -> Result<PendingChange, TaskError> {
        self.reviews.answer(id, answer)
    }

    /// "Agent: Review change": the pending change with `id` (or the latest) as
    /// a diff against the files as they are now.
    pub(crate) async fn show_change(
        &self,
        state: &State,
        client: &Client,
        id: Option<&str>,
    ) -> Result<PendingChange, TaskError> {
        let change = self.reviews.find(id)?;
        review::show(state, client, &change).await;
        Ok(change)
    }

    fn remember_answer(&self, answer: LastAnswer) {
        *lock(&self.last_answer) = Some(answer);
    }

    /// "Agent: Show last answer": opens it, or says it; an error when no task
    /// has answered yet.
    pub(crate) async fn show_last_answer(
        &self,
        state: &State,
        client: &Client,
    ) -> Result<(), TaskError> {
        let last = lock(&self.last_answer).clone();
        let last = last.ok_or_else(|| TaskError::Setup("no agent task has answered yet".into()))?;
        answers::show(state, client, &last).await;
        Ok(())
    }

    fn check_not_busy(&self, path: &Path) -> Result<(), TaskError> {
        busy_with(&lock(&self.inner), path)
    }

    fn handle(&self, id: &ThreadId) -> Result<ThreadHandle, TaskError> {
        lock(&self.inner)
            .threads
            .get(id)
            .map(|entry| entry.handle.clone())
            .ok_or_else(|| TaskError::UnknownThread(id.to_string()))
    }

    async fn submit(&self, id: &ThreadId, op: Op) -> Result<(), TaskError> {
        self.handle(id)?
            .submit(op)
            .await
            .map_err(|_| TaskError::Closed(id.to_string()))
    }

    fn forget_queued(&self, id: &ThreadId) {
        if let Some(entry) = lock(&self.inner).threads.get_mut(id) {
            entry.queued.pop_back();
        }
    }

    /// Starts (or resumes) a thread with an agent of its own, whose workspace
    /// records what its turns change, and the task relaying its events.
    fn spawn_thread(
        &self,
        state: &Arc<State>,
        client: &Client,
        root: &Path,
        resume: Option<&ThreadId>,
        provider: Arc<dyn Provider>,
    ) -> Result<(ThreadHandle, Vec<ThreadItem>), TaskError> {
        let changes = Arc::new(Mutex::new(TurnChanges::default()));
        let agent = self.build_agent(state, client, root, changes.clone(), provider)?;
        let thread = match resume {
            Some(id) => agent.resume_thread(id),
            None => agent.start_thread(ThreadOptions::default()),
        }
        .map_err(|error| match error {
            AgentError::Rollout(RolloutError::NotFound(id)) => {
                TaskError::UnknownThread(id.to_string())
            }
            other => TaskError::Setup(other.to_string()),
        })?;
        let past_items = thread.past_items().to_vec();
        let (handle, events, _task) = thread.into_parts();
        lock(&self.inner).threads.insert(
            handle.id().clone(),
            ThreadEntry {
                handle: handle.clone(),
                last_used: self.counters.next_use.fetch_add(1, Ordering::Relaxed),
                root: root.to_path_buf(),
                changes,
                queued: VecDeque::new(),
                running: None,
            },
        );
        tokio::spawn(relay::run(
            self.clone(),
            state.clone(),
            client.clone(),
            handle.id().clone(),
            events,
        ));
        Ok((handle, past_items))
    }

    /// A turn started: it is the oldest queued task (or a turn the client
    /// started some other way). Returns its info and a fresh progress token.
    fn turn_started(
        &self,
        id: &ThreadId,
        with_progress: bool,
    ) -> (TaskInfo, Option<ProgressToken>) {
        let token = with_progress.then(|| {
            let n = self.counters.next_token.fetch_add(1, Ordering::Relaxed) + 1;
            ProgressToken::String(format!("agentls/turn/{n}"))
        });
        let mut inner = lock(&self.inner);
        let Some(entry) = inner.threads.get_mut(id) else {
            return (untitled(), token);
        };
        let info = entry.queued.pop_front().unwrap_or_else(untitled);
        *lock(&entry.changes) = TurnChanges {
            title: info.title.clone(),
            edits: info.edits,
            ..TurnChanges::default()
        };
        entry.running = Some(RunningTurn {
            info: info.clone(),
            token: token.clone(),
        });
        (info, token)
    }

    /// A turn ended: its changes become the latest checkpoint, its approvals go,
    /// and idle threads past `MAX_IDLE_THREADS` are shut down.
    fn turn_ended(&self, id: &ThreadId, state: &State) -> TurnChanges {
        let changes = self.record_turn_end(id, state);
        for handle in self.idle_threads_to_retire() {
            tracing::debug!(thread_id = %handle.id(), "shutting down an idle thread");
            // A full op queue means the thread is busy after all: leave it.
            let _ = handle.try_submit(Op::Shutdown);
        }
        changes
    }

    fn idle_threads_to_retire(&self) -> Vec<ThreadHandle> {
        let inner = lock(&self.inner);
        let mut idle: Vec<&ThreadEntry> = inner
            .threads
            .values()
            .filter(|entry| entry.running.is_none() && entry.queued.is_empty())
            .collect();
        if idle.len() <= MAX_IDLE_THREADS {
            return Vec::new();
        }
        idle.sort_by_key(|entry| entry.last_used);
        let excess = idle.len() - MAX_IDLE_THREADS;
        idle.into_iter()
            .take(excess)
            .map(|entry| entry.handle.clone())
            .collect()
    }

    fn record_turn_end(&self, id: &ThreadId, state: &State) -> TurnChanges {
        let use_mark = self.counters.next_use.fetch_add(1, Ordering::Relaxed);
        let mut inner = lock(&self.inner);
        inner
            .approvals
            .retain(|_, pending| pending.thread.id() != id);
        let Some(entry) = inner.threads.get_mut(id) else {
            return TurnChanges::default();
        };
        let running = entry.running.take();
        entry.last_used = use_mark;
        let changes = std::mem::take(&mut *lock(&entry.changes));
        let root = entry.root.clone();
        if !changes.checkpoint.is_empty() {
            let mut roots = state.session().roots;
            roots.push(root);
            inner.checkpoints.push(TurnCheckpoint {
                title: running.map(|turn| turn.info.title).unwrap_or_default(),
                checkpoint: changes.checkpoint.clone(),
                roots,
            });
        }
        changes
    }

    fn thread_ended(&self, id: &ThreadId) {
        let mut inner = lock(&self.inner);
        inner.threads.remove(id);
        inner
            .approvals
            .retain(|_, pending| pending.thread.id() != id);
    }

    fn add_approval(&self, make: impl FnOnce(u64) -> PendingApproval) -> PendingApproval {
        let id = self.counters.next_approval.fetch_add(1, Ordering::Relaxed) + 1;
        let pending = make(id);
        lock(&self.inner).approvals.insert(id, pending.clone());
        pending
    }
}

/// `Busy` when a queued or running turn is editing `path`: an exclusive task on
/// it, or a running turn that has changed it.
fn busy_with(inner: &Inner, path: &Path) -> Result<(), TaskError> {
    for entry in inner.threads.values() {
        let active = entry.running.as_ref().map(|turn| &turn.info);
        for info in active.into_iter().chain(entry.queued.iter()) {
            let touches = (info.exclusive && info.path.as_deref() == Some(path))
                || (entry.running.is_some()
                    && lock(&entry.changes).files.iter().any(|file| file == path));
            if touches {
                return Err(TaskError::Busy {
                    path: path.to_path_buf(),
                    title: info.title.clone(),
                });
            }
        }
    }
    Ok(())
}

fn untitled() -> TaskInfo {
    TaskInfo {
        title: "Agent task".to_string(),
        path: None,
        exclusive: false,
        edits: None,
    }
}

impl Tasks {
    /// The model provider for a new thread, as `provider::discover` picks it from
    /// the configuration as it is now. A choice is kept while the `[provider]`
    /// configuration stays the same; a failure is not, so a local server started
    /// later is found by the next task.
    pub(crate) async fn provider(&self, state: &State) -> Result<Arc<dyn Provider>, TaskError> {
        self.discover(state)
            .await?
            .settings
            .into_provider()
            .map_err(|error| TaskError::Setup(error.to_string()))
    }

    /// The provider `provider` would make, chosen but not made: `initialized`
    /// tells a user with none configured at once, without building an HTTP
    /// client (and loading the system's certificates) before a task needs one.
    pub(crate) async fn discover(&self, state: &State) -> Result<Discovered, TaskError> {
        let config = state.config().provider;
        let mut chosen = self.provider.lock().await;
        match &*chosen {
            Some((for_config, discovered)) if *for_config == config => Ok(discovered.clone()),
            _ => {
                let env = |name: &str| (state.env)(name);
                let discovered = provider::discover(&config, &env)
                    .await
                    .and_then(|discovered| discovered.settings.check().map(|()| discovered))
                    .map_err(|error| TaskError::Setup(error.to_string()))?;
                tracing::info!(provider = %discovered.describe(), "model provider chosen");
                *chosen = Some((config, discovered.clone()));
                Ok(discovered)
            }
        }
    }

    /// An agent for one thread, from the configuration as it is now.
    fn build_agent(
        &self,
        state: &Arc<State>,
        client: &Client,
        root: &Path,
        changes: Arc<Mutex<TurnChanges>>,
        provider: Arc<dyn Provider>,
    ) -> Result<Agent, TaskError> {
        let config = state.config();
        let (runner, unconfined) = command_runner(state, &config);
        let mcp = self.mcp_hub(state, root);
        let workspace = EditorWorkspace::new(
            root.to_path_buf(),
            state.clone(),
            client.clone(),
            changes,
            self.reviews.clone(),
        );
        Ok(Agent::new(
            config,
            provider,
            Arc::new(workspace),
            runner,
            state.data_dir()?,
        )
        .with_unconfined_commands(unconfined)
        .with_symbols(self.index.clone())
        .with_mcp(mcp))
    }

    /// The MCP servers of `root` under the configuration as it is now: the
    /// hub its threads share, or a new one when the configuration (or
    /// `.mcp.json`) changed since. A replaced hub's servers stop when the last
    /// thread using it ends. Starts nothing but `startup = "eager"` servers.
    pub(crate) fn mcp_hub(&self, state: &Arc<State>, root: &Path) -> McpHub {
        let config = state.config();
        let (runner, unconfined) = command_runner(state, &config);
        let mut hubs = lock(&self.mcp);
        if let Some(hub) = hubs.get(root) {
            if hub.is_current(&config, root, unconfined) {
                return hub.clone();
            }
        }
        let env = state.env.clone();
        let hub = McpHub::new(&config, root, runner, env, unconfined);
        hub.start_eager();
        hubs.insert(root.to_path_buf(), hub.clone());
        hub
    }
}

/// A task queued on a thread by `Tasks::start` whose op is not yet submitted:
/// dropped before `submitted` is set (a failed submit, or the request cancelled
/// mid-await), it takes the task back off the queue.
struct QueuedEntry<'a> {
    tasks: &'a Tasks,
    id: &'a ThreadId,
    submitted: bool,
}

impl Drop for QueuedEntry<'_> {
    fn drop(&mut self) {
        if !self.submitted {
            self.tasks.forget_queued(self.id);
        }
    }
}

/// The runner of the agent's commands (and MCP servers) under `config`, and
/// whether it cannot confine anything here.
fn command_runner(
    state: &State,
    config: &agentls_core::config::Config,
) -> (Arc<dyn CommandRunner>, bool) {
    let mut runner = SandboxedRunner::from_config(state.sandbox_helper.clone(), &config.sandbox);
    if let Some(key_env) = &config.provider.api_key_env {
        runner = runner.with_secret_env([key_env.clone()]);
    }
    let unconfined = config.sandbox.policy.is_enforcing() && runner.every_command_needs_approval();
    (Arc::new(runner), unconfined)
}
