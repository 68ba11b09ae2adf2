//! `initialized`: the client may now be told about configuration problems found
//! during `initialize`, and the workspace index starts building.

use crate::notice;
use crate::state::lock;
use crate::world::World;

pub(crate) async fn handle(world: &World) {
    let problems: Vec<_> = std::mem::take(&mut *lock(&world.state.pending_problems));
    notice::config_problems(&world.client, &problems).await;
    world
        .symbols
        .start(world.state.clone(), world.client.clone());
}
