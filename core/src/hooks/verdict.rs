//! What one hook's exit status and output mean, as Claude Code defines it, and
//! how the verdicts of the hooks of one event combine. Pure: tested without
//! processes.
//!
//! - exit 0: go on. Stdout that is a JSON object is read as an answer
//!   (below); other stdout is context for `UserPromptSubmit` and
//!   `SessionStart`, and ignored elsewhere.
//! - exit 2: block; stderr is the reason (stdout is ignored).
//! - any other exit, a timeout, a hook that could not start: not blocking; the
//!   user is told, the loop goes on.
//!
//! The JSON answer: `decision: "block"` with `reason`;
//! `hookSpecificOutput.permissionDecision` (`allow` | `deny` | `ask`) with
//! `permissionDecisionReason` (PreToolUse; wins over `decision`, whose older
//! `approve` means allow); `hookSpecificOutput.additionalContext`;
//! `continue: false` with `stopReason`; `systemMessage` for the user.

use serde::Deserialize;

use super::definition::HookEventName;
use crate::process::{CommandOutcome, SandboxError};

/// What the hooks of one event decided, strongest first: a block (deny) wins
/// over ask, which wins over allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookDecision {
    /// Deny the tool call, refuse the prompt, or keep a turn from ending; the
    /// reason goes to the model (to the user for a refused prompt).
    Block { reason: String },
    /// Ask the user before the tool call runs.
    Ask { reason: Option<String> },
    /// Run the tool call without asking the user.
    Allow { reason: Option<String> },
}

impl HookDecision {
    fn strength(&self) -> u8 {
        match self {
            HookDecision::Block { .. } => 3,
            HookDecision::Ask { .. } => 2,
            HookDecision::Allow { .. } => 1,
        }
    }
}

/// The combined answer of the hooks that ran for one event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookVerdict {
    pub decision: Option<HookDecision>,
    /// Text for the model (`additionalContext`, or plain stdout where that
    /// counts as context), in the hooks' order.
    pub context: Vec<String>,
    /// `continue: false`: the turn stops, with this reason for the user.
    pub stop: Option<String>,
    /// For the user: `systemMessage`s, failures, timeouts.
    pub messages: Vec<String>,
}

impl HookVerdict {
    /// Fold another hook's verdict into this one.
    pub fn merge(&mut self, other: HookVerdict) {
        if let Some(decision) = other.decision {
            let stronger = self
                .decision
                .as_ref()
                .is_none_or(|current| decision.strength() > current.strength());
            if stronger {
                self.decision = Some(decision);
            }
        }
        self.context.extend(other.context);
        if self.stop.is_none() {
            self.stop = other.stop;
        }
        self.messages.extend(other.messages);
    }

    /// The reason of a block, if the hooks blocked.
    pub fn blocked(&self) -> Option<&str> {
        match &self.decision {
            Some(HookDecision::Block { reason }) => Some(reason),
            _ => None,
        }
    }
}

/// The verdict of the hook `command` for `event`, from how its run ended.
pub(crate) fn verdict(
    event: HookEventName,
    command: &str,
    timeout_secs: u64,
    run: &Result<CommandOutcome, SandboxError>,
) -> HookVerdict {
    let shown = shown_command(command);
    let outcome = match run {
        Ok(outcome) => outcome,
        Err(error) => {
            return HookVerdict {
                messages: vec![format!("the {event} hook `{shown}` could not run: {error}")],
                ..HookVerdict::default()
            }
        }
    };
    if outcome.timed_out {
        return HookVerdict {
            messages: vec![format!(
                "the {event} hook `{shown}` did not finish within {timeout_secs} s and was killed"
            )],
            ..HookVerdict::default()
        };
    }
    let stdout = String::from_utf8_lossy(&outcome.stdout);
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    match outcome.exit_code {
        Some(0) => {
            let mut verdict = success(event, &shown, stdout.trim());
            let mut cut = false;
            for context in &mut verdict.context {
                if let Some((end, _)) = context.char_indices().nth(MAX_CONTEXT_CHARS) {
                    context.truncate(end);
                    cut = true;
                }
            }
            if cut {
                verdict.messages.push(format!(
                    "the {event} hook `{shown}` printed more than {MAX_CONTEXT_CHARS} characters of context; the model gets the first {MAX_CONTEXT_CHARS}"
                ));
            }
            verdict
        }
        Some(2) => {
            let reason = match stderr.trim() {
                "" => format!("blocked by the {event} hook `{shown}`"),
                reason => reason.to_string(),
            };
            HookVerdict {
                decision: Some(HookDecision::Block { reason }),
                ..HookVerdict::default()
            }
        }
        code => {
            let status = match code {
                None => "was killed by a signal".to_string(),
                Some(126) => "failed with exit status 126 (found but not executable: `chmod +x` it, or run it as `bash <script>`)".to_string(),
                Some(127) => "failed with exit status 127 (command not found)".to_string(),
                Some(137) => "was killed (exit status 137: SIGKILL, often the out-of-memory killer)".to_string(),
                Some(code) => format!("failed with exit status {code}"),
            };
            let detail = match stderr.trim() {
                "" => String::new(),
                text => format!(": {}", text.lines().next().unwrap_or_default()),
            };
            HookVerdict {
                messages: vec![format!("the {event} hook `{shown}` {status}{detail}")],
                ..HookVerdict::default()
            }
        }
    }
}

/// The most of one hook's context the model gets: a hook that prints
/// megabytes would otherwise fill the model's window.
pub(crate) const MAX_CONTEXT_CHARS: usize = 10_000;

/// Claude Code's JSON answer, as far as agentls reads it.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonAnswer {
    #[serde(rename = "continue")]
    keep_going: Option<bool>,
    stop_reason: Option<String>,
    system_message: Option<String>,
    decision: Option<String>,
    reason: Option<String>,
    hook_specific_output: Option<SpecificOutput>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpecificOutput {
    permission_decision: Option<String>,
    permission_decision_reason: Option<String>,
    additional_context: Option<String>,
}

fn success(event: HookEventName, shown: &str, stdout: &str) -> HookVerdict {
    let mut verdict = HookVerdict::default();
    let answer = if stdout.starts_with('{') {
        match serde_json::from_str::<JsonAnswer>(stdout) {
            Ok(answer) => Some(answer),
            Err(error) => {
                verdict.messages.push(format!(
                    "the {event} hook `{shown}` printed JSON that agentls cannot read: {error}"
                ));
                return verdict;
            }
        }
    } else {
        None
    };
    let Some(answer) = answer else {
        let counts_as_context = matches!(
            event,
            HookEventName::UserPromptSubmit | HookEventName::SessionStart
        );
        if counts_as_context && !stdout.is_empty() {
            verdict.context.push(stdout.to_string());
        }
        return verdict;
    };
    if answer.keep_going == Some(false) {
        verdict.stop = Some(
            answer
                .stop_reason
                .clone()
                .unwrap_or_else(|| format!("the {event} hook `{shown}` stopped the turn")),
        );
    }
    if let Some(message) = answer.system_message.filter(|text| !text.is_empty()) {
        verdict.messages.push(message);
    }
    let specific = answer.hook_specific_output.unwrap_or_default();
    if let Some(context) = specific.additional_context.filter(|text| !text.is_empty()) {
        verdict.context.push(context);
    }
    let default_reason = || format!("blocked by the {event} hook `{shown}`");
    verdict.decision = match (event, specific.permission_decision.as_deref()) {
        (HookEventName::PreToolUse, Some(permission)) => {
            let reason = specific.permission_decision_reason.clone();
            match permission {
                "deny" => Some(HookDecision::Block {
                    reason: reason.unwrap_or_else(default_reason),
                }),
                "ask" => Some(HookDecision::Ask { reason }),
                "allow" => Some(HookDecision::Allow { reason }),
                other => {
                    verdict.messages.push(format!(
                        "the {event} hook `{shown}` answered permissionDecision `{other}`; expected allow, deny or ask"
                    ));
                    None
                }
            }
        }
        _ => match answer.decision.as_deref() {
            Some("block") => Some(HookDecision::Block {
                reason: answer.reason.unwrap_or_else(default_reason),
            }),
            Some("approve") if event == HookEventName::PreToolUse => Some(HookDecision::Allow {
                reason: answer.reason,
            }),
            _ => None,
        },
    };
    verdict
}

/// A hook's command as messages show it: its first line, cut at 60 characters.
fn shown_command(command: &str) -> String {
    let line = command.trim().lines().next().unwrap_or_default();
    let mut shown: String = line.chars().take(60).collect();
    if shown.len() < line.len() || command.trim().lines().nth(1).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ran(exit_code: i32, stdout: &str, stderr: &str) -> Result<CommandOutcome, SandboxError> {
        Ok(CommandOutcome {
            exit_code: Some(exit_code),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
            timed_out: false,
            sandbox_denied: false,
            duration: Duration::from_millis(3),
            notes: Vec::new(),
        })
    }

    fn pre(run: Result<CommandOutcome, SandboxError>) -> HookVerdict {
        verdict(HookEventName::PreToolUse, "./check.sh", 60, &run)
    }

    #[test]
    fn exit_codes() {
        assert_eq!(pre(ran(0, "", "")), HookVerdict::default());
        assert_eq!(
            pre(ran(
                2,
                "{\"decision\":\"approve\"}",
                "lock files are generated\n"
            ))
            .decision,
            Some(HookDecision::Block {
                reason: "lock files are generated".into()
            }),
            "exit 2 ignores stdout"
        );
        assert_eq!(
            pre(ran(2, "", "")).decision,
            Some(HookDecision::Block {
                reason: "blocked by the PreToolUse hook `./check.sh`".into()
            })
        );
        let failed = pre(ran(1, "", "jq: command not found\nmore\n"));
        assert_eq!(failed.decision, None);
        assert_eq!(
            failed.messages,
            ["the PreToolUse hook `./check.sh` failed with exit status 1: jq: command not found"]
        );
        let killed = pre(Ok(CommandOutcome {
            exit_code: None,
            timed_out: true,
            ..ran(0, "", "").unwrap()
        }));
        assert_eq!(
            killed.messages,
            ["the PreToolUse hook `./check.sh` did not finish within 60 s and was killed"]
        );
        let unstartable = pre(Err(SandboxError::EmptyCommand));
        assert_eq!(unstartable.decision, None);
        assert_eq!(unstartable.messages.len(), 1);
    }

    #[test]
    fn permission_decisions() {
        let answer = |decision: &str| {
            format!(
                r#"{{"hookSpecificOutput":{{"hookEventName":"PreToolUse","permissionDecision":"{decision}","permissionDecisionReason":"because"}}}}"#
            )
        };
        assert_eq!(
            pre(ran(0, &answer("deny"), "")).decision,
            Some(HookDecision::Block {
                reason: "because".into()
            })
        );
        assert_eq!(
            pre(ran(0, &answer("ask"), "")).decision,
            Some(HookDecision::Ask {
                reason: Some("because".into())
            })
        );
        assert_eq!(
            pre(ran(0, &answer("allow"), "")).decision,
            Some(HookDecision::Allow {
                reason: Some("because".into())
            })
        );
        let odd = pre(ran(0, &answer("maybe"), ""));
        assert_eq!(odd.decision, None);
        assert_eq!(odd.messages.len(), 1);
        // The older form.
        assert_eq!(
            pre(ran(0, r#"{"decision":"block","reason":"no"}"#, "")).decision,
            Some(HookDecision::Block {
                reason: "no".into()
            })
        );
        assert_eq!(
            pre(ran(0, r#"{"decision":"approve"}"#, "")).decision,
            Some(HookDecision::Allow { reason: None })
        );
    }

    #[test]
    fn context_stop_and_messages() {
        let prompt = |stdout: &str| {
            verdict(
                HookEventName::UserPromptSubmit,
                "git branch --show-current",
                60,
                &ran(0, stdout, ""),
            )
        };
        assert_eq!(prompt("main\n").context, ["main"]);
        let json = prompt(
            r#"{"hookSpecificOutput":{"hookEventName":"UserPromptSubmit","additionalContext":"branch: main"},"systemMessage":"hi"}"#,
        );
        assert_eq!(json.context, ["branch: main"]);
        assert_eq!(json.messages, ["hi"]);
        // Plain stdout is not context after a tool call.
        let post = verdict(
            HookEventName::PostToolUse,
            "cargo fmt",
            60,
            &ran(0, "x", ""),
        );
        assert!(post.context.is_empty());
        let stop = prompt(r#"{"continue":false,"stopReason":"frozen"}"#);
        assert_eq!(stop.stop.as_deref(), Some("frozen"));
        let broken = prompt("{not json");
        assert!(broken.context.is_empty());
        assert_eq!(broken.messages.len(), 1);
    }

    #[test]
    fn verdicts_combine_strongest_decision_first() {
        let mut combined = HookVerdict::default();
        for decision in [
            HookDecision::Allow { reason: None },
            HookDecision::Block {
                reason: "no".into(),
            },
            HookDecision::Ask { reason: None },
        ] {
            combined.merge(HookVerdict {
                decision: Some(decision),
                context: vec!["c".into()],
                ..HookVerdict::default()
            });
        }
        assert_eq!(combined.blocked(), Some("no"));
        assert_eq!(combined.context.len(), 3);
    }

    #[test]
    fn long_commands_are_shown_short() {
        assert_eq!(shown_command("a\nb"), "a…");
        assert_eq!(shown_command(&"x".repeat(80)).chars().count(), 61);
    }
}
