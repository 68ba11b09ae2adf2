//! Asking the front end for an approval and waiting for its answer: the one
//! path that commands (`shell`) and MCP tool calls (`mcp_call`) share, so a
//! front end shows both the same way. No answer within
//! `approvals.timeout_secs` counts as a denial.

use std::path::PathBuf;
use std::time::Duration;

use super::inbox::Inbox;
use super::state::{Halt, ThreadState, Turn};
use crate::protocol::{Event, ReviewDecision, ToolCallApproval};

/// What the user is asked about.
pub(crate) struct Question {
    /// The command (empty for a tool call).
    pub(crate) argv: Vec<String>,
    pub(crate) cwd: PathBuf,
    pub(crate) reason: Option<String>,
    pub(crate) sandbox_escalation: bool,
    pub(crate) tool_call: Option<ToolCallApproval>,
    /// What the timeout warning names (`cargo test`, `everything__echo`).
    pub(crate) shown: String,
}

pub(crate) async fn ask(
    state: &mut ThreadState,
    inbox: &mut Inbox,
    turn: &Turn,
    item_id: &str,
    question: Question,
) -> Result<ReviewDecision, Halt> {
    let id = state.next_id("approval");
    let shown = question.shown;
    state
        .emit(Event::ApprovalRequested {
            turn_id: turn.id.clone(),
            id: id.clone(),
            item_id: item_id.to_string(),
            argv: question.argv,
            cwd: question.cwd,
            reason: question.reason,
            sandbox_escalation: question.sandbox_escalation,
            tool_call: question.tool_call,
        })
        .await;
    let timeout = Duration::from_secs(state.shared.config.approvals.timeout_secs);
    let decision = match inbox.decision(&id, timeout).await? {
        Some(decision) => decision,
        None => {
            state
                .emit(Event::Warning {
                    message: format!(
                        "no answer to the approval of `{shown}` within {} s: treated as denied",
                        timeout.as_secs()
                    ),
                })
                .await;
            ReviewDecision::Denied
        }
    };
    state
        .emit(Event::ApprovalResolved {
            turn_id: turn.id.clone(),
            id,
            item_id: item_id.to_string(),
            decision,
        })
        .await;
    Ok(decision)
}
