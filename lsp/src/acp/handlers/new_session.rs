//! `session/new`: an agent for the session's working directory, a new thread
//! (its rollout created), and the session open for prompts.

use std::sync::Arc;

use agent_client_protocol as sdk;
use agent_client_protocol::v1::schema::{NewSessionRequest, NewSessionResponse};
use agent_client_protocol::v1::Responder;
use agentls_core::agent::ThreadOptions;

use crate::acp::errors;
use crate::acp::open;
use crate::acp::setup::{self, SessionAgent};
use crate::acp::state::{AcpState, Peer};

pub(crate) fn handle(
    state: Arc<AcpState>,
    request: NewSessionRequest,
    responder: Responder<NewSessionResponse>,
    peer: Peer,
) -> Result<(), sdk::Error> {
    tokio::spawn(async move {
        let files = open::client_files(&state, &peer);
        let SessionAgent {
            agent,
            workspace,
            mut warnings,
        } = match setup::session_agent(&state, &request.cwd, files, &request.mcp_servers).await {
            Ok(ready) => ready,
            Err(error) => return respond_error(responder, open::setup_error(&error)),
        };
        let thread = match agent.start_thread(ThreadOptions::default()) {
            Ok(thread) => thread,
            Err(error) => return respond_error(responder, errors::agent_error(None, &error)),
        };
        let session = open::open(&state, &peer, thread, workspace);
        tracing::info!(session_id = %session.id, cwd = %request.cwd.display(), "acp session started");
        if let Err(error) = responder.respond(NewSessionResponse::new(session.id.clone())) {
            tracing::debug!(%error, "session/new answer not sent");
        }
        warnings.extend(open::unsupported(request.additional_directories.len()));
        open::warn(&peer, &session.id, &warnings);
    });
    Ok(())
}

fn respond_error(responder: Responder<NewSessionResponse>, error: sdk::Error) {
    if let Err(error) = responder.respond_with_error(error) {
        tracing::debug!(%error, "session/new error not sent");
    }
}
