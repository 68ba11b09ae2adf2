//! The event a hook reads on stdin: one JSON object with Claude Code's field
//! names (`session_id`, `transcript_path`, `cwd`, `hook_event_name`, then the
//! event's own: `tool_name`, `tool_input`, `tool_response`, `prompt`…).

use std::path::PathBuf;

use serde::Serialize;

use super::definition::HookEventName;

/// Why a `SessionStart` hook runs (its matcher is matched against this).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionSource {
    /// A new thread.
    Startup,
    /// A thread continued from its rollout.
    Resume,
}

impl SessionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionSource::Startup => "startup",
            SessionSource::Resume => "resume",
        }
    }
}

/// What is particular to each event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HookDetail {
    PreToolUse {
        tool_name: String,
        /// The call's arguments as the model sent them (an object); for
        /// `apply_patch` also `file_paths`, the absolute paths it touches.
        tool_input: serde_json::Value,
        tool_use_id: String,
    },
    PostToolUse {
        tool_name: String,
        tool_input: serde_json::Value,
        /// `{"output": …, "success": true}`: what the model was told.
        tool_response: serde_json::Value,
        tool_use_id: String,
    },
    UserPromptSubmit {
        prompt: String,
    },
    Stop {
        /// True when the turn goes on because a Stop hook said so already:
        /// a hook should then let it end, or it never will.
        stop_hook_active: bool,
    },
    SessionStart {
        source: SessionSource,
    },
}

impl HookDetail {
    pub fn event(&self) -> HookEventName {
        match self {
            HookDetail::PreToolUse { .. } => HookEventName::PreToolUse,
            HookDetail::PostToolUse { .. } => HookEventName::PostToolUse,
            HookDetail::UserPromptSubmit { .. } => HookEventName::UserPromptSubmit,
            HookDetail::Stop { .. } => HookEventName::Stop,
            HookDetail::SessionStart { .. } => HookEventName::SessionStart,
        }
    }

    /// What the hooks' matchers are matched against, for the events that
    /// have one.
    pub fn subject(&self) -> Option<&str> {
        match self {
            HookDetail::PreToolUse { tool_name, .. }
            | HookDetail::PostToolUse { tool_name, .. } => Some(tool_name),
            HookDetail::SessionStart { source } => Some(source.as_str()),
            HookDetail::UserPromptSubmit { .. } | HookDetail::Stop { .. } => None,
        }
    }
}

/// The whole JSON object on a hook's stdin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HookInput {
    /// The thread's id.
    pub session_id: String,
    /// The thread's rollout (JSONL, agentls' own format).
    pub transcript_path: PathBuf,
    /// The thread's working directory.
    pub cwd: PathBuf,
    pub hook_event_name: HookEventName,
    #[serde(flatten)]
    pub detail: HookDetail,
}

impl HookInput {
    pub fn new(
        session_id: String,
        transcript_path: PathBuf,
        cwd: PathBuf,
        detail: HookDetail,
    ) -> HookInput {
        HookInput {
            session_id,
            transcript_path,
            cwd,
            hook_event_name: detail.event(),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_uses_claude_codes_field_names() {
        let input = HookInput::new(
            "thread-1".into(),
            "/data/threads/thread-1.jsonl".into(),
            "/w".into(),
            HookDetail::PreToolUse {
                tool_name: "apply_patch".into(),
                tool_input: serde_json::json!({"input": "*** Begin Patch", "file_paths": ["/w/Cargo.lock"]}),
                tool_use_id: "call_1".into(),
            },
        );
        expect_test::expect![[r#"{"session_id":"thread-1","transcript_path":"/data/threads/thread-1.jsonl","cwd":"/w","hook_event_name":"PreToolUse","tool_name":"apply_patch","tool_input":{"input":"*** Begin Patch","file_paths":["/w/Cargo.lock"]},"tool_use_id":"call_1"}"#]]
        .assert_eq(&serde_json::to_string(&input).unwrap());
        let stop = HookInput::new(
            "t".into(),
            "/t".into(),
            "/w".into(),
            HookDetail::Stop {
                stop_hook_active: false,
            },
        );
        expect_test::expect![[r#"{"session_id":"t","transcript_path":"/t","cwd":"/w","hook_event_name":"Stop","stop_hook_active":false}"#]]
        .assert_eq(&serde_json::to_string(&stop).unwrap());
    }
}
