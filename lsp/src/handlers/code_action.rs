//! `textDocument/codeAction`: answered at once from a document snapshot, never
//! waiting on the model (VS Code asks on every cursor move).

use lsp_types::{CodeActionParams, CodeActionResponse, Range};
use tower_lsp_server::jsonrpc::{Error, Result};

use crate::document::DocumentSnapshot;
use crate::server::State;

pub fn handle(state: &State, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
    let uri = &params.text_document.uri;
    let snapshot = state
        .documents
        .snapshot(uri)
        .ok_or_else(|| Error::invalid_params(format!("unknown document {}", uri.as_str())))?;
    check_range(&snapshot, &params.range)?;
    Ok(Some(Vec::new()))
}

/// A request's range must lie in the document as the server has it: the client
/// and server agree on every version (notifications arrive in order), so a range
/// past the end is the client's mistake, and answering for a clamped range would
/// act on text the user did not select.
pub fn check_range(snapshot: &DocumentSnapshot, range: &Range) -> Result<()> {
    let lines = snapshot.text().len_lines() as u32;
    for position in [range.start, range.end] {
        if position.line >= lines {
            return Err(Error::invalid_params(format!(
                "position {}:{} is past the end of {} ({lines} lines)",
                position.line,
                position.character,
                snapshot.uri().as_str()
            )));
        }
    }
    if (range.start.line, range.start.character) > (range.end.line, range.end.character) {
        return Err(Error::invalid_params(format!(
            "range start {}:{} is after its end {}:{}",
            range.start.line, range.start.character, range.end.line, range.end.character
        )));
    }
    Ok(())
}
