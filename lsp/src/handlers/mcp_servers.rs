//! `agent/mcpServers`: the MCP servers of each workspace folder, whether they
//! run, why not, and the tools they offer. Answered from the servers' last
//! known state: nothing is started or waited for.

use tower_lsp_server::jsonrpc::Result;

use crate::ext::{McpServerView, McpServersParams, McpServersResult};
use crate::world::World;

pub(crate) fn handle(world: &World, _params: Option<McpServersParams>) -> Result<McpServersResult> {
    let mut result = McpServersResult {
        servers: Vec::new(),
        problems: Vec::new(),
    };
    for root in world.state.session().roots {
        let hub = world.tasks.mcp_hub(&world.state, &root);
        result.problems.extend(hub.problems().iter().cloned());
        result
            .servers
            .extend(hub.status().into_iter().map(|status| McpServerView {
                root: root.clone(),
                status,
            }));
    }
    Ok(result)
}
