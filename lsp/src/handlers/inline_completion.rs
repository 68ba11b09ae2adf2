//! `textDocument/inlineCompletion` (LSP 3.18; VS Code's ghost text): the
//! insertion at the cursor, or no items when there is none (never an error:
//! a completion that fails is dropped, and the user types on).

use lsp_types::{
    InlineCompletionItem, InlineCompletionList, InlineCompletionParams, InlineCompletionResponse,
    Range,
};
use tower_lsp_server::jsonrpc::Result;

use crate::world::World;

pub(crate) async fn handle(
    world: &World,
    params: InlineCompletionParams,
) -> Result<Option<InlineCompletionResponse>> {
    let position = params.text_document_position.position;
    let uri = params.text_document_position.text_document.uri;
    let empty = InlineCompletionResponse::List(InlineCompletionList { items: Vec::new() });
    let Some(snapshot) = world.state.documents.snapshot(&uri) else {
        return Ok(Some(empty));
    };
    // The position as the text has it (a position past the line's end is
    // clamped), so the item's range is one the client accepts.
    let position = snapshot.byte_to_position(snapshot.position_to_byte(position));
    let Some(text) = world
        .completions
        .complete(&world.state, &world.symbols.index, snapshot, position)
        .await
    else {
        return Ok(Some(empty));
    };
    Ok(Some(InlineCompletionResponse::List(InlineCompletionList {
        items: vec![InlineCompletionItem {
            insert_text: text,
            filter_text: None,
            range: Some(Range::new(position, position)),
            command: None,
            insert_text_format: None,
        }],
    })))
}
