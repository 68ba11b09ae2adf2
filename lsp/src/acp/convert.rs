//! Conversions between core's thread items and ACP's session updates, pure
//! functions without I/O: a tool call as the client first sees it (`announce`),
//! its final state (`finish`), plans, the prompt's content blocks as the
//! turn's input, and a whole past thread as `session/load` replays it.

use std::path::{Path, PathBuf};

use agent_client_protocol::v1::schema::{
    ContentBlock, ContentChunk, Diff, EmbeddedResourceResource, Plan, PlanEntry, PlanEntryPriority,
    PlanEntryStatus, SessionUpdate, ToolCall, ToolCallContent, ToolCallId, ToolCallLocation,
    ToolCallStatus, ToolCallUpdate, ToolCallUpdateFields, ToolKind,
};
use agentls_core::protocol::{
    CommandStatus, ContextItem, FileChangeKind, FileDiff, PatchStatus, PlanStep, PlanStepStatus,
    ThreadItem, ThreadItemKind, ToolCallApproval,
};
use serde::Deserialize;

/// At most this much of a tool's output goes into its tool call's content (the
/// model got it all; the client shows a preview).
const MAX_SHOWN_OUTPUT: usize = 8 * 1024;

/// A file change's texts as they were landed: what the file held and what it
/// holds now (`None`: it did not exist, or was deleted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LandedText {
    pub(crate) old: Option<String>,
    pub(crate) new: Option<String>,
}

/// The arguments of the read-only tools that name what they look at.
#[derive(Deserialize, Default)]
struct Target {
    path: Option<String>,
    pattern: Option<String>,
    name: Option<String>,
}

/// The tool call a thread item opens, as the client first sees it; `None` for
/// items that are not tool calls (messages, reasoning, plans).
pub(crate) fn announce(item: &ThreadItem, root: &Path) -> Option<ToolCall> {
    let id = ToolCallId::new(item.id.as_str());
    match &item.kind {
        ThreadItemKind::ToolCall {
            tool, arguments, ..
        } => {
            let target: Target = serde_json::from_str(arguments).unwrap_or_default();
            let locations = target
                .path
                .as_deref()
                .map(|path| vec![ToolCallLocation::new(root.join(path))])
                .unwrap_or_default();
            Some(
                ToolCall::new(id, tool_title(tool, &target))
                    .name(tool.clone())
                    .kind(tool_kind(tool))
                    .status(ToolCallStatus::InProgress)
                    .locations(locations)
                    .raw_input(serde_json::from_str::<serde_json::Value>(arguments).ok()),
            )
        }
        ThreadItemKind::CommandExecution { argv, .. } => {
            Some(command_call(id, argv, root, &item_cwd(item)).status(ToolCallStatus::InProgress))
        }
        ThreadItemKind::FileChange { changes, .. } => Some(
            ToolCall::new(id, edit_title(changes, root))
                .name("apply_patch".to_string())
                .kind(edit_kind(changes))
                .status(ToolCallStatus::InProgress)
                .locations(locations(changes))
                .content(unified_diffs(changes)),
        ),
        _ => None,
    }
}

/// A command waiting for approval, announced before the permission request
/// that names it.
pub(crate) fn pending_command(item_id: &str, argv: &[String], cwd: &Path, root: &Path) -> ToolCall {
    command_call(ToolCallId::new(item_id), argv, root, cwd).status(ToolCallStatus::Pending)
}

/// An MCP tool call waiting for approval, announced before the permission
/// request that names it: the tool, its server and its arguments.
pub(crate) fn pending_tool_call(item_id: &str, call: &ToolCallApproval) -> ToolCall {
    ToolCall::new(
        ToolCallId::new(item_id),
        format!("`{}` of the MCP server `{}`", call.tool, call.server),
    )
    .name(call.name.clone())
    .kind(ToolKind::Other)
    .status(ToolCallStatus::Pending)
    .raw_input(serde_json::from_str::<serde_json::Value>(&call.arguments).ok())
}

fn command_call(id: ToolCallId, argv: &[String], root: &Path, cwd: &Path) -> ToolCall {
    let mut title = format!("`{}`", argv.join(" "));
    if cwd != root {
        title.push_str(&format!(" in {}", shown(cwd, root)));
    }
    ToolCall::new(id, title)
        .name("shell".to_string())
        .kind(ToolKind::Execute)
        .locations(vec![ToolCallLocation::new(cwd)])
}

fn item_cwd(item: &ThreadItem) -> PathBuf {
    match &item.kind {
        ThreadItemKind::CommandExecution { cwd, .. } => cwd.clone(),
        _ => PathBuf::new(),
    }
}

/// The final state of a finished tool call; `landed` has the texts of a file
/// change that went through this front end's workspace (shown as diffs the
/// client can render), else its unified diffs are shown as text.
pub(crate) fn finish(
    item: &ThreadItem,
    landed: &[(PathBuf, LandedText)],
) -> Option<ToolCallUpdate> {
    let id = ToolCallId::new(item.id.as_str());
    let fields = match &item.kind {
        ThreadItemKind::ToolCall {
            output, is_error, ..
        } => {
            let status = if *is_error {
                ToolCallStatus::Failed
            } else {
                ToolCallStatus::Completed
            };
            ToolCallUpdateFields::new()
                .status(status)
                .content(output.as_deref().map(|output| vec![fenced(output)]))
        }
        ThreadItemKind::CommandExecution {
            output,
            exit_code,
            status,
            ..
        } => {
            let (status, note) = match (status, exit_code) {
                (CommandStatus::Completed, _) => (ToolCallStatus::Completed, None),
                (CommandStatus::Declined, _) => (ToolCallStatus::Failed, Some("not run: declined")),
                (CommandStatus::Interrupted, _) => (ToolCallStatus::Failed, Some("interrupted")),
                (CommandStatus::Failed | CommandStatus::InProgress, _) => {
                    (ToolCallStatus::Failed, None)
                }
            };
            let mut content = Vec::new();
            if !output.is_empty() {
                content.push(fenced(output));
            }
            match (note, exit_code) {
                (Some(note), _) => content.push(ToolCallContent::from(note.to_string())),
                (None, Some(code)) if *code != 0 => {
                    content.push(ToolCallContent::from(format!("exit status {code}")))
                }
                _ => {}
            }
            ToolCallUpdateFields::new().status(status).content(content)
        }
        ThreadItemKind::FileChange {
            changes,
            status,
            error,
            ..
        } => {
            let mut content = if landed.is_empty() {
                unified_diffs(changes)
            } else {
                landed
                    .iter()
                    .filter_map(|(path, text)| {
                        text.new
                            .clone()
                            .or_else(|| text.old.as_ref().map(|_| String::new()))
                            .map(|new| {
                                ToolCallContent::Diff(
                                    Diff::new(path.clone(), new).old_text(text.old.clone()),
                                )
                            })
                    })
                    .collect()
            };
            let status = match status {
                PatchStatus::Applied => ToolCallStatus::Completed,
                PatchStatus::Failed | PatchStatus::InProgress => ToolCallStatus::Failed,
            };
            if let Some(error) = error {
                content.push(ToolCallContent::from(format!("not applied: {error}")));
            }
            ToolCallUpdateFields::new().status(status).content(content)
        }
        _ => return None,
    };
    Some(ToolCallUpdate::new(id, fields))
}

/// A tool call that will never finish (its turn was interrupted or its model
/// call retried).
pub(crate) fn abandoned(item_id: &str) -> ToolCallUpdate {
    ToolCallUpdate::new(
        ToolCallId::new(item_id),
        ToolCallUpdateFields::new().status(ToolCallStatus::Failed),
    )
}

/// The model's plan.
pub(crate) fn plan(steps: &[PlanStep]) -> Plan {
    Plan::new(
        steps
            .iter()
            .map(|step| {
                let status = match step.status {
                    PlanStepStatus::Pending => PlanEntryStatus::Pending,
                    PlanStepStatus::InProgress => PlanEntryStatus::InProgress,
                    PlanStepStatus::Completed => PlanEntryStatus::Completed,
                };
                PlanEntry::new(step.step.clone(), PlanEntryPriority::Medium, status)
            })
            .collect(),
    )
}

/// Text as a message chunk.
pub(crate) fn chunk(text: impl Into<String>) -> ContentChunk {
    ContentChunk::new(ContentBlock::from(text.into()))
}

/// A prompt's content blocks as the turn's input: the text blocks joined, the
/// resources it embeds as context, the resources it links named in the text
/// (the agent reads them with its tools). Images and audio are refused.
pub(crate) fn prompt_input(blocks: &[ContentBlock]) -> Result<(String, Vec<ContextItem>), String> {
    let mut text = String::new();
    let mut context = Vec::new();
    let mut push = |piece: &str| {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(piece);
    };
    for block in blocks {
        match block {
            ContentBlock::Text(content) => push(&content.text),
            ContentBlock::ResourceLink(link) => push(&format!("@{}", uri_path(&link.uri))),
            ContentBlock::Resource(embedded) => match &embedded.resource {
                EmbeddedResourceResource::TextResourceContents(resource) => {
                    let path = uri_path(&resource.uri);
                    context.push(ContextItem {
                        label: format!("the content of {path}"),
                        path: Some(PathBuf::from(path)),
                        text: resource.text.clone(),
                    })
                }
                EmbeddedResourceResource::BlobResourceContents(resource) => {
                    return Err(format!(
                        "the prompt embeds binary data ({}), which agentls cannot read",
                        resource.uri
                    ))
                }
                _ => return Err("the prompt embeds a resource of an unknown kind".to_string()),
            },
            ContentBlock::Image(_) => {
                return Err("the prompt has an image: agentls takes text only".to_string())
            }
            ContentBlock::Audio(_) => {
                return Err("the prompt has audio: agentls takes text only".to_string())
            }
            _ => return Err("the prompt has a content block of an unknown kind".to_string()),
        }
    }
    if text.trim().is_empty() && context.is_empty() {
        return Err("the prompt is empty".to_string());
    }
    Ok((text, context))
}

/// A `file://` URI's path, or the URI itself.
fn uri_path(uri: &str) -> &str {
    uri.strip_prefix("file://").unwrap_or(uri)
}

/// The past items of a thread as the updates that show them again.
pub(crate) fn replay(items: &[ThreadItem], root: &Path) -> Vec<SessionUpdate> {
    let mut updates = Vec::new();
    for item in items {
        match &item.kind {
            ThreadItemKind::UserMessage { text, .. } => {
                updates.push(SessionUpdate::UserMessageChunk(chunk(text.clone())))
            }
            ThreadItemKind::AssistantMessage { text } if !text.is_empty() => {
                updates.push(SessionUpdate::AgentMessageChunk(chunk(text.clone())))
            }
            ThreadItemKind::Reasoning { summary } if !summary.is_empty() => {
                updates.push(SessionUpdate::AgentThoughtChunk(chunk(summary.join("\n"))))
            }
            ThreadItemKind::Plan { steps, .. } => updates.push(SessionUpdate::Plan(plan(steps))),
            ThreadItemKind::Compaction { .. } => updates.push(SessionUpdate::AgentThoughtChunk(
                chunk("(the conversation was compacted to fit the context window)"),
            )),
            ThreadItemKind::ToolCall { .. }
            | ThreadItemKind::CommandExecution { .. }
            | ThreadItemKind::FileChange { .. } => {
                if let (Some(mut call), Some(update)) = (announce(item, root), finish(item, &[])) {
                    call.update(update.fields);
                    updates.push(SessionUpdate::ToolCall(call));
                }
            }
            ThreadItemKind::AssistantMessage { .. } | ThreadItemKind::Reasoning { .. } => {}
        }
    }
    updates
}

fn tool_kind(tool: &str) -> ToolKind {
    match tool {
        "read_file" | "list_dir" | "outline" => ToolKind::Read,
        "grep" | "find_definition" | "find_references" => ToolKind::Search,
        "update_plan" => ToolKind::Think,
        "apply_patch" => ToolKind::Edit,
        "shell" => ToolKind::Execute,
        _ => ToolKind::Other,
    }
}

fn tool_title(tool: &str, target: &Target) -> String {
    let path = target.path.as_deref();
    match (tool, path, &target.pattern, &target.name) {
        ("read_file", Some(path), _, _) => format!("Read {path}"),
        ("list_dir", path, _, _) => format!("List {}", path.unwrap_or(".")),
        ("outline", Some(path), _, _) => format!("Outline {path}"),
        ("grep", path, Some(pattern), _) => match path {
            Some(path) => format!("Search for `{pattern}` in {path}"),
            None => format!("Search for `{pattern}`"),
        },
        ("find_definition", _, _, Some(name)) => format!("Find the definition of `{name}`"),
        ("find_references", _, _, Some(name)) => format!("Find the references to `{name}`"),
        (tool, _, _, _) => tool.to_string(),
    }
}

fn edit_title(changes: &[FileDiff], root: &Path) -> String {
    let paths: Vec<String> = changes
        .iter()
        .map(|change| shown(&change.path, root))
        .collect();
    let verb = match changes {
        [FileDiff {
            kind: FileChangeKind::Add,
            ..
        }] => "Create",
        [FileDiff {
            kind: FileChangeKind::Delete,
            ..
        }] => "Delete",
        _ => "Edit",
    };
    format!("{verb} {}", paths.join(", "))
}

fn edit_kind(changes: &[FileDiff]) -> ToolKind {
    match changes {
        [FileDiff {
            kind: FileChangeKind::Delete,
            ..
        }] => ToolKind::Delete,
        [FileDiff {
            kind: FileChangeKind::Update {
                moved_from: Some(_),
            },
            ..
        }] => ToolKind::Move,
        _ => ToolKind::Edit,
    }
}

fn locations(changes: &[FileDiff]) -> Vec<ToolCallLocation> {
    changes
        .iter()
        .map(|change| ToolCallLocation::new(change.path.clone()))
        .collect()
}

/// The unified diffs as Markdown, for a change whose texts this front end did
/// not see (in flight, or read back from the rollout).
fn unified_diffs(changes: &[FileDiff]) -> Vec<ToolCallContent> {
    changes
        .iter()
        .map(|change| ToolCallContent::from(format!("```diff\n{}\n```", change.diff.trim_end())))
        .collect()
}

/// Output as a fenced block, cut to `MAX_SHOWN_OUTPUT`.
fn fenced(output: &str) -> ToolCallContent {
    let (shown, cut) = match output.char_indices().nth(MAX_SHOWN_OUTPUT) {
        Some((end, _)) => (&output[..end], true),
        None => (output, false),
    };
    let fence = if shown.contains("```") { "````" } else { "```" };
    let mut text = format!("{fence}\n{}\n{fence}", shown.trim_end());
    if cut {
        text.push_str(&format!(
            "\n({} more bytes not shown)",
            output.len() - shown.len()
        ));
    }
    ToolCallContent::from(text)
}

fn shown(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests;
