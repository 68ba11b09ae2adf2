//! `agent/turnStart`: the user's own text as a turn, on a new or given thread;
//! answered as soon as it is queued.

use tower_lsp_server::jsonrpc::Result;

use crate::ext::{TurnStartParams, TurnStartResult};
use crate::launch;
use crate::world::World;

pub(crate) async fn handle(world: &World, params: TurnStartParams) -> Result<TurnStartResult> {
    let thread_id = launch::custom_turn(world, params).await?;
    Ok(TurnStartResult { thread_id })
}
