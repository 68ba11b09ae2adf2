//! `agent/undo`: reverts the last turn that changed files; answered as soon as
//! the revert is planned, the edits land in the background.

use tower_lsp_server::jsonrpc::Result;

use crate::errors;
use crate::ext::{UndoParams, UndoResult};
use crate::world::World;

pub(crate) fn handle(world: &World, _params: Option<UndoParams>) -> Result<UndoResult> {
    world
        .tasks
        .undo(&world.state, &world.client)
        .map_err(errors::from_task)
}
