//! An in-memory `Workspace` for the tools' tests: patch planning and file reads
//! are pure functions of the snapshots it hands out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures::future::BoxFuture;

use crate::workspace::{ApplyError, Changeset, FileSnapshot, Workspace, WorkspaceError};

pub(crate) const ROOT: &str = "/ws";

pub(crate) struct MemoryWorkspace {
    root: PathBuf,
    files: Mutex<BTreeMap<PathBuf, FileSnapshot>>,
}

impl MemoryWorkspace {
    /// Files given as (path relative to `/ws`, text); each gets buffer version 1.
    pub(crate) fn new(files: &[(&str, &str)]) -> MemoryWorkspace {
        let root = PathBuf::from(ROOT);
        let files = files
            .iter()
            .map(|(path, text)| {
                (
                    root.join(path),
                    FileSnapshot {
                        text: (*text).to_string(),
                        version: Some(1),
                    },
                )
            })
            .collect();
        MemoryWorkspace {
            root,
            files: Mutex::new(files),
        }
    }
}

impl Workspace for MemoryWorkspace {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read_file(&self, path: &Path) -> Result<FileSnapshot, WorkspaceError> {
        let files = self.files.lock().unwrap();
        files
            .get(path)
            .cloned()
            .ok_or_else(|| WorkspaceError::NotFound(path.to_path_buf()))
    }

    fn apply(&self, changes: Changeset) -> BoxFuture<'_, Result<(), ApplyError>> {
        Box::pin(async move {
            let mut files = self.files.lock().unwrap();
            for (path, change) in changes.files {
                if let Some(from) = change.moved_from {
                    files.remove(&from);
                }
                match change.proposed {
                    Some(text) => {
                        files.insert(
                            path,
                            FileSnapshot {
                                text,
                                version: Some(2),
                            },
                        );
                    }
                    None => {
                        files.remove(&path);
                    }
                }
            }
            Ok(())
        })
    }
}
