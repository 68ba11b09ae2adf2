//! `workspace/didChangeConfiguration`: the editor's settings layer, re-merged, and
//! the problems shown to the user.

use agentls_core::config::{self, ConfigProblem, ConfigSource};
use lsp_types::{DidChangeConfigurationParams, MessageType};
use tower_lsp_server::Client;

use crate::server::{write_lock, State};

pub async fn did_change(state: &State, client: &Client, params: DidChangeConfigurationParams) {
    let problems = {
        let mut config_state = write_lock(&state.config);
        config_state.editor_layer =
            config::editor_layer(&params.settings, ConfigSource::EditorSettings);
        let mut problems = config_state.remerge();
        crate::logging::set_level_from_config(config_state.merged.log.level.as_deref());
        // The other layers' problems were shown when they were loaded.
        problems.retain(|problem| problem.source == ConfigSource::EditorSettings);
        problems
    };
    report(client, &problems).await;
}

/// Shows each problem as an error message; the server goes on with the rest.
pub async fn report(client: &Client, problems: &[ConfigProblem]) {
    for problem in problems {
        client
            .show_message(
                MessageType::ERROR,
                format!("agentls: invalid configuration: {problem} (using the default instead)"),
            )
            .await;
    }
}
