//! `textDocument/didClose`: the disk's copy counts again.

use lsp_types::DidCloseTextDocumentParams;

use crate::notice;
use crate::world::World;

pub(crate) async fn handle(world: &World, params: DidCloseTextDocumentParams) {
    world
        .completions
        .document_changed(&params.text_document.uri);
    world.symbols.document_closed(&params.text_document.uri);
    world.diagnostics.forget(&params.text_document.uri);
    if let Err(error) = world.state.documents.close(&params.text_document.uri) {
        notice::document_fault(&world.client, error.to_string()).await;
    }
    world.state.documents_changed();
}
