//! `initialized`: the client may now be told about configuration problems found
//! during `initialize`, the workspace index starts building, and the model
//! provider is chosen, so a user with none configured is told what to set before
//! the first task rather than by a failed one. The texts of documents left
//! unused are packed from here on (`pack_idle_documents`).

use std::sync::Arc;
use std::time::Duration;

use lsp_types::MessageType;

use crate::notice;
use crate::state::{lock, State};
use crate::world::World;

pub(crate) async fn handle(world: &World) {
    let problems: Vec<_> = std::mem::take(&mut *lock(&world.state.pending_problems));
    notice::config_problems(&world.client, &problems).await;
    world
        .symbols
        .start(world.state.clone(), world.client.clone());
    tokio::spawn(pack_idle_documents(Arc::clone(&world.state)));
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

/// How often the open documents are looked over for texts to pack.
const PACK_SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Packs the texts of documents unused for `[documents] pack_idle_secs`
/// (`DocumentStore::pack_idle`), every `PACK_SWEEP_EVERY`, for as long as the
/// server runs.
async fn pack_idle_documents(state: Arc<State>) {
    let mut every = tokio::time::interval(PACK_SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let idle_secs = state.config().documents.pack_idle_secs;
        if idle_secs == 0 {
            continue;
        }
        let state = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || {
            state.documents.pack_idle(Duration::from_secs(idle_secs))
        })
        .await;
    }
}
