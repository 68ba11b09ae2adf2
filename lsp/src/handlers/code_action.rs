//! `textDocument/codeAction`: answered at once from a document snapshot, never
//! waiting on the model (VS Code asks on every cursor move).

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command,
    Diagnostic,
};
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::Result;

use agentls_core::user_tasks::TaskWhen;

use crate::ext::command::{
    APPLY_PENDING, APPROVE, APPROVE_FOR_THREAD, DENY, DISCARD_PENDING, REVIEW_PENDING,
    SHOW_CONTEXT, SHOW_LAST_ANSWER, STOP, UNDO, USER_TASK,
};
use crate::ext::{TaskArgs, UserTaskArgs};
use crate::state::read_lock;
use crate::tasks::kind::{self, TaskKind};
use crate::tasks::user;
use crate::validate;
use crate::world::World;

pub(crate) fn handle(
    world: &World,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    let uri = &params.text_document.uri;
    let snapshot = validate::open_document(&world.state, uri)?;
    validate::check_range(&snapshot, &params.range)?;
    let overview = world.tasks.overview();
    let mut actions = Vec::new();
    // A change waiting for review, then a pending approval: what the agent
    // waits for comes first.
    for change in &overview.changes {
        let id = json!(change.id.to_string());
        let files = change.files_shown(&world.state);
        for (verb, command) in [
            ("Review", REVIEW_PENDING),
            ("Apply", APPLY_PENDING),
            ("Discard", DISCARD_PENDING),
        ] {
            actions.push(action(
                format!("Agent: {verb} change to {files}"),
                CodeActionKind::QUICKFIX,
                command,
                vec![id.clone()],
            ));
        }
    }
    for pending in &overview.approvals {
        let id = json!(pending.id.to_string());
        let command = pending.command();
        let what = pending.action();
        actions.push(action(
            format!("Agent: Approve: {what}"),
            CodeActionKind::QUICKFIX,
            APPROVE,
            vec![id.clone()],
        ));
        actions.push(action(
            format!("Agent: Approve for this thread: {what}"),
            CodeActionKind::QUICKFIX,
            APPROVE_FOR_THREAD,
            vec![id.clone()],
        ));
        actions.push(action(
            format!("Agent: Deny: `{command}`"),
            CodeActionKind::QUICKFIX,
            DENY,
            vec![id],
        ));
    }
    let wanted = |kind: &CodeActionKind| {
        params.context.only.as_ref().is_none_or(|only| {
            only.iter()
                .any(|wanted| kind.as_str().starts_with(wanted.as_str()))
        })
    };
    let args = |diagnostics| -> Value {
        serde_json::to_value(TaskArgs {
            uri: uri.clone(),
            range: params.range,
            diagnostics,
        })
        .unwrap_or(Value::Null)
    };
    // The diagnostics the client sent, and those it sent earlier for this
    // version on the same lines (Helix sends only those under the cursor).
    let version = snapshot.version();
    world
        .diagnostics
        .remember(uri, version, &params.context.diagnostics);
    let mut line_diagnostics = params.context.diagnostics.clone();
    for seen in
        world
            .diagnostics
            .on_lines(uri, version, params.range.start.line, params.range.end.line)
    {
        if !line_diagnostics.contains(&seen) {
            line_diagnostics.push(seen);
        }
    }
    // Helix sends only the diagnostics under the cursor's columns and never
    // any other way: at the start of a line whose error is further right, the
    // server cannot know it is there. Offer the fix anyway; the task then asks
    // the model to find the problem on those lines itself.
    let fix_without_diagnostics = world.state.session().is_helix();
    // Most actions take the spot without diagnostics: made once, copied.
    let bare = args(Vec::new());
    let argument = |diagnostics: &Vec<Diagnostic>| {
        if diagnostics.is_empty() {
            bare.clone()
        } else {
            args(diagnostics.clone())
        }
    };
    let text = snapshot.text();
    for task in TaskKind::ALL {
        let (offered, action_kind, diagnostics) = match task {
            TaskKind::Fix => (
                !line_diagnostics.is_empty() || fix_without_diagnostics,
                CodeActionKind::QUICKFIX,
                line_diagnostics.clone(),
            ),
            TaskKind::Implement => (
                kind::has_unfinished_code(text, &params.range),
                CodeActionKind::REFACTOR_REWRITE,
                Vec::new(),
            ),
            TaskKind::DoComment => (
                kind::instruction_comment(text, &params.range).is_some(),
                CodeActionKind::REFACTOR_REWRITE,
                Vec::new(),
            ),
            TaskKind::Explain | TaskKind::WriteTests => {
                (true, CodeActionKind::REFACTOR_REWRITE, Vec::new())
            }
        };
        if offered && wanted(&action_kind) {
            let mut code_action = action(
                format!("Agent: {}", task.title()),
                action_kind,
                task.command(),
                vec![argument(&diagnostics)],
            );
            if task == TaskKind::Fix {
                if let CodeActionOrCommand::CodeAction(code_action) = &mut code_action {
                    code_action.diagnostics = Some(diagnostics);
                }
            }
            actions.push(code_action);
        }
    }
    // The user's own tasks (`[[tasks]]`), in the order they are defined.
    {
        let config = read_lock(&world.state.config);
        let tasks = &config.merged.tasks;
        if !tasks.is_empty() {
            let path = validate::file_path(uri).ok();
            let byte = snapshot.position_to_byte(params.range.start);
            let in_function = || {
                path.as_deref().is_some_and(|path| {
                    user::definition_at(&world.symbols.index, path, byte, user::is_function)
                        .is_some()
                })
            };
            let spot = user::Spot {
                language_id: snapshot.language_id(),
                range: params.range,
                has_diagnostics: !line_diagnostics.is_empty(),
                in_function: &in_function,
            };
            for task in tasks.iter().filter(|task| user::offered(task, &spot)) {
                let action_kind = if task.when == TaskWhen::Diagnostic {
                    CodeActionKind::QUICKFIX
                } else {
                    CodeActionKind::REFACTOR_REWRITE
                };
                if !wanted(&action_kind) {
                    continue;
                }
                let argument = serde_json::to_value(UserTaskArgs {
                    task: task.title.clone(),
                    spot: TaskArgs {
                        uri: uri.clone(),
                        range: params.range,
                        diagnostics: line_diagnostics.clone(),
                    },
                })
                .unwrap_or(Value::Null);
                let mut code_action =
                    action(task.title.clone(), action_kind, USER_TASK, vec![argument]);
                if task.when == TaskWhen::Diagnostic {
                    if let CodeActionOrCommand::CodeAction(code_action) = &mut code_action {
                        code_action.diagnostics = Some(line_diagnostics.clone());
                    }
                }
                actions.push(code_action);
            }
        }
    }
    if wanted(&CodeActionKind::REFACTOR_REWRITE) {
        actions.push(action(
            "Agent: Show agent context".to_string(),
            CodeActionKind::REFACTOR_REWRITE,
            SHOW_CONTEXT,
            vec![argument(&params.context.diagnostics)],
        ));
    }
    if overview.has_answer && wanted(&CodeActionKind::REFACTOR_REWRITE) {
        actions.push(action(
            "Agent: Show last answer".to_string(),
            CodeActionKind::REFACTOR_REWRITE,
            SHOW_LAST_ANSWER,
            Vec::new(),
        ));
    }
    if overview.can_undo && wanted(&CodeActionKind::REFACTOR_REWRITE) {
        actions.push(action(
            "Agent: Undo last agent change".to_string(),
            CodeActionKind::REFACTOR_REWRITE,
            UNDO,
            Vec::new(),
        ));
    }
    if overview.running_turns > 0 {
        actions.push(action(
            "Agent: Stop agent".to_string(),
            CodeActionKind::QUICKFIX,
            STOP,
            Vec::new(),
        ));
    }
    Ok(Some(actions))
}

fn action(
    title: String,
    kind: CodeActionKind,
    command: &str,
    arguments: Vec<Value>,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        kind: Some(kind),
        command: Some(Command {
            title,
            command: command.to_string(),
            arguments: (!arguments.is_empty()).then_some(arguments),
        }),
        ..Default::default()
    })
}
