//! `textDocument/completion`: the inline completion as one completion item,
//! for clients without `textDocument/inlineCompletion` (Helix, Neovim before
//! 0.12). The item replaces the word before the cursor with that word and the
//! insertion, so clients that filter items by the typed word keep it; the list
//! is incomplete, so they ask again as the user types.

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionList, CompletionParams, CompletionResponse,
    CompletionTextEdit, Range, TextEdit,
};
use tower_lsp_server::jsonrpc::Result;

use crate::world::World;

/// The longest label shown; the whole insertion is in the edit and the docs.
const LABEL_CHARS: usize = 60;

pub(crate) async fn handle(
    world: &World,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let position = params.text_document_position.position;
    let uri = params.text_document_position.text_document.uri;
    let empty = CompletionResponse::List(CompletionList {
        is_incomplete: true,
        items: Vec::new(),
    });
    let Some(snapshot) = world.state.documents.snapshot(&uri) else {
        return Ok(Some(empty));
    };
    let cursor = snapshot.position_to_byte(position);
    let position = snapshot.byte_to_position(cursor);
    let rope = snapshot.text();
    let line_start = rope.line_to_byte(rope.byte_to_line(cursor));
    let word_start = word_start(&rope.byte_slice(line_start..cursor).to_string(), cursor);
    let word = snapshot.text().byte_slice(word_start..cursor).to_string();
    let start = snapshot.byte_to_position(word_start);
    let Some(text) = world
        .completions
        .complete(&world.state, &world.symbols.index, snapshot, position)
        .await
    else {
        return Ok(Some(empty));
    };
    let new_text = format!("{word}{text}");
    let first_line = new_text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let mut label: String = first_line.trim().chars().take(LABEL_CHARS).collect();
    if label.len() < first_line.trim().len() || new_text.trim_end().contains('\n') {
        label.push('…');
    }
    Ok(Some(CompletionResponse::List(CompletionList {
        is_incomplete: true,
        items: vec![CompletionItem {
            label,
            kind: Some(CompletionItemKind::TEXT),
            detail: Some("agentls".to_string()),
            documentation: Some(lsp_types::Documentation::String(new_text.clone())),
            filter_text: Some(new_text.clone()),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: Range::new(start, position),
                new_text,
            })),
            ..CompletionItem::default()
        }],
    })))
}

/// Where the identifier that ends at `cursor` starts (`cursor` when none does).
fn word_start(before: &str, cursor: usize) -> usize {
    let word_len: usize = before
        .chars()
        .rev()
        .take_while(|character| character.is_alphanumeric() || *character == '_')
        .map(char::len_utf8)
        .sum();
    cursor - word_len
}
