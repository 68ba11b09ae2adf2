//! `[[hooks.<Event>]]` in the configuration: which command runs for which
//! event, and for which tools (`matcher`, a regular expression matched against
//! the whole tool name, as Claude Code does).

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

/// How long a hook may run when its `timeout_secs` is not set (Claude Code's
/// default too).
pub const DEFAULT_HOOK_TIMEOUT_SECS: u64 = 60;

/// The events a hook can be attached to, named as in Claude Code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HookEventName {
    /// Before a tool call runs; may allow, deny or ask.
    PreToolUse,
    /// After a tool call succeeded; may give the model feedback.
    PostToolUse,
    /// Before the user's input reaches the model; may add context or block it.
    UserPromptSubmit,
    /// When the model ends its turn; may make it go on.
    Stop,
    /// When a thread starts or is resumed; may add context.
    SessionStart,
}

impl HookEventName {
    pub const ALL: [HookEventName; 5] = [
        HookEventName::PreToolUse,
        HookEventName::PostToolUse,
        HookEventName::UserPromptSubmit,
        HookEventName::Stop,
        HookEventName::SessionStart,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookEventName::PreToolUse => "PreToolUse",
            HookEventName::PostToolUse => "PostToolUse",
            HookEventName::UserPromptSubmit => "UserPromptSubmit",
            HookEventName::Stop => "Stop",
            HookEventName::SessionStart => "SessionStart",
        }
    }

    pub fn from_name(name: &str) -> Option<HookEventName> {
        HookEventName::ALL
            .into_iter()
            .find(|event| event.as_str() == name)
    }
}

impl std::fmt::Display for HookEventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[hooks]`: per event, the hooks to run. Hooks of every configuration layer
/// run (a later file adds to the earlier ones, as Claude Code's settings files
/// do); the hooks that match one event run at once, in parallel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HooksConfig {
    #[serde(rename = "PreToolUse")]
    pub pre_tool_use: Vec<HookDefinition>,
    #[serde(rename = "PostToolUse")]
    pub post_tool_use: Vec<HookDefinition>,
    #[serde(rename = "UserPromptSubmit")]
    pub user_prompt_submit: Vec<HookDefinition>,
    #[serde(rename = "Stop")]
    pub stop: Vec<HookDefinition>,
    #[serde(rename = "SessionStart")]
    pub session_start: Vec<HookDefinition>,
}

impl HooksConfig {
    pub fn for_event(&self, event: HookEventName) -> &[HookDefinition] {
        match event {
            HookEventName::PreToolUse => &self.pre_tool_use,
            HookEventName::PostToolUse => &self.post_tool_use,
            HookEventName::UserPromptSubmit => &self.user_prompt_submit,
            HookEventName::Stop => &self.stop,
            HookEventName::SessionStart => &self.session_start,
        }
    }

    pub fn for_event_mut(&mut self, event: HookEventName) -> &mut Vec<HookDefinition> {
        match event {
            HookEventName::PreToolUse => &mut self.pre_tool_use,
            HookEventName::PostToolUse => &mut self.post_tool_use,
            HookEventName::UserPromptSubmit => &mut self.user_prompt_submit,
            HookEventName::Stop => &mut self.stop,
            HookEventName::SessionStart => &mut self.session_start,
        }
    }

    /// The hooks of `event` whose matcher accepts `subject` (the tool name, or
    /// for `SessionStart` its source); events without a subject take all.
    pub fn matching(&self, event: HookEventName, subject: Option<&str>) -> Vec<HookDefinition> {
        self.for_event(event)
            .iter()
            .filter(|hook| subject.is_none_or(|subject| hook.matches(subject)))
            .cloned()
            .collect()
    }
}

/// One `[[hooks.<Event>]]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookDefinition {
    /// A regular expression the whole tool name must match (`shell|apply_patch`);
    /// unset, empty or `*`: every tool.
    #[serde(
        default,
        deserialize_with = "matcher",
        skip_serializing_if = "Option::is_none"
    )]
    pub matcher: Option<String>,
    /// Run with `bash -c` in the workspace root, sandboxed like the agent's
    /// commands.
    #[serde(deserialize_with = "command")]
    pub command: String,
    /// Killed (with everything it started) after this long.
    #[serde(default = "default_timeout_secs", deserialize_with = "timeout_secs")]
    pub timeout_secs: u64,
}

impl HookDefinition {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Whether the matcher accepts the whole of `subject`.
    pub fn matches(&self, subject: &str) -> bool {
        match self.matcher.as_deref().map(str::trim) {
            None | Some("") | Some("*") => true,
            Some(pattern) => match anchored(pattern) {
                Ok(regex) => regex.is_match(subject),
                // Checked when the configuration was read; should it fail
                // anyway, a hook that cannot match runs for nothing.
                Err(_) => false,
            },
        }
    }
}

fn anchored(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
}

fn default_timeout_secs() -> u64 {
    DEFAULT_HOOK_TIMEOUT_SECS
}

fn matcher<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let pattern = String::deserialize(deserializer)?;
    let trimmed = pattern.trim();
    if !trimmed.is_empty() && trimmed != "*" {
        if let Err(error) = anchored(trimmed) {
            return Err(serde::de::Error::custom(format!(
                "`{pattern}` is not a regular expression: {}",
                first_line(&error.to_string())
            )));
        }
    }
    Ok(Some(pattern))
}

fn command<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let command = String::deserialize(deserializer)?;
    if command.trim().is_empty() {
        return Err(serde::de::Error::custom("the hook's command is empty"));
    }
    Ok(command)
}

fn timeout_secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let secs = u64::deserialize(deserializer)?;
    if secs == 0 {
        return Err(serde::de::Error::custom(
            "a hook needs at least 1 second (timeout_secs = 0)",
        ));
    }
    Ok(secs)
}

/// regex's errors draw the pattern over several lines; a config message is one.
fn first_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|line| line.starts_with("error:"))
        .unwrap_or_else(|| text.lines().next().unwrap_or_default())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(matcher: Option<&str>) -> HookDefinition {
        HookDefinition {
            matcher: matcher.map(str::to_string),
            command: "true".into(),
            timeout_secs: 1,
        }
    }

    #[test]
    fn the_matcher_is_a_regex_over_the_whole_tool_name() {
        let either = hook(Some("shell|apply_patch"));
        assert!(either.matches("shell"));
        assert!(either.matches("apply_patch"));
        assert!(!either.matches("read_file"));
        // Anchored: a simple name matches exactly that tool, as in Claude Code.
        assert!(!hook(Some("shell")).matches("shell_extra"));
        assert!(!hook(Some("patch")).matches("apply_patch"));
        assert!(hook(Some("find_.*")).matches("find_references"));
        for all in [None, Some(""), Some("*")] {
            assert!(hook(all).matches("grep"), "{all:?}");
        }
    }

    #[test]
    fn a_bad_matcher_or_command_is_refused_with_the_reason() {
        let error = serde_json::from_value::<HookDefinition>(
            serde_json::json!({"matcher": "shell(", "command": "x"}),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`shell(` is not a regular expression"),
            "{error}"
        );
        let error = serde_json::from_value::<HookDefinition>(serde_json::json!({"command": "  "}))
            .unwrap_err();
        assert!(error.to_string().contains("command is empty"), "{error}");
        let parsed: HookDefinition =
            serde_json::from_value(serde_json::json!({"command": "x"})).unwrap();
        assert_eq!(parsed.timeout_secs, DEFAULT_HOOK_TIMEOUT_SECS);
    }
}
