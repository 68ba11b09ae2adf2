//! `textDocument/didChange`: applied to the rope in arrival order, never waiting
//! on a parse (a keystroke costs microseconds whatever the file).

use lsp_types::DidChangeTextDocumentParams;

use crate::notice;
use crate::world::World;

pub(crate) async fn handle(world: &World, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    world.completions.document_changed(&uri);
    world.symbols.document_changed(&uri);
    match world
        .state
        .documents
        .change(&uri, params.text_document.version, params.content_changes)
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
