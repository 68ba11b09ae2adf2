//! A `Workspace` of strings, so patch planning, file reads and the loop's edits are
//! pure functions of the texts a test gives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures::future::BoxFuture;

use crate::workspace::{ApplyError, Changeset, FileSnapshot, Workspace, WorkspaceError};

/// The root of `MemoryWorkspace::new`.
pub const ROOT: &str = "/ws";

/// Where the files seem to come from, which decides the versions they carry.
#[derive(Clone, Copy)]
enum Origin {
    /// Open editor buffers: read at version 1, one version more per landed change.
    Buffers,
    /// The disk: no version.
    Disk,
}

/// Files in memory under one root. A changeset lands only if each file still has
/// the text the agent read (its base), as the editor and the disk would insist.
pub struct MemoryWorkspace {
    root: PathBuf,
    origin: Origin,
    files: Mutex<BTreeMap<PathBuf, FileSnapshot>>,
}

impl MemoryWorkspace {
    /// Files given as (path relative to `ROOT`, text), as open editor buffers at
    /// version 1.
    pub fn new(files: &[(&str, &str)]) -> MemoryWorkspace {
        MemoryWorkspace::with_origin(Path::new(ROOT), files, Origin::Buffers)
    }

    /// Files given as (path relative to `root`, text), as read from disk (no
    /// version).
    pub fn on_disk(root: impl AsRef<Path>, files: &[(&str, &str)]) -> MemoryWorkspace {
        MemoryWorkspace::with_origin(root.as_ref(), files, Origin::Disk)
    }

    fn with_origin(root: &Path, files: &[(&str, &str)], origin: Origin) -> MemoryWorkspace {
        let version = match origin {
            Origin::Buffers => Some(1),
            Origin::Disk => None,
        };
        let files = files
            .iter()
            .map(|(path, text)| {
                let snapshot = FileSnapshot {
                    text: (*text).to_string(),
                    version,
                };
                (root.join(path), snapshot)
            })
            .collect();
        MemoryWorkspace {
            root: root.to_path_buf(),
            origin,
            files: Mutex::new(files),
        }
    }

    /// The text of `path` (relative to the root) now, `None` if there is no such
    /// file.
    pub fn text(&self, path: &str) -> Option<String> {
        let files = self.files.lock().unwrap();
        files
            .get(&self.root.join(path))
            .map(|snapshot| snapshot.text.clone())
    }
}

impl Workspace for MemoryWorkspace {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read_file(&self, path: &Path) -> Result<FileSnapshot, WorkspaceError> {
        let path = self.root.join(path);
        let files = self.files.lock().unwrap();
        files
            .get(&path)
            .cloned()
            .ok_or(WorkspaceError::NotFound(path))
    }

    fn apply(&self, changes: Changeset) -> BoxFuture<'_, Result<(), ApplyError>> {
        Box::pin(async move {
            let mut files = self.files.lock().unwrap();
            for (path, change) in changes.files {
                let current = files.get(change.moved_from.as_ref().unwrap_or(&path));
                let current_text = current.map(|snapshot| &snapshot.text);
                if current_text != change.base.as_ref().map(|base| &base.text) {
                    return Err(ApplyError::Conflict(path));
                }
                let version = match self.origin {
                    Origin::Buffers => Some(current.and_then(|file| file.version).unwrap_or(0) + 1),
                    Origin::Disk => None,
                };
                if let Some(from) = &change.moved_from {
                    files.remove(from);
                }
                match change.proposed {
                    Some(text) => files.insert(path, FileSnapshot { text, version }),
                    None => files.remove(&path),
                };
            }
            Ok(())
        })
    }
}
