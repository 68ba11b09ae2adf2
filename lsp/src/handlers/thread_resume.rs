//! `agent/threadResume`: continues a thread from its rollout and answers its
//! items as they were.

use tower_lsp_server::jsonrpc::Result;

use crate::errors;
use crate::ext::{ThreadResumeParams, ThreadResumeResult};
use crate::validate;
use crate::world::World;

pub(crate) async fn handle(
    world: &World,
    params: ThreadResumeParams,
) -> Result<ThreadResumeResult> {
    let root = validate::thread_root(&world.state, params.cwd)?;
    let items = world
        .tasks
        .resume_thread(&world.state, &world.client, &root, &params.thread_id)
        .await
        .map_err(errors::from_task)?;
    Ok(ThreadResumeResult {
        thread_id: params.thread_id,
        items,
    })
}
