//! Lines of a text found by their start offsets, computed once per file, so that
//! docs, summaries and selection cut text by line without rescanning it.

use super::LineRange;

/// The byte offset of the start of every line.
pub(crate) fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::with_capacity(text.len() / 32 + 1);
    starts.push(0);
    starts.extend(memchr_newlines(text).map(|at| at + 1));
    if starts.len() > 1 && *starts.last().unwrap_or(&0) == text.len() {
        // A final newline does not start another line.
        starts.pop();
    }
    starts
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'\n', text.as_bytes())
}

/// The start of the line that holds `byte`.
pub(crate) fn line_start_of(byte: usize, line_starts: &[usize]) -> usize {
    match line_starts.binary_search(&byte) {
        Ok(index) => line_starts[index],
        Err(index) => line_starts[index.saturating_sub(1)],
    }
}

/// The text of 1-based `line`, without its line break.
pub(crate) fn line_text<'t>(text: &'t str, line_starts: &[usize], line: u32) -> &'t str {
    let Some(&start) = line_starts.get(line.saturating_sub(1) as usize) else {
        return "";
    };
    let end = line_starts
        .get(line as usize)
        .copied()
        .unwrap_or(text.len());
    text[start..end].trim_end_matches(['\n', '\r'])
}

/// Append lines `range` of `text`, each ending with `\n`.
pub(crate) fn push_lines(out: &mut String, text: &str, line_starts: &[usize], range: LineRange) {
    for line in range.start..=range.end {
        out.push_str(line_text(text, line_starts, line));
        out.push('\n');
    }
}
