//! `agent/turnSteer`: more input for a running turn, given to the model at its
//! next tool boundary.

use tower_lsp_server::jsonrpc::Result;

use crate::errors;
use crate::ext::{Empty, TurnSteerParams};
use crate::world::World;

pub(crate) async fn handle(world: &World, params: TurnSteerParams) -> Result<Empty> {
    world
        .tasks
        .steer(&params.thread_id, params.text)
        .await
        .map_err(errors::from_task)?;
    Ok(Empty {})
}
