//! Lines as LSP counts them (ended by LF, CRLF or a lone CR, like the document
//! store's rope), and the changed regions of a diff between two line lists: the
//! common ground of text edits, three-way merges and undo.

use std::ops::Range;
use std::time::{Duration, Instant};

use std::hash::Hash;

use similar::algorithms::{Capture, Replace};
use similar::{Algorithm, DiffOp};

/// The longest a diff may search for a minimal answer. Past it `similar` finishes
/// with a coarser (still exact) diff, so a pathological input costs a larger edit,
/// never a stalled server.
const DIFF_BUDGET: Duration = Duration::from_millis(500);

/// A text cut into lines, each with its line break.
pub(crate) struct Lines<'a> {
    text: &'a str,
    lines: Vec<&'a str>,
    /// `offsets[i]` is where line `i` starts; one more entry, the text's length.
    offsets: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Lines<'a> {
        let bytes = text.as_bytes();
        let mut lines = Vec::new();
        let mut offsets = vec![0];
        let mut start = 0;
        let mut index = 0;
        while index < bytes.len() {
            let end = match bytes[index] {
                b'\n' => index + 1,
                b'\r' if bytes.get(index + 1) == Some(&b'\n') => index + 2,
                b'\r' => index + 1,
                _ => {
                    index += 1;
                    continue;
                }
            };
            // Line breaks are ASCII, so `start..end` lies on char boundaries.
            lines.push(&text[start..end]);
            offsets.push(end);
            start = end;
            index = end;
        }
        if start < bytes.len() {
            lines.push(&text[start..]);
            offsets.push(bytes.len());
        }
        Lines {
            text,
            lines,
            offsets,
        }
    }

    pub(crate) fn as_slice(&self) -> &[&'a str] {
        &self.lines
    }

    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// The byte offset where line `line` starts (the text's length past the end).
    pub(crate) fn offset(&self, line: usize) -> usize {
        self.offsets.get(line).copied().unwrap_or(self.text.len())
    }

    /// The text of lines `range` (clamped), line breaks included.
    pub(crate) fn slice(&self, range: Range<usize>) -> &'a str {
        let start = self.offset(range.start);
        let end = self.offset(range.end).max(start);
        self.text.get(start..end).unwrap_or_default()
    }

    /// Bytes `range` of the text; empty when out of range or off a char boundary
    /// (which callers never ask for).
    pub(crate) fn bytes(&self, range: Range<usize>) -> &'a str {
        self.text.get(range).unwrap_or_default()
    }

    /// The LSP line count: one more than the number of line breaks.
    pub(crate) fn lsp_line_count(&self) -> usize {
        match self.lines.last() {
            Some(last) if last.ends_with(['\n', '\r']) => self.lines.len() + 1,
            Some(_) => self.lines.len(),
            None => 1,
        }
    }

    /// The LSP line holding byte `offset` and that line's start.
    pub(crate) fn line_of(&self, offset: usize) -> (usize, usize) {
        // `offsets` holds every LSP line start, then the text's length, which is
        // a line start only when the text ends with a line break (or is empty).
        let starts = if self.lsp_line_count() > self.lines.len() {
            &self.offsets[..]
        } else {
            &self.offsets[..self.offsets.len() - 1]
        };
        let line = starts
            .partition_point(|start| *start <= offset)
            .saturating_sub(1);
        (line, starts.get(line).copied().unwrap_or(0))
    }
}

/// A region where two line lists differ: lines `old` of the first were replaced by
/// lines `new` of the second. Either may be empty, not both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hunk {
    pub(crate) old: Range<usize>,
    pub(crate) new: Range<usize>,
}

/// The hunks turning `old` into `new`, in order, each separated from the next by
/// at least one unchanged line.
pub(crate) fn hunks<T: Hash + Eq + Ord>(old: &[T], new: &[T]) -> Vec<Hunk> {
    // Not `capture_diff_slices`: its `Compact` pass gives Insert and Delete ops
    // stale indices in similar 2.7 (fixed in 3.1, issue #95).
    let mut hook = Replace::new(Capture::new());
    match similar::algorithms::diff_slices_deadline(
        Algorithm::Myers,
        &mut hook,
        old,
        new,
        deadline(),
    ) {
        Ok(()) => {}
        Err(never) => match never {},
    }
    changed_regions(&hook.into_inner().into_ops(), old.len(), new.len())
}

/// The gaps between the unchanged runs of `ops` (a diff of sequences of lengths
/// `old_len` and `new_len`). Only `Equal` ops are read, so the change ops'
/// own indices cannot mislead.
fn changed_regions(ops: &[DiffOp], old_len: usize, new_len: usize) -> Vec<Hunk> {
    let mut hunks = Vec::new();
    let (mut old_at, mut new_at) = (0, 0);
    let equal_runs = ops.iter().filter_map(|op| match *op {
        DiffOp::Equal {
            old_index,
            new_index,
            len,
        } => Some((old_index, new_index, len)),
        _ => None,
    });
    for (old_index, new_index, len) in equal_runs.chain([(old_len, new_len, 0)]) {
        if old_index > old_at || new_index > new_at {
            hunks.push(Hunk {
                old: old_at..old_index.max(old_at),
                new: new_at..new_index.max(new_at),
            });
        }
        old_at = old_at.max(old_index + len);
        new_at = new_at.max(new_index + len);
    }
    hunks
}

pub(crate) fn deadline() -> Option<Instant> {
    Instant::now().checked_add(DIFF_BUDGET)
}
