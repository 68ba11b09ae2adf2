//! agentls-core: the agent loop behind agentls, with no LSP in it. Front ends (the
//! language server, `agentls exec`) submit ops and read events; the outside world
//! is reached only through traits: `model::Provider`, `workspace::Workspace`,
//! `process::CommandRunner`.

pub mod config;
pub mod model;
pub mod process;
pub mod workspace;
