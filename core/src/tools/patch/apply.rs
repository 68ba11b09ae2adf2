//! Applying an update's hunks to a file's text in memory: finding where each hunk
//! goes (exact first, then more and more tolerant, like Codex), and rebuilding
//! the text with the file's own line endings and final-newline state.

use super::parse::{Hunk, HunkLine};

/// A file's text split into lines, each with the terminator it had.
struct TextLines<'a> {
    lines: Vec<(&'a str, &'static str)>,
    /// The terminator for new lines: the file's most common one.
    eol: &'static str,
    /// Whether the text ends with a line terminator (an empty text counts as yes:
    /// lines added to it end with one).
    final_newline: bool,
}

fn split(text: &str) -> TextLines<'_> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('\n') {
            Some(at) => {
                let line = &rest[..at];
                match line.strip_suffix('\r') {
                    Some(stripped) => lines.push((stripped, "\r\n")),
                    None => lines.push((line, "\n")),
                }
                rest = &rest[at + 1..];
            }
            None => {
                lines.push((rest, ""));
                rest = "";
            }
        }
    }
    let crlf = lines.iter().filter(|(_, eol)| *eol == "\r\n").count();
    let lf = lines.iter().filter(|(_, eol)| *eol == "\n").count();
    TextLines {
        lines,
        eol: if crlf > lf { "\r\n" } else { "\n" },
        final_newline: text.is_empty() || text.ends_with('\n'),
    }
}

/// Apply `hunks` in order to `text`. `shown` names the file in error messages.
pub(crate) fn apply_hunks(text: &str, hunks: &[Hunk], shown: &str) -> Result<String, String> {
    let file = split(text);
    let contents: Vec<&str> = file.lines.iter().map(|(line, _)| *line).collect();

    // (start, how many old lines, new lines), in the order the hunks found them.
    let mut replacements: Vec<(usize, usize, Vec<String>)> = Vec::new();
    let mut cursor = 0;
    for hunk in hunks {
        for context in &hunk.contexts {
            match seek_context(&contents, context, cursor) {
                Some(found) => cursor = found + 1,
                None => {
                    return Err(format!(
                        "failed to find the context line '{context}' in {shown}"
                    ))
                }
            }
        }

        let mut lines: &[HunkLine] = &hunk.lines;
        let mut old = hunk.old_lines();
        if old.is_empty() {
            // Pure addition: after the @@ context when there is one, else at the end.
            let at = if hunk.contexts.is_empty() || hunk.end_of_file {
                contents.len()
            } else {
                cursor
            };
            replacements.push((at, 0, added_only(lines)));
            continue;
        }

        let unique = hunk.contexts.is_empty() && !hunk.end_of_file;
        let mut found = seek(&contents, &old, cursor, hunk.end_of_file, unique);
        // A trailing empty context line is often one the model imagined at the end.
        if matches!(found, Seek::NotFound) && old.len() > 1 && old.last() == Some(&"") {
            if let Some((HunkLine::Context(last), rest)) = lines.split_last() {
                if last.is_empty() {
                    lines = rest;
                    old.pop();
                    found = seek(&contents, &old, cursor, hunk.end_of_file, unique);
                }
            }
        }
        match found {
            Seek::Found(start) => {
                let matched = &contents[start..start + old.len()];
                replacements.push((start, old.len(), rebuild(lines, matched)));
                cursor = start + old.len();
            }
            Seek::Ambiguous(starts) => {
                let at: Vec<String> = starts.iter().map(|start| (start + 1).to_string()).collect();
                return Err(format!(
                    "the expected lines occur {} times in {shown} (at lines {}); add an \
                     '@@' line naming the enclosing function or class, or more context \
                     lines, to pick one:\n{}",
                    starts.len(),
                    at.join(", "),
                    old.join("\n")
                ));
            }
            Seek::NotFound if hunk.end_of_file => {
                return Err(format!(
                    "failed to find the expected lines at the end of {shown}:\n{}",
                    old.join("\n")
                ))
            }
            Seek::NotFound => {
                return Err(format!(
                    "failed to find the expected lines in {shown}:\n{}",
                    old.join("\n")
                ))
            }
        }
    }

    replacements.sort_by_key(|(start, _, _)| *start);
    for pair in replacements.windows(2) {
        let (start, len, _) = &pair[0];
        if start + len > pair[1].0 {
            return Err(format!(
                "two hunks of the patch change the same lines of {shown} (line {})",
                pair[1].0 + 1
            ));
        }
    }

    let mut result: Vec<(String, &'static str)> = file
        .lines
        .iter()
        .map(|(line, eol)| ((*line).to_string(), *eol))
        .collect();
    for (start, len, new_lines) in replacements.into_iter().rev() {
        let new_lines = new_lines.into_iter().map(|line| (line, file.eol));
        result.splice(start..start + len, new_lines);
    }
    let count = result.len();
    for (index, (_, eol)) in result.iter_mut().enumerate() {
        if index + 1 < count {
            if eol.is_empty() {
                *eol = file.eol;
            }
        } else if !file.final_newline {
            *eol = "";
        } else if eol.is_empty() {
            *eol = file.eol;
        }
    }
    Ok(result
        .into_iter()
        .flat_map(|(line, eol)| [line, eol.to_string()])
        .collect())
}

/// The hunk's new lines, with context lines taken from the file as matched (so a
/// tolerant match never rewrites the lines it only used as context).
fn rebuild(lines: &[HunkLine], matched: &[&str]) -> Vec<String> {
    let mut original = matched.iter();
    let mut out = Vec::new();
    for line in lines {
        match line {
            HunkLine::Context(text) => {
                let kept = original.next().map_or(text.as_str(), |line| *line);
                out.push(kept.to_string());
            }
            HunkLine::Remove(_) => {
                original.next();
            }
            HunkLine::Add(text) => out.push(text.clone()),
        }
    }
    out
}

fn added_only(lines: &[HunkLine]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| match line {
            HunkLine::Add(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[derive(Debug, PartialEq)]
enum Seek {
    Found(usize),
    Ambiguous(Vec<usize>),
    NotFound,
}

/// How tolerant a comparison of two lines is, strictest first.
const LEVELS: [fn(&str, &str) -> bool; 4] = [
    |a, b| a == b,
    |a, b| a.trim_end() == b.trim_end(),
    |a, b| a.trim() == b.trim(),
    |a, b| normalize(a) == normalize(b),
];

/// Where `pattern` occurs in `lines` at or after `start` (only at the very end
/// when `at_end`). The strictest level that finds it wins; with `unique`, a
/// second occurrence at that level makes it ambiguous.
fn seek(lines: &[&str], pattern: &[&str], start: usize, at_end: bool, unique: bool) -> Seek {
    if pattern.len() > lines.len() {
        return Seek::NotFound;
    }
    let last_start = lines.len() - pattern.len();
    let first_start = if at_end { last_start } else { start };
    if first_start > last_start {
        return Seek::NotFound;
    }
    for equal in LEVELS {
        let matches_at = |at: usize| {
            pattern
                .iter()
                .zip(&lines[at..])
                .all(|(want, have)| equal(have, want))
        };
        let mut found = (first_start..=last_start).filter(|&at| matches_at(at));
        let Some(first) = found.next() else { continue };
        if !unique {
            return Seek::Found(first);
        }
        let others: Vec<usize> = found.collect();
        if others.is_empty() {
            return Seek::Found(first);
        }
        return Seek::Ambiguous(std::iter::once(first).chain(others).collect());
    }
    Seek::NotFound
}

/// The first line at or after `start` that the `@@` context names: the whole
/// line at any tolerance level, else a line containing it (`@@ fn main` finds
/// `fn main() {`).
fn seek_context(lines: &[&str], context: &str, start: usize) -> Option<usize> {
    if start >= lines.len() {
        return None;
    }
    for equal in LEVELS {
        if let Some(offset) = lines[start..].iter().position(|line| equal(line, context)) {
            return Some(start + offset);
        }
    }
    let wanted = normalize(context);
    lines[start..]
        .iter()
        .position(|line| normalize(line).contains(&wanted))
        .map(|offset| start + offset)
}

/// Trim and map typographic punctuation and odd spaces to ASCII, so a patch
/// written with `-` and `"` finds a file holding `–` and `“`.
fn normalize(line: &str) -> String {
    line.trim()
        .chars()
        .map(|c| match c {
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
            | '\u{2212}' => '-',
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' => '"',
            '\u{00A0}' | '\u{2002}' | '\u{2003}' | '\u{2004}' | '\u{2005}' | '\u{2006}'
            | '\u{2007}' | '\u{2008}' | '\u{2009}' | '\u{200A}' | '\u{202F}' | '\u{205F}'
            | '\u{3000}' => ' ',
            other => other,
        })
        .collect()
}
