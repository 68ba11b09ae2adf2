//! "Agent: Show agent context": exactly the context a task at this spot would
//! send the model, as a Markdown page under the data directory, opened with
//! `window/showDocument` where the client has it, else announced by path.

use lsp_types::MessageType;

use crate::ext::ContextParams;
use crate::outgoing::show_document;
use crate::symbols;
use crate::validate;
use crate::world::World;

pub(crate) async fn show(world: World, params: ContextParams) {
    let (state, client) = (&world.state, &world.client);
    let (snapshot, path) = match validate::located(state, &params.uri, &params.range) {
        Ok(located) => located,
        Err(error) => {
            client
                .show_message(MessageType::WARNING, format!("agentls: {}", error.message))
                .await;
            return;
        }
    };
    let root = state.root_for(Some(&path)).ok();
    let about = format!(
        "{} line {}",
        root.as_deref()
            .and_then(|root| path.strip_prefix(root).ok())
            .unwrap_or(&path)
            .display(),
        params.range.start.line + 1
    );
    let selection = world
        .symbols
        .select(
            state,
            snapshot,
            path.clone(),
            params.range,
            &params.diagnostics,
        )
        .await;
    let page = symbols::render_markdown(&selection, &about, root.as_deref());
    let written = state
        .data_dir()
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
    let shown = show_document(state, client, &file).await;
    let message = if shown {
        summary
    } else {
        format!("{summary}: see {}", file.display())
    };
    client.show_message(MessageType::INFO, message).await;
}
