//! A call of an MCP tool (`SERVER__tool`): approval per the server's setting
//! and the policy (asked like a command, through `ask`, with the tool's name
//! and arguments), the call through the hub, and every way it can fail (the
//! server down, exited mid-call, hung past its timeout, an error answer) told
//! to the model as the call's output; an exit is told to the user too. The
//! call shows as a tool call item.

use super::ask::{self, Question};
use super::inbox::Inbox;
use super::state::{Call, Halt, HookPermission, ThreadState, Turn};
use crate::approval;
use crate::mcp::{McpError, McpToolInfo};
use crate::protocol::{Event, ReviewDecision, ThreadItem, ThreadItemKind, ToolCallApproval};
use crate::rollout::RolloutLine;

/// Run `call`, whose tool `info` describes.
pub(crate) async fn run(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &Turn,
    call: &Call,
    info: McpToolInfo,
    permission: HookPermission,
) -> Result<(), Halt> {
    let item_id = state.next_id("item");
    let item = |output: Option<String>, is_error: bool| ThreadItem {
        id: item_id.clone(),
        kind: ThreadItemKind::ToolCall {
            call_id: call.call_id.clone(),
            tool: call.name.clone(),
            arguments: call.arguments.clone(),
            output,
            is_error,
        },
    };
    let policy = state.shared.config.approvals.policy;
    let by_policy =
        approval::mcp_call_needs_approval(policy, info.approval, info.read_only, info.confined);
    // A PreToolUse hook's answer stands over the policy, as for a command.
    let (needs_approval, reason) = match permission {
        HookPermission::AsPolicy => (
            by_policy && !state.approved_tools.contains(&call.name),
            None,
        ),
        HookPermission::Allow => (false, None),
        HookPermission::Ask(reason) => (
            true,
            reason.or_else(|| Some("a PreToolUse hook asks before this call".to_string())),
        ),
    };
    if needs_approval {
        let question = Question {
            argv: Vec::new(),
            cwd: state.shared.workspace.root().to_path_buf(),
            reason,
            sandbox_escalation: false,
            tool_call: Some(ToolCallApproval {
                server: info.server.clone(),
                tool: info.tool.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
            }),
            shown: call.name.clone(),
        };
        match ask::ask(state, inbox, turn, &item_id, question).await? {
            ReviewDecision::Approved => {}
            ReviewDecision::ApprovedForThread => {
                if state.approved_tools.insert(call.name.clone()) {
                    state
                        .record(RolloutLine::ToolApprovedForThread {
                            tool: call.name.clone(),
                        })
                        .await;
                }
            }
            ReviewDecision::Denied => {
                let message = format!(
                    "the user denied calling `{}`; continue without it or ask the user",
                    call.name
                );
                state.answer(call, message.clone(), true).await;
                state.start_item(&turn.id, item(None, false)).await;
                state
                    .complete_item(&turn.id, item(Some(message), true))
                    .await;
                return Ok(());
            }
            ReviewDecision::Abort => {
                let message = format!("the user denied calling `{}`", call.name);
                state.start_item(&turn.id, item(None, false)).await;
                state
                    .complete_item(&turn.id, item(Some(message), true))
                    .await;
                return Err(Halt::Abort);
            }
        }
    }
    state.start_item(&turn.id, item(None, false)).await;
    let hub = state.shared.mcp.clone();
    let span = tracing::info_span!("mcp_call", server = %info.server, tool = %info.tool);
    let result = {
        use tracing::Instrument;
        inbox
            .run(hub.call(&call.name, &call.arguments).instrument(span))
            .await
    };
    let result = match result {
        Ok(result) => result,
        Err(stop) => {
            // The call is abandoned; the turn's end answers it in the history.
            state
                .complete_item(&turn.id, item(Some("interrupted".to_string()), true))
                .await;
            return Err(stop.into());
        }
    };
    let (output, is_error) = match result {
        Ok(answer) => answer,
        Err(error) => {
            if matches!(error, McpError::Exited { .. }) {
                state
                    .emit(Event::Warning {
                        message: error.to_string(),
                    })
                    .await;
            }
            tracing::warn!(%error, "MCP tool call failed");
            (error.to_string(), true)
        }
    };
    state.answer(call, output.clone(), is_error).await;
    state
        .complete_item(&turn.id, item(Some(output), is_error))
        .await;
    Ok(())
}
