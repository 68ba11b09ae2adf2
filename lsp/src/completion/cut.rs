//! Where the prefix and suffix of a completion prompt start and end: within a
//! byte budget either side of the cursor, at the edge of a syntax node (a whole
//! item, statement or expression, never half of one) and at a line boundary.
//! Without a tree, at the nearest line boundary inside the budget.

use std::ops::Range;

use ropey::Rope;
use tree_sitter::{Node, Tree};

/// The most text before the cursor sent to the model.
pub(crate) const MAX_PREFIX_BYTES: usize = 6_000;
/// The most text after the cursor sent to the model.
pub(crate) const MAX_SUFFIX_BYTES: usize = 2_000;

/// The byte ranges of the prefix (ending at `cursor`) and the suffix (starting
/// there).
pub(crate) fn cut(
    text: &Rope,
    tree: Option<&Tree>,
    cursor: usize,
    max_prefix: usize,
    max_suffix: usize,
) -> (Range<usize>, Range<usize>) {
    let len = text.len_bytes();
    let cursor = cursor.min(len);
    let lower = cursor.saturating_sub(max_prefix);
    let upper = cursor.saturating_add(max_suffix).min(len);
    let start = if lower == 0 {
        0
    } else {
        let cursor_line = text.byte_to_line(cursor);
        let mut from = lower;
        loop {
            let node_start = tree.and_then(|tree| first_start_from(tree.root_node(), from));
            let start = prefix_start(text, node_start.unwrap_or(from), cursor);
            if start >= lower {
                break start;
            }
            // Snapping back to the line start went past the budget: look again
            // from the next line, or cut mid-line when the cursor's own line is
            // longer than the budget (minified code).
            let next_line = text.byte_to_line(from) + 1;
            if next_line > cursor_line {
                break char_boundary(text, lower);
            }
            from = text.line_to_byte(next_line);
        }
    };
    let end = if upper == len {
        len
    } else {
        let node_end = tree.and_then(|tree| last_end_until(tree.root_node(), upper));
        suffix_end(text, node_end.unwrap_or(upper), cursor).min(char_boundary(text, upper))
    };
    (start..cursor, cursor..end)
}

/// The start of the first named node that begins at or after `lower`, looking inside
/// a node that straddles it. The children that end before `lower` are skipped
/// by tree-sitter's byte search, not visited: a top-level node of a
/// 20,000-line file has thousands of them.
fn first_start_from(node: Node<'_>, lower: usize) -> Option<usize> {
    let mut cursor = node.walk();
    cursor.goto_first_child_for_byte(lower)?;
    loop {
        let child = cursor.node();
        // Punctuation (a closing brace) is no boundary worth cutting at.
        if child.is_named() && child.end_byte() > lower {
            if child.start_byte() >= lower {
                return Some(child.start_byte());
            }
            if let Some(start) = first_start_from(child, lower) {
                return Some(start);
            }
        }
        if !cursor.goto_next_sibling() {
            return None;
        }
    }
}

/// The end of the last named node that ends at or before `upper`, looking inside a
/// node that straddles it. Starts from the child at `upper` (or the last one)
/// and walks back, so the children after it are not visited.
fn last_end_until(node: Node<'_>, upper: usize) -> Option<usize> {
    let mut cursor = node.walk();
    if cursor.goto_first_child_for_byte(upper).is_none() && !cursor.goto_last_child() {
        return None;
    }
    loop {
        let child = cursor.node();
        if child.is_named() && child.start_byte() < upper {
            if child.end_byte() <= upper {
                return Some(child.end_byte());
            }
            if let Some(end) = last_end_until(child, upper) {
                return Some(end);
            }
        }
        if !cursor.goto_previous_sibling() {
            return None;
        }
    }
}

/// The first top-level item of `tree` that ends after `byte` (the one holding
/// it, or the next): where the symbols of a prompt's region start.
pub(crate) fn item_at_or_after(tree: &Tree, byte: usize) -> Option<Node<'_>> {
    let root = tree.root_node();
    let mut cursor = root.walk();
    cursor.goto_first_child_for_byte(byte)?;
    loop {
        let child = cursor.node();
        if child.is_named() && child.end_byte() > byte {
            return Some(child);
        }
        if !cursor.goto_next_sibling() {
            return None;
        }
    }
}

/// `at` moved to a line start: its own line's when only indentation precedes
/// it, else the next line's; never past the cursor's line.
fn prefix_start(text: &Rope, at: usize, cursor: usize) -> usize {
    let at = at.min(cursor);
    let line = text.byte_to_line(at);
    let line_start = text.line_to_byte(line);
    let start = if is_blank(text, line_start..at) {
        line_start
    } else {
        text.line_to_byte((line + 1).min(text.len_lines()))
    };
    start.min(text.line_to_byte(text.byte_to_line(cursor)))
}

/// `at` moved to a line end (after its newline): its own line's when only
/// whitespace follows it there, else the end of the line before; never before
/// the cursor's line end.
fn suffix_end(text: &Rope, at: usize, cursor: usize) -> usize {
    let len = text.len_bytes();
    let line_end = |line: usize| {
        if line + 1 >= text.len_lines() {
            len
        } else {
            text.line_to_byte(line + 1)
        }
    };
    let at = at.max(cursor);
    let line = text.byte_to_line(at);
    let end = if is_blank(text, at..line_end(line)) {
        line_end(line)
    } else {
        text.line_to_byte(line)
    };
    end.max(line_end(text.byte_to_line(cursor)))
}

/// The start of the character holding byte `at`.
fn char_boundary(text: &Rope, at: usize) -> usize {
    text.char_to_byte(text.byte_to_char(at))
}

fn is_blank(text: &Rope, bytes: Range<usize>) -> bool {
    bytes.start >= bytes.end
        || text
            .byte_slice(bytes)
            .chars()
            .all(|character| character.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Tree {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&agentls_core::language::Language::Rust.tree_sitter_language())
            .unwrap();
        parser.parse(text, None).unwrap()
    }

    /// Cuts `$0`-marked `fixture` with the given budgets; shows the prefix and
    /// suffix sent.
    fn check(fixture: &str, max_prefix: usize, max_suffix: usize, with_tree: bool) -> String {
        let cursor = fixture.find("$0").unwrap();
        let text = fixture.replace("$0", "");
        let rope = Rope::from_str(&text);
        let tree = with_tree.then(|| parse(&text));
        let (prefix, suffix) = cut(&rope, tree.as_ref(), cursor, max_prefix, max_suffix);
        format!("{}<|>{}", &text[prefix], &text[suffix])
    }

    /// What `first_start_from` must answer: every named child visited.
    fn first_start_from_visiting_all(node: Node<'_>, lower: usize) -> Option<usize> {
        let mut walk = node.walk();
        for child in node.named_children(&mut walk) {
            if child.end_byte() <= lower {
                continue;
            }
            if child.start_byte() >= lower {
                return Some(child.start_byte());
            }
            if let Some(start) = first_start_from_visiting_all(child, lower) {
                return Some(start);
            }
        }
        None
    }

    /// What `last_end_until` must answer: every named child visited, last first.
    fn last_end_until_visiting_all(node: Node<'_>, upper: usize) -> Option<usize> {
        let children: Vec<Node<'_>> = {
            let mut walk = node.walk();
            node.named_children(&mut walk).collect()
        };
        for child in children.into_iter().rev() {
            if child.start_byte() >= upper {
                continue;
            }
            if child.end_byte() <= upper {
                return Some(child.end_byte());
            }
            if let Some(end) = last_end_until_visiting_all(child, upper) {
                return Some(end);
            }
        }
        None
    }

    #[test]
    fn the_byte_searches_answer_as_visiting_every_child_does() {
        // This crate's own sources: items, comments, attributes, nesting.
        let text = [
            include_str!("mod.rs"),
            include_str!("cut.rs"),
            include_str!("../document/mod.rs"),
        ]
        .concat();
        let tree = parse(&text);
        let root = tree.root_node();
        let item_visiting_all = |byte: usize| {
            let mut walk = root.walk();
            let found = root
                .named_children(&mut walk)
                .find(|item| item.end_byte() > byte)
                .map(|item| item.id());
            found
        };
        for byte in (0..=text.len()).step_by(7) {
            assert_eq!(
                first_start_from(root, byte),
                first_start_from_visiting_all(root, byte),
                "first_start_from at {byte}"
            );
            assert_eq!(
                last_end_until(root, byte),
                last_end_until_visiting_all(root, byte),
                "last_end_until at {byte}"
            );
            assert_eq!(
                item_at_or_after(&tree, byte).map(|item| item.id()),
                item_visiting_all(byte),
                "item_at_or_after at {byte}"
            );
        }
    }

    const FILE: &str = "use std::fmt;\n\nfn first() -> u32 {\n    let a = 1;\n    a + 2\n}\n\nfn second(x: u32) -> u32 {\n    let y = x * 2;\n    $0\n    y + 1\n}\n\nfn third() {}\n";

    #[test]
    fn the_whole_file_goes_when_it_fits() {
        expect_test::expect![[r#"
            "use std::fmt;\n\nfn first() -> u32 {\n    let a = 1;\n    a + 2\n}\n\nfn second(x: u32) -> u32 {\n    let y = x * 2;\n    <|>\n    y + 1\n}\n\nfn third() {}\n"
        "#]]
        .assert_debug_eq(&check(FILE, 10_000, 10_000, true));
    }

    #[test]
    fn a_tight_budget_cuts_at_the_edges_of_whole_items_and_statements() {
        // 60 bytes back lands in `first`'s last line: the cut moves on to the
        // next item that starts a line within the budget, `second` (not to the
        // lone closing brace); 8 bytes on lands inside `y + 1`, whose line
        // stays out.
        expect_test::expect![[r#"
            "fn second(x: u32) -> u32 {\n    let y = x * 2;\n    <|>\n"
        "#]]
        .assert_debug_eq(&check(FILE, 60, 8, true));
    }

    #[test]
    fn without_a_tree_the_cut_is_at_line_boundaries() {
        expect_test::expect![[r#"
            "    a + 2\n}\n\nfn second(x: u32) -> u32 {\n    let y = x * 2;\n    <|>\n    y + 1\n}\n\n"
        "#]]
        .assert_debug_eq(&check(FILE, 70, 16, false));
    }

    #[test]
    fn a_budget_shorter_than_the_cursor_line_cuts_inside_it() {
        expect_test::expect![[r#"
            "    let z = <|>y"
        "#]]
        .assert_debug_eq(&check(
            "fn f(x: u32) {\n    let y = x * 2;\n    let z = $0y;\n    z\n}\n",
            12,
            1,
            true,
        ));
    }
}
