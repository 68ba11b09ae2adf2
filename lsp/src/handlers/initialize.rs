//! `initialize`: negotiate the position encoding, learn what the client can do,
//! find the workspace roots, load the configuration.

use std::path::PathBuf;

use agentls_core::config::{self, ConfigSource};
use lsp_types::*;
use tower_lsp_server::UriExt;

use crate::document::PositionEncoding;
use crate::ext;
use crate::state::{lock, read_lock, write_lock, Session, State};
use crate::world::World;

pub(crate) fn handle(world: &World, params: InitializeParams) -> InitializeResult {
    let state = &world.state;
    let capabilities = &params.capabilities;
    let encoding = PositionEncoding::negotiate(
        capabilities
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_deref()),
    );
    state.documents.set_encoding(encoding);
    let roots = workspace_roots(&params);
    let window = capabilities.window.as_ref();
    let mut session = Session {
        roots: roots.clone(),
        client_name: params.client_info.as_ref().map(|info| info.name.clone()),
        show_message_request: window
            .and_then(|window| window.show_message.as_ref())
            .is_some(),
        show_document: window
            .and_then(|window| window.show_document.as_ref())
            .is_some_and(|show| show.support),
        work_done_progress: window
            .and_then(|window| window.work_done_progress)
            .unwrap_or(false),
        agentls_extensions: capabilities
            .experimental
            .as_ref()
            .and_then(|experimental| experimental.get("agentls"))
            .is_some_and(|value| !value.is_null() && value != &serde_json::Value::Bool(false)),
        edit_capabilities: crate::edits::EditCapabilities::from_client(capabilities),
        watched_files_registration: capabilities
            .workspace
            .as_ref()
            .and_then(|workspace| workspace.did_change_watched_files.as_ref())
            .and_then(|watched| watched.dynamic_registration)
            .unwrap_or(false),
    };
    tracing::info!(
        client = session.client_name.as_deref().unwrap_or("unknown"),
        ?encoding,
        roots = ?session.roots,
        "initialize"
    );
    // Helix 25.07 opens `window/showDocument` but does not announce it; if a
    // request fails anyway, the path is named instead.
    session.show_document |= session.is_helix();
    *write_lock(&state.session) = session;
    load_configuration(state, &roots, params.initialization_options.as_ref());

    let completion = read_lock(&state.config).merged.completion.enabled;
    InitializeResult {
        capabilities: server_capabilities(encoding, completion),
        server_info: Some(ServerInfo {
            name: "agentls".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
        offset_encoding: None,
    }
}

/// What the server offers; completions only when `[completion] enabled` (so
/// nothing changes for users who did not turn them on).
pub(crate) fn server_capabilities(
    encoding: PositionEncoding,
    completion: bool,
) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..Default::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::REFACTOR_REWRITE,
            ]),
            resolve_provider: Some(false),
            work_done_progress_options: Default::default(),
        })),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: ext::command::ALL
                .iter()
                .map(|command| command.to_string())
                .collect(),
            work_done_progress_options: Default::default(),
        }),
        inline_completion_provider: completion.then_some(OneOf::Left(true)),
        completion_provider: completion.then(CompletionOptions::default),
        experimental: Some(serde_json::json!({ "agentls": { "version": 1 } })),
        ..Default::default()
    }
}

fn workspace_roots(params: &InitializeParams) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|folder| folder.uri.to_file_path().map(|path| path.into_owned()))
        .collect();
    #[allow(deprecated)] // rootUri is still what older clients (Neovim 0.7) send.
    if roots.is_empty() {
        if let Some(path) = params.root_uri.as_ref().and_then(|uri| uri.to_file_path()) {
            roots.push(path.into_owned());
        }
    }
    roots
}

fn load_configuration(state: &State, roots: &[PathBuf], init: Option<&serde_json::Value>) {
    let env = |name: &str| (state.env)(name);
    let mut problems = Vec::new();
    let mut file_layers = Vec::new();
    let mut paths: Vec<(PathBuf, ConfigSource)> = Vec::new();
    if let Some(path) = config::user_config_path(&env) {
        paths.push((path.clone(), ConfigSource::UserFile(path)));
    }
    if let Some(root) = roots.first() {
        let path = config::workspace_config_path(root);
        paths.push((path.clone(), ConfigSource::WorkspaceFile(path)));
    }
    for (path, source) in paths {
        match config::load_toml_layer(&path, source) {
            Ok(Some(layer)) => file_layers.push(layer),
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
    }
    let mut config_state = write_lock(&state.config);
    config_state.file_layers = file_layers;
    config_state.init_layer =
        init.and_then(|value| config::editor_layer(value, ConfigSource::InitializationOptions));
    config_state.env_layer = config::environment_layer(&env);
    problems.extend(config_state.remerge());
    crate::logging::set_level_from_config(config_state.merged.log.level.as_deref());
    super::did_change_configuration::set_document_budgets(&state.documents, &config_state.merged);
    drop(config_state);
    for problem in &problems {
        tracing::warn!(%problem, "configuration problem");
    }
    lock(&state.pending_problems).extend(problems);
}
