//! `workspace/didChangeConfiguration`: the editor's settings layer, re-merged, and
//! the problems shown to the user.

use agentls_core::config::{self, ConfigSource};
use lsp_types::DidChangeConfigurationParams;

use crate::document::DocumentStore;
use crate::notice;
use crate::state::write_lock;
use crate::world::World;

/// Hands `[documents] tree_budget_mib` and `text_budget_mib` to the store.
pub(crate) fn set_document_budgets(
    documents: &DocumentStore,
    config: &agentls_core::config::Config,
) {
    let bytes = |mib: u64| usize::try_from(mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
    documents.set_tree_budget(bytes(config.documents.tree_budget_mib));
    documents.set_text_budget(bytes(config.documents.text_budget_mib));
}

pub(crate) async fn handle(world: &World, params: DidChangeConfigurationParams) {
    let problems = {
        let mut config_state = write_lock(&world.state.config);
        config_state.editor_layer =
            config::editor_layer(&params.settings, ConfigSource::EditorSettings);
        let mut problems = config_state.remerge();
        crate::logging::set_level_from_config(config_state.merged.log.level.as_deref());
        set_document_budgets(&world.state.documents, &config_state.merged);
        // The other layers' problems were shown when they were loaded.
        problems.retain(|problem| problem.source == ConfigSource::EditorSettings);
        problems
    };
    notice::config_problems(&world.client, &problems).await;
}
