//! Every JSON-RPC error the ACP front end answers with, in one place: what the
//! client named wrong is `-32602` (or `-32002` for a session that does not
//! exist), what could not be done is `-32603`, each with a message naming the
//! offending value.

use agent_client_protocol as sdk;
use agent_client_protocol::v1::schema::SessionId;
use agentls_core::agent::AgentError;
use agentls_core::rollout::RolloutError;
use sdk::ErrorCode;

use super::state::PromptRefused;

/// No such session in this connection.
pub(crate) fn unknown_session(id: &SessionId) -> sdk::Error {
    sdk::Error::new(
        ErrorCode::RESOURCE_NOT_FOUND,
        format!("unknown session {id}: start one with session/new or session/load"),
    )
}

/// The client asked for something its parameters do not allow.
pub(crate) fn invalid_params(message: impl Into<String>) -> sdk::Error {
    sdk::Error::new(ErrorCode::INVALID_PARAMS, message)
}

/// Something that could not be done, for the reason given.
pub(crate) fn failed(message: impl Into<String>) -> sdk::Error {
    sdk::Error::new(ErrorCode::INTERNAL_ERROR, message)
}

pub(crate) fn prompt_refused(refused: &PromptRefused) -> sdk::Error {
    match refused {
        PromptRefused::Busy(_) => sdk::Error::new(ErrorCode::INVALID_REQUEST, refused.to_string()),
        PromptRefused::Ended(_) | PromptRefused::QueueFull(_) => failed(refused.to_string()),
    }
}

/// A thread that could not be started or resumed.
pub(crate) fn agent_error(id: Option<&SessionId>, error: &AgentError) -> sdk::Error {
    match (error, id) {
        (AgentError::Rollout(RolloutError::NotFound(_)), Some(id)) => sdk::Error::new(
            ErrorCode::RESOURCE_NOT_FOUND,
            format!("no session {id} to load: its rollout is not in the data directory"),
        ),
        _ => failed(error.to_string()),
    }
}
