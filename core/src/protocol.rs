//! The one seam between front ends (the language server, `agentls exec`) and the
//! agent loop: front ends submit [`Op`]s to a thread and read its [`Event`]s. Plain
//! serde types, camelCase on the wire, so a JSON front end can pass them through.
//!
//! Ordering guarantees a front end can rely on, per thread:
//! - every turn opens with `TurnStarted` and closes with exactly one of
//!   `TurnCompleted`, `TurnInterrupted` or `TurnFailed`;
//! - an item is announced by `ItemStarted`, may grow by `ItemDelta`s and is final
//!   in `ItemCompleted` (which carries the whole item). Items started during a
//!   model call that is then retried never complete: `Retrying` lists them in
//!   `discardedItems` and a front end drops what it showed of them.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::TokenUsage;
use crate::process::OutputStream;

/// A thread's id (a UUID v7, so ids sort by creation time).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ThreadId(pub String);

impl ThreadId {
    /// A fresh id.
    pub fn new() -> ThreadId {
        ThreadId(uuid::Uuid::now_v7().to_string())
    }
}

impl Default for ThreadId {
    fn default() -> Self {
        ThreadId::new()
    }
}

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a front end asks of a thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Op {
    /// Start a turn with this input. Submitted while a turn runs, it is queued and
    /// starts its own turn when the running one ends (use `Steer` to reach the
    /// running turn).
    UserInput {
        text: String,
        /// Context the front end picked (the code around the cursor, diagnostics).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        context: Vec<ContextItem>,
    },
    /// Stop the running turn now: the model stream and any command are cancelled.
    Interrupt,
    /// A message for the running turn, given to the model at its next tool
    /// boundary (after the outputs of the tool calls in flight). With no turn
    /// running it starts one, like `UserInput`.
    Steer { text: String },
    /// The answer to an `Event::ApprovalRequested` with the same `id`.
    ApprovalDecision {
        id: String,
        decision: ReviewDecision,
    },
    /// Interrupt any running turn and end the thread; its event stream then closes.
    Shutdown,
}

/// A piece of context that goes to the model along with the user's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextItem {
    /// What it is ("selection", "diagnostics", "definition of `parse`").
    pub label: String,
    /// The file it comes from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    pub text: String,
}

/// The user's answer to an approval request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReviewDecision {
    /// Run it, this once.
    Approved,
    /// Run it, and the same command again in this thread without asking.
    ApprovedForThread,
    /// Do not run it; the model is told and the turn goes on.
    Denied,
    /// Do not run it and end the turn.
    Abort,
}

/// What happens in a thread, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Event {
    /// The thread is ready for ops. First event of every thread; `resumed` says
    /// whether it continues a thread read back from its rollout.
    ThreadStarted {
        thread_id: ThreadId,
        resumed: bool,
    },
    TurnStarted {
        turn_id: String,
    },
    ItemStarted {
        turn_id: String,
        item: ThreadItem,
    },
    ItemDelta {
        turn_id: String,
        item_id: String,
        delta: ItemDelta,
    },
    ItemCompleted {
        turn_id: String,
        item: ThreadItem,
    },
    /// The turn waits for an `Op::ApprovalDecision` with this `id`. With
    /// `sandboxEscalation` the command already ran in the sandbox, which refused
    /// something, and the question is whether to run it again without one.
    /// With `toolCall` the question is about an MCP tool call, not a command:
    /// `argv` is then empty and `cwd` the workspace root.
    ApprovalRequested {
        turn_id: String,
        id: String,
        /// The call this is about (the id of its command or tool call item).
        item_id: String,
        argv: Vec<String>,
        cwd: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        sandbox_escalation: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_call: Option<ToolCallApproval>,
    },
    /// The answer to an `ApprovalRequested` arrived (or its wait timed out, which
    /// is `denied`): the command runs now, or is declined.
    ApprovalResolved {
        turn_id: String,
        id: String,
        item_id: String,
        decision: ReviewDecision,
    },
    /// Tokens of the last model call and of the turn so far.
    TokenUsage {
        turn_id: String,
        last: TokenUsage,
        turn_total: TokenUsage,
    },
    /// A model call failed in a way worth another try; the next try starts after
    /// `delayMs`. Items listed in `discardedItems` will never complete.
    Retrying {
        turn_id: String,
        attempt: u32,
        max: u32,
        delay_ms: u64,
        reason: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        discarded_items: Vec<String>,
    },
    /// Something the user should know that does not stop the thread.
    Warning {
        message: String,
    },
    TurnCompleted {
        turn_id: String,
        usage: TokenUsage,
        /// Every file the turn's applied changes touched, in order of first change.
        changed_files: Vec<PathBuf>,
    },
    TurnInterrupted {
        turn_id: String,
        reason: InterruptReason,
    },
    TurnFailed {
        turn_id: String,
        error: String,
    },
}

/// An MCP tool call waiting for the user's approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallApproval {
    /// The server, as configured.
    pub server: String,
    /// The tool's name on its server.
    pub tool: String,
    /// The name the model called it by (`SERVER__tool`).
    pub name: String,
    /// The call's arguments, JSON as the model wrote them.
    pub arguments: String,
}

/// Why a turn stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InterruptReason {
    /// `Op::Interrupt`.
    User,
    /// An approval was answered with `ReviewDecision::Abort`.
    Aborted,
    /// `Op::Shutdown`, or the thread handle was dropped.
    Shutdown,
}

/// A growing piece of an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ItemDelta {
    AssistantText { text: String },
    ReasoningSummary { text: String },
    CommandOutput { stream: OutputStream, text: String },
}

/// One entry of a thread as a front end shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadItem {
    pub id: String,
    #[serde(flatten)]
    pub kind: ThreadItemKind,
}

/// What a thread item is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ThreadItemKind {
    /// Input from the user (a turn's input or a steer).
    UserMessage {
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        context: Vec<ContextItem>,
    },
    /// The model's answer text (streamed as `ItemDelta::AssistantText`).
    AssistantMessage { text: String },
    /// A readable summary of the model's reasoning.
    Reasoning { summary: Vec<String> },
    /// A read-only tool call, or any call whose arguments did not parse.
    ToolCall {
        call_id: String,
        tool: String,
        arguments: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
        #[serde(default)]
        is_error: bool,
    },
    /// A `shell` call.
    CommandExecution {
        call_id: String,
        argv: Vec<String>,
        cwd: PathBuf,
        /// The output as the model got it (truncated to a budget).
        #[serde(default)]
        output: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        status: CommandStatus,
    },
    /// An `apply_patch` call: the files it changes, each with a unified diff.
    FileChange {
        call_id: String,
        changes: Vec<FileDiff>,
        status: PatchStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// An `update_plan` call.
    Plan {
        call_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explanation: Option<String>,
        steps: Vec<PlanStep>,
    },
    /// Older history was replaced by this hand-off summary.
    Compaction { summary: String },
}

/// Where a command stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CommandStatus {
    /// Waiting for approval or running.
    InProgress,
    /// It ran and exited 0.
    Completed,
    /// It ran and failed (non-zero exit, signal, timeout), or could not start.
    Failed,
    /// The user (or the policy) said no.
    Declined,
    /// The turn was interrupted while it ran.
    Interrupted,
}

/// Where a patch stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PatchStatus {
    InProgress,
    Applied,
    Failed,
}

/// One file of a file change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDiff {
    /// The file's absolute path (after a move, the new one).
    pub path: PathBuf,
    pub kind: FileChangeKind,
    /// A unified diff with paths relative to the workspace root.
    pub diff: String,
}

/// What happens to a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FileChangeKind {
    Add,
    Delete,
    Update {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        moved_from: Option<PathBuf>,
    },
}

/// One step of the model's plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanStep {
    pub step: String,
    pub status: PlanStepStatus,
}

/// Where a plan step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PlanStepStatus {
    Pending,
    InProgress,
    Completed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn protocol_ops_read_camel_case_json() {
        let op: Op = serde_json::from_str(
            r#"{"type":"approvalDecision","id":"a1","decision":"approvedForThread"}"#,
        )
        .unwrap();
        assert_eq!(
            op,
            Op::ApprovalDecision {
                id: "a1".into(),
                decision: ReviewDecision::ApprovedForThread
            }
        );
        let op: Op = serde_json::from_str(r#"{"type":"userInput","text":"fix it"}"#).unwrap();
        assert_eq!(
            op,
            Op::UserInput {
                text: "fix it".into(),
                context: vec![]
            }
        );
    }

    #[test]
    fn protocol_events_as_a_json_client_sees_them() {
        let events = [
            Event::ItemCompleted {
                turn_id: "turn-1".into(),
                item: ThreadItem {
                    id: "item-3".into(),
                    kind: ThreadItemKind::CommandExecution {
                        call_id: "call_1".into(),
                        argv: vec!["cargo".into(), "test".into()],
                        cwd: PathBuf::from("/w"),
                        output: "ok".into(),
                        exit_code: Some(0),
                        status: CommandStatus::Completed,
                    },
                },
            },
            Event::ItemDelta {
                turn_id: "turn-1".into(),
                item_id: "item-2".into(),
                delta: ItemDelta::CommandOutput {
                    stream: OutputStream::Stderr,
                    text: "warning".into(),
                },
            },
            Event::Retrying {
                turn_id: "turn-1".into(),
                attempt: 1,
                max: 5,
                delay_ms: 500,
                reason: "rate limited".into(),
                discarded_items: vec!["item-4".into()],
            },
            Event::TurnInterrupted {
                turn_id: "turn-1".into(),
                reason: InterruptReason::User,
            },
        ];
        let json: Vec<String> = events
            .iter()
            .map(|event| serde_json::to_string(event).unwrap())
            .collect();
        expect![[r#"
            {"type":"itemCompleted","turnId":"turn-1","item":{"id":"item-3","type":"commandExecution","callId":"call_1","argv":["cargo","test"],"cwd":"/w","output":"ok","exitCode":0,"status":"completed"}}
            {"type":"itemDelta","turnId":"turn-1","itemId":"item-2","delta":{"kind":"commandOutput","stream":"stderr","text":"warning"}}
            {"type":"retrying","turnId":"turn-1","attempt":1,"max":5,"delayMs":500,"reason":"rate limited","discardedItems":["item-4"]}
            {"type":"turnInterrupted","turnId":"turn-1","reason":"user"}"#]]
        .assert_eq(&json.join("\n"));
    }

    #[test]
    fn protocol_thread_items_round_trip() {
        let items = vec![
            ThreadItem {
                id: "item-1".into(),
                kind: ThreadItemKind::FileChange {
                    call_id: "c".into(),
                    changes: vec![FileDiff {
                        path: PathBuf::from("/w/b.rs"),
                        kind: FileChangeKind::Update {
                            moved_from: Some(PathBuf::from("/w/a.rs")),
                        },
                        diff: "--- a/a.rs\n+++ b/b.rs\n".into(),
                    }],
                    status: PatchStatus::Applied,
                    error: None,
                },
            },
            ThreadItem {
                id: "item-2".into(),
                kind: ThreadItemKind::Plan {
                    call_id: "p".into(),
                    explanation: None,
                    steps: vec![PlanStep {
                        step: "read".into(),
                        status: PlanStepStatus::InProgress,
                    }],
                },
            },
        ];
        for item in items {
            let json = serde_json::to_string(&item).unwrap();
            let back: ThreadItem = serde_json::from_str(&json).unwrap();
            assert_eq!(back, item, "{json}");
        }
    }
}
