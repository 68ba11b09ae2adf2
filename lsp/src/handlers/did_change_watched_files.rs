//! `workspace/didChangeWatchedFiles`: files changed on disk (by a shell command,
//! git, another editor) are re-indexed off the ordered path.

use lsp_types::DidChangeWatchedFilesParams;

use crate::world::World;

pub(crate) fn handle(world: &World, params: DidChangeWatchedFilesParams) {
    world.symbols.files_changed(params);
}
