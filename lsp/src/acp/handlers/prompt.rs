//! `session/prompt`: the prompt's content becomes a turn's input, queued on the
//! session's thread before this handler returns (so a `session/cancel` read
//! next reaches that turn); the answer waits, in a task, for the relay to say
//! how the turn ended: `end_turn`, `cancelled`, or an error naming the failure.

use std::sync::Arc;

use agent_client_protocol as sdk;
use agent_client_protocol::v1::schema::{PromptRequest, PromptResponse, StopReason};
use agent_client_protocol::v1::Responder;
use agentls_core::protocol::Op;

use crate::acp::convert;
use crate::acp::errors;
use crate::acp::state::{AcpState, TurnOutcome};

pub(crate) fn handle(
    state: &Arc<AcpState>,
    request: PromptRequest,
    responder: Responder<PromptResponse>,
) -> Result<(), sdk::Error> {
    let Some(session) = state.session(&request.session_id) else {
        return responder.respond_with_error(errors::unknown_session(&request.session_id));
    };
    let (text, context) = match convert::prompt_input(&request.prompt) {
        Ok(input) => input,
        Err(problem) => return responder.respond_with_error(errors::invalid_params(problem)),
    };
    let outcome = match session.start_prompt(Op::UserInput { text, context }) {
        Ok(outcome) => outcome,
        Err(refused) => return responder.respond_with_error(errors::prompt_refused(&refused)),
    };
    tokio::spawn(async move {
        let answer = match outcome.await {
            Ok(TurnOutcome::Completed) => Ok(PromptResponse::new(StopReason::EndTurn)),
            Ok(TurnOutcome::Cancelled) => Ok(PromptResponse::new(StopReason::Cancelled)),
            Ok(TurnOutcome::Failed(error)) => {
                Err(errors::failed(format!("the turn failed: {error}")))
            }
            Err(_) => Err(errors::failed(format!(
                "session {} ended before the turn did",
                session.id
            ))),
        };
        if let Err(error) = responder.respond_with_result(answer) {
            tracing::debug!(session_id = %session.id, %error, "session/prompt answer not sent");
        }
    });
    Ok(())
}
