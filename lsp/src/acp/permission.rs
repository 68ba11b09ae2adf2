//! Approvals through `session/request_permission`: the options offered (allow
//! once, allow always in this session, reject), what each answer decides, and
//! the task that asks and hands the decision to the thread.

use agent_client_protocol::v1::schema::{
    PermissionOption, PermissionOptionKind, RequestPermissionOutcome, RequestPermissionRequest,
    SessionId, SessionNotification, SessionUpdate, ToolCallContent, ToolCallUpdate,
    ToolCallUpdateFields,
};
use agentls_core::agent::ThreadHandle;
use agentls_core::protocol::{Op, ReviewDecision};

use super::state::Peer;

pub(crate) const ALLOW_ONCE: &str = "allow_once";
pub(crate) const ALLOW_ALWAYS: &str = "allow_always";
pub(crate) const REJECT_ONCE: &str = "reject_once";

/// What the client is offered for a command.
pub(crate) fn options(sandbox_escalation: bool) -> Vec<PermissionOption> {
    let (once, always) = if sandbox_escalation {
        (
            "Run it again outside the sandbox",
            "Always run it outside the sandbox in this session",
        )
    } else {
        ("Allow once", "Always allow in this session")
    };
    vec![
        PermissionOption::new(ALLOW_ONCE, once, PermissionOptionKind::AllowOnce),
        PermissionOption::new(ALLOW_ALWAYS, always, PermissionOptionKind::AllowAlways),
        PermissionOption::new(REJECT_ONCE, "Reject", PermissionOptionKind::RejectOnce),
    ]
}

/// What an answer decides; `Err` names an option that was never offered
/// (decided as a rejection).
pub(crate) fn decision(outcome: &RequestPermissionOutcome) -> Result<ReviewDecision, String> {
    match outcome {
        RequestPermissionOutcome::Selected(selected) => match &*selected.option_id.0 {
            ALLOW_ONCE => Ok(ReviewDecision::Approved),
            ALLOW_ALWAYS => Ok(ReviewDecision::ApprovedForThread),
            REJECT_ONCE => Ok(ReviewDecision::Denied),
            other => Err(other.to_string()),
        },
        // The client cancels its permission requests when the prompt is
        // cancelled: stop the turn.
        RequestPermissionOutcome::Cancelled => Ok(ReviewDecision::Abort),
        _ => Err("an outcome of an unknown kind".to_string()),
    }
}

/// One question to the client.
pub(crate) struct Question {
    pub(crate) session_id: SessionId,
    /// The core's approval id.
    pub(crate) approval_id: String,
    /// The tool call it is about, announced before.
    pub(crate) tool_call: ToolCallUpdate,
    pub(crate) sandbox_escalation: bool,
}

/// Ask the client and give the thread its decision. A request the client
/// fails is a rejection. The core's approval timeout bounds the wait: the
/// relay aborts this task when the core decides without the answer, which
/// drops the request (the SDK sends `$/cancel_request`).
pub(crate) async fn ask(peer: Peer, thread: ThreadHandle, question: Question) {
    let Question {
        session_id,
        approval_id,
        tool_call,
        sandbox_escalation,
    } = question;
    let tool_call_id = tool_call.tool_call_id.clone();
    let request =
        RequestPermissionRequest::new(session_id.clone(), tool_call, options(sandbox_escalation));
    let decision = match peer.send_request(request).block_task().await {
        Ok(response) => match decision(&response.outcome) {
            Ok(decision) => decision,
            Err(unknown) => {
                tracing::warn!(%session_id, option_id = %unknown, "permission answered with an option that was not offered");
                let note = format!(
                    "the client answered the permission request with `{unknown}`, which was not offered ({ALLOW_ONCE}, {ALLOW_ALWAYS} or {REJECT_ONCE}): rejected"
                );
                let update = ToolCallUpdate::new(
                    tool_call_id,
                    ToolCallUpdateFields::new().content(vec![ToolCallContent::from(note)]),
                );
                let _ = peer.send_notification(SessionNotification::new(
                    session_id.clone(),
                    SessionUpdate::ToolCallUpdate(update),
                ));
                ReviewDecision::Denied
            }
        },
        Err(error) => {
            tracing::warn!(%session_id, %error, "the permission request failed: rejected");
            ReviewDecision::Denied
        }
    };
    let _ = thread
        .submit(Op::ApprovalDecision {
            id: approval_id,
            decision,
        })
        .await;
}

#[cfg(test)]
mod tests {
    use agent_client_protocol::v1::schema::SelectedPermissionOutcome;

    use super::*;

    fn selected(id: &str) -> RequestPermissionOutcome {
        RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(id.to_string()))
    }

    #[test]
    fn acp_permission_answers_decide_once_always_reject_or_abort() {
        assert_eq!(
            decision(&selected(ALLOW_ONCE)),
            Ok(ReviewDecision::Approved)
        );
        assert_eq!(
            decision(&selected(ALLOW_ALWAYS)),
            Ok(ReviewDecision::ApprovedForThread)
        );
        assert_eq!(decision(&selected(REJECT_ONCE)), Ok(ReviewDecision::Denied));
        assert_eq!(
            decision(&RequestPermissionOutcome::Cancelled),
            Ok(ReviewDecision::Abort)
        );
        assert_eq!(decision(&selected("yes")), Err("yes".to_string()));
    }

    #[test]
    fn acp_permission_options_are_the_ones_decided() {
        for escalation in [false, true] {
            for option in options(escalation) {
                assert!(
                    decision(&selected(&option.option_id.0)).is_ok(),
                    "{option:?}"
                );
            }
        }
    }
}
