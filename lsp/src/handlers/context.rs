//! `agent/context`: exactly the context a task at this spot would send the
//! model, piece by piece with token counts, so the user can see what leaves the
//! editor.

use tower_lsp_server::jsonrpc::Result;

use crate::ext::{ContextParams, ContextResult};
use crate::validate;
use crate::world::World;

pub(crate) async fn handle(world: &World, params: ContextParams) -> Result<ContextResult> {
    let (snapshot, path) = validate::located(&world.state, &params.uri, &params.range)?;
    let selection = world
        .symbols
        .select(
            &world.state,
            snapshot,
            path,
            params.range,
            &params.diagnostics,
        )
        .await;
    Ok(ContextResult::of(&selection))
}
