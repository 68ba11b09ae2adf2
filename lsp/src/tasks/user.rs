//! The user's `[[tasks]]` at a spot: which definitions a code action offers
//! there (cheap: the range, the language id, the diagnostics, one look into
//! the symbol index under its read lock) and the values of their prompts'
//! placeholders when one runs.

use std::path::Path;

use agentls_core::context::{SharedIndex, SymbolKind};
use agentls_core::user_tasks::{PlaceholderValues, TaskWhen, UserTask};
use lsp_types::{Diagnostic, Range};

use super::kind::describe_diagnostic;

/// What the offer depends on at one spot.
pub(crate) struct Spot<'a> {
    pub language_id: &'a str,
    pub range: Range,
    /// The diagnostics the client sent or sent earlier for these lines.
    pub has_diagnostics: bool,
    /// Inside a function or method (asked only when a task needs it).
    pub in_function: &'a dyn Fn() -> bool,
}

/// Whether the user selected something: more than the one character Helix
/// sends for its cursor, or more than a line.
pub(crate) fn is_selection(range: &Range) -> bool {
    range.start.line != range.end.line || range.end.character > range.start.character + 1
}

/// Whether `task` is offered at `spot`.
pub(crate) fn offered(task: &UserTask, spot: &Spot<'_>) -> bool {
    task.offered_for(spot.language_id)
        && match task.when {
            TaskWhen::Always => true,
            TaskWhen::Selection => is_selection(&spot.range),
            TaskWhen::Diagnostic => spot.has_diagnostics,
            TaskWhen::Function => (spot.in_function)(),
        }
}

/// The innermost definition at `byte` of `path` that passes `accept`, by
/// name, from the index (the buffer as indexed last: at most 200 ms old).
pub(crate) fn definition_at(
    index: &SharedIndex,
    path: &Path,
    byte: usize,
    accept: impl Fn(SymbolKind) -> bool,
) -> Option<String> {
    index.read().definition_name_at(path, byte, accept)
}

pub(crate) fn is_function(kind: SymbolKind) -> bool {
    matches!(kind, SymbolKind::Function | SymbolKind::Method)
}

/// Any definition a user would call "the symbol here".
pub(crate) fn is_named_item(kind: SymbolKind) -> bool {
    !matches!(kind, SymbolKind::Impl | SymbolKind::Module)
}

/// The diagnostics as `{diagnostics}` shows them: one per line.
pub(crate) fn diagnostics_text(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|diagnostic| format!("- {}", describe_diagnostic(diagnostic)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The placeholder values, gathered by the launcher.
pub(crate) fn placeholder_values(
    selection: String,
    symbol: Option<String>,
    file: String,
    language_id: &str,
    diagnostics: &[Diagnostic],
) -> PlaceholderValues {
    PlaceholderValues {
        selection,
        symbol: symbol.unwrap_or_default(),
        file,
        language: language_id.to_string(),
        diagnostics: diagnostics_text(diagnostics),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::Position;

    fn task(when: TaskWhen, languages: &[&str]) -> UserTask {
        UserTask {
            title: "Agent: T".into(),
            prompt: "p".into(),
            when,
            languages: languages
                .iter()
                .map(|language| language.to_string())
                .collect(),
            edits: None,
        }
    }

    fn spot(range: Range, has_diagnostics: bool, in_function: &dyn Fn() -> bool) -> Spot<'_> {
        Spot {
            language_id: "rust",
            range,
            has_diagnostics,
            in_function,
        }
    }

    #[test]
    fn when_and_languages_filter_the_offer() {
        let cursor = Range::new(Position::new(3, 4), Position::new(3, 5));
        let selected = Range::new(Position::new(3, 4), Position::new(3, 9));
        let yes = || true;
        let no = || false;
        let offers = |task: &UserTask, spot: &Spot<'_>| offered(task, spot);
        assert!(offers(
            &task(TaskWhen::Always, &[]),
            &spot(cursor, false, &no)
        ));
        assert!(!offers(
            &task(TaskWhen::Always, &["python"]),
            &spot(cursor, false, &no)
        ));
        assert!(offers(
            &task(TaskWhen::Always, &["Rust"]),
            &spot(cursor, false, &no)
        ));
        assert!(!offers(
            &task(TaskWhen::Selection, &[]),
            &spot(cursor, false, &no)
        ));
        assert!(offers(
            &task(TaskWhen::Selection, &[]),
            &spot(selected, false, &no)
        ));
        assert!(!offers(
            &task(TaskWhen::Diagnostic, &[]),
            &spot(cursor, false, &yes)
        ));
        assert!(offers(
            &task(TaskWhen::Diagnostic, &[]),
            &spot(cursor, true, &no)
        ));
        assert!(!offers(
            &task(TaskWhen::Function, &[]),
            &spot(cursor, true, &no)
        ));
        assert!(offers(
            &task(TaskWhen::Function, &[]),
            &spot(cursor, false, &yes)
        ));
    }
}
