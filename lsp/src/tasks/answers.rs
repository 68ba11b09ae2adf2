//! The end of a task as the user sees it. A short answer goes out with
//! `window/showMessage`; a long one (an explanation) is written as a Markdown file
//! under the data directory and opened with `window/showDocument` where the client
//! supports it (Neovim 0.7 does not), else announced with its path.

use std::path::{Path, PathBuf};

use agentls_core::protocol::ThreadId;
use lsp_types::MessageType;
use tower_lsp_server::Client;

use super::TaskInfo;
use crate::outgoing::show_document;
use crate::state::State;

/// Answers longer than this, or of more lines, go to a file.
const SHORT_ANSWER_CHARS: usize = 400;
const SHORT_ANSWER_LINES: usize = 4;

/// The last answer a task gave, kept so "Agent: Show last answer" can bring it
/// back (Helix has no message history).
#[derive(Clone, Debug)]
pub(crate) struct LastAnswer {
    pub title: String,
    pub text: String,
    /// The Markdown file it was written to, when that worked.
    pub path: Option<PathBuf>,
}

/// Says the answer (short: a message; long: a Markdown file opened in the editor
/// or named) and returns it as the last answer.
pub(super) async fn deliver(
    state: &State,
    client: &Client,
    thread: &ThreadId,
    turn_id: &str,
    info: &TaskInfo,
    answer: &str,
    changed: &[PathBuf],
) -> Option<LastAnswer> {
    let answer = answer.trim();
    let written = (!answer.is_empty())
        .then(|| write_answer(state, thread, turn_id, info, answer))
        .and_then(|written| {
            written
                .map_err(|error| tracing::warn!(%error, "could not write the answer file"))
                .ok()
        });
    let last = (!answer.is_empty()).then(|| LastAnswer {
        title: info.title.clone(),
        text: answer.to_string(),
        path: written.clone(),
    });
    let changed_note = match changed {
        [] => String::new(),
        [one] => format!(" Changed {}.", state.relative(one)),
        many => format!(" Changed {} files.", many.len()),
    };
    let short = answer.chars().count() <= SHORT_ANSWER_CHARS
        && answer.lines().count() <= SHORT_ANSWER_LINES;
    if short {
        let answer = if answer.is_empty() { "done." } else { answer };
        client
            .show_message(
                MessageType::INFO,
                format!("agentls: {}: {answer}{changed_note}", info.title),
            )
            .await;
        return last;
    }
    let Some(path) = written else {
        // Still show it: a long message beats none.
        client
            .show_message(
                MessageType::INFO,
                format!("agentls: {}:{changed_note}\n{answer}", info.title),
            )
            .await;
        return last;
    };
    let shown = show_document(state, client, &path).await;
    let summary = first_sentence(answer);
    let message = if shown {
        format!("agentls: {} done: {summary}{changed_note}", info.title)
    } else {
        format!(
            "agentls: {} done: {summary}{changed_note} (\"Agent: Show last answer\" shows it all) The full answer is in {}",
            info.title,
            path.display()
        )
    };
    client.show_message(MessageType::INFO, message).await;
    last
}

/// "Agent: Show last answer": the answer's file opened in the editor where the
/// client can (`showDocument`), else the answer itself as a message.
pub(super) async fn show(state: &State, client: &Client, last: &LastAnswer) {
    if let Some(path) = &last.path {
        if show_document(state, client, path).await {
            return;
        }
    }
    let place = last
        .path
        .as_ref()
        .map(|path| format!("\n(also in {})", path.display()))
        .unwrap_or_default();
    client
        .show_message(
            MessageType::INFO,
            format!("agentls: {}:\n{}{place}", last.title, last.text),
        )
        .await;
}

fn write_answer(
    state: &State,
    thread: &ThreadId,
    turn_id: &str,
    info: &TaskInfo,
    answer: &str,
) -> Result<PathBuf, String> {
    let data_dir = state.data_dir().map_err(|error| error.to_string())?;
    let directory = data_dir.join("answers");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("{}: {error}", directory.display()))?;
    let path = directory.join(format!("{thread}-{turn_id}.md"));
    let about = info
        .path
        .as_deref()
        .map(|path: &Path| format!(" ({})", state.relative(path)))
        .unwrap_or_default();
    let text = format!("# {}{about}\n\n{answer}\n", info.title);
    std::fs::write(&path, text).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(path)
}

/// The first sentence or line of an answer, at most 120 characters.
fn first_sentence(answer: &str) -> String {
    let line = answer
        .lines()
        .map(|line| line.trim_start_matches('#').trim())
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    let sentence = match line.find(". ") {
        Some(end) => &line[..=end],
        None => line,
    };
    if sentence.chars().count() > 120 {
        let cut: String = sentence.chars().take(117).collect();
        format!("{cut}…")
    } else {
        sentence.to_string()
    }
}
