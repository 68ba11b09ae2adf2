//! `agentls acp`: the agent over the Agent Client Protocol on stdio, for Zed,
//! JetBrains and the Neovim plugins that speak it. The same core as the language
//! server and `agentls exec` (threads and turns, tools, approvals, the sandbox,
//! rollouts); the `agent-client-protocol` crate owns the wire.
//!
//! Map, callers first (imports run down it): `handlers` (one file per method)
//! → `open` (a session on a thread) → {`setup` (the agent of a session),
//! `relay` (thread events to `session/update`s)} → {`permission`,
//! `client_fs` (the session's `Workspace`), `convert` (pure conversions),
//! `errors`} → `state` (the leaf: capabilities, sessions).
//!
//! A session is a core thread: its id is the thread's, its rollout is the
//! thread's, so `session/load` resumes what `session/new` started, in this
//! process or a later one. Commands always run in agentls's sandbox (the
//! client's terminal is not used); files go through the client when it offers
//! `fs/read_text_file` and `fs/write_text_file`.

mod client_fs;
mod convert;
mod errors;
mod handlers;
mod open;
mod permission;
mod relay;
mod setup;
mod state;

use std::path::PathBuf;
use std::sync::Arc;

use agent_client_protocol as sdk;
use agent_client_protocol::v1::schema::{
    CancelNotification, InitializeRequest, LoadSessionRequest, NewSessionRequest, PromptRequest,
};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use self::state::AcpState;
pub use self::state::EnvReader;

/// Run `agentls acp` on this process's stdin and stdout until the client
/// closes stdin.
pub async fn run() -> anyhow::Result<()> {
    let env: EnvReader = Arc::new(|name: &str| std::env::var(name).ok());
    serve(
        tokio::io::stdin(),
        tokio::io::stdout(),
        env,
        std::env::current_exe()?,
    )
    .await?;
    Ok(())
}

/// Serve one ACP connection over these streams. When the input ends, every
/// session's thread is shut down (a running turn is interrupted and recorded as
/// such in its rollout) before this returns.
pub async fn serve<I, O>(
    input: I,
    output: O,
    env: EnvReader,
    sandbox_helper: PathBuf,
) -> Result<(), sdk::Error>
where
    I: tokio::io::AsyncRead + Send + 'static,
    O: tokio::io::AsyncWrite + Send + 'static,
{
    let state = Arc::new(AcpState::new(env, sandbox_helper));
    let transport = sdk::ByteStreams::new(output.compat_write(), input.compat());
    let connection = sdk::Agent
        .v1()
        .name("agentls")
        .on_receive_request(
            {
                let state = state.clone();
                async move |request: InitializeRequest, responder, _peer| {
                    handlers::initialize::handle(&state, request, responder)
                }
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            {
                let state = state.clone();
                async move |request: NewSessionRequest, responder, peer| {
                    handlers::new_session::handle(state.clone(), request, responder, peer)
                }
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            {
                let state = state.clone();
                async move |request: LoadSessionRequest, responder, peer| {
                    handlers::load_session::handle(state.clone(), request, responder, peer)
                }
            },
            sdk::on_receive_request!(),
        )
        .on_receive_request(
            {
                let state = state.clone();
                async move |request: PromptRequest, responder, _peer| {
                    handlers::prompt::handle(&state, request, responder)
                }
            },
            sdk::on_receive_request!(),
        )
        .on_receive_notification(
            {
                let state = state.clone();
                async move |notification: CancelNotification, _peer| {
                    handlers::cancel::handle(&state, notification);
                    Ok(())
                }
            },
            sdk::on_receive_notification!(),
        );
    let result = connection.connect_to(transport).await;
    match &result {
        Ok(()) => tracing::info!("acp client closed the connection"),
        Err(error) => tracing::warn!(%error, "acp connection ended"),
    }
    let sessions = state.take_sessions();
    futures::future::join_all(sessions.iter().map(|session| session.close())).await;
    result
}
