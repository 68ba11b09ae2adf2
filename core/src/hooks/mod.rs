//! Hooks: the user's own commands run at fixed points of the loop, with the
//! contract of Claude Code's hooks so that users can bring theirs: the event as
//! JSON on stdin (Claude Code's field names), exit 0 to go on, exit 2 to block
//! with stderr as the reason, or a JSON answer on stdout (`decision`,
//! `hookSpecificOutput.permissionDecision`, `additionalContext`, `continue`…).
//!
//! This module is the loop-independent half, tested on its own: the
//! configuration (`definition`), the event sent (`event`), how one hook's exit
//! and output become a `HookVerdict` (`verdict`, pure), and running the hooks
//! that match an event through the sandboxed `CommandRunner` (`run`). What the
//! loop does with a verdict (block a tool call, add context, keep a turn going)
//! is `agent::hooks`.

mod definition;
mod event;
mod run;
mod verdict;

pub use definition::{HookDefinition, HookEventName, HooksConfig, DEFAULT_HOOK_TIMEOUT_SECS};
pub use event::{HookDetail, HookInput, SessionSource};
pub use run::{run_hooks, HookPlace};
pub use verdict::{HookDecision, HookVerdict};
