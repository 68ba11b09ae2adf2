//! Turning the agent's changeset into edits the editor applies safely: minimal
//! text edits in the negotiated encoding, versioned and re-based onto whatever the
//! user typed meanwhile (invariant 4), confirmed from the didChange that follows,
//! and reverted hunk by hunk on undo (invariant 5).
//!
//! Everything here is a pure function of texts, snapshots and capabilities except
//! `disk`, which alone writes files (atomically, inside the workspace roots). The
//! server sends a [`Plan`]'s [`ApplyRequest`]s with `workspace/applyEdit`, runs its
//! [`DiskOperation`]s, and waits for each [`ExpectedState`] before it believes the
//! edit landed. In review mode (`review`) the same plan goes to the editor's
//! preview with change annotations, and what landed is judged hunk by hunk.

mod confirm;
mod disk;
mod lines;
mod merge;
mod plan;
mod review;
mod text;
mod undo;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

pub use confirm::{Confirmation, ContentHash, ExpectedState};
pub use disk::{check_preconditions, write_to_disk, DiskOperation, DiskPrecondition};
pub use merge::{three_way_merge, Merged};
pub use plan::{workspace_edit, ApplyRequest, EditCapabilities, FilePlan, OpenDocuments, Plan};
pub use review::{annotated_request, previewable, reviewed, Reviewed};
pub use text::text_edits;
pub use undo::{undo_plan, Checkpoint, CheckpointFile, RefusedHunk, UndoPlan};

/// Lines of a text, zero-based and half-open (`start..end`); empty for the place
/// between two lines (where lines were deleted or would be inserted). Shown
/// one-based, as editors number lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineSpan {
    pub start: u32,
    pub end: u32,
}

impl LineSpan {
    pub fn new(start: u32, end: u32) -> LineSpan {
        LineSpan {
            start,
            end: end.max(start),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }
}

impl fmt::Display for LineSpan {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = u64::from(self.start) + 1;
        let last = u64::from(self.end);
        if self.is_empty() {
            write!(formatter, "before line {first}")
        } else if first == last {
            write!(formatter, "line {first}")
        } else {
            write!(formatter, "lines {first}-{last}")
        }
    }
}

/// Why a changeset could not be turned into edits or written. None is retried
/// as is: a conflict goes back to the model and the user, the others name a
/// file the server or the agent got wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The user changed the lines the agent changed since the agent read them;
    /// nothing of the changeset was applied. `lines` are in the user's current
    /// text, `version` is the editor's (`None` for the file on disk).
    #[error(
        "{}: the agent's change overlaps the user's edits at {} of {}; nothing was applied",
        .path.display(),
        DisplaySpans(.lines),
        DisplayVersion(*.version)
    )]
    Conflict {
        path: PathBuf,
        lines: Vec<LineSpan>,
        version: Option<i32>,
    },
    /// A path that is not absolute, or not under any workspace root.
    #[error("{} is outside the workspace roots", .path.display())]
    OutsideRoots { path: PathBuf },
    /// The agent creates (or renames onto) a file that exists.
    #[error("{} already exists; the agent expected to create it", .path.display())]
    AlreadyExists { path: PathBuf },
    /// The agent edits, renames or deletes a file that is gone.
    #[error("{} no longer exists; the agent read it before it was removed", .path.display())]
    Missing { path: PathBuf },
    /// A file the agent deletes, or hands to the editor unopened, holds other text
    /// than the agent read.
    #[error("{} changed on disk since the agent read it; left as it is", .path.display())]
    DiskChanged { path: PathBuf },
    /// A file the agent deletes is open with text other than the agent read.
    #[error(
        "{} was edited in the editor (version {version}) since the agent read it; not deleted",
        .path.display()
    )]
    EditedInEditor { path: PathBuf, version: i32 },
    #[error("{} is not valid UTF-8 text", .path.display())]
    NotText { path: PathBuf },
    #[error("{}: {message}", .path.display())]
    Io { path: PathBuf, message: String },
}

/// `lines 3-5, line 9`.
struct DisplaySpans<'a>(&'a [LineSpan]);

impl fmt::Display for DisplaySpans<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return formatter.write_str("unknown lines");
        }
        for (index, span) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str(", ")?;
            }
            write!(formatter, "{span}")?;
        }
        Ok(())
    }
}

struct DisplayVersion(Option<i32>);

impl fmt::Display for DisplayVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(version) => write!(formatter, "version {version} in the editor"),
            None => formatter.write_str("the file on disk"),
        }
    }
}

/// Saturates instead of failing: only a text of more than 4 Gi lines or units
/// could overflow, and a clamped position is still a valid LSP position.
fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
