//! Threads on disk: each thread is a JSONL file `<data dir>/threads/<id>.jsonl`,
//! appended one line per thing that happened and written through at once (one
//! `write` per line, no user-space buffer), so a crash of the process loses nothing
//! the loop had received. Reading it back rebuilds the exact model history: the
//! first request after a resume is byte for byte the one the thread would have
//! sent had it never stopped.
//!
//! Lines: a `meta` line first (the thread's stable prompt prefix lives there, so a
//! resume does not depend on today's date or today's AGENTS.md), then `history`
//! (one model-history item), `item` (a finished thread item, for front ends),
//! `turnStarted`/`turnEnded`, `usage`, `compacted` (the history replaced whole) and
//! `approvedForThread`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ResponseItem, TokenUsage, ToolSpec};
use crate::protocol::{ThreadId, ThreadItem, ThreadItemKind};

/// The rollout format version written in `meta`.
pub const ROLLOUT_VERSION: u32 = 1;

/// The output a tool call gets when its turn stopped (interrupt, abort, shutdown)
/// or the process died before it answered. The interrupt path and the resume
/// repair both use it, so both leave the same history.
pub const ABORTED_CALL_OUTPUT: &str = "aborted: the turn was stopped before this call finished";

/// Why a rollout could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("no thread {0} in the data directory")]
    NotFound(ThreadId),
    #[error("no data directory: set XDG_DATA_HOME or HOME")]
    NoDataDir,
}

/// What never changes in a thread: its id and its stable prompt prefix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadMeta {
    pub id: ThreadId,
    pub version: u32,
    pub created: DateTime<Utc>,
    pub cwd: PathBuf,
    pub instructions: String,
    pub tools: Vec<ToolSpec>,
    /// The items every request starts with (environment context, AGENTS.md).
    pub prefix: Vec<ResponseItem>,
}

/// One line of a rollout file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RolloutLine {
    Meta(ThreadMeta),
    /// An item appended to the model history.
    History {
        item: ResponseItem,
    },
    /// A finished thread item.
    Item {
        turn_id: String,
        item: ThreadItem,
    },
    TurnStarted {
        turn_id: String,
        at: DateTime<Utc>,
    },
    TurnEnded {
        turn_id: String,
        outcome: TurnOutcome,
    },
    /// A provider's usage report; `historyLen` is the history length it covers.
    Usage {
        usage: TokenUsage,
        history_len: usize,
    },
    /// A compaction replaced the history (after the prefix) by this.
    Compacted {
        history: Vec<ResponseItem>,
    },
    /// The user approved this command for the rest of the thread.
    ApprovedForThread {
        argv: Vec<String>,
        sandbox_escalation: bool,
    },
    /// The tools offered from here on (an MCP server's tools joined, changed
    /// or left); replaces `meta.tools`.
    Tools {
        tools: Vec<ToolSpec>,
    },
    /// The user approved calls of this MCP tool (`SERVER__tool`) for the rest
    /// of the thread.
    ToolApprovedForThread {
        tool: String,
    },
}

/// How a turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TurnOutcome {
    Completed,
    Interrupted,
    Failed,
}

/// The data directory: `$XDG_DATA_HOME/agentls`, else `~/.local/share/agentls`.
pub fn default_data_dir(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, RolloutError> {
    if let Some(xdg) = env("XDG_DATA_HOME").filter(|value| !value.is_empty()) {
        return Ok(PathBuf::from(xdg).join("agentls"));
    }
    match env("HOME").filter(|value| !value.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/agentls")),
        None => Err(RolloutError::NoDataDir),
    }
}

/// Where a thread's rollout lives.
pub fn rollout_path(data_dir: &Path, id: &ThreadId) -> PathBuf {
    data_dir.join("threads").join(format!("{id}.jsonl"))
}

fn io_error(path: &Path, error: std::io::Error) -> RolloutError {
    RolloutError::Io {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

/// Appends lines to one thread's rollout. Owned by the thread's task.
#[derive(Debug)]
pub struct RolloutWriter {
    file: File,
    path: PathBuf,
    line: Vec<u8>,
}

impl RolloutWriter {
    /// Create the rollout of a new thread and write its `meta` line.
    pub fn create(data_dir: &Path, meta: &ThreadMeta) -> Result<RolloutWriter, RolloutError> {
        let path = rollout_path(data_dir, &meta.id);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| io_error(parent, error))?;
        }
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|error| io_error(&path, error))?;
        let mut writer = RolloutWriter {
            file,
            path,
            line: Vec::with_capacity(1024),
        };
        writer.append(&RolloutLine::Meta(meta.clone()))?;
        Ok(writer)
    }

    /// Open an existing rollout to append to it.
    pub fn open(path: &Path) -> Result<RolloutWriter, RolloutError> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|error| io_error(path, error))?;
        Ok(RolloutWriter {
            file,
            path: path.to_path_buf(),
            line: Vec::with_capacity(1024),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write one line through to the file (a single `write` call, so a line is
    /// never interleaved and at worst the very last one is torn by a crash).
    pub fn append(&mut self, line: &RolloutLine) -> Result<(), RolloutError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, line).map_err(|error| RolloutError::Io {
            path: self.path.clone(),
            message: error.to_string(),
        })?;
        self.line.push(b'\n');
        self.file
            .write_all(&self.line)
            .map_err(|error| io_error(&self.path, error))
    }
}

impl RolloutWriter {
    /// Forces what was appended to stable storage (`fdatasync`). Every line is
    /// already written through, so a killed process loses nothing; this is for a
    /// machine that loses power. The loop calls it at turn boundaries and before
    /// an edit leaves for the editor, not per line (one sync costs milliseconds).
    pub fn sync(&mut self) -> Result<(), RolloutError> {
        self.file
            .sync_data()
            .map_err(|error| io_error(&self.path, error))
    }
}

/// A thread read back from its rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedThread {
    pub meta: ThreadMeta,
    /// The model history after the prefix, exactly as the next request sends it
    /// (calls left without an answer by a crash are answered with
    /// [`ABORTED_CALL_OUTPUT`]; `repairs` lists those answers).
    pub history: Vec<ResponseItem>,
    /// History items the rollout lacked; the caller appends them to the file.
    pub repairs: Vec<ResponseItem>,
    /// The finished items, with their turn ids, for a front end to show.
    pub items: Vec<(String, ThreadItem)>,
    /// The last usage report that still applies (none after a compaction).
    pub last_usage: Option<(TokenUsage, usize)>,
    pub approved_commands: Vec<Vec<String>>,
    pub approved_escalations: Vec<Vec<String>>,
    /// MCP tools (`SERVER__tool`) approved for the thread.
    pub approved_tools: Vec<String>,
    /// One more than the largest item or turn number seen, so new ids stay unique.
    pub next_seq: u64,
}

/// Read a thread's rollout.
pub fn load(data_dir: &Path, id: &ThreadId) -> Result<LoadedThread, RolloutError> {
    // Ids come from clients (`agent/threadResume`): one that is not a plain file
    // name (`../x`, `a/b`) would read, and then append to, a file outside the
    // threads folder. Only ids of the shape this module writes can name one.
    let plain = !id.0.is_empty()
        && id
            .0
            .chars()
            .all(|char| char.is_ascii_alphanumeric() || char == '-' || char == '_');
    if !plain {
        return Err(RolloutError::NotFound(id.clone()));
    }
    let path = rollout_path(data_dir, id);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(RolloutError::NotFound(id.clone()))
        }
        Err(error) => return Err(io_error(&path, error)),
    };
    load_from(&path, BufReader::new(file))
}

fn load_from(path: &Path, reader: impl BufRead) -> Result<LoadedThread, RolloutError> {
    let mut lines = reader.lines().enumerate().peekable();
    let malformed = |line: usize, message: String| RolloutError::Malformed {
        path: path.to_path_buf(),
        line: line + 1,
        message,
    };
    let meta = match lines.next() {
        Some((number, line)) => {
            let line = line.map_err(|error| io_error(path, error))?;
            match serde_json::from_str::<RolloutLine>(&line) {
                Ok(RolloutLine::Meta(meta)) => meta,
                Ok(_) => return Err(malformed(number, "the first line is not `meta`".into())),
                Err(error) => return Err(malformed(number, error.to_string())),
            }
        }
        None => return Err(malformed(0, "empty rollout".into())),
    };
    let mut loaded = LoadedThread {
        meta,
        history: Vec::new(),
        repairs: Vec::new(),
        items: Vec::new(),
        last_usage: None,
        approved_commands: Vec::new(),
        approved_escalations: Vec::new(),
        approved_tools: Vec::new(),
        next_seq: 1,
    };
    while let Some((number, line)) = lines.next() {
        let line = line.map_err(|error| io_error(path, error))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = match serde_json::from_str::<RolloutLine>(&line) {
            Ok(parsed) => parsed,
            // A crash can tear the last line only: drop it.
            Err(_) if lines.peek().is_none() => {
                tracing::warn!(path = %path.display(), line = number + 1, "dropping a torn last rollout line");
                break;
            }
            Err(error) => return Err(malformed(number, error.to_string())),
        };
        match parsed {
            RolloutLine::Meta(_) => return Err(malformed(number, "a second `meta` line".into())),
            RolloutLine::History { item } => loaded.history.push(item),
            RolloutLine::Item { turn_id, item } => {
                loaded.next_seq = loaded.next_seq.max(seq_of(&item.id) + 1);
                loaded.items.push((turn_id, item));
            }
            RolloutLine::TurnStarted { turn_id, .. } => {
                loaded.next_seq = loaded.next_seq.max(seq_of(&turn_id) + 1);
            }
            RolloutLine::TurnEnded { .. } => {}
            RolloutLine::Usage { usage, history_len } => {
                loaded.last_usage = Some((usage, history_len));
            }
            RolloutLine::Compacted { history } => {
                loaded.history = history;
                loaded.last_usage = None;
            }
            RolloutLine::ApprovedForThread {
                argv,
                sandbox_escalation,
            } => {
                if sandbox_escalation {
                    loaded.approved_escalations.push(argv);
                } else {
                    loaded.approved_commands.push(argv);
                }
            }
            RolloutLine::Tools { tools } => loaded.meta.tools = tools,
            RolloutLine::ToolApprovedForThread { tool } => loaded.approved_tools.push(tool),
        }
    }
    loaded.repairs = unanswered_calls(&loaded.history)
        .into_iter()
        .map(|call_id| ResponseItem::FunctionCallOutput {
            call_id,
            output: ABORTED_CALL_OUTPUT.to_string(),
            is_error: true,
        })
        .collect();
    loaded.history.extend(loaded.repairs.iter().cloned());
    Ok(loaded)
}

/// The ids of function calls in `history` that no output answers, in order.
pub fn unanswered_calls(history: &[ResponseItem]) -> Vec<String> {
    let answered: std::collections::HashSet<&str> = history
        .iter()
        .filter_map(|item| match item {
            ResponseItem::FunctionCallOutput { call_id, .. } => Some(call_id.as_str()),
            _ => None,
        })
        .collect();
    history
        .iter()
        .filter_map(|item| match item {
            ResponseItem::FunctionCall { call_id, .. } if !answered.contains(call_id.as_str()) => {
                Some(call_id.clone())
            }
            _ => None,
        })
        .collect()
}

/// The number in an id like `item-12` or `turn-3` (0 for anything else).
fn seq_of(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|number| number.parse().ok())
        .unwrap_or(0)
}

/// A thread as a list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSummary {
    pub id: ThreadId,
    pub created: DateTime<Utc>,
    /// When the rollout was last written.
    pub updated: DateTime<Utc>,
    pub cwd: PathBuf,
    /// The start of the first user message (at most 100 characters).
    pub preview: Option<String>,
}

const PREVIEW_CHARS: usize = 100;

/// Every thread in the data directory, most recently updated first. Unreadable
/// files are skipped with a warning in the log.
pub fn list_threads(data_dir: &Path) -> Result<Vec<ThreadSummary>, RolloutError> {
    let dir = data_dir.join("threads");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error(&dir, error)),
    };
    let mut threads = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| io_error(&dir, error))?;
        let path = entry.path();
        if path
            .extension()
            .is_none_or(|extension| extension != "jsonl")
        {
            continue;
        }
        match summarize(&path) {
            Ok(summary) => threads.push(summary),
            Err(error) => tracing::warn!(%error, "skipping an unreadable rollout"),
        }
    }
    threads.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| b.id.cmp(&a.id)));
    Ok(threads)
}

fn summarize(path: &Path) -> Result<ThreadSummary, RolloutError> {
    let file = File::open(path).map_err(|error| io_error(path, error))?;
    let updated: DateTime<Utc> = file
        .metadata()
        .and_then(|metadata| metadata.modified())
        .map_err(|error| io_error(path, error))?
        .into();
    let mut lines = BufReader::new(file).lines();
    let first = lines
        .next()
        .transpose()
        .map_err(|error| io_error(path, error))?
        .unwrap_or_default();
    let meta = match serde_json::from_str::<RolloutLine>(&first) {
        Ok(RolloutLine::Meta(meta)) => meta,
        _ => {
            return Err(RolloutError::Malformed {
                path: path.to_path_buf(),
                line: 1,
                message: "the first line is not `meta`".into(),
            })
        }
    };
    let mut preview = None;
    for line in lines {
        let Ok(line) = line else { break };
        // Cheap filter before parsing: only item lines can hold the user message.
        if !line.contains("\"userMessage\"") {
            continue;
        }
        if let Ok(RolloutLine::Item { item, .. }) = serde_json::from_str::<RolloutLine>(&line) {
            if let ThreadItemKind::UserMessage { text, .. } = item.kind {
                preview = Some(text.chars().take(PREVIEW_CHARS).collect());
                break;
            }
        }
    }
    Ok(ThreadSummary {
        id: meta.id,
        created: meta.created,
        updated,
        cwd: meta.cwd,
        preview,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn meta(id: &str) -> ThreadMeta {
        ThreadMeta {
            id: ThreadId(id.into()),
            version: ROLLOUT_VERSION,
            created: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            cwd: PathBuf::from("/w"),
            instructions: "be brief".into(),
            tools: vec![],
            prefix: vec![ResponseItem::Message {
                role: Role::User,
                text: "<environment_context/>".into(),
            }],
        }
    }

    fn user_item(id: &str, text: &str) -> ThreadItem {
        ThreadItem {
            id: id.into(),
            kind: ThreadItemKind::UserMessage {
                text: text.into(),
                context: vec![],
            },
        }
    }

    #[test]
    fn rollout_data_dir_prefers_xdg() {
        let env = |name: &str| match name {
            "XDG_DATA_HOME" => Some("/x".to_string()),
            "HOME" => Some("/h".to_string()),
            _ => None,
        };
        assert_eq!(default_data_dir(&env).unwrap(), PathBuf::from("/x/agentls"));
        let env = |name: &str| (name == "HOME").then(|| "/h".to_string());
        assert_eq!(
            default_data_dir(&env).unwrap(),
            PathBuf::from("/h/.local/share/agentls")
        );
        assert!(matches!(
            default_data_dir(&|_| None),
            Err(RolloutError::NoDataDir)
        ));
    }

    #[test]
    fn rollout_round_trips_history_compaction_and_approvals() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = RolloutWriter::create(dir.path(), &meta("t1")).unwrap();
        let call = ResponseItem::FunctionCall {
            call_id: "c1".into(),
            name: "shell".into(),
            arguments: "{}".into(),
        };
        for line in [
            RolloutLine::TurnStarted {
                turn_id: "turn-1".into(),
                at: DateTime::from_timestamp(1_700_000_001, 0).unwrap(),
            },
            RolloutLine::History {
                item: ResponseItem::Message {
                    role: Role::User,
                    text: "old".into(),
                },
            },
            RolloutLine::Item {
                turn_id: "turn-1".into(),
                item: user_item("item-2", "old"),
            },
            RolloutLine::Usage {
                usage: TokenUsage::default(),
                history_len: 1,
            },
            RolloutLine::Compacted {
                history: vec![ResponseItem::Message {
                    role: Role::User,
                    text: "summary".into(),
                }],
            },
            RolloutLine::ApprovedForThread {
                argv: vec!["make".into()],
                sandbox_escalation: false,
            },
            RolloutLine::History { item: call.clone() },
        ] {
            writer.append(&line).unwrap();
        }
        drop(writer);
        let loaded = load(dir.path(), &ThreadId("t1".into())).unwrap();
        assert_eq!(loaded.meta, meta("t1"));
        assert_eq!(
            loaded.history,
            vec![
                ResponseItem::Message {
                    role: Role::User,
                    text: "summary".into()
                },
                call,
                ResponseItem::FunctionCallOutput {
                    call_id: "c1".into(),
                    output: ABORTED_CALL_OUTPUT.into(),
                    is_error: true
                }
            ]
        );
        assert_eq!(loaded.repairs.len(), 1);
        assert_eq!(loaded.last_usage, None);
        assert_eq!(loaded.approved_commands, vec![vec!["make".to_string()]]);
        assert_eq!(loaded.next_seq, 3);
    }

    #[test]
    fn rollout_drops_a_torn_last_line_but_not_a_torn_middle() {
        let dir = tempfile::tempdir().unwrap();
        let writer = RolloutWriter::create(dir.path(), &meta("t2")).unwrap();
        let path = writer.path().to_path_buf();
        drop(writer);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"type\":\"history\",\"item\":{\"ty");
        std::fs::write(&path, &text).unwrap();
        let loaded = load(dir.path(), &ThreadId("t2".into())).unwrap();
        assert!(loaded.history.is_empty());
        text.push_str(
            "\n{\"type\":\"turnEnded\",\"turnId\":\"turn-1\",\"outcome\":\"completed\"}\n",
        );
        std::fs::write(&path, &text).unwrap();
        let error = load(dir.path(), &ThreadId("t2".into())).unwrap_err();
        assert!(
            matches!(error, RolloutError::Malformed { line: 2, .. }),
            "{error}"
        );
    }

    #[test]
    fn rollout_lists_threads_with_previews() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = RolloutWriter::create(dir.path(), &meta("t3")).unwrap();
        writer
            .append(&RolloutLine::Item {
                turn_id: "turn-1".into(),
                item: user_item("item-2", &"x".repeat(300)),
            })
            .unwrap();
        RolloutWriter::create(dir.path(), &meta("t4")).unwrap();
        let mut threads = list_threads(dir.path()).unwrap();
        threads.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(threads.len(), 2);
        assert_eq!(
            threads[0].preview.as_deref(),
            Some("x".repeat(100).as_str())
        );
        assert_eq!(threads[1].preview, None);
        assert!(matches!(
            load(dir.path(), &ThreadId("nope".into())),
            Err(RolloutError::NotFound(_))
        ));
    }

    #[test]
    fn an_id_that_is_not_a_plain_name_never_reaches_outside_the_threads_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("threads")).unwrap();
        // A rollout-shaped file beside the threads folder.
        std::fs::write(dir.path().join("outside.jsonl"), "").unwrap();
        for id in [
            "../outside",
            "threads/../../outside",
            "",
            "a/b",
            "..\\outside",
        ] {
            assert!(
                matches!(
                    load(dir.path(), &ThreadId(id.into())),
                    Err(RolloutError::NotFound(_))
                ),
                "{id:?}"
            );
        }
    }
}
