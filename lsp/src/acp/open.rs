//! Opening a session on a started or resumed thread: the relay that reads its
//! events, the registry entry that prompts and cancels find, and the warnings
//! the user should see in it.

use std::sync::Arc;

use agent_client_protocol as sdk;
use agent_client_protocol::v1::schema::{SessionId, SessionNotification, SessionUpdate};
use agentls_core::agent::Thread;
use agentls_core::workspace::Workspace;

use super::client_fs::{ClientFiles, ClientWorkspace};
use super::convert;
use super::errors;
use super::relay::Relay;
use super::setup::SetupError;
use super::state::{AcpState, Peer, Session};

/// The client's file requests as its capabilities allow them.
pub(crate) fn client_files(state: &AcpState, peer: &Peer) -> ClientFiles {
    let fs = state.client_capabilities().fs;
    ClientFiles {
        peer: peer.clone(),
        read: fs.read_text_file,
        write: fs.write_text_file,
    }
}

/// Register the session and start relaying its thread's events.
pub(crate) fn open(
    state: &AcpState,
    peer: &Peer,
    thread: Thread,
    workspace: Arc<ClientWorkspace>,
) -> Arc<Session> {
    let id = SessionId::new(thread.id().0.as_str());
    workspace.attach(id.clone());
    let (handle, events, task) = thread.into_parts();
    let session = Arc::new(Session::new(id, handle));
    session.own_task(task);
    let relay = Relay {
        peer: peer.clone(),
        session: session.clone(),
        root: workspace.root().to_path_buf(),
        workspace,
    };
    session.own_task(tokio::spawn(relay.run(events)));
    state.insert_session(session.clone());
    session
}

/// Say these in the session, as agent messages (ACP's notices need a client
/// capability most clients lack).
pub(crate) fn warn(peer: &Peer, id: &SessionId, warnings: &[String]) {
    for warning in warnings {
        let update =
            SessionUpdate::AgentMessageChunk(convert::chunk(format!("> warning: {warning}\n\n")));
        if let Err(error) = peer.send_notification(SessionNotification::new(id.clone(), update)) {
            tracing::debug!(session_id = %id, %error, "warning not sent");
        }
    }
}

/// What the client hears when its session could not be set up.
pub(crate) fn setup_error(error: &SetupError) -> sdk::Error {
    match error {
        SetupError::RelativeCwd(_) | SetupError::Workspace { .. } => {
            errors::invalid_params(error.to_string())
        }
        SetupError::Configuration(_) | SetupError::Provider(_) => errors::failed(error.to_string()),
    }
}

/// Warnings about what a session request asked that agentls does not do.
pub(crate) fn unsupported(n_additional_directories: usize) -> Vec<String> {
    let mut warnings = Vec::new();
    if n_additional_directories > 0 {
        warnings.push(format!(
            "the client offered {n_additional_directories} additional directories; agentls works in cwd only"
        ));
    }
    warnings
}
