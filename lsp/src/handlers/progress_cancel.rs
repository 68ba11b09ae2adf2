//! `window/workDoneProgress/cancel`: the user cancelled a turn's progress.

use lsp_types::WorkDoneProgressCancelParams;

use crate::world::World;

pub(crate) fn handle(world: &World, params: WorkDoneProgressCancelParams) {
    // Interrupting waits only for room in the thread's op queue; still, the
    // ordered notification path must not wait on a thread, so hand it off.
    let tasks = world.tasks.clone();
    tokio::spawn(async move { tasks.cancel_progress(&params.token).await });
}
