//! didOpen/didChange/didClose/didSave. These run one at a time in arrival order
//! (see `transport`), so they may update the store directly; faults are logged and
//! shown, never fatal.

use lsp_types::*;
use tower_lsp_server::Client;

use crate::server::State;

pub async fn did_open(state: &State, client: &Client, params: DidOpenTextDocumentParams) {
    let document = params.text_document;
    state.symbols.document_changed(&document.uri, &[]);
    if let Err(error) = state.documents.open(
        document.uri,
        &document.language_id,
        document.version,
        document.text,
    ) {
        warn(client, error.to_string()).await;
    }
    state.documents_changed();
}

pub async fn did_change(state: &State, client: &Client, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    state
        .symbols
        .document_changed(&uri, &params.content_changes);
    match state
        .documents
        .change(&uri, params.text_document.version, params.content_changes)
    {
        Ok(report) => {
            for warning in report.warnings {
                warn(client, warning.to_string()).await;
            }
        }
        Err(error) => warn(client, error.to_string()).await,
    }
    state.documents_changed();
}

pub async fn did_close(state: &State, client: &Client, params: DidCloseTextDocumentParams) {
    state.symbols.document_closed(&params.text_document.uri);
    if let Err(error) = state.documents.close(&params.text_document.uri) {
        warn(client, error.to_string()).await;
    }
    state.documents_changed();
}

pub async fn did_save(state: &State, client: &Client, params: DidSaveTextDocumentParams) {
    state
        .symbols
        .document_changed(&params.text_document.uri, &[]);
    match state.documents.save(&params.text_document.uri, params.text) {
        Ok(report) => {
            for warning in report.warnings {
                warn(client, warning.to_string()).await;
            }
        }
        Err(error) => warn(client, error.to_string()).await,
    }
    state.documents_changed();
}

async fn warn(client: &Client, message: String) {
    tracing::warn!(%message, "document sync");
    client
        .show_message(MessageType::WARNING, format!("agentls: {message}"))
        .await;
}
