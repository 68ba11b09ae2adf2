//! agentls, the language server: the LSP front end of agentls-core. `transport`
//! owns the wire, `server` the state, `handlers` one module per LSP method, and
//! `document` the editor's buffers.

pub mod document;
pub mod edits;
pub mod exec;
mod handlers;
pub mod logging;
pub mod server;
pub mod setup;
pub mod symbols;
pub mod tasks;
pub mod transport;

pub use transport::SessionEnd;

/// Serves one LSP session over the given streams (stdio in production, a duplex
/// pipe in tests) until `exit` or the end of input.
pub async fn serve<I, O>(input: I, output: O) -> SessionEnd
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (service, socket) = server::Server::service();
    transport::serve(input, output, service, socket).await
}

/// `serve` with a substitute environment, so tests control `XDG_CONFIG_HOME`,
/// `AGENTLS_*` and API keys without touching the process's variables.
pub async fn serve_with_env<I, O>(input: I, output: O, env: server::EnvLookup) -> SessionEnd
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (service, socket) = server::Server::service_with_env(env);
    transport::serve(input, output, service, socket).await
}
