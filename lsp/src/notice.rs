//! What the server tells the user with `window/showMessage` outside a task:
//! document faults and configuration problems. Every message starts with
//! `agentls: ` so users know whose it is among other servers'.

use agentls_core::config::ConfigProblem;
use lsp_types::MessageType;
use tower_lsp_server::Client;

/// A document notification the server could not apply as sent (logged, shown,
/// never fatal).
pub(crate) async fn document_fault(client: &Client, message: String) {
    tracing::warn!(%message, "document sync");
    client
        .show_message(MessageType::WARNING, format!("agentls: {message}"))
        .await;
}

/// Shows each configuration problem as an error message; the server goes on
/// with the rest.
pub(crate) async fn config_problems(client: &Client, problems: &[ConfigProblem]) {
    for problem in problems {
        // A bad `[[tasks]]` or hook definition has no default: it is left out.
        let fallback = if problem.key.starts_with("tasks") || problem.key.starts_with("hooks") {
            "left out"
        } else {
            "using the default instead"
        };
        client
            .show_message(
                MessageType::ERROR,
                format!("agentls: invalid configuration: {problem} ({fallback})"),
            )
            .await;
    }
}
