//! `textDocument/codeAction`: answered at once from a document snapshot, never
//! waiting on the model (VS Code asks on every cursor move).

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command,
};
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::Result;

use crate::ext::command::{
    APPROVE, APPROVE_FOR_THREAD, DENY, SHOW_CONTEXT, SHOW_LAST_ANSWER, STOP, UNDO,
};
use crate::ext::TaskArgs;
use crate::tasks::kind::{self, TaskKind};
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
    // A pending approval comes first: it is what the agent waits for.
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
    let text = snapshot.text();
    for task in TaskKind::ALL {
        let (offered, action_kind, diagnostics) = match task {
            TaskKind::Fix => (
                !line_diagnostics.is_empty(),
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
                vec![args(diagnostics.clone())],
            );
            if task == TaskKind::Fix {
                if let CodeActionOrCommand::CodeAction(code_action) = &mut code_action {
                    code_action.diagnostics = Some(diagnostics);
                }
            }
            actions.push(code_action);
        }
    }
    if wanted(&CodeActionKind::REFACTOR_REWRITE) {
        actions.push(action(
            "Agent: Show agent context".to_string(),
            CodeActionKind::REFACTOR_REWRITE,
            SHOW_CONTEXT,
            vec![args(params.context.diagnostics.clone())],
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
