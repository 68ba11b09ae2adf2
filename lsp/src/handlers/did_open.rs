//! `textDocument/didOpen`. Document notifications run one at a time in arrival
//! order (see `transport`), so they update the store directly.

use lsp_types::DidOpenTextDocumentParams;

use crate::notice;
use crate::world::World;

pub(crate) async fn handle(world: &World, params: DidOpenTextDocumentParams) {
    let document = params.text_document;
    world.symbols.document_changed(&document.uri);
    if let Err(error) = world.state.documents.open(
        document.uri,
        &document.language_id,
        document.version,
        document.text,
    ) {
        notice::document_fault(&world.client, error.to_string()).await;
    }
    world.state.documents_changed();
}
