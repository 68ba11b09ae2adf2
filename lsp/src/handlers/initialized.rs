//! `initialized`: the client may now be told about configuration problems found
//! during `initialize`, the workspace index starts building, and the model
//! provider is chosen, so a user with none configured is told what to set before
//! the first task rather than by a failed one.

use lsp_types::MessageType;

use crate::notice;
use crate::state::lock;
use crate::world::World;

pub(crate) async fn handle(world: &World) {
    let problems: Vec<_> = std::mem::take(&mut *lock(&world.state.pending_problems));
    notice::config_problems(&world.client, &problems).await;
    world
        .symbols
        .start(world.state.clone(), world.client.clone());
    let world = world.clone();
    tokio::spawn(async move {
        if let Err(error) = world.tasks.discover(&world.state).await {
            world
                .client
                .show_message(MessageType::WARNING, format!("agentls: {error}"))
                .await;
        }
    });
}
