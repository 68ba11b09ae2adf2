//! The only code in `edits` that touches the disk: writing the files the editor
//! does not hold, atomically (a temp file in the same directory, then a rename)
//! and only inside the workspace roots (invariant 6).
//!
//! Each operation says what the agent expects to find. When the file holds other
//! text, a write is re-based onto it with the same three-way merge as buffers; a
//! delete, or a precondition for an edit the editor will apply, is refused.

use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use super::merge::three_way_merge;
use super::undo::CheckpointFile;
use super::EditError;

/// A change the server makes on disk itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskOperation {
    /// Writes `text` to `path`. `expected` is what the agent read there (`None`:
    /// the agent creates the file, which must not exist).
    Write {
        path: PathBuf,
        expected: Option<String>,
        text: String,
    },
    /// Removes `path`, which must hold exactly `expected`.
    Delete { path: PathBuf, expected: String },
    /// Moves `from` (holding `expected`) to `to` (which must not exist) with the
    /// new content `text`.
    Rename {
        from: PathBuf,
        to: PathBuf,
        expected: String,
        text: String,
    },
}

impl DiskOperation {
    /// The path the operation leaves the file at (`None` for a delete).
    pub fn path(&self) -> &Path {
        match self {
            DiskOperation::Write { path, .. } | DiskOperation::Delete { path, .. } => path,
            DiskOperation::Rename { to, .. } => to,
        }
    }
}

/// What must be on disk for an edit the editor applies to a file it does not hold
/// (it reads the file from disk): `expected` text, or no file when `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskPrecondition {
    pub path: PathBuf,
    pub expected: Option<String>,
}

/// Performs `operation` and returns what the file held before and after it, for
/// the turn's checkpoint (`moved_from` set for a rename).
pub fn write_to_disk(
    roots: &[PathBuf],
    operation: &DiskOperation,
) -> Result<CheckpointFile, EditError> {
    match operation {
        DiskOperation::Write {
            path,
            expected,
            text,
        } => {
            let path = inside_roots(roots, path)?;
            let current = read(&path)?;
            let after = rebase(&path, expected.as_deref(), text, current.as_deref())?;
            write_atomically(&path, &after)?;
            Ok(CheckpointFile {
                before: current,
                after: Some(after),
                moved_from: None,
            })
        }
        DiskOperation::Delete { path, expected } => {
            let path = inside_roots(roots, path)?;
            match read(&path)? {
                None => Err(EditError::Missing { path }),
                Some(current) if current != *expected => Err(EditError::DiskChanged { path }),
                Some(current) => {
                    fs::remove_file(&path).map_err(|error| io_error(&path, &error))?;
                    Ok(CheckpointFile {
                        before: Some(current),
                        after: None,
                        moved_from: None,
                    })
                }
            }
        }
        DiskOperation::Rename {
            from,
            to,
            expected,
            text,
        } => {
            let from = inside_roots(roots, from)?;
            let to = inside_roots(roots, to)?;
            let Some(current) = read(&from)? else {
                return Err(EditError::Missing { path: from });
            };
            let after = rebase(&from, Some(expected), text, Some(&current))?;
            if from == to {
                write_atomically(&to, &after)?;
            } else {
                if fs::symlink_metadata(&to).is_ok() {
                    return Err(EditError::AlreadyExists { path: to });
                }
                write_atomically(&to, &after)?;
                fs::remove_file(&from).map_err(|error| io_error(&from, &error))?;
            }
            Ok(CheckpointFile {
                before: Some(current),
                after: Some(after),
                moved_from: (from != to).then_some(from),
            })
        }
    }
}

/// Checks each precondition; the first that fails is the error.
pub fn check_preconditions(
    roots: &[PathBuf],
    preconditions: &[DiskPrecondition],
) -> Result<(), EditError> {
    for precondition in preconditions {
        let path = inside_roots(roots, &precondition.path)?;
        match (read(&path)?, &precondition.expected) {
            (None, None) => {}
            (Some(_), None) => return Err(EditError::AlreadyExists { path }),
            (None, Some(_)) => return Err(EditError::Missing { path }),
            (Some(current), Some(expected)) if current == *expected => {}
            (Some(_), Some(_)) => return Err(EditError::DiskChanged { path }),
        }
    }
    Ok(())
}

/// The text to write: `text` when the disk holds what the agent read, else the
/// agent's change re-based onto the disk's text.
fn rebase(
    path: &Path,
    expected: Option<&str>,
    text: &str,
    current: Option<&str>,
) -> Result<String, EditError> {
    match (expected, current) {
        (None, None) => Ok(text.to_owned()),
        (None, Some(_)) => Err(EditError::AlreadyExists {
            path: path.to_owned(),
        }),
        (Some(_), None) => Err(EditError::Missing {
            path: path.to_owned(),
        }),
        (Some(expected), Some(current)) if expected == current => Ok(text.to_owned()),
        (Some(expected), Some(current)) => three_way_merge(expected, text, current)
            .into_result()
            .map_err(|lines| EditError::Conflict {
                path: path.to_owned(),
                lines,
                version: None,
            }),
    }
}

/// `path` made absolute-and-real, provided it lies under one of `roots`, both by
/// its components and once symbolic links are resolved.
fn inside_roots(roots: &[PathBuf], path: &Path) -> Result<PathBuf, EditError> {
    let outside = || EditError::OutsideRoots {
        path: path.to_owned(),
    };
    if !lexically_inside(roots, path) {
        return Err(outside());
    }
    let real_roots: Vec<PathBuf> = roots
        .iter()
        .filter_map(|root| fs::canonicalize(root).ok())
        .collect();
    // The deepest part of the path that exists, resolved; the rest is appended
    // as is (it holds no `..`, checked above).
    let mut existing = path;
    let mut missing = Vec::new();
    let real = loop {
        match fs::canonicalize(existing) {
            Ok(real) => break real,
            Err(_) => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(outside());
                };
                missing.push(name);
                existing = parent;
            }
        }
    };
    let real = missing
        .iter()
        .rev()
        .fold(real, |real, name| real.join(name));
    if real_roots
        .iter()
        .any(|root| real.starts_with(root) && real != *root)
    {
        Ok(real)
    } else {
        Err(outside())
    }
}

/// Whether `path` is absolute, free of `.` and `..`, and strictly under one of
/// `roots`, by its components alone (no file system access).
pub(crate) fn lexically_inside(roots: &[PathBuf], path: &Path) -> bool {
    let plain = path.components().all(|component| {
        matches!(
            component,
            Component::RootDir | Component::Prefix(_) | Component::Normal(_)
        )
    });
    path.is_absolute()
        && plain
        && roots
            .iter()
            .any(|root| path.starts_with(root) && path != root.as_path())
}

/// The file's text, `None` when there is no file.
fn read(path: &Path) -> Result<Option<String>, EditError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| EditError::NotText {
                path: path.to_owned(),
            }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_error(path, &error)),
    }
}

/// Replaces `path` with `text` so that a reader sees the old file or the new one,
/// never a part (`agentls_core::disk::replace_atomically`).
fn write_atomically(path: &Path, text: &str) -> Result<(), EditError> {
    if path.parent().is_none() || path.file_name().is_none() {
        return Err(EditError::OutsideRoots {
            path: path.to_owned(),
        });
    }
    agentls_core::disk::replace_atomically(path, |file| file.write_all(text.as_bytes()))
        .map_err(|error| io_error(path, &error))
}

fn io_error(path: &Path, error: &io::Error) -> EditError {
    EditError::Io {
        path: path.to_owned(),
        message: error.to_string().to_lowercase(),
    }
}
