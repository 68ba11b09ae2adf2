//! `initialized`: the client may now be told about configuration problems found
//! during `initialize`, the workspace index starts building, and the model
//! provider is chosen, so a user with none configured is told what to set before
//! the first task rather than by a failed one. The texts of documents no
//! longer in use are packed from here on (`pack_unused_documents`).

use std::sync::Arc;
use std::time::Duration;

use lsp_types::MessageType;

use crate::notice;
use crate::state::{lock, State};
use crate::symbols::Symbols;
use crate::world::World;

pub(crate) async fn handle(world: &World) {
    let problems: Vec<_> = std::mem::take(&mut *lock(&world.state.pending_problems));
    notice::config_problems(&world.client, &problems).await;
    world
        .symbols
        .start(world.state.clone(), world.client.clone());
    tokio::spawn(pack_unused_documents(
        Arc::clone(&world.state),
        world.symbols.clone(),
    ));
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

/// How long after a text is unpacked the sweep runs: long enough for a burst
/// of edits or a task's reads to end first, so a text is not packed while
/// the burst still needs it.
const PACK_AFTER_UNPACK: Duration = Duration::from_secs(1);

/// Packs the texts of documents no longer in use (`DocumentStore::pack_unused`):
/// unused for `[documents] pack_idle_secs`, or beyond `text_budget_mib`.
/// Runs every `PACK_SWEEP_EVERY`, and `PACK_AFTER_UNPACK` after a text is
/// unpacked, for as long as the server runs. The symbol index lets go of
/// the text and tree it keeps for a packed document's next edit.
async fn pack_unused_documents(state: Arc<State>, symbols: Symbols) {
    let mut every = tokio::time::interval(PACK_SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = state.documents.unpacked() => tokio::time::sleep(PACK_AFTER_UNPACK).await,
        }
        let idle_secs = state.config().documents.pack_idle_secs;
        let idle = (idle_secs > 0).then(|| Duration::from_secs(idle_secs));
        let (state, symbols) = (Arc::clone(&state), symbols.clone());
        let _ = tokio::task::spawn_blocking(move || {
            symbols.documents_packed(&state.documents.pack_unused(idle));
        })
        .await;
    }
}
