//! `initialize`: remember what the client offers (file requests, a terminal),
//! agree on protocol v1, and say what agentls does: `session/load`, embedded
//! context in prompts.

use agent_client_protocol as sdk;
use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    AgentCapabilities, Implementation, InitializeRequest, InitializeResponse, McpCapabilities,
    PromptCapabilities,
};
use agent_client_protocol::v1::Responder;

use crate::acp::state::AcpState;

pub(crate) fn handle(
    state: &AcpState,
    request: InitializeRequest,
    responder: Responder<InitializeResponse>,
) -> Result<(), sdk::Error> {
    let fs = &request.client_capabilities.fs;
    tracing::info!(
        client = ?request.client_info.as_ref().map(|info| &info.name),
        protocol_version = %request.protocol_version,
        read_text_file = fs.read_text_file,
        write_text_file = fs.write_text_file,
        terminal = request.client_capabilities.terminal,
        "acp initialize"
    );
    state.set_client_capabilities(request.client_capabilities);
    let capabilities = AgentCapabilities::new()
        .mcp_capabilities(McpCapabilities::new().http(true))
        .load_session(true)
        .prompt_capabilities(PromptCapabilities::new().embedded_context(true));
    responder.respond(
        InitializeResponse::new(request.protocol_version.min(ProtocolVersion::V1))
            .agent_capabilities(capabilities)
            .agent_info(Implementation::new("agentls", env!("CARGO_PKG_VERSION"))),
    )
}
