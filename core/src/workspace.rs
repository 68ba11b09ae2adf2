//! The file view the agent works through. The language server backs it with editor
//! buffers (unsaved text included) and lands changes as workspace edits; `agentls
//! exec` backs it with the disk. Tools never touch files any other way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// A file's text as the agent read it, with the editor's version when it came from
/// an open buffer (edits are computed against exactly this version).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSnapshot {
    pub text: String,
    /// The buffer version, `None` for text read from disk.
    pub version: Option<i32>,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("{} does not exist", .0.display())]
    NotFound(PathBuf),
    #[error("{} is outside the workspace roots", .0.display())]
    OutsideWorkspace(PathBuf),
    #[error("{} is not valid UTF-8 text", .0.display())]
    NotText(PathBuf),
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
}

/// The change to one file: the text the agent read and the text it proposes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// What the agent read; `None` for a file it creates.
    pub base: Option<FileSnapshot>,
    /// The new text; `None` deletes the file.
    pub proposed: Option<String>,
    /// Set when the file is moved: the path it had (the map key is the new path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<PathBuf>,
}

/// Changes to several files, keyed by absolute path. Landing is the front end's
/// business (`Workspace::apply`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changeset {
    pub files: BTreeMap<PathBuf, FileChange>,
}

impl Changeset {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Why a changeset did not land. Every variant is told to the model.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The user edited the file since the agent read it and the change could not be
    /// re-based onto their text.
    #[error("{} changed in the editor since it was read and the edit conflicts with the user's changes", .0.display())]
    Conflict(PathBuf),
    #[error("{} is outside the workspace roots", .0.display())]
    OutsideWorkspace(PathBuf),
    #[error("the editor refused the edit: {0}")]
    Refused(String),
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    /// Nothing was applied, for the reason the front end gives (it names the file
    /// and what went wrong, such as the lines where the user's edits conflict).
    #[error("{0}")]
    NotApplied(String),
    /// Some files landed before another failed (the user typed in a later file
    /// while the earlier ones landed): the landed ones stay changed, and the
    /// model must re-read them before patching again.
    #[error(
        "the patch was applied only in part: {} changed; then {error}. Read the files again before another patch",
        landed.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Partial {
        landed: Vec<PathBuf>,
        error: Box<ApplyError>,
    },
}

/// The agent's view of the files.
pub trait Workspace: Send + Sync {
    /// The workspace root; relative paths in tool calls resolve against it.
    fn root(&self) -> &Path;
    /// Read a file: the open buffer if the editor has one, else the disk.
    fn read_file(&self, path: &Path) -> Result<FileSnapshot, WorkspaceError>;
    /// Land a changeset (editor edits or disk writes). Called with one tool call's
    /// changes at a time, so later reads and commands see them.
    fn apply(&self, changes: Changeset) -> BoxFuture<'_, Result<(), ApplyError>>;
    /// The files whose buffers hold text the disk does not (unsaved edits, the
    /// agent's or the user's): commands must see them as the editor shows them.
    fn unsaved(&self) -> Vec<crate::process::Overlay> {
        Vec::new()
    }
}
