//! `agent/threadStart`: a new thread with no turn yet, rooted in a folder inside
//! the workspace.

use tower_lsp_server::jsonrpc::Result;

use crate::errors;
use crate::ext::{ThreadStartParams, ThreadStartResult};
use crate::validate;
use crate::world::World;

pub(crate) async fn handle(world: &World, params: ThreadStartParams) -> Result<ThreadStartResult> {
    let root = validate::thread_root(&world.state, params.cwd)?;
    let thread_id = world
        .tasks
        .start_thread(&world.state, &world.client, &root)
        .await
        .map_err(errors::from_task)?;
    Ok(ThreadStartResult { thread_id })
}
