//! The `LanguageServer` impl handed to tower-lsp-server: it only routes each
//! method to its handler in `handlers/`, with the custom methods declared in
//! `ext`.

use lsp_types::request::{InlineCompletionRequest, Request};
use lsp_types::*;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::{ClientSocket, LanguageServer, LspService};

use crate::direct::Direct;
use crate::ext;
use crate::handlers;
use crate::state::EnvLookup;
use crate::world::World;

pub(crate) struct Server {
    world: World,
}

/// The requests the transport answers without the router (`direct`): the
/// same handlers as the `LanguageServer` methods below.
impl Direct for Server {
    type CodeActions = handlers::code_action::Answer;

    fn code_action(&self, params: CodeActionParams) -> Result<handlers::code_action::Answer> {
        handlers::code_action::handle(&self.world, params)
    }
}

impl Server {
    /// Builds the service with a substitute environment (tests) or the process's.
    pub(crate) fn service(env: EnvLookup) -> (LspService<Server>, ClientSocket) {
        LspService::build(move |client| Server {
            world: World::new(client, env),
        })
        .custom_method(ext::DocumentState::METHOD, Server::document_state)
        .custom_method(ext::ThreadStart::METHOD, Server::thread_start)
        .custom_method(ext::ThreadResume::METHOD, Server::thread_resume)
        .custom_method(ext::ThreadList::METHOD, Server::thread_list)
        .custom_method(ext::TurnStart::METHOD, Server::turn_start)
        .custom_method(ext::TurnSteer::METHOD, Server::turn_steer)
        .custom_method(ext::TurnInterrupt::METHOD, Server::turn_interrupt)
        .custom_method(ext::Undo::METHOD, Server::undo)
        .custom_method(ext::Approve::METHOD, Server::approve)
        .custom_method(ext::Context::METHOD, Server::context)
        .custom_method(ext::McpServers::METHOD, Server::mcp_servers)
        .custom_method("window/workDoneProgress/cancel", Server::progress_cancel)
        // tower-lsp-server's trait has no inline completion (LSP 3.18).
        .custom_method(InlineCompletionRequest::METHOD, Server::inline_completion)
        .finish()
    }

    async fn document_state(
        &self,
        params: ext::DocumentStateParams,
    ) -> Result<ext::DocumentStateResult> {
        handlers::document_state::handle(&self.world, params)
    }

    async fn thread_start(&self, params: ext::ThreadStartParams) -> Result<ext::ThreadStartResult> {
        handlers::thread_start::handle(&self.world, params).await
    }

    async fn thread_resume(
        &self,
        params: ext::ThreadResumeParams,
    ) -> Result<ext::ThreadResumeResult> {
        handlers::thread_resume::handle(&self.world, params).await
    }

    async fn thread_list(&self, params: ext::ThreadListParams) -> Result<ext::ThreadListResult> {
        handlers::thread_list::handle(&self.world, params)
    }

    async fn turn_start(&self, params: ext::TurnStartParams) -> Result<ext::TurnStartResult> {
        handlers::turn_start::handle(&self.world, params).await
    }

    async fn turn_steer(&self, params: ext::TurnSteerParams) -> Result<ext::Empty> {
        handlers::turn_steer::handle(&self.world, params).await
    }

    async fn turn_interrupt(&self, params: ext::ThreadParams) -> Result<ext::Empty> {
        handlers::turn_interrupt::handle(&self.world, params).await
    }

    async fn undo(&self, params: Option<ext::UndoParams>) -> Result<ext::UndoResult> {
        handlers::undo::handle(&self.world, params)
    }

    async fn mcp_servers(
        &self,
        params: Option<ext::McpServersParams>,
    ) -> Result<ext::McpServersResult> {
        handlers::mcp_servers::handle(&self.world, params)
    }

    async fn approve(&self, params: ext::ApproveParams) -> Result<ext::Empty> {
        handlers::approve::handle(&self.world, params).await
    }

    async fn context(&self, params: ext::ContextParams) -> Result<ext::ContextResult> {
        handlers::context::handle(&self.world, params).await
    }

    async fn inline_completion(
        &self,
        params: InlineCompletionParams,
    ) -> Result<Option<InlineCompletionResponse>> {
        handlers::inline_completion::handle(&self.world, params).await
    }

    async fn progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        handlers::progress_cancel::handle(&self.world, params);
    }
}

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        Ok(handlers::initialize::handle(&self.world, params))
    }

    async fn initialized(&self, _: InitializedParams) {
        handlers::initialized::handle(&self.world).await;
    }

    async fn shutdown(&self) -> Result<()> {
        tracing::info!("shutdown requested");
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::did_open::handle(&self.world, params).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::did_change::handle(&self.world, params).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::did_close::handle(&self.world, params).await;
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        handlers::did_save::handle(&self.world, params).await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        handlers::did_change_watched_files::handle(&self.world, params);
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        handlers::did_change_configuration::handle(&self.world, params).await;
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        handlers::code_action::handle(&self.world, params)?.into_response()
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        handlers::completion::handle(&self.world, params).await
    }

    async fn execute_command(
        &self,
        params: ExecuteCommandParams,
    ) -> Result<Option<serde_json::Value>> {
        handlers::execute_command::handle(&self.world, params).await
    }
}
