//! agentls, the language server: the LSP front end of agentls-core.
//!
//! Imports run one way (docs/architecture.md has the map):
//! `server` → `handlers` → {`launch`, `context_page`, `validate`, `errors`,
//! `notice`} → `world` → {`tasks`, `symbols`, `completion`} → {`outgoing`, `edits`, `ext`} →
//! `state` → `document`. `transport` owns the wire; `exec`, `setup` and
//! `logging` serve the command line; `acp` is the Agent Client Protocol front
//! end (`agentls acp`), which shares none of the LSP modules (only `exec`'s
//! configuration reading).

#![warn(unreachable_pub)]

pub mod acp;
mod completion;
mod context_page;
mod direct;
pub mod doctor;
pub mod document;
pub mod edits;
mod errors;
pub mod exec;
mod ext;
mod handlers;
mod launch;
pub mod logging;
pub mod memory;
mod notice;
mod outgoing;
mod seen_diagnostics;
mod server;
pub mod setup;
mod state;
mod symbols;
mod tasks;
pub mod transport;
mod validate;
mod world;

pub use state::EnvLookup;
pub use transport::SessionEnd;

/// Serves one LSP session over the given streams (stdio in production, a duplex
/// pipe in tests) until `exit` or the end of input.
pub async fn serve<I, O>(input: I, output: O) -> SessionEnd
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    serve_with_env(
        input,
        output,
        std::sync::Arc::new(|name: &str| std::env::var(name).ok()),
    )
    .await
}

/// `serve` with a substitute environment, so tests control `XDG_CONFIG_HOME`,
/// `AGENTLS_*` and API keys without touching the process's variables.
pub async fn serve_with_env<I, O>(input: I, output: O, env: EnvLookup) -> SessionEnd
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (service, socket) = server::Server::service(env);
    let trimmer = tokio::spawn(memory::trim_after_frees());
    let end = transport::serve(input, output, service, socket).await;
    trimmer.abort();
    end
}
