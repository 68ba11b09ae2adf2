//! The leaf every part of the ACP front end reads: what the client said it can
//! do, the open sessions, and the process's seams (environment, sandbox helper).
//! It imports no handler, no relay.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agent_client_protocol as sdk;
use agent_client_protocol::v1::schema::{ClientCapabilities, SessionId};
use agentls_core::agent::ThreadHandle;
use agentls_core::protocol::Op;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The client on the other end of the connection, as handlers and relays reach it.
pub(crate) type Peer = sdk::v1::ConnectionTo<sdk::Client>;

/// Reads an environment variable.
pub type EnvReader = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How long a session's thread gets to record its end when the connection
/// closes or the session is loaded again, before it is left behind.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything one ACP connection shares.
pub(crate) struct AcpState {
    /// Reads environment variables (tests give their own).
    pub(crate) env: EnvReader,
    /// The executable whose `sandbox` subcommand confines commands.
    pub(crate) sandbox_helper: PathBuf,
    client: Mutex<ClientCapabilities>,
    sessions: Mutex<HashMap<SessionId, Arc<Session>>>,
}

impl AcpState {
    pub(crate) fn new(env: EnvReader, sandbox_helper: PathBuf) -> AcpState {
        AcpState {
            env,
            sandbox_helper,
            client: Mutex::new(ClientCapabilities::default()),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// What the client offered at `initialize` (nothing before it).
    pub(crate) fn client_capabilities(&self) -> ClientCapabilities {
        lock(&self.client).clone()
    }

    pub(crate) fn set_client_capabilities(&self, capabilities: ClientCapabilities) {
        *lock(&self.client) = capabilities;
    }

    pub(crate) fn session(&self, id: &SessionId) -> Option<Arc<Session>> {
        lock(&self.sessions).get(id).cloned()
    }

    pub(crate) fn insert_session(&self, session: Arc<Session>) {
        lock(&self.sessions).insert(session.id.clone(), session);
    }

    pub(crate) fn remove_session(&self, id: &SessionId) -> Option<Arc<Session>> {
        lock(&self.sessions).remove(id)
    }

    /// Every session, taken out of the registry (the connection is closing).
    pub(crate) fn take_sessions(&self) -> Vec<Arc<Session>> {
        lock(&self.sessions)
            .drain()
            .map(|(_, session)| session)
            .collect()
    }
}

/// How a prompt's turn ended, as the relay tells the waiting prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TurnOutcome {
    Completed,
    /// `session/cancel`, an approval answered with "cancelled", or the
    /// connection closing.
    Cancelled,
    Failed(String),
}

/// Why a prompt could not be started on a session.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PromptRefused {
    #[error("session {0} is already running a prompt: wait for its answer or send session/cancel")]
    Busy(SessionId),
    #[error("session {0} has ended")]
    Ended(SessionId),
    #[error("session {0} is busy: its op queue is full")]
    QueueFull(SessionId),
}

/// One ACP session: a core thread, the relay that turns its events into
/// `session/update`s, and the prompt waiting for the running turn.
pub(crate) struct Session {
    pub(crate) id: SessionId,
    thread: ThreadHandle,
    /// The prompt waiting for the running turn's end; `Some` while a prompt runs.
    turn: Mutex<Option<oneshot::Sender<TurnOutcome>>>,
    /// The thread's task and the relay's, joined when the session closes.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Session {
    pub(crate) fn new(id: SessionId, thread: ThreadHandle) -> Session {
        Session {
            id,
            thread,
            turn: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn thread(&self) -> &ThreadHandle {
        &self.thread
    }

    /// Keep a task to join when the session closes.
    pub(crate) fn own_task(&self, task: JoinHandle<()>) {
        lock(&self.tasks).push(task);
    }

    /// Start a turn with this input, unless one runs: the input is queued on the
    /// thread here, without waiting, so a `session/cancel` read after this
    /// prompt always reaches the turn it started.
    pub(crate) fn start_prompt(
        &self,
        input: Op,
    ) -> Result<oneshot::Receiver<TurnOutcome>, PromptRefused> {
        let mut turn = lock(&self.turn);
        if turn.as_ref().is_some_and(|waiter| !waiter.is_closed()) {
            return Err(PromptRefused::Busy(self.id.clone()));
        }
        self.thread.try_submit(input).map_err(|error| match error {
            agentls_core::agent::TrySubmitError::QueueFull(_) => {
                PromptRefused::QueueFull(self.id.clone())
            }
            agentls_core::agent::TrySubmitError::Closed(_) => PromptRefused::Ended(self.id.clone()),
        })?;
        let (sender, receiver) = oneshot::channel();
        *turn = Some(sender);
        Ok(receiver)
    }

    /// Whether a prompt waits for a turn.
    pub(crate) fn prompt_running(&self) -> bool {
        lock(&self.turn)
            .as_ref()
            .is_some_and(|waiter| !waiter.is_closed())
    }

    /// The turn ended: tell the waiting prompt (if any).
    pub(crate) fn finish_turn(&self, outcome: TurnOutcome) {
        if let Some(waiter) = lock(&self.turn).take() {
            let _ = waiter.send(outcome);
        }
    }

    /// End the thread (a running turn is interrupted and recorded as such) and
    /// wait for it and the relay, within `SHUTDOWN_GRACE`.
    pub(crate) async fn close(&self) {
        let _ = self.thread.submit(Op::Shutdown).await;
        let tasks: Vec<JoinHandle<()>> = lock(&self.tasks).drain(..).collect();
        let joined = tokio::time::timeout(SHUTDOWN_GRACE, futures::future::join_all(tasks));
        if joined.await.is_err() {
            tracing::warn!(session_id = %self.id, "the session's thread did not end in time");
        }
        self.finish_turn(TurnOutcome::Cancelled);
    }
}

/// A poisoned lock still holds consistent data here: every critical section is
/// a plain read or replacement.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
