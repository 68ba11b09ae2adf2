//! `[[tasks]]` and `[hooks]`: lists that add up across the layers instead of
//! replacing each other (the user's tasks and the workspace's both show; a
//! user's hook still runs in a workspace that has its own), each entry checked
//! on its own, so one bad definition is reported with its key (`tasks[1].prompt`)
//! and left out while the rest of the layer applies.

use serde_json::Value;

use super::{Config, ConfigProblem, ConfigSource};
use crate::hooks::{HookDefinition, HookEventName, HooksConfig};
use crate::user_tasks::UserTask;

/// What the layers read so far define.
#[derive(Default)]
pub(super) struct Lists {
    hooks: HooksConfig,
    tasks: Vec<UserTask>,
}

impl Lists {
    /// Takes `tasks` and `hooks` out of `layer`, keeping the good entries.
    pub(super) fn take_from(
        &mut self,
        layer: &mut Value,
        source: &ConfigSource,
        problems: &mut Vec<ConfigProblem>,
    ) {
        let Some(map) = layer.as_object_mut() else {
            return;
        };
        let mut problem = |key: String, message: String| {
            problems.push(ConfigProblem {
                source: source.clone(),
                key,
                message,
            })
        };
        if let Some(tasks) = map.remove("tasks") {
            for (key, entry) in entries(tasks, "tasks", &mut problem) {
                match check::<UserTask>(entry, &key) {
                    Ok(task) => {
                        // A later definition of the same title replaces it.
                        match self
                            .tasks
                            .iter_mut()
                            .find(|known| known.title == task.title)
                        {
                            Some(known) => *known = task,
                            None => self.tasks.push(task),
                        }
                    }
                    Err((key, message)) => problem(key, message),
                }
            }
        }
        if let Some(hooks) = map.remove("hooks") {
            let Value::Object(events) = hooks else {
                problem(
                    "hooks".into(),
                    format!("expected a table of events, found {hooks}"),
                );
                return;
            };
            for (name, definitions) in events {
                let Some(event) = HookEventName::from_name(&name) else {
                    problem(
                        format!("hooks.{name}"),
                        format!(
                            "unknown hook event, expected one of {}",
                            HookEventName::ALL.map(HookEventName::as_str).join(", ")
                        ),
                    );
                    continue;
                };
                let prefix = format!("hooks.{name}");
                for (key, entry) in entries(definitions, &prefix, &mut problem) {
                    match check::<HookDefinition>(entry, &key) {
                        Ok(hook) => self.hooks.for_event_mut(event).push(hook),
                        Err((key, message)) => problem(key, message),
                    }
                }
            }
        }
    }

    pub(super) fn apply(self, config: &mut Config) {
        config.hooks = self.hooks;
        config.tasks = self.tasks;
    }
}

/// The entries of an array of tables with their keys (`tasks[0]`); a single
/// table (`[hooks.Stop]` instead of `[[hooks.Stop]]`) counts as one entry.
fn entries(
    value: Value,
    key: &str,
    problem: &mut impl FnMut(String, String),
) -> Vec<(String, Value)> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| (format!("{key}[{index}]"), item))
            .collect(),
        table @ Value::Object(_) => vec![(format!("{key}[0]"), table)],
        other => {
            problem(
                key.to_string(),
                format!("expected an array of tables (`[[{key}]]`), found {other}"),
            );
            Vec::new()
        }
    }
}

fn check<T: serde::de::DeserializeOwned>(value: Value, key: &str) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|error| {
        let path = error.path().to_string();
        let key = if path == "." {
            key.to_string()
        } else {
            format!("{key}.{path}")
        };
        (key, error.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::super::{merge, parse_toml_layer, ConfigSource};

    #[test]
    fn tasks_and_hooks_add_up_across_layers_and_bad_entries_are_named() {
        let user = parse_toml_layer(
            r#"
            [[tasks]]
            title = "Agent: Add docs"
            prompt = "Write doc comments for {symbol}"
            when = "function"

            [[hooks.PreToolUse]]
            matcher = "shell"
            command = "./guard.sh"
            "#,
            ConfigSource::UserFile("/u/config.toml".into()),
        )
        .unwrap();
        let workspace = parse_toml_layer(
            r#"
            [approvals]
            policy = "untrusted"

            [[tasks]]
            title = "Agent: Review"
            prompt = "Review {selection} for {bugs}"

            [[tasks]]
            prompt = "no title"

            [[tasks]]
            title = "Agent: Add docs"
            prompt = "Document {symbol} in {file}"
            languages = ["rust"]
            edits = "review"

            [[hooks.PreToolUse]]
            matcher = "apply_patch"
            command = "./no-locks.sh"
            timeout_secs = 5

            [[hooks.PreToolUse]]
            matcher = "("
            command = "x"

            [[hooks.BeforeEverything]]
            command = "x"
            "#,
            ConfigSource::WorkspaceFile("/w/.agentls.toml".into()),
        )
        .unwrap();
        let (config, problems) = merge(&[user, workspace]);
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        expect_test::expect![[r#"
            [
                "/w/.agentls.toml: `tasks[0].prompt`: unknown placeholder `{bugs}`; the placeholders are {selection}, {symbol}, {file}, {language}, {diagnostics}",
                "/w/.agentls.toml: `tasks[1]`: missing field `title`",
                "/w/.agentls.toml: `hooks.BeforeEverything`: unknown hook event, expected one of PreToolUse, PostToolUse, UserPromptSubmit, Stop, SessionStart",
                "/w/.agentls.toml: `hooks.PreToolUse[1].matcher`: `(` is not a regular expression: error: unclosed group",
            ]
        "#]]
        .assert_debug_eq(&shown);
        // The rest of the layer applies.
        assert_eq!(
            config.approvals.policy,
            crate::config::ApprovalPolicy::Untrusted
        );
        let titles: Vec<(&str, &str)> = config
            .tasks
            .iter()
            .map(|task| (task.title.as_str(), task.prompt.as_str()))
            .collect();
        assert_eq!(
            titles,
            [("Agent: Add docs", "Document {symbol} in {file}")],
            "the workspace's definition of a title replaces the user's"
        );
        let commands: Vec<&str> = config
            .hooks
            .pre_tool_use
            .iter()
            .map(|hook| hook.command.as_str())
            .collect();
        assert_eq!(commands, ["./guard.sh", "./no-locks.sh"]);
        assert_eq!(config.hooks.pre_tool_use[1].timeout_secs, 5);
    }

    /// The examples in docs/configuration.md are valid definitions.
    #[test]
    fn the_documented_examples_read_without_problems() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
        let docs = std::fs::read_to_string(path).unwrap();
        let mut blocks = 0;
        for block in docs.split("```toml\n").skip(1) {
            let block = block.split("```").next().unwrap();
            if !(block.contains("[[hooks.") || block.contains("[[tasks]]")) {
                continue;
            }
            blocks += 1;
            // Only the hooks and tasks: the keys overview has `…` values.
            let text: String = format!("\n{block}")
                .split("\n[")
                .filter(|table| table.starts_with("[hooks.") || table.starts_with("[tasks]]"))
                .map(|table| format!("\n[{table}"))
                .collect();
            let layer = parse_toml_layer(&text, ConfigSource::UserFile(path.into()))
                .unwrap_or_else(|problem| panic!("{problem}\n{text}"));
            let (config, problems) = merge(&[layer]);
            assert!(problems.is_empty(), "{problems:?}\n{text}");
            assert!(!config.tasks.is_empty() || config.hooks != Default::default());
        }
        assert!(blocks >= 5, "{blocks} examples found");
    }
}
