//! Requests the server sends the client, bounded in time: a client that never
//! answers (a progress token, `showDocument`) must not stall a turn or the index.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use lsp_types::{ShowDocumentParams, Uri};
use tower_lsp_server::{Client, UriExt};

use crate::state::State;

/// How long the server waits for the client to answer one of its requests
/// before it goes on without.
pub(crate) const CLIENT_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// `future` (a request to the client), or `None` when the client did not answer
/// within `CLIENT_ANSWER_TIMEOUT`.
pub(crate) async fn answered<T>(future: impl Future<Output = T>) -> Option<T> {
    let answer = tokio::time::timeout(CLIENT_ANSWER_TIMEOUT, future)
        .await
        .ok();
    if answer.is_none() {
        tracing::warn!("the client did not answer within {CLIENT_ANSWER_TIMEOUT:?}");
    }
    answer
}

/// Opens `path` in the editor with `window/showDocument` when the client has it;
/// returns whether it did.
pub(crate) async fn show_document(state: &State, client: &Client, path: &Path) -> bool {
    if !state.session().show_document {
        return false;
    }
    let Some(uri) = Uri::from_file_path(path) else {
        return false;
    };
    let params = ShowDocumentParams {
        uri,
        external: Some(false),
        take_focus: Some(true),
        selection: None,
    };
    answered(client.show_document(params))
        .await
        .and_then(Result::ok)
        .unwrap_or(false)
}
