//! `ClientWorkspace`: the `Workspace` of an ACP session. Files are read with the
//! client's `fs/read_text_file` and written with its `fs/write_text_file` when
//! the client offers them (so the agent sees unsaved buffers and its edits land
//! in the editor), from and to the disk otherwise. Deletions always go to the
//! disk: ACP has no request for them.
//!
//! `Workspace::read_file` is synchronous while the client answers over the
//! connection: a read waits for the answer with `block_in_place` (the worker's
//! other tasks move to another worker; the connection is driven on the main
//! thread, never blocked by it), within `CLIENT_TIMEOUT`. A read the client
//! fails (it does not know the file, the connection closed) falls back to the
//! disk, so a missing file is still `NotFound`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use agent_client_protocol::v1::schema::{ReadTextFileRequest, SessionId, WriteTextFileRequest};
use agentls_core::disk::{self, DiskWorkspace};
use agentls_core::process::Overlay;
use agentls_core::workspace::{
    ApplyError, Changeset, FileChange, FileSnapshot, Workspace, WorkspaceError,
};
use futures::future::BoxFuture;

use super::convert::LandedText;
use super::state::{lock, Peer};

/// How long the agent waits for the client to answer a file request.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Which file requests the client offered at `initialize`.
#[derive(Clone)]
pub(crate) struct ClientFiles {
    pub(crate) peer: Peer,
    pub(crate) read: bool,
    pub(crate) write: bool,
}

/// The files of one session, through the client where it can.
pub(crate) struct ClientWorkspace {
    disk: DiskWorkspace,
    client: ClientFiles,
    /// Set once the client knows the session: the thread reads its AGENTS.md
    /// files while it starts, before the session has an id the client knows,
    /// and those reads go to the disk.
    session: OnceLock<SessionId>,
    /// What this session wrote through the client, per file: commands see it
    /// (`unsaved`) until the disk holds the same text.
    written: Mutex<HashMap<PathBuf, String>>,
    /// The texts of the last changeset landed, for the relay's diffs.
    landed: Mutex<Vec<(PathBuf, LandedText)>>,
}

impl ClientWorkspace {
    pub(crate) fn new(root: &Path, client: ClientFiles) -> Result<ClientWorkspace, WorkspaceError> {
        Ok(ClientWorkspace {
            disk: DiskWorkspace::new(root)?,
            client,
            session: OnceLock::new(),
            written: Mutex::new(HashMap::new()),
            landed: Mutex::new(Vec::new()),
        })
    }

    /// From now on, file requests name this session.
    pub(crate) fn attach(&self, session: SessionId) {
        let _ = self.session.set(session);
    }

    /// The texts of the changeset landed last, taken (the relay shows them once).
    pub(crate) fn take_landed(&self) -> Vec<(PathBuf, LandedText)> {
        std::mem::take(&mut *lock(&self.landed))
    }

    fn session_for(&self, offered: bool) -> Option<&SessionId> {
        offered.then(|| self.session.get()).flatten()
    }

    fn contain(&self, path: &Path) -> Option<PathBuf> {
        disk::contain(self.disk.root(), path)
    }

    /// The client's text of a file, waiting on this thread.
    fn read_blocking(&self, session: &SessionId, path: &Path) -> Result<String, String> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| "not inside the async runtime".to_string())?;
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return Err("the runtime cannot block one of its threads".to_string());
        }
        let read = self.read_async(session, path);
        tokio::task::block_in_place(|| handle.block_on(read))
    }

    async fn read_async(&self, session: &SessionId, path: &Path) -> Result<String, String> {
        let request = ReadTextFileRequest::new(session.clone(), path);
        let sent = self.client.peer.send_request(request).block_task();
        match tokio::time::timeout(CLIENT_TIMEOUT, sent).await {
            Ok(Ok(response)) => Ok(response.content),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!(
                "the client did not answer fs/read_text_file within {} s",
                CLIENT_TIMEOUT.as_secs()
            )),
        }
    }

    /// What a file holds now, as the client shows it where it can: `None` when
    /// it does not exist.
    async fn current(&self, path: &Path) -> Result<Option<String>, ApplyError> {
        if let Some(session) = self.session_for(self.client.read) {
            match self.read_async(session, path).await {
                Ok(text) => return Ok(Some(text)),
                Err(error) => {
                    tracing::debug!(path = %path.display(), %error, "the client could not read the file; reading the disk")
                }
            }
        }
        match disk::read_text(path) {
            Ok(text) => Ok(Some(text)),
            Err(WorkspaceError::NotFound(_)) => Ok(None),
            Err(error) => Err(ApplyError::Io {
                path: path.to_path_buf(),
                message: error.to_string(),
            }),
        }
    }

    async fn write(&self, session: &SessionId, path: &Path, text: &str) -> Result<(), ApplyError> {
        let request = WriteTextFileRequest::new(session.clone(), path, text);
        let sent = self.client.peer.send_request(request).block_task();
        match tokio::time::timeout(CLIENT_TIMEOUT, sent).await {
            Ok(Ok(_)) => {
                lock(&self.written).insert(path.to_path_buf(), text.to_string());
                Ok(())
            }
            Ok(Err(error)) => Err(ApplyError::Refused(format!(
                "fs/write_text_file {}: {error}",
                path.display()
            ))),
            Err(_) => Err(ApplyError::Refused(format!(
                "the client did not answer fs/write_text_file {} within {} s",
                path.display(),
                CLIENT_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn apply_through_client(
        &self,
        session: &SessionId,
        changes: Changeset,
    ) -> Result<(), ApplyError> {
        // Check everything first, so a refused change leaves every file untouched.
        let mut checked: Vec<(PathBuf, Option<PathBuf>, FileChange)> = Vec::new();
        for (path, change) in changes.files {
            let full = self
                .contain(&path)
                .ok_or_else(|| ApplyError::OutsideWorkspace(path.clone()))?;
            let moved_from = match &change.moved_from {
                Some(from) => Some(
                    self.contain(from)
                        .ok_or_else(|| ApplyError::OutsideWorkspace(from.clone()))?,
                ),
                None => None,
            };
            let source = moved_from.as_deref().unwrap_or(&full);
            let current = self.current(source).await?;
            if current.as_ref() != change.base.as_ref().map(|base| &base.text) {
                return Err(ApplyError::Conflict(source.to_path_buf()));
            }
            if moved_from.is_some() && full.exists() {
                return Err(ApplyError::Conflict(full));
            }
            checked.push((full, moved_from, change));
        }
        let mut landed = Vec::new();
        for (path, moved_from, change) in checked {
            let result = match &change.proposed {
                Some(text) => self.write(session, &path, text).await,
                None => remove(&path),
            };
            let result = result.and_then(|()| match &moved_from {
                Some(from) if from != &path => remove(from),
                _ => Ok(()),
            });
            if let Err(error) = result {
                return Err(if landed.is_empty() {
                    error
                } else {
                    ApplyError::Partial {
                        landed,
                        error: Box::new(error),
                    }
                });
            }
            landed.push(path);
        }
        Ok(())
    }
}

impl Workspace for ClientWorkspace {
    fn root(&self) -> &Path {
        self.disk.root()
    }

    fn read_file(&self, path: &Path) -> Result<FileSnapshot, WorkspaceError> {
        let full = self
            .contain(path)
            .ok_or_else(|| WorkspaceError::OutsideWorkspace(path.to_path_buf()))?;
        if let Some(session) = self.session_for(self.client.read) {
            match self.read_blocking(session, &full) {
                Ok(text) => {
                    return Ok(FileSnapshot {
                        text,
                        version: None,
                    })
                }
                Err(error) => {
                    tracing::debug!(path = %full.display(), %error, "the client could not read the file; reading the disk")
                }
            }
        }
        self.disk.read_file(&full)
    }

    fn apply(&self, changes: Changeset) -> BoxFuture<'_, Result<(), ApplyError>> {
        Box::pin(async move {
            let texts: Vec<(PathBuf, LandedText)> = changes
                .files
                .iter()
                .map(|(path, change)| {
                    let text = LandedText {
                        old: change.base.as_ref().map(|base| base.text.clone()),
                        new: change.proposed.clone(),
                    };
                    (path.clone(), text)
                })
                .collect();
            let result = match self.session_for(self.client.write) {
                Some(session) => self.apply_through_client(session, changes).await,
                None => self.disk.apply(changes).await,
            };
            if result.is_ok() {
                *lock(&self.landed) = texts;
            }
            result
        })
    }

    /// The files written through the client whose text the disk does not hold
    /// (the editor has not saved them): commands see them as the agent wrote them.
    fn unsaved(&self) -> Vec<Overlay> {
        let mut written = lock(&self.written);
        written.retain(|path, text| disk::read_text(path).ok().as_deref() != Some(text.as_str()));
        written
            .iter()
            .map(|(path, text)| Overlay {
                path: path.clone(),
                text: text.clone(),
            })
            .collect()
    }
}

fn remove(path: &Path) -> Result<(), ApplyError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(ApplyError::Io {
            path: path.to_path_buf(),
            message: error.to_string(),
        }),
    }
}
