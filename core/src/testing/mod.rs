//! The in-memory stand-ins for the outside world (a workspace of strings, a
//! scripted model, a scripted command runner) that core's tests and benches drive
//! the loop and the tools with, written once so every test fakes the same seams
//! the same way. Compiled for core's own tests and, through the `test-support`
//! feature, for its benches.

mod memory_workspace;
mod scripted_provider;
mod scripted_runner;

pub use memory_workspace::{MemoryWorkspace, ROOT};
pub use scripted_provider::{Reply, ScriptedProvider};
pub use scripted_runner::{ok_run, outcome, Run, ScriptedRunner};
