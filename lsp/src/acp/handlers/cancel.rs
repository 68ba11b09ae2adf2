//! `session/cancel`: interrupt the running turn. A notification has no answer,
//! so what cannot be done is logged: a session that does not exist, a session
//! with no prompt running (a second cancel, or one after the turn ended; both
//! harmless).

use agent_client_protocol::v1::schema::CancelNotification;
use agentls_core::protocol::Op;

use crate::acp::state::AcpState;

pub(crate) fn handle(state: &AcpState, notification: CancelNotification) {
    let id = &notification.session_id;
    let Some(session) = state.session(id) else {
        tracing::warn!(session_id = %id, "session/cancel for an unknown session: ignored");
        return;
    };
    if !session.prompt_running() {
        tracing::info!(session_id = %id, "session/cancel with no prompt running: nothing to cancel");
        return;
    }
    // The turn stops at its next wait; a second interrupt while it stops is
    // ignored by the thread.
    if let Err(error) = session.thread().try_submit(Op::Interrupt) {
        tracing::warn!(session_id = %id, %error, "session/cancel not delivered");
    }
}
