//! The agentls extensions to LSP, declared once (as rust-analyzer's `lsp/ext.rs`):
//! every custom request and notification as a type implementing `lsp_types`'
//! `Request`/`Notification`, every `workspace/executeCommand` command id and its
//! arguments, and the custom JSON-RPC error code. Nothing else in the server
//! names a custom method or builds one of these payloads by hand;
//! docs/lsp-extensions.md describes them and a test keeps the two in step.
//!
//! A leaf: it imports only `lsp_types`, serde and the core's protocol types.

use std::borrow::Cow;
use std::path::PathBuf;

use agentls_core::agent::ThreadSummary;
use agentls_core::context::{ContextPiece, Selection};
use agentls_core::mcp::McpServerStatus;
use agentls_core::model::TokenUsage;
use agentls_core::protocol::{
    InterruptReason, ItemDelta, ReviewDecision, ThreadId, ThreadItem, ToolCallApproval,
};
use lsp_types::notification::Notification;
use lsp_types::request::Request;
use lsp_types::{Diagnostic, Range, Uri};
use serde::{Deserialize, Serialize};

/// LSP's `RequestFailed`: the request was valid but the server could not do it
/// (a thread that ended, a file another task is editing, a setup fault).
pub(crate) const REQUEST_FAILED: i64 = -32803;

/// The reply of a request that has nothing to say but "done": `{}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Empty {}

// ---------------------------------------------------------------------------
// Commands (`workspace/executeCommand`), offered by the code actions.

/// The command ids, each declared once.
pub(crate) mod command {
    pub(crate) const FIX: &str = "agentls.fix";
    pub(crate) const EXPLAIN: &str = "agentls.explain";
    pub(crate) const IMPLEMENT: &str = "agentls.implement";
    pub(crate) const WRITE_TESTS: &str = "agentls.writeTests";
    pub(crate) const DO_COMMENT: &str = "agentls.doComment";
    pub(crate) const UNDO: &str = "agentls.undo";
    pub(crate) const STOP: &str = "agentls.stop";
    pub(crate) const APPROVE: &str = "agentls.approve";
    pub(crate) const APPROVE_FOR_THREAD: &str = "agentls.approveForThread";
    pub(crate) const DENY: &str = "agentls.deny";
    pub(crate) const SHOW_CONTEXT: &str = "agentls.showContext";
    pub(crate) const SHOW_LAST_ANSWER: &str = "agentls.showLastAnswer";
    /// One command for every `[[tasks]]` definition, named by its title in
    /// the argument: tasks added by a configuration change work at once,
    /// while VS Code's client runs only the commands registered at
    /// `initialize`.
    pub(crate) const USER_TASK: &str = "agentls.userTask";
    pub(crate) const REVIEW_PENDING: &str = "agentls.reviewPending";
    pub(crate) const APPLY_PENDING: &str = "agentls.applyPending";
    pub(crate) const DISCARD_PENDING: &str = "agentls.discardPending";

    /// Every command the server registers in its `initialize` answer.
    pub(crate) const ALL: &[&str] = &[
        FIX,
        EXPLAIN,
        IMPLEMENT,
        WRITE_TESTS,
        DO_COMMENT,
        UNDO,
        STOP,
        APPROVE,
        APPROVE_FOR_THREAD,
        DENY,
        SHOW_CONTEXT,
        SHOW_LAST_ANSWER,
        USER_TASK,
        REVIEW_PENDING,
        APPLY_PENDING,
        DISCARD_PENDING,
    ];
}

/// The one argument of a task command (`agentls.fix` …) and of
/// `agentls.showContext`: the spot the task is about. Borrowed where a code
/// action writes it (once per action offered, on every cursor move), owned
/// where a command reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TaskArgs<'a> {
    pub uri: Cow<'a, Uri>,
    pub range: Range,
    /// The editor's diagnostics in range (for "Fix this").
    #[serde(default, skip_serializing_if = "no_diagnostics")]
    pub diagnostics: Cow<'a, [Diagnostic]>,
}

// serde hands `skip_serializing_if` the field as it is: a `&Cow`.
#[allow(clippy::ptr_arg)]
fn no_diagnostics(diagnostics: &Cow<'_, [Diagnostic]>) -> bool {
    diagnostics.is_empty()
}

/// The one argument of `agentls.userTask`: which `[[tasks]]` definition, by
/// its title, and the spot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserTaskArgs<'a> {
    /// The definition's `title` (`Agent: Add docs`).
    pub task: Cow<'a, str>,
    #[serde(flatten)]
    pub spot: TaskArgs<'a>,
}

/// What a task command answers: the thread its turn runs on.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TaskStarted {
    pub thread_id: ThreadId,
}

/// What `agentls.stop` answers.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Stopped {
    /// How many queued or running turns were interrupted.
    pub stopped: usize,
}

/// What `agentls.approve`, `agentls.approveForThread` and `agentls.deny` answer
/// (the approval they answered), and `agentls.reviewPending`,
/// `agentls.applyPending` and `agentls.discardPending` (the pending change).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Decided {
    pub id: String,
}

// ---------------------------------------------------------------------------
// Requests (client to server).

/// Declares a custom request: its marker type and its `Request` impl.
macro_rules! request {
    ($(#[$doc:meta])* $name:ident, $method:literal, $params:ty => $result:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) enum $name {}
        impl Request for $name {
            type Params = $params;
            type Result = $result;
            const METHOD: &'static str = $method;
        }
    };
}

/// Declares a custom notification: its marker type and its `Notification` impl.
macro_rules! notification {
    ($(#[$doc:meta])* $name:ident, $method:literal, $params:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) enum $name {}
        impl Notification for $name {
            type Params = $params;
            const METHOD: &'static str = $method;
        }
    };
}

request!(
    /// What the server holds for one open document.
    DocumentState, "agent/documentState", DocumentStateParams => DocumentStateResult
);
request!(ThreadStart, "agent/threadStart", ThreadStartParams => ThreadStartResult);
request!(ThreadResume, "agent/threadResume", ThreadResumeParams => ThreadResumeResult);
request!(ThreadList, "agent/threadList", ThreadListParams => ThreadListResult);
request!(TurnStart, "agent/turnStart", TurnStartParams => TurnStartResult);
request!(TurnSteer, "agent/turnSteer", TurnSteerParams => Empty);
request!(TurnInterrupt, "agent/turnInterrupt", ThreadParams => Empty);
request!(Undo, "agent/undo", Option<UndoParams> => UndoResult);
request!(Approve, "agent/approve", ApproveParams => Empty);
request!(
    /// Exactly the context a task at a spot would send the model.
    Context, "agent/context", ContextParams => ContextResult
);
request!(
    /// The MCP servers of each workspace folder and where they stand.
    McpServers, "agent/mcpServers", Option<McpServersParams> => McpServersResult
);

/// Every custom request method, for the docs check.
#[cfg(test)]
const REQUESTS: &[&str] = &[
    DocumentState::METHOD,
    ThreadStart::METHOD,
    ThreadResume::METHOD,
    ThreadList::METHOD,
    TurnStart::METHOD,
    TurnSteer::METHOD,
    TurnInterrupt::METHOD,
    Undo::METHOD,
    Approve::METHOD,
    Context::METHOD,
    McpServers::METHOD,
];

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DocumentStateParams {
    pub uri: Uri,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DocumentStateResult {
    pub uri: Uri,
    pub version: i32,
    pub language_id: String,
    /// The tree-sitter language in use, `null` for plain text.
    pub language: Option<String>,
    pub has_syntax_tree: bool,
    pub line_count: usize,
    pub text: String,
    /// Whether the server holds the text compressed: the document was opened
    /// and has not been used since (edited, or read by a request). This
    /// request reads without putting it in use.
    pub text_packed: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThreadStartParams {
    /// The workspace root the thread works in; the first workspace folder when
    /// unset.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThreadStartResult {
    pub thread_id: ThreadId,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThreadResumeParams {
    pub thread_id: ThreadId,
    #[serde(default)]
    pub cwd: Option<PathBuf>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThreadResumeResult {
    pub thread_id: ThreadId,
    /// The thread's items as they were when it stopped.
    pub items: Vec<ThreadItem>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ThreadListParams {}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ThreadListResult {
    pub threads: Vec<ThreadSummary>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TurnStartParams {
    /// The thread to continue; a new thread when unset.
    #[serde(default)]
    pub thread_id: Option<ThreadId>,
    pub text: String,
    /// The document the turn is about: its code around `range` goes with the text.
    #[serde(default)]
    pub uri: Option<Uri>,
    #[serde(default)]
    pub range: Option<Range>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TurnStartResult {
    pub thread_id: ThreadId,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TurnSteerParams {
    pub thread_id: ThreadId,
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThreadParams {
    pub thread_id: ThreadId,
}

/// `agent/undo` takes `{}` (or nothing).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct UndoParams {}

/// What an undo did (the result of `agent/undo` and `agentls.undo`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UndoResult {
    /// The task whose changes were reverted.
    pub title: String,
    pub reverted: Vec<PathBuf>,
    /// Hunks left in place because the user edited them since.
    pub refused: Vec<RefusedHunk>,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefusedHunk {
    pub path: PathBuf,
    /// `lines 3-5` of the current text.
    pub lines: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApproveParams {
    /// The approval's id, from `agent/approvalRequested`.
    pub id: String,
    /// `approved` (the default), `approvedForThread`, `denied` or `abort`.
    #[serde(default = "approved")]
    pub decision: ReviewDecision,
}

fn approved() -> ReviewDecision {
    ReviewDecision::Approved
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContextParams {
    pub uri: Uri,
    pub range: Range,
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
}

/// A selection as `agent/context` returns it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContextResult {
    pub pieces: Vec<ContextPieceView>,
    pub n_tokens: u32,
    pub budget: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContextPieceView {
    pub label: String,
    /// `enclosing item`, `diagnostic`, `definition`, `recent edit`, `imports`,
    /// `outline`.
    pub kind: String,
    pub path: PathBuf,
    /// One-based, both ends included.
    pub start_line: u32,
    pub end_line: u32,
    pub n_tokens: u32,
    pub text: String,
}

/// `agent/mcpServers` takes `{}` (or nothing).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct McpServersParams {}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct McpServersResult {
    pub servers: Vec<McpServerView>,
    /// What is wrong with a `.mcp.json`.
    pub problems: Vec<String>,
}

/// One server of one workspace folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct McpServerView {
    /// The workspace folder whose configuration (and `.mcp.json`) defines it.
    pub root: PathBuf,
    #[serde(flatten)]
    pub status: McpServerStatus,
}

impl ContextResult {
    pub(crate) fn of(selection: &Selection) -> ContextResult {
        ContextResult {
            pieces: selection.pieces.iter().map(ContextPieceView::of).collect(),
            n_tokens: selection.n_tokens,
            budget: selection.budget,
        }
    }
}

impl ContextPieceView {
    fn of(piece: &ContextPiece) -> ContextPieceView {
        ContextPieceView {
            label: piece.label.clone(),
            kind: piece.kind.name().to_string(),
            path: piece.path.clone(),
            start_line: piece.lines.start,
            end_line: piece.lines.end,
            n_tokens: piece.n_tokens,
            text: piece.text.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// Notifications (server to client), sent only to clients that declared
// `experimental.agentls`.

notification!(TurnStarted, "agent/turnStarted", TurnStartedParams);
notification!(ItemStarted, "agent/itemStarted", ItemParams);
notification!(ItemDeltaNotification, "agent/itemDelta", ItemDeltaParams);
notification!(ItemCompleted, "agent/itemCompleted", ItemParams);
notification!(
    ApprovalRequested,
    "agent/approvalRequested",
    ApprovalRequestedParams
);
notification!(
    ApprovalResolved,
    "agent/approvalResolved",
    ApprovalResolvedParams
);
notification!(TurnDiff, "agent/turnDiff", TurnDiffParams);
notification!(TurnCompleted, "agent/turnCompleted", TurnCompletedParams);

/// Every custom notification method, for the docs check.
#[cfg(test)]
const NOTIFICATIONS: &[&str] = &[
    TurnStarted::METHOD,
    ItemStarted::METHOD,
    ItemDeltaNotification::METHOD,
    ItemCompleted::METHOD,
    ApprovalRequested::METHOD,
    ApprovalResolved::METHOD,
    TurnDiff::METHOD,
    TurnCompleted::METHOD,
];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TurnStartedParams {
    pub thread_id: ThreadId,
    pub turn_id: String,
    pub title: String,
}

/// `agent/itemStarted` and `agent/itemCompleted` (which carries the whole item).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemParams {
    pub thread_id: ThreadId,
    pub turn_id: String,
    pub item: ThreadItem,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemDeltaParams {
    pub thread_id: ThreadId,
    pub turn_id: String,
    pub item_id: String,
    pub delta: ItemDelta,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApprovalRequestedParams {
    pub thread_id: ThreadId,
    pub turn_id: String,
    pub item_id: String,
    /// The id to answer with (`agent/approve`, `agentls.approve`).
    pub id: String,
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// Always present, `null` when the model gave none.
    pub reason: Option<String>,
    pub sandbox_escalation: bool,
    /// Present when the approval is about an MCP tool call (`argv` is then
    /// empty): `{ "server", "tool", "name", "arguments" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCallApproval>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApprovalResolvedParams {
    pub thread_id: ThreadId,
    pub turn_id: String,
    pub item_id: String,
    pub id: String,
    pub decision: ReviewDecision,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TurnDiffParams {
    pub thread_id: ThreadId,
    pub turn_id: String,
    /// One unified diff of everything the turn changed, paths relative to the root.
    pub diff: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum TurnStatus {
    Completed,
    Interrupted,
    Failed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TurnCompletedParams {
    pub thread_id: ThreadId,
    pub turn_id: String,
    pub status: TurnStatus,
    /// For `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    /// For `interrupted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<InterruptReason>,
    /// For `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub changed_files: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn documented() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/lsp-extensions.md");
        std::fs::read_to_string(path).expect("docs/lsp-extensions.md")
    }

    /// The backquoted names in the docs that look like `prefix…`.
    fn names_in(docs: &str, prefix: &str) -> BTreeSet<String> {
        docs.split('`')
            .skip(1)
            .step_by(2)
            .filter(|name| name.starts_with(prefix))
            .map(|name| {
                name.split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn docs_lsp_extensions_names_every_method_and_command_and_no_other() {
        let docs = documented();
        let declared: BTreeSet<String> = REQUESTS
            .iter()
            .chain(NOTIFICATIONS)
            .map(|method| method.to_string())
            .collect();
        assert_eq!(names_in(&docs, "agent/"), declared);
        let commands: BTreeSet<String> = command::ALL.iter().map(|id| id.to_string()).collect();
        assert_eq!(names_in(&docs, "agentls."), commands);
    }

    #[test]
    fn a_turn_completed_carries_only_the_fields_of_its_status() {
        let params = TurnCompletedParams {
            thread_id: ThreadId("t".to_string()),
            turn_id: "turn-1".into(),
            status: TurnStatus::Failed,
            usage: None,
            reason: None,
            error: Some("boom".into()),
            changed_files: Vec::new(),
        };
        expect_test::expect![[r#"{"threadId":"t","turnId":"turn-1","status":"failed","error":"boom","changedFiles":[]}"#]]
            .assert_eq(&serde_json::to_string(&params).unwrap());
    }
}
