//! Asking the user before a command the policy does not allow. Where the client
//! advertises `window.showMessage` it gets a `showMessageRequest` ("Allow",
//! "Allow for this thread", "Deny"); everywhere (Helix 25.07 has no
//! showMessageRequest) the approval is announced with `showMessage` and offered as
//! code actions at the cursor and as `agentls.approve`/`agentls.deny` commands.
//! Whichever answer comes first counts; `null`, an error or no answer within
//! `approvals.timeout_secs` is a deny. Waiting happens on a task of its own, so
//! no request ever waits for the user.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agentls_core::agent::ThreadHandle;
use agentls_core::protocol::{ReviewDecision, ThreadId, ToolCallApproval};
use lsp_types::{MessageActionItem, MessageType};
use tower_lsp_server::Client;

use super::{TaskError, Tasks};
use crate::state::{lock, State};

pub(super) const ALLOW: &str = "Allow";
pub(super) const ALLOW_FOR_THREAD: &str = "Allow for this thread";
pub(super) const DENY: &str = "Deny";

/// A command waiting for the user's answer. `id` is the server's (small numbers,
/// easy to type in `:lsp-workspace-command agentls.approve 3`).
#[derive(Clone, Debug)]
pub(crate) struct PendingApproval {
    pub id: u64,
    pub(super) thread: ThreadHandle,
    /// The core's id of the request.
    pub(super) core_id: String,
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub reason: Option<String>,
    /// The command already ran in the sandbox, which refused something; the
    /// question is whether to run it without one.
    pub escalation: bool,
    /// The task that wants it.
    pub title: String,
    /// Set when the approval is about an MCP tool call (`argv` is empty).
    pub tool_call: Option<ToolCallApproval>,
}

/// The most of a tool call's arguments a title or message shows.
const SHOWN_ARGUMENT_CHARS: usize = 60;

impl PendingApproval {
    /// The command, or the tool call (`everything__echo {"message":"hi"}`).
    pub(crate) fn command(&self) -> String {
        match &self.tool_call {
            Some(call) => format!(
                "{} {}",
                call.name,
                shorten(call.arguments.trim(), SHOWN_ARGUMENT_CHARS)
            ),
            None => display_command(&self.argv),
        }
    }

    /// What is asked, for a code action's title: ``run `cargo test` `` or
    /// ``call `everything__echo {…}` ``.
    pub(crate) fn action(&self) -> String {
        let verb = if self.tool_call.is_some() {
            "call"
        } else {
            "run"
        };
        format!("{verb} `{}`", self.command())
    }

    /// The question, with the command, where it runs and why.
    pub(crate) fn question(&self) -> String {
        let reason = self
            .reason
            .as_deref()
            .map(|reason| format!(" Reason: {reason}."))
            .unwrap_or_default();
        if let Some(call) = &self.tool_call {
            return format!(
                "agentls ({}) wants to call the tool `{}` of the MCP server `{}` with {}.{reason}",
                self.title,
                call.tool,
                call.server,
                shorten(call.arguments.trim(), 4 * SHOWN_ARGUMENT_CHARS)
            );
        }
        let what = if self.escalation {
            "run without the sandbox (the sandbox refused it)"
        } else {
            "run"
        };
        format!(
            "agentls ({}) wants to {what} `{}` in {}.{reason}",
            self.title,
            self.command(),
            self.cwd.display()
        )
    }
}

/// The longest a command is shown at the start of a message meant for a
/// status line; the whole command follows in the detail.
const SHORT_COMMAND_CHARS: usize = 20;

/// What a status line shows for sure (Helix cuts at the window's width).
const STATUS_LINE_COLUMNS: usize = 80;

impl PendingApproval {
    /// The `showMessage` that announces the approval (see `announcement`).
    pub(crate) fn announcement(&self, helix: bool) -> String {
        announcement(
            self.id,
            &self.command(),
            self.escalation,
            &self.question(),
            helix,
        )
    }
}

/// An approval's announcement. Helix shows one status line, cut at the
/// window's width, and no history: it gets only what to do, in 80 columns (the
/// full command is in the code action's title, the reason in the progress
/// message). Other editors get the same lead, then who asks, where and why.
fn announcement(id: u64, command: &str, escalation: bool, question: &str, helix: bool) -> String {
    let verb = if escalation {
        "run unsandboxed"
    } else {
        "approve"
    };
    if helix {
        let head = format!("agentls: {verb} `");
        let tail = "`? space a → Agent: Approve or Deny";
        let room = STATUS_LINE_COLUMNS - head.chars().count() - tail.chars().count();
        return format!("{head}{}{tail}", shorten(command, room));
    }
    format!(
        "agentls: {verb} `{}`? \"Agent: Approve\" or agentls.approve {id}. {question} \
         (\"Agent: Deny\" or agentls.deny {id} refuses)",
        shorten(command, SHORT_COMMAND_CHARS)
    )
}

/// `text` cut to `chars` characters, the cut marked with `…`.
fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(chars.saturating_sub(1)).collect();
    format!("{cut}…")
}

#[allow(clippy::too_many_arguments)]
pub(super) fn register(
    tasks: &Tasks,
    thread: &ThreadId,
    core_id: String,
    argv: Vec<String>,
    cwd: PathBuf,
    reason: Option<String>,
    escalation: bool,
    title: String,
    tool_call: Option<ToolCallApproval>,
) -> Option<PendingApproval> {
    let handle = lock(&tasks.inner)
        .threads
        .get(thread)
        .map(|entry| entry.handle.clone());
    let Some(handle) = handle else {
        // The relay runs only for registered threads; an unknown one has ended.
        tracing::warn!(%thread, "approval for a thread that is gone");
        return None;
    };
    Some(tasks.add_approval(|id| PendingApproval {
        id,
        thread: handle,
        core_id,
        argv,
        cwd,
        reason,
        escalation,
        title,
        tool_call,
    }))
}

/// Announces the approval and starts waiting for an answer on a task of its own.
pub(super) async fn ask(tasks: Tasks, state: Arc<State>, client: Client, pending: PendingApproval) {
    let session = state.session();
    client
        .show_message(
            MessageType::WARNING,
            pending.announcement(session.is_helix()),
        )
        .await;
    let timeout = Duration::from_secs(state.config().approvals.timeout_secs);
    tokio::spawn(async move {
        let answer = async {
            if !session.show_message_request {
                return std::future::pending().await;
            }
            let actions = [ALLOW, ALLOW_FOR_THREAD, DENY]
                .map(|title| MessageActionItem {
                    title: title.to_string(),
                    properties: Default::default(),
                })
                .to_vec();
            let response = client
                .show_message_request(MessageType::WARNING, pending.question(), Some(actions))
                .await;
            match response {
                Ok(Some(action)) => match action.title.as_str() {
                    ALLOW => ReviewDecision::Approved,
                    ALLOW_FOR_THREAD => ReviewDecision::ApprovedForThread,
                    _ => ReviewDecision::Denied,
                },
                Ok(None) => ReviewDecision::Denied,
                Err(error) => {
                    tracing::info!(%error, "showMessageRequest failed: denying");
                    ReviewDecision::Denied
                }
            }
        };
        let decision = match tokio::time::timeout(timeout, answer).await {
            Ok(decision) => decision,
            Err(_) => {
                tracing::info!(approval = pending.id, "no answer in time: denying");
                ReviewDecision::Denied
            }
        };
        let id = pending.id.to_string();
        match tasks.decide(Some(&id), decision).await {
            Ok(_) => {
                if decision == ReviewDecision::Denied {
                    client
                        .show_message(
                            MessageType::INFO,
                            format!("agentls: denied `{}`", pending.command()),
                        )
                        .await;
                }
            }
            // Answered another way first (a code action, a command) or the turn
            // ended: nothing to do.
            Err(TaskError::UnknownApproval(_)) => {}
            Err(error) => tracing::debug!(%error, "approval answer not delivered"),
        }
    });
}

/// `argv` as a user would type it.
pub(crate) fn display_command(argv: &[String]) -> String {
    if let [shell, flag, script] = argv {
        if (shell == "bash" || shell == "sh" || shell == "zsh") && (flag == "-c" || flag == "-lc") {
            return script.clone();
        }
    }
    argv.iter()
        .map(|arg| {
            if !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                arg.clone()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMAND: &str = "python3 -m pytest tests/test_calc.py -k 'addition and not slow' -x";
    const QUESTION: &str = "agentls (Fix this) wants to run `python3 -m pytest tests/test_calc.py -k 'addition and not slow' -x` in /work/calc. Reason: run the tests.";

    #[test]
    fn helix_gets_what_to_do_within_80_columns() {
        for (command, escalation) in [(COMMAND, false), (COMMAND, true), ("make", false)] {
            let message = announcement(12, command, escalation, QUESTION, true);
            assert!(message.chars().count() <= 80, "{message}");
            assert!(
                message.ends_with("? space a → Agent: Approve or Deny"),
                "{message}"
            );
        }
        expect_test::expect![
            "agentls: approve `python3 -m pytest tests/te…`? space a → Agent: Approve or Deny"
        ]
        .assert_eq(&announcement(12, COMMAND, false, QUESTION, true));
        expect_test::expect![
            "agentls: run unsandboxed `python3 -m pytest …`? space a → Agent: Approve or Deny"
        ]
        .assert_eq(&announcement(12, COMMAND, true, QUESTION, true));
    }

    #[test]
    fn other_editors_get_the_instruction_first_then_who_where_and_why() {
        let message = announcement(12, COMMAND, false, QUESTION, false);
        let lead: String = message.chars().take(80).collect();
        assert!(
            lead.contains("\"Agent: Approve\" or agentls.approve 12"),
            "{message}"
        );
        assert!(message.contains(QUESTION), "{message}");
        assert!(
            message.ends_with("(\"Agent: Deny\" or agentls.deny 12 refuses)"),
            "{message}"
        );
    }
}
