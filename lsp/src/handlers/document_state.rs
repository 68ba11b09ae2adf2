//! `agent/documentState`: what the server holds for one open document (version,
//! full text, language, whether it has a syntax tree). For clients and tests that
//! want to check the server sees exactly what the editor shows. It reads the
//! document as background work does, without putting it in use.

use tower_lsp_server::jsonrpc::Result;

use crate::errors;
use crate::ext::{DocumentStateParams, DocumentStateResult};
use crate::world::World;

pub(crate) fn handle(world: &World, params: DocumentStateParams) -> Result<DocumentStateResult> {
    let documents = &world.state.documents;
    let text_packed = documents.is_packed(&params.uri);
    let snapshot = documents
        .snapshot_unkept(&params.uri)
        .ok_or_else(|| errors::unknown_document(&params.uri))?;
    Ok(DocumentStateResult {
        uri: params.uri,
        version: snapshot.version(),
        language_id: snapshot.language_id().to_string(),
        language: snapshot
            .language()
            .map(|language| language.name().to_string()),
        has_syntax_tree: snapshot.tree_unkept().is_some(),
        line_count: snapshot.text().len_lines(),
        text: snapshot.text().to_string(),
        text_packed,
    })
}
