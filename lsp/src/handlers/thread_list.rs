//! `agent/threadList`: the threads in the data directory, newest first.

use tower_lsp_server::jsonrpc::Result;

use crate::errors;
use crate::ext::{ThreadListParams, ThreadListResult};
use crate::world::World;

pub(crate) fn handle(world: &World, _params: ThreadListParams) -> Result<ThreadListResult> {
    let threads = world
        .tasks
        .list_threads(&world.state)
        .map_err(errors::from_task)?;
    Ok(ThreadListResult { threads })
}
