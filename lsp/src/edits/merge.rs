//! Three-way merge at line granularity: what re-bases the agent's change onto text
//! the user typed meanwhile, and what undoes the agent's hunks around the user's
//! later edits.
//!
//! Both sides' changes are hunks of lines of the common base. Hunks of the two
//! sides that overlap (share a base line, or insert at the same place, or one
//! inserts strictly inside the lines the other replaces) form a conflict unless
//! both sides made the identical change. Hunks that only touch (the user edits
//! line 5, the agent line 6) merge: no line was changed by both.

use std::ops::Range;

use super::lines::{self, Hunk, Lines};
use super::{to_u32, LineSpan};

/// The result of a three-way merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The merge, where every conflict keeps `theirs`' lines.
    pub text: String,
    /// The conflicting regions, as lines of `theirs`.
    pub conflicts: Vec<LineSpan>,
}

impl Merged {
    /// The merged text when there was no conflict, else the conflicts.
    pub fn into_result(self) -> Result<String, Vec<LineSpan>> {
        if self.conflicts.is_empty() {
            Ok(self.text)
        } else {
            Err(self.conflicts)
        }
    }
}

/// Applies both `base → ours` and `base → theirs`. Where they conflict the result
/// holds `theirs`' lines and `conflicts` says where.
pub fn three_way_merge(base: &str, ours: &str, theirs: &str) -> Merged {
    if ours == theirs || base == theirs {
        return Merged {
            text: ours.to_owned(),
            conflicts: Vec::new(),
        };
    }
    if base == ours {
        return Merged {
            text: theirs.to_owned(),
            conflicts: Vec::new(),
        };
    }
    let base_lines = Lines::new(base);
    let ours_lines = Lines::new(ours);
    let theirs_lines = Lines::new(theirs);
    let ours_hunks = lines::hunks(base_lines.as_slice(), ours_lines.as_slice());
    let theirs_hunks = lines::hunks(base_lines.as_slice(), theirs_lines.as_slice());

    let mut text = String::with_capacity(theirs.len().max(ours.len()));
    let mut conflicts = Vec::new();
    let mut base_line = 0;
    let (mut next_ours, mut next_theirs) = (0, 0);
    loop {
        let (first_ours, first_theirs) = (next_ours, next_theirs);
        let mut span = match (ours_hunks.get(next_ours), theirs_hunks.get(next_theirs)) {
            (Some(ours), Some(theirs)) if order_key(ours) <= order_key(theirs) => {
                next_ours += 1;
                ours.old.clone()
            }
            (Some(ours), None) => {
                next_ours += 1;
                ours.old.clone()
            }
            (_, Some(theirs)) => {
                next_theirs += 1;
                theirs.old.clone()
            }
            (None, None) => break,
        };
        loop {
            if let Some(hunk) = ours_hunks
                .get(next_ours)
                .filter(|hunk| overlaps(&hunk.old, &span))
            {
                span = span.start.min(hunk.old.start)..span.end.max(hunk.old.end);
                next_ours += 1;
            } else if let Some(hunk) = theirs_hunks
                .get(next_theirs)
                .filter(|hunk| overlaps(&hunk.old, &span))
            {
                span = span.start.min(hunk.old.start)..span.end.max(hunk.old.end);
                next_theirs += 1;
            } else {
                break;
            }
        }
        text.push_str(base_lines.slice(base_line..span.start.max(base_line)));
        let ours_cluster = ours_hunks.get(first_ours..next_ours).unwrap_or_default();
        let theirs_cluster = theirs_hunks
            .get(first_theirs..next_theirs)
            .unwrap_or_default();
        let ours_side = side(&ours_lines, ours_cluster, &span);
        let theirs_side = side(&theirs_lines, theirs_cluster, &span);
        match (ours_side, theirs_side) {
            (Some(ours), None) => text.push_str(ours.text),
            (None, Some(theirs)) => text.push_str(theirs.text),
            (Some(ours), Some(theirs)) => {
                if ours.text != theirs.text {
                    conflicts.push(LineSpan::new(
                        to_u32(theirs.lines.start),
                        to_u32(theirs.lines.end),
                    ));
                }
                text.push_str(theirs.text);
            }
            // Every cluster holds at least one hunk; keep the base if not.
            (None, None) => text.push_str(base_lines.slice(span.clone())),
        }
        base_line = span.end.max(base_line);
    }
    text.push_str(base_lines.slice(base_line..base_lines.len()));
    Merged { text, conflicts }
}

/// At the same base line, insertions come before replacements, so an insertion
/// just above lines the other side replaced is placed before them.
fn order_key(hunk: &Hunk) -> (usize, bool) {
    (hunk.old.start, !hunk.old.is_empty())
}

/// Whether a hunk over base lines `hunk` and the cluster over base lines `span`
/// change some line in common or insert at the same place.
fn overlaps(hunk: &Range<usize>, span: &Range<usize>) -> bool {
    match (hunk.is_empty(), span.is_empty()) {
        (true, true) => hunk.start == span.start,
        (true, false) => span.start < hunk.start && hunk.start < span.end,
        (false, true) => hunk.start < span.start && span.start < hunk.end,
        (false, false) => hunk.start < span.end && span.start < hunk.end,
    }
}

/// One side's version of a cluster's base lines.
struct Side<'a> {
    text: &'a str,
    lines: Range<usize>,
}

/// What `side` holds in place of base lines `span`, given its hunks there; `None`
/// when it has none (it left those lines alone).
fn side<'a>(side: &Lines<'a>, hunks: &[Hunk], span: &Range<usize>) -> Option<Side<'a>> {
    let (first, last) = (hunks.first()?, hunks.last()?);
    // Outside its hunks a side's lines equal the base's, one for one.
    let start = first
        .new
        .start
        .saturating_sub(first.old.start.saturating_sub(span.start));
    let end = last.new.end + span.end.saturating_sub(last.old.end);
    Some(Side {
        text: side.slice(start..end),
        lines: start..end,
    })
}
