//! The Codex patch grammar, parsed into file operations. Lenient where models
//! are known to stray (padding around markers, a missing first `@@`, a heredoc
//! around the whole patch, unified-diff ranges after `@@`), strict everywhere
//! else, and every error names the patch line it is about.
//!
//! ```text
//! patch   := "*** Begin Patch" NL file+ "*** End Patch" NL?
//! file    := add | delete | update
//! add     := "*** Add File: " path NL ("+" text NL)*
//! delete  := "*** Delete File: " path NL
//! update  := "*** Update File: " path NL ("*** Move to: " path NL)? hunk+
//! hunk    := ("@@" (" " context)? NL)* line+ ("*** End of File" NL)?
//! line    := (" " | "-" | "+") text NL
//! ```

use std::fmt;

const BEGIN_PATCH: &str = "*** Begin Patch";
const END_PATCH: &str = "*** End Patch";
const ADD_FILE: &str = "*** Add File:";
const DELETE_FILE: &str = "*** Delete File:";
const UPDATE_FILE: &str = "*** Update File:";
const MOVE_TO: &str = "*** Move to:";
const END_OF_FILE: &str = "*** End of File";

/// A parsed patch: the file operations in the order they were written.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Patch {
    pub(crate) files: Vec<FileOp>,
}

/// One file section. `path` is as written in the patch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FileOp {
    Add {
        path: String,
        lines: Vec<String>,
    },
    Delete {
        path: String,
    },
    Update {
        path: String,
        move_to: Option<String>,
        hunks: Vec<Hunk>,
    },
}

/// One `@@` hunk of an update.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Hunk {
    /// The `@@ text` lines before it, each narrowing where it applies.
    pub(crate) contexts: Vec<String>,
    pub(crate) lines: Vec<HunkLine>,
    /// Marked `*** End of File`: the old lines end the file.
    pub(crate) end_of_file: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HunkLine {
    Context(String),
    Remove(String),
    Add(String),
}

impl Hunk {
    /// The lines the file must contain where the hunk applies.
    pub(crate) fn old_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|line| match line {
                HunkLine::Context(text) | HunkLine::Remove(text) => Some(text.as_str()),
                HunkLine::Add(_) => None,
            })
            .collect()
    }
}

/// Why a patch does not parse; `line` is 1-based in the text the model sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) line: Option<usize>,
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "invalid patch: line {line}: {}", self.message),
            None => write!(f, "invalid patch: {}", self.message),
        }
    }
}

fn error(index: usize, message: String) -> ParseError {
    ParseError {
        line: Some(index + 1),
        message,
    }
}

pub(crate) fn parse(text: &str) -> Result<Patch, ParseError> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let Some((mut first, mut last)) = non_blank_bounds(&lines, 0, lines.len()) else {
        return Err(ParseError {
            line: None,
            message: format!("the patch is empty; it must start with '{BEGIN_PATCH}'"),
        });
    };

    if let Some(delimiter) = heredoc_delimiter(lines[first]) {
        if last == first || lines[last].trim() != delimiter {
            return Err(error(
                last,
                format!(
                    "the heredoc opened on line {} is not closed by '{delimiter}'",
                    first + 1
                ),
            ));
        }
        match non_blank_bounds(&lines, first + 1, last) {
            Some(bounds) => (first, last) = bounds,
            None => {
                return Err(error(
                    first,
                    format!("the heredoc holds no patch; it must start with '{BEGIN_PATCH}'"),
                ))
            }
        }
    }

    if lines[first].trim() != BEGIN_PATCH {
        return Err(error(
            first,
            format!(
                "the patch must start with '{BEGIN_PATCH}', got '{}'",
                lines[first]
            ),
        ));
    }
    let Some(end) = (first + 1..=last).find(|&index| lines[index].trim() == END_PATCH) else {
        return Err(error(
            last,
            format!(
                "the patch must end with '{END_PATCH}', got '{}'",
                lines[last]
            ),
        ));
    };
    if end != last {
        let extra = (end + 1..=last)
            .find(|&index| !lines[index].trim().is_empty())
            .unwrap_or(last);
        return Err(error(
            extra,
            format!("text after '{END_PATCH}': '{}'", lines[extra]),
        ));
    }

    Parser {
        lines: &lines,
        index: first + 1,
        end,
    }
    .files()
}

/// The first and last non-blank line in `lines[from..to]`.
fn non_blank_bounds(lines: &[&str], from: usize, to: usize) -> Option<(usize, usize)> {
    let first = (from..to).find(|&index| !lines[index].trim().is_empty())?;
    let last = (from..to)
        .rev()
        .find(|&index| !lines[index].trim().is_empty())?;
    Some((first, last))
}

/// `apply_patch <<'EOF'` (also `applypatch`, bare `<<EOF`, `<<"EOF"`, `<<-EOF`)
/// gives `EOF`.
fn heredoc_delimiter(line: &str) -> Option<&str> {
    let line = line.trim();
    let rest = line
        .strip_prefix("apply_patch")
        .or_else(|| line.strip_prefix("applypatch"))
        .unwrap_or(line)
        .trim_start();
    let rest = rest.strip_prefix("<<")?;
    let rest = rest.strip_prefix('-').unwrap_or(rest).trim_start();
    let unquoted = match rest.chars().next() {
        Some(quote @ ('\'' | '"')) => rest.strip_prefix(quote)?.strip_suffix(quote)?,
        _ => rest,
    };
    let is_word = !unquoted.is_empty()
        && unquoted
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_word.then_some(unquoted)
}

/// `*** Add File: path` → `path` (padding tolerated around the marker and path).
fn header<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.trim().strip_prefix(marker).map(str::trim)
}

struct Parser<'a> {
    lines: &'a [&'a str],
    /// The next line to read.
    index: usize,
    /// The index of `*** End Patch`.
    end: usize,
}

impl Parser<'_> {
    fn files(mut self) -> Result<Patch, ParseError> {
        let mut files = Vec::new();
        while self.index < self.end {
            let line = self.lines[self.index];
            if line.trim().is_empty() {
                self.index += 1;
                continue;
            }
            let header_index = self.index;
            self.index += 1;
            let op = if let Some(path) = header(line, ADD_FILE) {
                let path = self.path(header_index, path, ADD_FILE)?;
                FileOp::Add {
                    lines: self.added_lines()?,
                    path,
                }
            } else if let Some(path) = header(line, DELETE_FILE) {
                FileOp::Delete {
                    path: self.path(header_index, path, DELETE_FILE)?,
                }
            } else if let Some(path) = header(line, UPDATE_FILE) {
                let path = self.path(header_index, path, UPDATE_FILE)?;
                self.update(header_index, path)?
            } else if header(line, MOVE_TO).is_some() {
                return Err(error(
                    header_index,
                    format!("'{MOVE_TO}' must come right after '{UPDATE_FILE} <path>'"),
                ));
            } else {
                return Err(error(
                    header_index,
                    format!(
                        "'{line}' is not a file header; expected '{ADD_FILE} <path>', \
                         '{DELETE_FILE} <path>' or '{UPDATE_FILE} <path>'"
                    ),
                ));
            };
            files.push(op);
        }
        Ok(Patch { files })
    }

    fn path(&self, index: usize, path: &str, marker: &str) -> Result<String, ParseError> {
        if path.is_empty() {
            Err(error(index, format!("'{marker}' has no path")))
        } else {
            Ok(path.to_string())
        }
    }

    /// The `+` lines of an added file. A blank line between them is taken as an
    /// empty line whose `+` the model dropped; blank lines at the end separate.
    fn added_lines(&mut self) -> Result<Vec<String>, ParseError> {
        let mut added = Vec::new();
        let mut pending_blank = 0;
        while self.index < self.end {
            let line = self.lines[self.index];
            if let Some(text) = line.strip_prefix('+') {
                added.extend(std::iter::repeat_n(String::new(), pending_blank));
                pending_blank = 0;
                added.push(text.to_string());
            } else if line.trim().is_empty() {
                pending_blank += 1;
            } else if line.starts_with("***") {
                break;
            } else {
                return Err(error(
                    self.index,
                    format!("every line of an added file starts with '+', got '{line}'"),
                ));
            }
            self.index += 1;
        }
        Ok(added)
    }

    fn update(&mut self, header_index: usize, path: String) -> Result<FileOp, ParseError> {
        let mut move_to = None;
        if self.index < self.end {
            if let Some(target) = header(self.lines[self.index], MOVE_TO) {
                move_to = Some(self.path(self.index, target, MOVE_TO)?);
                self.index += 1;
            }
        }

        let mut hunks: Vec<Hunk> = Vec::new();
        let mut current = Hunk::default();
        // Where the open hunk began (its first `@@` or line), for error messages.
        let mut current_start = self.index;
        // Raw empty lines at the end of the open hunk: separators, unless more
        // hunk lines follow them.
        let mut trailing_empty = 0;
        while self.index < self.end {
            let line = self.lines[self.index];
            if line.starts_with('*') {
                let trimmed = line.trim();
                if trimmed == END_OF_FILE {
                    if current.lines.is_empty() {
                        return Err(error(
                            self.index,
                            format!("'{END_OF_FILE}' must follow the lines of a hunk"),
                        ));
                    }
                    drop_trailing(&mut current, trailing_empty);
                    trailing_empty = 0;
                    current.end_of_file = true;
                    hunks.push(std::mem::take(&mut current));
                    self.index += 1;
                    current_start = self.index;
                    continue;
                }
                if header(line, MOVE_TO).is_some() {
                    return Err(error(
                        self.index,
                        format!("'{MOVE_TO}' must come right after '{UPDATE_FILE} {path}'"),
                    ));
                }
                // The next file's header: the outer loop checks it.
                break;
            }
            if let Some(rest) = line.strip_prefix("@@") {
                if !current.lines.is_empty() {
                    drop_trailing(&mut current, trailing_empty);
                    trailing_empty = 0;
                    hunks.push(std::mem::take(&mut current));
                }
                if current.contexts.is_empty() {
                    current_start = self.index;
                }
                if let Some(context) = context_text(rest) {
                    current.contexts.push(context.to_string());
                }
                self.index += 1;
                continue;
            }
            let hunk_line = if line.is_empty() {
                if current.lines.is_empty() && current.contexts.is_empty() {
                    // Blank lines between the header and the first hunk.
                    self.index += 1;
                    continue;
                }
                trailing_empty += 1;
                HunkLine::Context(String::new())
            } else {
                trailing_empty = 0;
                match line.as_bytes()[0] {
                    b' ' => HunkLine::Context(line[1..].to_string()),
                    b'-' => HunkLine::Remove(line[1..].to_string()),
                    b'+' => HunkLine::Add(line[1..].to_string()),
                    _ => {
                        return Err(error(
                            self.index,
                            format!(
                                "unexpected line '{line}' in the changes to {path}; every \
                                 line of a hunk starts with ' ' (context), '-' (removed) or \
                                 '+' (added)"
                            ),
                        ))
                    }
                }
            };
            if current.lines.is_empty() && current.contexts.is_empty() {
                current_start = self.index;
            }
            current.lines.push(hunk_line);
            self.index += 1;
        }
        drop_trailing(&mut current, trailing_empty);
        if !current.lines.is_empty() {
            hunks.push(current);
        } else if !current.contexts.is_empty() {
            return Err(error(
                current_start,
                format!("the @@ hunk in the changes to {path} has no lines"),
            ));
        }
        if hunks.is_empty() {
            return Err(error(
                header_index,
                format!("'{UPDATE_FILE} {path}' has no hunks"),
            ));
        }
        Ok(FileOp::Update {
            path,
            move_to,
            hunks,
        })
    }
}

/// Drop the empty context lines that came from raw empty lines at the end of a
/// hunk: they separate hunks. (A context line at a hunk's end only narrows the
/// match; dropping it never changes the result.)
fn drop_trailing(hunk: &mut Hunk, trailing_empty: usize) {
    let keep = hunk.lines.len() - trailing_empty.min(hunk.lines.len());
    hunk.lines.truncate(keep);
}

/// The text after `@@`, if any. Models trained on unified diffs write
/// `@@ -12,7 +12,8 @@ fn main`: the ranges are dropped, what follows is the context.
fn context_text(rest: &str) -> Option<&str> {
    let text = rest.trim();
    let text = strip_unified_range(text).unwrap_or(text);
    (!text.is_empty()).then_some(text)
}

fn strip_unified_range(text: &str) -> Option<&str> {
    let mut words = text.splitn(3, ' ');
    let old = words.next()?.strip_prefix('-')?;
    let new = words.next()?.strip_prefix('+')?;
    let is_range = |range: &str| {
        !range.is_empty()
            && range
                .split(',')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    };
    if !is_range(old) || !is_range(new) {
        return None;
    }
    let after = words.next().unwrap_or("").trim();
    Some(after.strip_prefix("@@").unwrap_or(after).trim())
}
