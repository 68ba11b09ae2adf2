//! `DiskWorkspace`: the `Workspace` of `agentls exec`, the files on disk under one
//! root. Changes land atomically per file (a temporary file in the same directory,
//! then a rename), and only if each file still holds the text the agent read: a
//! file changed behind the agent's back is a conflict, never overwritten.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use futures::future::BoxFuture;

use crate::workspace::{
    ApplyError, Changeset, FileChange, FileSnapshot, Workspace, WorkspaceError,
};

/// The files under `root`, read and written directly.
#[derive(Clone, Debug)]
pub struct DiskWorkspace {
    root: PathBuf,
}

impl DiskWorkspace {
    /// A workspace rooted at `root` (made absolute and canonical, so symlinks that
    /// lead out of it are recognised).
    pub fn new(root: impl AsRef<Path>) -> Result<DiskWorkspace, WorkspaceError> {
        let root = root.as_ref();
        let root = std::fs::canonicalize(root).map_err(|error| WorkspaceError::Io {
            path: root.to_path_buf(),
            message: error.to_string(),
        })?;
        Ok(DiskWorkspace { root })
    }

    /// `path` made absolute against the root, if it stays inside the root.
    fn contain(&self, path: &Path) -> Option<PathBuf> {
        contain(&self.root, path)
    }
}

/// `path` resolved against `root` with `.` and `..` removed, checked to stay inside
/// `root` also after following the symlinks of its existing part.
pub fn contain(root: &Path, path: &Path) -> Option<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
    let mut normal = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                if !normal.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    if !normal.starts_with(root) {
        return None;
    }
    // The longest existing ancestor, with symlinks resolved, must stay inside too.
    let mut existing = normal.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return real.starts_with(root).then_some(normal);
        }
        existing = existing.parent()?;
    }
}

impl Workspace for DiskWorkspace {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read_file(&self, path: &Path) -> Result<FileSnapshot, WorkspaceError> {
        let full = self
            .contain(path)
            .ok_or_else(|| WorkspaceError::OutsideWorkspace(path.to_path_buf()))?;
        read_text(&full).map(|text| FileSnapshot {
            text,
            version: None,
        })
    }

    fn apply(&self, changes: Changeset) -> BoxFuture<'_, Result<(), ApplyError>> {
        let root = self.root.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || apply_blocking(&root, changes))
                .await
                .map_err(|error| ApplyError::Refused(format!("the write task failed: {error}")))?
        })
    }
}

/// A file's text, with the workspace's errors for a missing or non-UTF-8 file.
pub fn read_text(path: &Path) -> Result<String, WorkspaceError> {
    let bytes = std::fs::read(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => WorkspaceError::NotFound(path.to_path_buf()),
        _ => WorkspaceError::Io {
            path: path.to_path_buf(),
            message: error.to_string(),
        },
    })?;
    String::from_utf8(bytes).map_err(|_| WorkspaceError::NotText(path.to_path_buf()))
}

/// A change with its paths checked.
struct Checked<'a> {
    path: PathBuf,
    moved_from: Option<PathBuf>,
    change: &'a FileChange,
}

fn apply_blocking(root: &Path, changes: Changeset) -> Result<(), ApplyError> {
    // Check everything first, so a refused change leaves every file untouched.
    let mut checked = Vec::with_capacity(changes.files.len());
    for (path, change) in &changes.files {
        let full = contain(root, path).ok_or_else(|| ApplyError::OutsideWorkspace(path.clone()))?;
        let moved_from = match &change.moved_from {
            Some(from) => Some(
                contain(root, from).ok_or_else(|| ApplyError::OutsideWorkspace(from.clone()))?,
            ),
            None => None,
        };
        let source = moved_from.as_deref().unwrap_or(&full);
        check_base(source, change)?;
        if moved_from.is_some() && full.exists() {
            return Err(ApplyError::Conflict(full));
        }
        checked.push(Checked {
            path: full,
            moved_from,
            change,
        });
    }
    for Checked {
        path,
        moved_from,
        change,
    } in checked
    {
        match &change.proposed {
            Some(text) => write_atomically(&path, text)?,
            None => remove(&path)?,
        }
        if let Some(from) = moved_from {
            if from != path {
                remove(&from)?;
            }
        }
    }
    Ok(())
}

/// The file must still hold what the agent read (or not exist, for a new file).
fn check_base(path: &Path, change: &FileChange) -> Result<(), ApplyError> {
    let current = match read_text(path) {
        Ok(text) => Some(text),
        Err(WorkspaceError::NotFound(_)) => None,
        Err(error) => {
            return Err(ApplyError::Io {
                path: path.to_path_buf(),
                message: error.to_string(),
            })
        }
    };
    let expected = change.base.as_ref().map(|base| &base.text);
    if current.as_ref() == expected {
        Ok(())
    } else {
        Err(ApplyError::Conflict(path.to_path_buf()))
    }
}

fn write_atomically(path: &Path, text: &str) -> Result<(), ApplyError> {
    if path.parent().is_none() {
        return Err(ApplyError::OutsideWorkspace(path.to_path_buf()));
    }
    replace_atomically(path, |file| file.write_all(text.as_bytes())).map_err(|error| {
        ApplyError::Io {
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    })
}

/// Replaces `path` with what `write` puts in a new file, so that a reader, or a
/// crash, sees the old file or the new one, never a part: the new file is made
/// beside it (same file system; `create_new`, so never someone else's), takes
/// the old file's permissions (an executable script stays one), is synced and
/// renamed over `path`. The directory is created when missing. The one place
/// agentls replaces a file: the agent's writes, the editor-side writes, the
/// Helix setup and the index cache all go through here.
pub fn replace_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(directory)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let (temp, mut file) = loop {
        let temp = directory.join(format!(
            ".{name}.agentls-{}-{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(file) => break (temp, file),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    };
    let written = write(&mut file)
        .and_then(|()| match std::fs::metadata(path) {
            Ok(metadata) => file.set_permissions(metadata.permissions()),
            Err(_) => Ok(()),
        })
        .and_then(|()| file.sync_all());
    drop(file);
    let replaced = written.and_then(|()| std::fs::rename(&temp, path));
    if replaced.is_err() {
        // Best effort: the temp file is ours and useless now.
        let _ = std::fs::remove_file(&temp);
        return replaced;
    }
    // The rename is durable once the directory is synced; not every platform
    // can open a directory, and the data itself is already safe.
    if let Ok(directory) = std::fs::File::open(directory) {
        let _ = directory.sync_all();
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn change(base: Option<&str>, proposed: Option<&str>) -> FileChange {
        FileChange {
            base: base.map(|text| FileSnapshot {
                text: text.into(),
                version: None,
            }),
            proposed: proposed.map(str::to_string),
            moved_from: None,
        }
    }

    fn workspace() -> (tempfile::TempDir, DiskWorkspace) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "one\n").unwrap();
        let workspace = DiskWorkspace::new(dir.path()).unwrap();
        (dir, workspace)
    }

    #[tokio::test]
    async fn disk_adds_updates_deletes_and_moves() {
        let (dir, workspace) = workspace();
        let root = workspace.root().to_path_buf();
        std::fs::write(root.join("old.txt"), "moving\n").unwrap();
        std::fs::write(root.join("gone.txt"), "bye\n").unwrap();
        let mut changes = Changeset::default();
        changes
            .files
            .insert(root.join("a.txt"), change(Some("one\n"), Some("two\n")));
        changes
            .files
            .insert(root.join("new/deep/b.txt"), change(None, Some("b\n")));
        changes
            .files
            .insert(root.join("gone.txt"), change(Some("bye\n"), None));
        let mut moved = change(Some("moving\n"), Some("moved\n"));
        moved.moved_from = Some(root.join("old.txt"));
        changes.files.insert(root.join("sub/new.txt"), moved);
        workspace.apply(changes).await.unwrap();
        assert_eq!(
            workspace.read_file(Path::new("a.txt")).unwrap().text,
            "two\n"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("new/deep/b.txt")).unwrap(),
            "b\n"
        );
        assert!(!root.join("gone.txt").exists());
        assert!(!root.join("old.txt").exists());
        assert_eq!(
            std::fs::read_to_string(root.join("sub/new.txt")).unwrap(),
            "moved\n"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                name.contains("agentls-").then_some(name)
            })
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        drop(dir);
    }

    #[tokio::test]
    async fn disk_refuses_paths_outside_the_root() {
        let (dir, workspace) = workspace();
        let outside = tempfile::tempdir().unwrap();
        assert!(matches!(
            workspace.read_file(Path::new("../etc/passwd")),
            Err(WorkspaceError::OutsideWorkspace(_))
        ));
        assert!(matches!(
            workspace.read_file(Path::new("/etc/passwd")),
            Err(WorkspaceError::OutsideWorkspace(_))
        ));
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let mut changes = Changeset::default();
        changes
            .files
            .insert(workspace.root().join("link/x.txt"), change(None, Some("x")));
        changes.files.insert(
            workspace.root().join("a.txt"),
            change(Some("one\n"), Some("2")),
        );
        let error = workspace.apply(changes).await.unwrap_err();
        assert!(matches!(error, ApplyError::OutsideWorkspace(_)), "{error}");
        assert!(!outside.path().join("x.txt").exists());
        // Nothing landed, not even the change that was fine.
        assert_eq!(
            workspace.read_file(Path::new("a.txt")).unwrap().text,
            "one\n"
        );
    }

    #[tokio::test]
    async fn disk_refuses_to_overwrite_a_file_changed_since_it_was_read() {
        let (_dir, workspace) = workspace();
        let mut changes = Changeset::default();
        changes.files.insert(
            workspace.root().join("a.txt"),
            change(Some("stale\n"), Some("x\n")),
        );
        let error = workspace.apply(changes).await.unwrap_err();
        assert!(matches!(error, ApplyError::Conflict(_)), "{error}");
        let mut changes = Changeset::default();
        changes
            .files
            .insert(workspace.root().join("a.txt"), change(None, Some("x\n")));
        assert!(matches!(
            workspace.apply(changes).await,
            Err(ApplyError::Conflict(_))
        ));
        assert_eq!(
            workspace.read_file(Path::new("a.txt")).unwrap().text,
            "one\n"
        );
    }
}
