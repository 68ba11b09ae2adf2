//! The lines a user edited lately in a document, which context selection
//! ranks near the top. Held inline in the document's record: a few regions
//! of two numbers each, with no map, key or allocation of their own (a map
//! keyed by URI beside the store held 0.4 MiB live once a thousand
//! documents had been edited: docs/benchmarks.md).

use agentls_core::context::LineRange;
use lsp_types::TextDocumentContentChangeEvent;

/// Regions kept per document.
const KEPT: usize = 5;

/// The regions edited lately, most recent first; an earlier region a
/// change overlaps gives way to the change's.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct RecentEdits {
    regions: [LineRange; KEPT],
    len: u8,
}

impl RecentEdits {
    /// Notes the lines `change` touched, as they read after it: from its
    /// first line through the lines its text added. Earlier regions below
    /// the change move with the lines it added or removed; those it
    /// overlapped give way to it. A change without a range (the whole text
    /// replaced) marks no region.
    pub(crate) fn note(&mut self, change: &TextDocumentContentChangeEvent) {
        let Some(range) = change.range else {
            return;
        };
        let first = range.start.line.saturating_add(1);
        let replaced = LineRange::new(first, range.end.line.saturating_add(1));
        let added = u32::try_from(change.text.matches('\n').count()).unwrap_or(u32::MAX);
        let removed = replaced.end - replaced.start;
        let region = LineRange::new(first, first.saturating_add(added));
        let mut kept = [region; KEPT];
        let mut len = 1;
        for earlier in self.regions() {
            if len == KEPT {
                break;
            }
            if earlier.overlaps(replaced) {
                continue;
            }
            kept[len] = if earlier.start > replaced.end {
                let moved = |line: u32| line.saturating_add(added).saturating_sub(removed);
                LineRange::new(moved(earlier.start), moved(earlier.end))
            } else {
                *earlier
            };
            len += 1;
        }
        self.regions = kept;
        self.len = len as u8;
    }

    /// The regions, most recent first.
    pub(crate) fn regions(&self) -> &[LineRange] {
        &self.regions[..usize::from(self.len)]
    }
}

#[cfg(test)]
mod tests {
    use lsp_types::{Position, Range};

    use super::*;

    fn replace(from: (u32, u32), to: (u32, u32), text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(
                Position::new(from.0, from.1),
                Position::new(to.0, to.1),
            )),
            range_length: None,
            text: text.to_string(),
        }
    }

    fn insert(line: u32, text: &str) -> TextDocumentContentChangeEvent {
        replace((line, 0), (line, 0), text)
    }

    #[test]
    fn regions_are_the_lines_after_each_change_latest_first_and_five_at_most() {
        let mut recent = RecentEdits::default();
        assert!(recent.regions().is_empty());
        recent.note(&insert(9, "x"));
        recent.note(&insert(19, "a\nb\n"));
        assert_eq!(
            recent.regions(),
            [LineRange::new(20, 22), LineRange::new(10, 10)]
        );
        for line in [30, 40, 50, 60] {
            recent.note(&insert(line, "y"));
        }
        assert_eq!(
            recent.regions(),
            [
                LineRange::new(61, 61),
                LineRange::new(51, 51),
                LineRange::new(41, 41),
                LineRange::new(31, 31),
                LineRange::new(20, 22),
            ]
        );
    }

    #[test]
    fn regions_below_a_change_move_with_its_lines_and_those_it_overlaps_give_way() {
        let mut recent = RecentEdits::default();
        recent.note(&insert(19, "typed\n"));
        recent.note(&insert(9, "x"));
        // Two lines added above both: the region at 20-21 moves to 22-23.
        recent.note(&insert(0, "use a;\nuse b;\n"));
        assert_eq!(
            recent.regions(),
            [
                LineRange::new(1, 3),
                LineRange::new(12, 12),
                LineRange::new(22, 23),
            ]
        );
        // Lines 5 to 8 (0-based 4 to 7) replaced by one: below them, three
        // lines up; the region at 12 is untouched by the range, so it moves too.
        recent.note(&replace((4, 0), (7, 3), "joined"));
        assert_eq!(
            recent.regions(),
            [
                LineRange::new(5, 5),
                LineRange::new(1, 3),
                LineRange::new(9, 9),
                LineRange::new(19, 20),
            ]
        );
        // An edit inside a region takes its place.
        recent.note(&insert(19, "z"));
        assert_eq!(
            recent.regions(),
            [
                LineRange::new(20, 20),
                LineRange::new(5, 5),
                LineRange::new(1, 3),
                LineRange::new(9, 9),
            ]
        );
        // A whole new text marks nothing and keeps the regions.
        recent.note(&TextDocumentContentChangeEvent {
            range: None,
            range_length: None,
            text: "all new\n".to_string(),
        });
        assert_eq!(recent.regions().len(), 4);
    }
}
