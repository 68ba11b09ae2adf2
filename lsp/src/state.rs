//! The state every part of the server reads: the document store, what
//! `initialize` said about the client (`Session`), the configuration layers, the
//! environment, and where agentls keeps its files. A leaf: it imports no handler,
//! no task and no index, so everything above it can take an `Arc<State>` without
//! a circle. Each piece has one owner: documents are written only by the ordered
//! notification path; session and config by initialize and
//! didChangeConfiguration.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use agentls_core::config::{Config, ConfigLayer, ConfigProblem};

use crate::document::DocumentStore;
use crate::edits::EditCapabilities;

/// Reads an environment variable; tests substitute their own.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the server learned from `initialize`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Session {
    pub roots: Vec<PathBuf>,
    pub client_name: Option<String>,
    /// The client advertised `window.showMessage` (it can answer showMessageRequest).
    pub show_message_request: bool,
    pub show_document: bool,
    pub work_done_progress: bool,
    /// The client declared `experimental.agentls`: it gets the custom notifications.
    pub agentls_extensions: bool,
    /// What the client takes in a workspace edit.
    pub edit_capabilities: EditCapabilities,
    /// The client lets the server register file watchers.
    pub watched_files_registration: bool,
}

/// The configuration layers and their merge.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConfigState {
    /// Files, initializationOptions and environment, lowest first; the editor's
    /// settings layer goes between the first three and the environment.
    pub file_layers: Vec<ConfigLayer>,
    pub init_layer: Option<ConfigLayer>,
    pub editor_layer: Option<ConfigLayer>,
    pub env_layer: Option<ConfigLayer>,
    pub merged: Config,
}

impl Session {
    /// The client said it is Helix, which handles `window/showDocument` without
    /// announcing it and shows messages in one status line.
    pub(crate) fn is_helix(&self) -> bool {
        self.client_name
            .as_deref()
            .is_some_and(|name| name.eq_ignore_ascii_case("helix"))
    }
}

impl ConfigState {
    /// Re-merges all layers; returns the problems to show.
    pub(crate) fn remerge(&mut self) -> Vec<ConfigProblem> {
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

/// Why the server cannot say where a task runs or where its files go.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PlaceError {
    #[error("no workspace folder: open a file or a folder first")]
    NoWorkspaceFolder,
    #[error("{0}")]
    NoDataDir(String),
}

pub(crate) struct State {
    pub documents: DocumentStore,
    pub session: RwLock<Session>,
    pub config: RwLock<ConfigState>,
    /// Problems found while loading configuration before the client could be told.
    pub pending_problems: Mutex<Vec<ConfigProblem>>,
    pub env: EnvLookup,
    /// Bumped after every document notification is applied; landing an edit
    /// waits on it for the didChange that confirms the edit.
    pub document_changes: tokio::sync::watch::Sender<u64>,
    /// The binary that confines commands (`agentls sandbox`): this executable,
    /// or `AGENTLS_SANDBOX_HELPER` (tests running the server in-process).
    pub sandbox_helper: PathBuf,
}

impl State {
    pub(crate) fn new(env: EnvLookup) -> Self {
        let sandbox_helper = env("AGENTLS_SANDBOX_HELPER")
            .map(PathBuf::from)
            .or_else(|| std::env::current_exe().ok())
            .unwrap_or_else(|| PathBuf::from("agentls"));
        State {
            documents: DocumentStore::new(),
            session: RwLock::new(Session::default()),
            config: RwLock::new(ConfigState::default()),
            pending_problems: Mutex::new(Vec::new()),
            env,
            document_changes: tokio::sync::watch::Sender::new(0),
            sandbox_helper,
        }
    }

    /// Says that a document notification was applied.
    pub(crate) fn documents_changed(&self) {
        self.document_changes
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    pub(crate) fn session(&self) -> Session {
        read_lock(&self.session).clone()
    }

    pub(crate) fn config(&self) -> Config {
        read_lock(&self.config).merged.clone()
    }

    /// Where threads keep their rollouts, answers and pages:
    /// `$XDG_DATA_HOME/agentls`.
    pub(crate) fn data_dir(&self) -> Result<PathBuf, PlaceError> {
        agentls_core::agent::default_data_dir(&|name: &str| (self.env)(name))
            .map_err(|error| PlaceError::NoDataDir(error.to_string()))
    }

    /// The workspace root a file belongs to: the innermost root that holds it,
    /// else its directory (a file opened outside any workspace folder).
    pub(crate) fn root_for(&self, path: Option<&Path>) -> Result<PathBuf, PlaceError> {
        let roots = self.session().roots;
        let root = match path {
            Some(path) => innermost_root(&roots, path)
                .cloned()
                .or_else(|| path.parent().map(Path::to_path_buf)),
            None => roots.first().cloned(),
        };
        let root = root.ok_or(PlaceError::NoWorkspaceFolder)?;
        // The core resolves symlinks when it checks paths: its root must be real.
        Ok(std::fs::canonicalize(&root).unwrap_or(root))
    }

    /// `path` relative to the workspace root that holds it (the innermost), as
    /// the model and the user see it; absolute when no root holds it.
    pub(crate) fn relative(&self, path: &Path) -> String {
        let roots = self.session().roots;
        innermost_root(&roots, path)
            .and_then(|root| path.strip_prefix(root).ok())
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

fn innermost_root<'a>(roots: &'a [PathBuf], path: &Path) -> Option<&'a PathBuf> {
    roots
        .iter()
        .filter(|root| path.starts_with(root))
        .max_by_key(|root| root.as_os_str().len())
}

/// Reads a lock even if a writer panicked: the data is plain values, and a
/// panicking writer never leaves them half-updated (writes are single stores).
pub(crate) fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// See `read_lock`.
pub(crate) fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Locks a mutex even if a holder panicked: every critical section in the
/// server leaves its maps consistent between statements.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
