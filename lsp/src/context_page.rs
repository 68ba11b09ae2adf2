//! "Agent: Show agent context": exactly the context a task at this spot would
//! send the model, as a Markdown page under the data directory, opened with
//! `window/showDocument` where the client has it, else announced by path.

use agentls_core::mcp::{McpServerState, McpServerStatus};
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
    let mut page = symbols::render_markdown(&selection, &about, root.as_deref());
    if let Some(root) = &root {
        let hub = world.tasks.mcp_hub(state, root);
        page.push_str(&mcp_section(&hub.status(), hub.problems()));
    }
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

/// The MCP servers a task here could call, with their tools: a section of the
/// page (none when no server is configured).
fn mcp_section(servers: &[McpServerStatus], problems: &[String]) -> String {
    if servers.is_empty() && problems.is_empty() {
        return String::new();
    }
    let mut section = String::from("\n## MCP servers\n\n");
    for server in servers {
        let state = match server.state {
            McpServerState::NotStarted => "not started yet (starts with the first task)",
            McpServerState::Starting => "starting",
            McpServerState::Ready => "connected",
            McpServerState::Failed => "failed",
            McpServerState::Disabled => "disabled",
        };
        section.push_str(&format!(
            "- **{}** ({} `{}`, from {}{}): {state}",
            server.name,
            server.transport,
            server.target,
            server.source,
            server
                .sandbox
                .as_deref()
                .map(|policy| format!(", sandbox {policy}"))
                .unwrap_or_default(),
        ));
        if server.restarts > 0 {
            section.push_str(&format!(", restarted {} time(s)", server.restarts));
        }
        if let Some(error) = &server.error {
            section.push_str(&format!(": {error}"));
        }
        section.push('\n');
        for tool in &server.tools {
            section.push_str(&format!("  - `{tool}`\n"));
        }
    }
    for problem in problems {
        section.push_str(&format!("- {problem}\n"));
    }
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_page_lists_mcp_servers_and_their_tools() {
        let servers = [
            McpServerStatus {
                name: "everything".into(),
                transport: "stdio".into(),
                target: "node index.js".into(),
                source: "config".into(),
                state: McpServerState::Ready,
                error: None,
                restarts: 1,
                sandbox: Some("workspace-write".into()),
                tools: vec!["everything__add".into(), "everything__echo".into()],
            },
            McpServerStatus {
                name: "remote".into(),
                transport: "http".into(),
                target: "http://127.0.0.1:9/mcp".into(),
                source: ".mcp.json".into(),
                state: McpServerState::Failed,
                error: Some("connection refused".into()),
                restarts: 0,
                sandbox: None,
                tools: Vec::new(),
            },
        ];
        expect_test::expect![[r#"

            ## MCP servers

            - **everything** (stdio `node index.js`, from config, sandbox workspace-write): connected, restarted 1 time(s)
              - `everything__add`
              - `everything__echo`
            - **remote** (http `http://127.0.0.1:9/mcp`, from .mcp.json): failed: connection refused
        "#]]
        .assert_eq(&mcp_section(&servers, &[]));
        assert_eq!(mcp_section(&[], &[]), "");
    }
}
