//! The language server: shared state and the `LanguageServer` impl, which only
//! routes each method to its handler in `handlers/`.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use agentls_core::config::{Config, ConfigLayer, ConfigProblem};
use lsp_types::*;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::{Client, LanguageServer, LspService};

use crate::document::{DocumentStore, PositionEncoding};
use crate::handlers;
use crate::handlers::agent;

/// Reads an environment variable; tests substitute their own.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the server learned from `initialize`.
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub encoding: PositionEncoding,
    pub roots: Vec<PathBuf>,
    pub client_name: Option<String>,
    /// The client advertised `window.showMessage` (it can answer showMessageRequest).
    pub show_message_request: bool,
    pub show_document: bool,
    pub work_done_progress: bool,
    /// The client declared `experimental.agentls`: it gets the custom notifications.
    pub agentls_extensions: bool,
    /// What the client takes in a workspace edit.
    pub edit_capabilities: crate::edits::EditCapabilities,
    /// The client lets the server register file watchers.
    pub watched_files_registration: bool,
}

/// The configuration layers and their merge.
#[derive(Clone, Debug, Default)]
pub struct ConfigState {
    /// Files, initializationOptions and environment, lowest first; the editor's
    /// settings layer goes between the first three and the environment.
    pub file_layers: Vec<ConfigLayer>,
    pub init_layer: Option<ConfigLayer>,
    pub editor_layer: Option<ConfigLayer>,
    pub env_layer: Option<ConfigLayer>,
    pub merged: Config,
}

impl ConfigState {
    /// Re-merges all layers; returns the problems to show.
    pub fn remerge(&mut self) -> Vec<ConfigProblem> {
        let layers: Vec<ConfigLayer> = self
            .file_layers
            .iter()
            .chain(self.init_layer.iter())
            .chain(self.editor_layer.iter())
            .chain(self.env_layer.iter())
            .cloned()
            .collect();
        let (merged, problems) = agentls_core::config::merge(&layers);
        self.merged = merged;
        problems
    }
}

/// Everything the handlers share. Each piece has one owner: documents are written
/// only by the ordered notification path; session and config by initialize and
/// didChangeConfiguration.
pub struct State {
    pub documents: DocumentStore,
    pub session: RwLock<Session>,
    pub config: RwLock<ConfigState>,
    /// Problems found while loading configuration before the client could be told.
    pub pending_problems: std::sync::Mutex<Vec<ConfigProblem>>,
    pub env: EnvLookup,
    /// Bumped after every document notification is applied; landing an edit
    /// waits on it for the didChange that confirms the edit.
    pub document_changes: tokio::sync::watch::Sender<u64>,
    /// The agent's threads, turns, approvals and checkpoints.
    pub tasks: crate::tasks::Tasks,
    /// The workspace symbol index and the user's recent edits.
    pub symbols: crate::symbols::Symbols,
    /// The binary that confines commands (`agentls sandbox`): this executable,
    /// or `AGENTLS_SANDBOX_HELPER` (tests running the server in-process).
    pub sandbox_helper: PathBuf,
}

impl State {
    pub fn new(env: EnvLookup) -> Self {
        let sandbox_helper = env("AGENTLS_SANDBOX_HELPER")
            .map(PathBuf::from)
            .or_else(|| std::env::current_exe().ok())
            .unwrap_or_else(|| PathBuf::from("agentls"));
        State {
            documents: DocumentStore::new(),
            session: RwLock::new(Session::default()),
            config: RwLock::new(ConfigState::default()),
            pending_problems: std::sync::Mutex::new(Vec::new()),
            env,
            document_changes: tokio::sync::watch::Sender::new(0),
            tasks: crate::tasks::Tasks::default(),
            symbols: crate::symbols::Symbols::default(),
            sandbox_helper,
        }
    }

    /// Says that a document notification was applied.
    pub fn documents_changed(&self) {
        self.document_changes
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    pub fn session(&self) -> Session {
        read_lock(&self.session).clone()
    }

    pub fn config(&self) -> Config {
        read_lock(&self.config).merged.clone()
    }
}

/// Reads a lock even if a writer panicked: the data is plain values, and a
/// panicking writer never leaves them half-updated (writes are single stores).
pub fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// See `read_lock`.
pub fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The server handed to tower-lsp-server.
pub struct Server {
    pub client: Client,
    pub state: Arc<State>,
}

impl Server {
    /// Builds the service with the process environment.
    pub fn service() -> (LspService<Server>, tower_lsp_server::ClientSocket) {
        Self::service_with_env(Arc::new(|name: &str| std::env::var(name).ok()))
    }

    /// Builds the service with a substitute environment (tests).
    pub fn service_with_env(
        env: EnvLookup,
    ) -> (LspService<Server>, tower_lsp_server::ClientSocket) {
        LspService::build(move |client| Server {
            client,
            state: Arc::new(State::new(env)),
        })
        .custom_method("agent/documentState", Server::document_state)
        .custom_method("agent/threadStart", Server::thread_start)
        .custom_method("agent/threadResume", Server::thread_resume)
        .custom_method("agent/threadList", Server::thread_list)
        .custom_method("agent/turnStart", Server::turn_start)
        .custom_method("agent/turnSteer", Server::turn_steer)
        .custom_method("agent/turnInterrupt", Server::turn_interrupt)
        .custom_method("agent/undo", Server::undo)
        .custom_method("agent/approve", Server::approve)
        .custom_method("agent/context", Server::context)
        .custom_method("window/workDoneProgress/cancel", Server::progress_cancel)
        .finish()
    }

    async fn thread_start(
        &self,
        params: agent::ThreadStartParams,
    ) -> Result<agent::ThreadStartResult> {
        agent::thread_start(&self.state, &self.client, params)
    }

    async fn thread_resume(
        &self,
        params: agent::ThreadResumeParams,
    ) -> Result<agent::ThreadResumeResult> {
        agent::thread_resume(&self.state, &self.client, params)
    }

    async fn thread_list(
        &self,
        params: agent::ThreadListParams,
    ) -> Result<agent::ThreadListResult> {
        agent::thread_list(&self.state, params)
    }

    async fn turn_start(&self, params: agent::TurnStartParams) -> Result<agent::TurnStartResult> {
        agent::turn_start(&self.state, &self.client, params).await
    }

    async fn turn_steer(&self, params: agent::TurnSteerParams) -> Result<serde_json::Value> {
        agent::turn_steer(&self.state, params).await
    }

    async fn turn_interrupt(&self, params: agent::ThreadParams) -> Result<serde_json::Value> {
        agent::turn_interrupt(&self.state, params).await
    }

    async fn undo(&self, _params: Option<serde_json::Value>) -> Result<crate::tasks::UndoResult> {
        agent::undo(&self.state, &self.client).await
    }

    async fn approve(&self, params: agent::ApproveParams) -> Result<serde_json::Value> {
        agent::approve(&self.state, params).await
    }

    async fn context(
        &self,
        params: handlers::agent_context::ContextParams,
    ) -> Result<crate::symbols::ContextResult> {
        handlers::agent_context::handle(&self.state, params).await
    }

    /// A notification: the user cancelled a turn's progress.
    async fn progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        // Interrupting waits only for room in the thread's op queue; still, the
        // ordered notification path must not wait on a thread, so hand it off.
        let state = self.state.clone();
        tokio::spawn(async move { state.tasks.cancel_progress(&params.token).await });
    }

    async fn document_state(
        &self,
        params: handlers::document_state::DocumentStateParams,
    ) -> Result<handlers::document_state::DocumentStateResult> {
        handlers::document_state::handle(&self.state, params)
    }
}

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        Ok(handlers::initialize::handle(&self.state, params))
    }

    async fn initialized(&self, _: InitializedParams) {
        handlers::initialize::initialized(&self.state, &self.client).await;
        crate::symbols::start(self.state.clone(), self.client.clone());
    }

    async fn shutdown(&self) -> Result<()> {
        tracing::info!("shutdown requested");
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::document_sync::did_open(&self.state, &self.client, params).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::document_sync::did_change(&self.state, &self.client, params).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::document_sync::did_close(&self.state, &self.client, params).await;
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        handlers::document_sync::did_save(&self.state, &self.client, params).await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        crate::symbols::files_changed(&self.state, params);
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        handlers::configuration::did_change(&self.state, &self.client, params).await;
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        handlers::code_action::handle(&self.state, params)
    }

    async fn execute_command(
        &self,
        params: ExecuteCommandParams,
    ) -> Result<Option<serde_json::Value>> {
        handlers::execute_command::handle(&self.state, &self.client, params).await
    }
}
