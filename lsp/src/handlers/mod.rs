//! One module per LSP method (or per tight family of methods). Each is a plain
//! function over the shared `State`.

pub mod agent;
pub mod agent_context;
pub mod code_action;
pub mod configuration;
pub mod document_state;
pub mod document_sync;
pub mod execute_command;
pub mod initialize;
