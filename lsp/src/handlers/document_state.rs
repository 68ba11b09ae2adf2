//! `agent/documentState`: what the server holds for one open document (version,
//! full text, language, whether it has a syntax tree). For clients and tests that
//! want to check the server sees exactly what the editor shows.

use lsp_types::Uri;
use serde::{Deserialize, Serialize};
use tower_lsp_server::jsonrpc::{Error, Result};

use crate::server::State;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentStateParams {
    pub uri: Uri,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentStateResult {
    pub uri: Uri,
    pub version: i32,
    pub language_id: String,
    /// The tree-sitter language in use, `null` for plain text.
    pub language: Option<String>,
    pub has_syntax_tree: bool,
    pub line_count: usize,
    pub text: String,
}

pub fn handle(state: &State, params: DocumentStateParams) -> Result<DocumentStateResult> {
    let snapshot = state.documents.snapshot(&params.uri).ok_or_else(|| {
        Error::invalid_params(format!("unknown document {}", params.uri.as_str()))
    })?;
    Ok(DocumentStateResult {
        uri: params.uri,
        version: snapshot.version(),
        language_id: snapshot.language_id().to_string(),
        language: snapshot
            .language()
            .map(|language| language.name().to_string()),
        has_syntax_tree: snapshot.tree().is_some(),
        line_count: snapshot.text().len_lines(),
        text: snapshot.text().to_string(),
    })
}
