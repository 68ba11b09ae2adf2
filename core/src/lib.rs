//! agentls-core: the agent loop behind agentls, with no LSP in it. Front ends (the
//! language server, `agentls exec`) submit ops and read events; the outside world
//! is reached only through traits: `model::Provider`, `workspace::Workspace`,
//! `process::CommandRunner`.

pub mod agent;
pub mod approval;
pub mod completion;
pub mod config;
pub mod context;
pub mod diff;
pub mod disk;
pub mod hooks;
pub mod language;
pub mod long_lived;
pub mod mcp;
pub mod model;
pub mod process;
pub mod protocol;
pub mod provider;
pub mod rollout;
pub mod sandbox;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod tools;
pub mod user_tasks;
pub mod workspace;
