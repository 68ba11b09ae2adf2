//! `textDocument/didSave`: the buffer's text is now the disk's.

use lsp_types::DidSaveTextDocumentParams;

use crate::notice;
use crate::world::World;

pub(crate) async fn handle(world: &World, params: DidSaveTextDocumentParams) {
    world.symbols.document_changed(&params.text_document.uri);
    match world
        .state
        .documents
        .save(&params.text_document.uri, params.text)
    {
        Ok(report) => {
            for warning in report.warnings {
                notice::document_fault(&world.client, warning.to_string()).await;
            }
        }
        Err(error) => notice::document_fault(&world.client, error.to_string()).await,
    }
    world.state.documents_changed();
}
