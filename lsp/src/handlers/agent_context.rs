//! `agent/context` and "Agent: Show agent context": exactly the context a task at
//! this spot would send the model, piece by piece with token counts, so the user
//! can see what leaves the editor.

use std::path::PathBuf;
use std::sync::Arc;

use lsp_types::{Diagnostic, MessageType, Range, Uri};
use serde::Deserialize;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::{Client, UriExt};

use crate::document::DocumentSnapshot;
use crate::server::State;
use crate::symbols::{self, ContextResult};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextParams {
    pub uri: Uri,
    pub range: Range,
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
}

pub async fn handle(state: &State, params: ContextParams) -> Result<ContextResult> {
    let (snapshot, path) = located(state, &params.uri, &params.range)?;
    let selection = symbols::select(state, snapshot, path, params.range, &params.diagnostics).await;
    Ok(ContextResult::of(&selection))
}

/// The open document at `uri` and its path, with `range` checked against it.
pub fn located(state: &State, uri: &Uri, range: &Range) -> Result<(DocumentSnapshot, PathBuf)> {
    let snapshot = state
        .documents
        .snapshot(uri)
        .ok_or_else(|| Error::invalid_params(format!("unknown document {}", uri.as_str())))?;
    super::code_action::check_range(&snapshot, range)?;
    let path = uri
        .to_file_path()
        .map(|path| path.into_owned())
        .ok_or_else(|| Error::invalid_params(format!("{} is not a file", uri.as_str())))?;
    Ok((snapshot, path))
}

/// "Agent: Show agent context": the selection as a Markdown page, opened with
/// `window/showDocument` where the client has it, else announced by path.
pub async fn show(state: Arc<State>, client: Client, params: ContextParams) {
    let (snapshot, path) = match located(&state, &params.uri, &params.range) {
        Ok(located) => located,
        Err(error) => {
            client
                .show_message(MessageType::WARNING, format!("agentls: {}", error.message))
                .await;
            return;
        }
    };
    let root = crate::tasks::root_for(&state, Some(&path)).ok();
    let about = format!(
        "{} line {}",
        root.as_deref()
            .and_then(|root| path.strip_prefix(root).ok())
            .unwrap_or(&path)
            .display(),
        params.range.start.line + 1
    );
    let selection = symbols::select(
        &state,
        snapshot,
        path.clone(),
        params.range,
        &params.diagnostics,
    )
    .await;
    let page = symbols::render_markdown(&selection, &about, root.as_deref());
    let written = crate::tasks::data_dir(&state)
        .map_err(|error| error.to_string())
        .and_then(|data_dir| {
            let directory = data_dir.join("context");
            std::fs::create_dir_all(&directory)
                .map_err(|error| format!("{}: {error}", directory.display()))?;
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let file = directory.join(format!("{name}-{}.md", params.range.start.line + 1));
            std::fs::write(&file, &page).map_err(|error| format!("{}: {error}", file.display()))?;
            Ok(file)
        });
    let file = match written {
        Ok(file) => file,
        Err(error) => {
            client
                .show_message(
                    MessageType::WARNING,
                    format!("agentls: cannot write the context page: {error}"),
                )
                .await;
            return;
        }
    };
    let summary = format!(
        "agentls: the agent would send {} pieces, {} of {} tokens, for {about}",
        selection.pieces.len(),
        selection.n_tokens,
        selection.budget
    );
    let shown = crate::tasks::show_document(&state, &client, &file).await;
    let message = if shown {
        summary
    } else {
        format!("{summary}: see {}", file.display())
    };
    client.show_message(MessageType::INFO, message).await;
}
