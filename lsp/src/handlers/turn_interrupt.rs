//! `agent/turnInterrupt`: stops a thread's running turn.

use tower_lsp_server::jsonrpc::Result;

use crate::errors;
use crate::ext::{Empty, ThreadParams};
use crate::world::World;

pub(crate) async fn handle(world: &World, params: ThreadParams) -> Result<Empty> {
    world
        .tasks
        .interrupt(&params.thread_id)
        .await
        .map_err(errors::from_task)?;
    Ok(Empty {})
}
