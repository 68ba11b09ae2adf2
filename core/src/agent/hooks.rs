//! The loop's side of hooks (`crate::hooks` runs them): which event fires
//! where, what the hooks are told, and what their verdict does.
//!
//! - `SessionStart` when a thread starts or resumes: context joins the history.
//! - `UserPromptSubmit` before a turn's input reaches the model: context goes
//!   with the input; a block fails the turn with the reason, the input unsent.
//! - `PreToolUse` before each tool call: a block answers the call with the
//!   reason (the model reads it as the tool's output); `ask` asks the user as
//!   for a command; `allow` runs a command without asking.
//! - `PostToolUse` after a call succeeded: a block's reason and any context
//!   reach the model after the call's output, at the tool boundary.
//! - `Stop` when the model ends its turn: a block sends the reason to the
//!   model and the turn goes on (at most `MAX_STOP_CONTINUATIONS` times).
//!
//! Without hooks for an event nothing runs and nothing is read.

use serde_json::Value;

use super::inbox::Inbox;
use super::shell;
use super::state::{Call, Halt, HookPermission, ThreadState, Turn};
use crate::hooks::{self, HookDecision, HookDetail, HookInput, HookPlace, HookVerdict};
use crate::hooks::{HookEventName, SessionSource};
use crate::model::ResponseItem;
use crate::protocol::{ContextItem, Event, ReviewDecision};
use crate::tools::{self, ToolKind};

/// How many times Stop hooks may keep one turn going; past it the turn ends
/// with a warning (a hook that ignores `stop_hook_active` would loop forever).
pub(crate) const MAX_STOP_CONTINUATIONS: usize = 8;

/// What `PreToolUse` hooks said about a call.
pub(crate) enum Gate {
    Run(HookPermission),
    /// The call is answered with this message instead of running.
    Refused(String),
}

/// Runs the hooks of `detail`'s event that match; their messages go to the
/// user, `continue: false` halts the turn.
async fn fire(
    state: &ThreadState,
    inbox: &mut Inbox,
    detail: HookDetail,
) -> Result<HookVerdict, Halt> {
    let event = detail.event();
    let matching = state.shared.config.hooks.matching(event, detail.subject());
    if matching.is_empty() {
        return Ok(HookVerdict::default());
    }
    let input = HookInput::new(
        state.id().0.clone(),
        crate::rollout::rollout_path(&state.shared.data_dir, state.id()),
        state.meta.cwd.clone(),
        detail,
    );
    let place = HookPlace {
        root: state.shared.workspace.root(),
        policy: state.shared.config.sandbox.policy,
    };
    let runner = state.shared.runner.clone();
    let verdict = inbox
        .run(hooks::run_hooks(&*runner, &matching, &input, place))
        .await?;
    for message in &verdict.messages {
        state
            .emit(Event::Warning {
                message: message.clone(),
            })
            .await;
    }
    if let Some(reason) = &verdict.stop {
        return Err(Halt::Fatal(format!(
            "a {event} hook stopped the turn: {reason}"
        )));
    }
    Ok(verdict)
}

fn has_hooks(state: &ThreadState, event: HookEventName) -> bool {
    !state.shared.config.hooks.for_event(event).is_empty()
}

/// Whether a `PreToolUse` hook matches `tool` (such a call is not batched
/// with other read-only calls: its hooks run first).
pub(crate) fn guards(state: &ThreadState, tool: &str) -> bool {
    state
        .shared
        .config
        .hooks
        .pre_tool_use
        .iter()
        .any(|hook| hook.matches(tool))
}

/// The tool as hooks see it: its name and its arguments, with `file_paths`
/// (absolute, from the patch's headers) added for a patch. A patch sent
/// through `shell` shows as `apply_patch`, so a hook on `apply_patch` sees
/// every edit.
fn tool_view(state: &ThreadState, call: &Call) -> (String, Value) {
    let mut input = match serde_json::from_str::<Value>(&call.arguments) {
        Ok(Value::Object(map)) => Value::Object(map),
        _ => serde_json::json!({ "arguments": call.arguments }),
    };
    let patch = match tools::kind_of(&call.name) {
        Some(ToolKind::Patch) => tools::patch_text_from_arguments(&call.arguments).ok(),
        Some(ToolKind::Shell) => tools::parse_shell_args(&call.arguments)
            .ok()
            .and_then(|args| tools::patch_from_shell(&args.argv))
            .inspect(|patch| input = serde_json::json!({ "input": patch })),
        _ => None,
    };
    let Some(patch) = patch else {
        return (call.name.clone(), input);
    };
    let paths = tools::patch_paths(&patch, state.shared.workspace.root())
        .into_iter()
        .map(|path| Value::String(path.display().to_string()))
        .collect();
    if let Value::Object(map) = &mut input {
        map.insert("file_paths".into(), Value::Array(paths));
    }
    ("apply_patch".to_string(), input)
}

/// `PreToolUse` for `call`.
pub(crate) async fn pre_tool_use(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &Turn,
    call: &Call,
) -> Result<Gate, Halt> {
    if !has_hooks(state, HookEventName::PreToolUse) {
        return Ok(Gate::Run(HookPermission::AsPolicy));
    }
    let (tool_name, tool_input) = tool_view(state, call);
    let detail = HookDetail::PreToolUse {
        tool_name: tool_name.clone(),
        tool_input,
        tool_use_id: call.call_id.clone(),
    };
    let verdict = fire(state, inbox, detail).await?;
    let permission = match verdict.decision {
        None => HookPermission::AsPolicy,
        Some(HookDecision::Block { reason }) => {
            tracing::info!(tool = %call.name, %reason, "a PreToolUse hook blocked the call");
            return Ok(Gate::Refused(format!(
                "a PreToolUse hook blocked this call: {reason}"
            )));
        }
        Some(HookDecision::Allow { .. }) => HookPermission::Allow,
        Some(HookDecision::Ask { reason }) => HookPermission::Ask(reason),
    };
    // A command asks in `shell::run` and an MCP call in `mcp_call::run`, each
    // with its own question; anything else here.
    let asks_itself = tool_name == "shell" || state.shared.mcp.tool_info(&call.name).is_some();
    if let (HookPermission::Ask(reason), false) = (&permission, asks_itself) {
        let item_id = state.next_id("item");
        let argv = vec![tool_name, shown_arguments(&call.arguments)];
        let cwd = state.meta.cwd.clone();
        let reason =
            Some(reason.clone().unwrap_or_else(|| {
                format!("a PreToolUse hook asks before this {} call", call.name)
            }));
        let decision = shell::ask(state, inbox, turn, &item_id, &argv, &cwd, reason, false).await?;
        return match decision {
            ReviewDecision::Approved | ReviewDecision::ApprovedForThread => {
                Ok(Gate::Run(HookPermission::Allow))
            }
            ReviewDecision::Denied => Ok(Gate::Refused(format!(
                "the user declined this {} call; continue without it or ask the user",
                call.name
            ))),
            ReviewDecision::Abort => Err(Halt::Abort),
        };
    }
    Ok(Gate::Run(permission))
}

/// A call's arguments as an approval shows them: short.
fn shown_arguments(arguments: &str) -> String {
    let line: String = arguments.chars().take(120).collect();
    line.replace('\n', " ")
}

/// `PostToolUse` for `call`, once it has been answered; only a call that
/// succeeded counts.
pub(crate) async fn post_tool_use(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &mut Turn,
    call: &Call,
) -> Result<(), Halt> {
    if !has_hooks(state, HookEventName::PostToolUse) {
        return Ok(());
    }
    let answered = state.history.iter().rev().find_map(|item| match item {
        ResponseItem::FunctionCallOutput {
            call_id,
            output,
            is_error,
        } if *call_id == call.call_id => Some((output.clone(), *is_error)),
        _ => None,
    });
    let Some((output, false)) = answered else {
        return Ok(());
    };
    let (tool_name, tool_input) = tool_view(state, call);
    let detail = HookDetail::PostToolUse {
        tool_name: tool_name.clone(),
        tool_input,
        tool_response: serde_json::json!({ "output": output, "success": true }),
        tool_use_id: call.call_id.clone(),
    };
    let verdict = fire(state, inbox, detail).await?;
    let label = format!("PostToolUse hook on {tool_name} ({})", call.call_id);
    if let Some(reason) = verdict.blocked() {
        turn.hook_context.push(ContextItem {
            label: label.clone(),
            path: None,
            text: reason.to_string(),
        });
    }
    for text in verdict.context {
        turn.hook_context.push(ContextItem {
            label: label.clone(),
            path: None,
            text,
        });
    }
    Ok(())
}

/// `UserPromptSubmit` for a turn's input: the context the hooks add, or a
/// halt when they refuse the prompt.
pub(crate) async fn user_prompt_submit(
    state: &ThreadState,
    inbox: &mut Inbox,
    prompt: &str,
) -> Result<Vec<ContextItem>, Halt> {
    if !has_hooks(state, HookEventName::UserPromptSubmit) {
        return Ok(Vec::new());
    }
    let detail = HookDetail::UserPromptSubmit {
        prompt: prompt.to_string(),
    };
    let verdict = fire(state, inbox, detail).await?;
    if let Some(reason) = verdict.blocked() {
        return Err(Halt::Fatal(format!(
            "a UserPromptSubmit hook refused the prompt: {reason}"
        )));
    }
    Ok(verdict
        .context
        .into_iter()
        .map(|text| ContextItem {
            label: "UserPromptSubmit hook".into(),
            path: None,
            text,
        })
        .collect())
}

/// `Stop` as the model ends its turn: the reason to go on, if a hook gave one.
pub(crate) async fn stop(
    state: &ThreadState,
    inbox: &mut Inbox,
    continuations: usize,
) -> Result<Option<String>, Halt> {
    if !has_hooks(state, HookEventName::Stop) {
        return Ok(None);
    }
    let detail = HookDetail::Stop {
        stop_hook_active: continuations > 0,
    };
    let verdict = fire(state, inbox, detail).await?;
    let Some(reason) = verdict.blocked() else {
        return Ok(None);
    };
    if continuations >= MAX_STOP_CONTINUATIONS {
        state
            .emit(Event::Warning {
                message: format!(
                    "Stop hooks kept the turn going {MAX_STOP_CONTINUATIONS} times; ending it anyway (last reason: {reason})"
                ),
            })
            .await;
        return Ok(None);
    }
    Ok(Some(reason.to_string()))
}

/// `SessionStart` as the thread's task begins: what the hooks say joins the
/// history (and the rollout) before the first turn.
pub(crate) async fn session_start(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    source: SessionSource,
) -> Result<(), Halt> {
    if !has_hooks(state, HookEventName::SessionStart) {
        return Ok(());
    }
    let verdict = fire(state, inbox, HookDetail::SessionStart { source }).await?;
    let context: Vec<ContextItem> = verdict
        .context
        .into_iter()
        .map(|text| ContextItem {
            label: "SessionStart hook".into(),
            path: None,
            text,
        })
        .collect();
    if !context.is_empty() {
        state
            .push_history(super::prompt::user_message("", &context))
            .await;
    }
    Ok(())
}
