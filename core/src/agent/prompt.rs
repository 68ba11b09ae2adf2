//! The prompt, built so that provider prompt caches hit: a stable prefix fixed when
//! the thread starts (instructions, the tools in their fixed order, the
//! environment context, AGENTS.md) and stored in the rollout, then the history,
//! which only ever grows at its end. Each request of a thread is therefore the
//! previous one plus appended items, byte for byte, until a compaction replaces
//! the history.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::state::{Shared, ThreadState};
use crate::model::{ModelRequest, ReasoningConfig, ResponseItem, Role, ToolSpec};
use crate::protocol::ContextItem;

/// The base instructions every thread starts with.
const INSTRUCTIONS: &str = include_str!("instructions.md");

/// The most AGENTS.md text that goes into the prefix, all files together.
pub(crate) const AGENTS_MD_BUDGET: usize = 32 * 1024;

pub(crate) struct Prefix {
    pub(crate) instructions: String,
    pub(crate) tools: Vec<ToolSpec>,
    pub(crate) items: Vec<ResponseItem>,
}

/// The prefix of a new thread working in `cwd`.
pub(crate) fn build_prefix(shared: &Shared, cwd: &Path, now: DateTime<Utc>) -> Prefix {
    let mut items = vec![ResponseItem::Message {
        role: Role::User,
        text: environment_context(shared, cwd, now),
    }];
    if let Some(text) = agents_md(shared, cwd) {
        items.push(ResponseItem::Message {
            role: Role::User,
            text,
        });
    }
    Prefix {
        instructions: INSTRUCTIONS.to_string(),
        tools: crate::tools::specs(),
        items,
    }
}

fn environment_context(shared: &Shared, cwd: &Path, now: DateTime<Utc>) -> String {
    let approval = serde_json::to_value(shared.config.approvals.policy)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default();
    let sandbox = serde_json::to_value(shared.config.sandbox.policy)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default();
    format!(
        "<environment_context>\n  <cwd>{}</cwd>\n  <workspace_root>{}</workspace_root>\n  \
         <approval_policy>{approval}</approval_policy>\n  <sandbox_mode>{sandbox}</sandbox_mode>\n  \
         <os>{}</os>\n  <shell>{}</shell>\n  <current_date>{}</current_date>\n</environment_context>",
        cwd.display(),
        shared.workspace.root().display(),
        shared.environment.os,
        shared.environment.shell,
        now.format("%Y-%m-%d"),
    )
}

/// The AGENTS.md files from the workspace root down to `cwd`, outermost first
/// (deeper files are more specific and come later), within `AGENTS_MD_BUDGET`.
fn agents_md(shared: &Shared, cwd: &Path) -> Option<String> {
    let root = shared.workspace.root();
    let mut dirs = vec![root.to_path_buf()];
    if let Ok(relative) = cwd.strip_prefix(root) {
        let mut dir = root.to_path_buf();
        for component in relative.components() {
            dir.push(component);
            dirs.push(dir.clone());
        }
    }
    let mut out = String::new();
    let mut budget = AGENTS_MD_BUDGET;
    for dir in dirs {
        if budget == 0 {
            break;
        }
        let Ok(snapshot) = shared.workspace.read_file(&dir.join("AGENTS.md")) else {
            continue;
        };
        let text = snapshot.text.trim();
        if text.is_empty() {
            continue;
        }
        let (text, truncated) = if text.len() > budget {
            (cut_at_char_boundary(text, budget), true)
        } else {
            (text, false)
        };
        budget -= text.len();
        let shown: PathBuf = match dir.strip_prefix(root) {
            Ok(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
            Ok(relative) => relative.to_path_buf(),
            Err(_) => dir.clone(),
        };
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&format!(
            "# AGENTS.md instructions for {}\n\n<INSTRUCTIONS>\n{text}{}\n</INSTRUCTIONS>",
            shown.display(),
            if truncated { "\n[truncated]" } else { "" }
        ));
    }
    (!out.is_empty()).then_some(out)
}

fn cut_at_char_boundary(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The user's input as the model reads it: the context blocks, then the text.
pub(crate) fn user_message(text: &str, context: &[ContextItem]) -> ResponseItem {
    let mut message = String::new();
    for item in context {
        message.push_str("<context label=\"");
        message.push_str(&item.label);
        message.push('"');
        if let Some(path) = &item.path {
            message.push_str(" path=\"");
            message.push_str(&path.display().to_string());
            message.push('"');
        }
        message.push_str(">\n");
        message.push_str(&item.text);
        if !item.text.ends_with('\n') {
            message.push('\n');
        }
        message.push_str("</context>\n\n");
    }
    message.push_str(text);
    ResponseItem::Message {
        role: Role::User,
        text: message,
    }
}

/// The request for the thread's prefix followed by `history` (the thread's own,
/// or a trimmed copy for a compaction) and `extra` items (the compaction prompt).
pub(crate) fn request(
    state: &ThreadState,
    history: &[ResponseItem],
    extra: &[ResponseItem],
) -> ModelRequest {
    let config = &state.shared.config.provider;
    let mut input = Vec::with_capacity(state.meta.prefix.len() + history.len() + extra.len());
    input.extend_from_slice(&state.meta.prefix);
    input.extend_from_slice(history);
    input.extend_from_slice(extra);
    ModelRequest {
        // Empty: the provider's configured default.
        model: config.model.clone().unwrap_or_default(),
        instructions: state.meta.instructions.clone(),
        tools: state.meta.tools.clone(),
        input,
        prompt_cache_key: Some(state.meta.id.0.clone()),
        parallel_tool_calls: true,
        reasoning: config
            .reasoning_effort
            .as_ref()
            .map(|effort| ReasoningConfig {
                effort: effort.clone(),
                summary: Some("auto".to_string()),
            }),
        max_output_tokens: None,
    }
}

/// Characters per token in the estimate used when the provider reports no usage.
const CHARS_PER_TOKEN: u64 = 4;

fn item_chars(item: &ResponseItem) -> u64 {
    let chars = match item {
        ResponseItem::Message { text, .. } => text.len(),
        ResponseItem::Reasoning {
            summary,
            encrypted_content,
            ..
        } => {
            summary.iter().map(String::len).sum::<usize>()
                + encrypted_content.as_ref().map_or(0, String::len)
        }
        ResponseItem::FunctionCall {
            name, arguments, ..
        } => name.len() + arguments.len(),
        ResponseItem::FunctionCallOutput { output, .. } => output.len(),
    };
    chars as u64
}

/// How many tokens the next request holds: the provider's last report plus an
/// estimate of what was appended since, or an estimate of everything.
pub(crate) fn estimate_tokens(state: &ThreadState) -> u64 {
    match state.last_usage {
        Some((usage, covered)) if covered <= state.history.len() => {
            let reported = usage.input_tokens + usage.output_tokens;
            let added: u64 = state.history[covered..].iter().map(item_chars).sum();
            reported + added / CHARS_PER_TOKEN
        }
        _ => {
            let fixed = state.meta.instructions.len() as u64
                + state
                    .meta
                    .tools
                    .iter()
                    .map(|tool| {
                        (tool.name.len()
                            + tool.description.len()
                            + tool.parameters.to_string().len()) as u64
                    })
                    .sum::<u64>();
            let items: u64 = state
                .meta
                .prefix
                .iter()
                .chain(&state.history)
                .map(item_chars)
                .sum();
            (fixed + items) / CHARS_PER_TOKEN
        }
    }
}
