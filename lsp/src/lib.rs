//! agentls, the language server: the LSP front end of agentls-core.

pub mod document;
pub mod exec;
