//! A file's outline: the signature of every definition, nested by container
//! (`impl`, class, trait, module), without bodies. What the `outline` tool
//! answers and what selection shows of the enclosing item's container.

use super::symbol::{FileSymbols, SymbolKind};
use super::LineRange;

/// One definition of the outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutlineEntry {
    pub name: String,
    pub kind: SymbolKind,
    pub lines: LineRange,
    pub signature: String,
    pub children: Vec<OutlineEntry>,
}

/// The outline of a file's symbols. Definitions inside functions (closures,
/// local helpers) are left out: only containers have children.
pub fn outline(symbols: &FileSymbols) -> Vec<OutlineEntry> {
    entries_in(symbols, None)
}

/// The entries whose container is `container` (`None`: the top level).
pub(crate) fn entries_in(symbols: &FileSymbols, container: Option<usize>) -> Vec<OutlineEntry> {
    symbols
        .definitions
        .iter()
        .enumerate()
        .filter(|(_, definition)| definition.container == container)
        .map(|(index, definition)| OutlineEntry {
            name: definition.name.to_string(),
            kind: definition.kind,
            lines: definition.lines,
            signature: definition.signature.to_string(),
            children: if definition.kind.is_container() {
                entries_in(symbols, Some(index))
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// One line per entry, `lines signature`, children indented by two spaces:
///
/// ```text
/// 12-40 impl Parser
///   14-20 pub fn new(input: &str) -> Self
/// ```
pub fn render_outline(entries: &[OutlineEntry]) -> String {
    let mut out = String::new();
    render_into(&mut out, entries, 0);
    out
}

fn render_into(out: &mut String, entries: &[OutlineEntry], depth: usize) {
    for entry in entries {
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push_str(&format!("{} {}\n", entry.lines, entry.signature));
        render_into(out, &entry.children, depth + 1);
    }
}
