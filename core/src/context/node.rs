//! What extraction reads off any syntax node: its text and the lines it spans,
//! shared by the harvest of symbols and the description of each definition.

use tree_sitter::Node;

use super::LineRange;

/// The text of `node`, empty if it is not valid UTF-8.
pub(crate) fn node_text<'s>(node: Node<'_>, source: &'s [u8]) -> &'s str {
    node.utf8_text(source).unwrap_or("")
}

/// The lines `node` spans, counting from 1.
pub(crate) fn lines_of(node: Node<'_>) -> LineRange {
    let start = node.start_position().row as u32 + 1;
    let end_position = node.end_position();
    // A node that ends at column 0 (Rust line comments, Python blocks) ends on
    // the line before.
    let end = if end_position.column == 0 && end_position.row > node.start_position().row {
        end_position.row as u32
    } else {
        end_position.row as u32 + 1
    };
    LineRange::new(start, end)
}
