//! `session/load`: resume the thread whose id the session has, from its
//! rollout; replay its past items as `session/update`s, then answer. A session
//! open in this connection is closed first (its rollout is complete then); one
//! running a prompt is refused.

use std::sync::Arc;

use agent_client_protocol as sdk;
use agent_client_protocol::v1::schema::{
    LoadSessionRequest, LoadSessionResponse, SessionNotification,
};
use agent_client_protocol::v1::Responder;
use agentls_core::protocol::ThreadId;
use agentls_core::workspace::Workspace;

use crate::acp::convert;
use crate::acp::errors;
use crate::acp::open;
use crate::acp::setup::{self, SessionAgent};
use crate::acp::state::{AcpState, Peer};

pub(crate) fn handle(
    state: Arc<AcpState>,
    request: LoadSessionRequest,
    responder: Responder<LoadSessionResponse>,
    peer: Peer,
) -> Result<(), sdk::Error> {
    let id = request.session_id.clone();
    if let Some(open) = state.session(&id) {
        if open.prompt_running() {
            return responder.respond_with_error(errors::invalid_params(format!(
                "session {id} is running a prompt: cancel it before loading the session again"
            )));
        }
    }
    tokio::spawn(async move {
        if let Some(open) = state.remove_session(&id) {
            open.close().await;
        }
        let files = open::client_files(&state, &peer);
        let SessionAgent {
            agent,
            workspace,
            mut warnings,
        } = match setup::session_agent(&state, &request.cwd, files, &request.mcp_servers).await {
            Ok(ready) => ready,
            Err(error) => return respond_error(responder, open::setup_error(&error)),
        };
        let thread = match agent.resume_thread(&ThreadId(id.0.to_string())) {
            Ok(thread) => thread,
            Err(error) => return respond_error(responder, errors::agent_error(Some(&id), &error)),
        };
        for update in convert::replay(thread.past_items(), workspace.root()) {
            if let Err(error) = peer.send_notification(SessionNotification::new(id.clone(), update))
            {
                tracing::debug!(session_id = %id, %error, "replayed session/update not sent");
            }
        }
        let session = open::open(&state, &peer, thread, workspace);
        tracing::info!(session_id = %session.id, cwd = %request.cwd.display(), "acp session loaded");
        if let Err(error) = responder.respond(LoadSessionResponse::new()) {
            tracing::debug!(%error, "session/load answer not sent");
        }
        warnings.extend(open::unsupported(request.additional_directories.len()));
        open::warn(&peer, &session.id, &warnings);
    });
    Ok(())
}

fn respond_error(responder: Responder<LoadSessionResponse>, error: sdk::Error) {
    if let Err(error) = responder.respond_with_error(error) {
        tracing::debug!(%error, "session/load error not sent");
    }
}
