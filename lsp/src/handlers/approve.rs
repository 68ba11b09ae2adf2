//! `agent/approve`: answers a pending approval by its id.

use tower_lsp_server::jsonrpc::Result;

use crate::errors;
use crate::ext::{ApproveParams, Empty};
use crate::world::World;

pub(crate) async fn handle(world: &World, params: ApproveParams) -> Result<Empty> {
    world
        .tasks
        .decide(Some(&params.id), params.decision)
        .await
        .map_err(errors::from_task)?;
    Ok(Empty {})
}
