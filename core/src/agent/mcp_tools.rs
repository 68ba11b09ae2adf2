//! The MCP tools a thread offers, kept current before each model call: the
//! built-in tools in their fixed order, then every MCP server's tools sorted by
//! name. The list changes only when a server joins (its first start), announces
//! a change, or goes away; each change is a `tools` line in the rollout, so a
//! resumed thread sends the same tools, and the history before it stays as it
//! was (a call of a tool that left is answered as a call of an unknown tool).

use super::inbox::Inbox;
use super::state::{Halt, ThreadState};
use crate::mcp::is_mcp_tool_name;
use crate::model::ToolSpec;
use crate::protocol::Event;
use crate::rollout::RolloutLine;

/// Bring `state.meta.tools` up to date with the MCP servers. Starting servers
/// waits (each within its `startup_timeout_secs`) and is interruptible.
pub(crate) async fn refresh(state: &mut ThreadState, inbox: &mut Inbox) -> Result<(), Halt> {
    let hub = state.shared.mcp.clone();
    if hub.is_empty() {
        return Ok(());
    }
    let first = !state.mcp_listed;
    let listed = inbox.run(hub.tools(first)).await?;
    state.mcp_listed = true;
    for (server, message) in listed.failures {
        if state.mcp_failures_told.insert(server.clone()) {
            state
                .emit(Event::Warning {
                    message: format!(
                        "the MCP server `{server}` is not available, its tools are left out: {message}"
                    ),
                })
                .await;
        }
    }
    for message in listed.left_out {
        // Told once a thread, like a server that failed.
        if state.mcp_failures_told.insert(message.clone()) {
            state.emit(Event::Warning { message }).await;
        }
    }
    let mut tools: Vec<ToolSpec> = state
        .meta
        .tools
        .iter()
        .filter(|tool| !is_mcp_tool_name(&tool.name))
        .cloned()
        .collect();
    tools.extend(listed.specs);
    if tools != state.meta.tools {
        tracing::info!(
            n_tools = tools.len(),
            thread_id = %state.id(),
            "the MCP tools offered changed"
        );
        state
            .record(RolloutLine::Tools {
                tools: tools.clone(),
            })
            .await;
        state.meta.tools = tools;
    }
    Ok(())
}
