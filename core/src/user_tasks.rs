//! `[[tasks]]`: the user's own code actions. A definition names its title
//! (`Agent: …`), the prompt with its placeholders, where it is offered
//! (`when`, `languages`), and how its edits land. Checked when the
//! configuration is read, so a bad one is reported with its key and left out;
//! the placeholders are filled in by the front end, which knows the spot.

use serde::{Deserialize, Deserializer, Serialize};

/// Every title starts with this, so users find agent actions among other
/// servers' (and the Neovim plugin's `:AgentActions` lists them).
pub const TITLE_PREFIX: &str = "Agent: ";

/// The placeholders a prompt may use.
pub const PLACEHOLDERS: [&str; 5] = ["selection", "symbol", "file", "language", "diagnostics"];

/// One `[[tasks]]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserTask {
    /// As the code action shows it: `Agent: Add docs`.
    #[serde(deserialize_with = "title")]
    pub title: String,
    /// The model's instruction; `{selection}`, `{symbol}`, `{file}`,
    /// `{language}`, `{diagnostics}` are filled in, `{{`/`}}` are braces.
    #[serde(deserialize_with = "prompt")]
    pub prompt: String,
    #[serde(default)]
    pub when: TaskWhen,
    /// Language ids (`rust`, `python`…) the task is offered for; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// `review`: the task's changes wait for the user's accept once review
    /// mode (`[approvals] edits = "review"`) exists; unset: as `[approvals]`
    /// says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edits: Option<TaskEdits>,
}

impl UserTask {
    /// The title without `Agent: `.
    pub fn short_title(&self) -> &str {
        self.title.strip_prefix(TITLE_PREFIX).unwrap_or(&self.title)
    }

    /// Whether the task is offered for documents of `language_id`.
    pub fn offered_for(&self, language_id: &str) -> bool {
        self.languages.is_empty()
            || self
                .languages
                .iter()
                .any(|language| language.eq_ignore_ascii_case(language_id))
    }
}

/// Where a task is offered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskWhen {
    /// On a selection of more than one character.
    Selection,
    /// Inside a function or method.
    Function,
    /// Where the editor reports a diagnostic.
    Diagnostic,
    /// Everywhere.
    #[default]
    Always,
}

/// How a task's edits land.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskEdits {
    /// Straight into the editor (each turn is still one undo checkpoint).
    Apply,
    /// Held for the user's review (takes effect with review mode).
    Review,
}

/// The values of a prompt's placeholders at one spot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlaceholderValues {
    pub selection: String,
    pub symbol: String,
    pub file: String,
    pub language: String,
    pub diagnostics: String,
}

impl PlaceholderValues {
    fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "selection" => &self.selection,
            "symbol" => &self.symbol,
            "file" => &self.file,
            "language" => &self.language,
            "diagnostics" => &self.diagnostics,
            _ => return None,
        })
    }
}

/// A piece of a prompt.
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits a prompt into text and placeholders: `{name}` with a lowercase
/// identifier is a placeholder, `{{` and `}}` are braces, any other brace is
/// text (so JSON in a prompt needs no escaping).
fn pieces(prompt: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = prompt;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            pieces.push(Piece::Text("{"));
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("}}") {
            pieces.push(Piece::Text("}"));
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix('{') {
            let name_len = after
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(after.len());
            if name_len > 0 && after[name_len..].starts_with('}') {
                pieces.push(Piece::Placeholder(&after[..name_len]));
                rest = &after[name_len + 1..];
                continue;
            }
        }
        let next = rest[1..]
            .find(['{', '}'])
            .map_or(rest.len(), |index| index + 1);
        pieces.push(Piece::Text(&rest[..next]));
        rest = &rest[next..];
    }
    pieces
}

/// The unknown placeholders of `prompt`, in order.
pub fn unknown_placeholders(prompt: &str) -> Vec<String> {
    pieces(prompt)
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Placeholder(name) if !PLACEHOLDERS.contains(&name) => Some(name.to_string()),
            _ => None,
        })
        .collect()
}

/// `prompt` with its placeholders filled in.
pub fn expand(prompt: &str, values: &PlaceholderValues) -> String {
    let mut out = String::with_capacity(prompt.len());
    for piece in pieces(prompt) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder(name) => match values.get(name) {
                Some(value) => out.push_str(value),
                // Refused when the configuration was read; kept as written.
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

fn title<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let title = String::deserialize(deserializer)?;
    match title.strip_prefix(TITLE_PREFIX) {
        Some(rest) if !rest.trim().is_empty() => Ok(title),
        _ => Err(serde::de::Error::custom(format!(
            "`{title}` must start with `{TITLE_PREFIX}` and name the task (\"Agent: Add docs\")"
        ))),
    }
}

fn prompt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let prompt = String::deserialize(deserializer)?;
    if prompt.trim().is_empty() {
        return Err(serde::de::Error::custom("the prompt is empty"));
    }
    if let Some(unknown) = unknown_placeholders(&prompt).first() {
        return Err(serde::de::Error::custom(format!(
            "unknown placeholder `{{{unknown}}}`; the placeholders are {}",
            PLACEHOLDERS.map(|name| format!("{{{name}}}")).join(", ")
        )));
    }
    Ok(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_braces_kept() {
        let values = PlaceholderValues {
            selection: "x + 1".into(),
            symbol: "add".into(),
            file: "src/lib.rs".into(),
            language: "rust".into(),
            diagnostics: "- error: boom at line 3".into(),
        };
        assert_eq!(
            expand(
                "Document {symbol} in {file} ({language}): {selection}\n{diagnostics} {{symbol}} {\"a\": 1} {Upper}",
                &values
            ),
            "Document add in src/lib.rs (rust): x + 1\n- error: boom at line 3 {symbol} {\"a\": 1} {Upper}"
        );
        assert_eq!(
            unknown_placeholders("{sel} {file} {cursor}"),
            ["sel", "cursor"]
        );
    }

    #[test]
    fn bad_definitions_name_the_field() {
        let check = |value: serde_json::Value| {
            serde_path_to_error::deserialize::<_, UserTask>(value).map_err(|error| {
                let path = error.path().to_string();
                format!("{path}: {}", error.into_inner())
            })
        };
        expect_test::expect![[r#"
            [
                Err(
                    "prompt: unknown placeholder `{sel}`; the placeholders are {selection}, {symbol}, {file}, {language}, {diagnostics}",
                ),
                Err(
                    ".: missing field `title`",
                ),
                Err(
                    "title: `Add docs` must start with `Agent: ` and name the task (\"Agent: Add docs\")",
                ),
                Err(
                    "when: unknown variant `cursor`, expected one of `selection`, `function`, `diagnostic`, `always`",
                ),
            ]
        "#]]
        .assert_debug_eq(&[
            check(serde_json::json!({"title": "Agent: Docs", "prompt": "Explain {sel}"})),
            check(serde_json::json!({"prompt": "Explain"})),
            check(serde_json::json!({"title": "Add docs", "prompt": "x"})),
            check(serde_json::json!({"title": "Agent: X", "prompt": "x", "when": "cursor"})),
        ]);
        let task: UserTask = serde_json::from_value(serde_json::json!({
            "title": "Agent: Docs", "prompt": "Document {symbol}", "when": "function",
            "languages": ["rust"], "edits": "review"
        }))
        .unwrap();
        assert_eq!(task.short_title(), "Docs");
        assert_eq!(task.edits, Some(TaskEdits::Review));
        assert!(task.offered_for("rust") && !task.offered_for("python"));
    }
}
