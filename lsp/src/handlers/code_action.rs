//! `textDocument/codeAction`: answered at once from a document snapshot, never
//! waiting on the model (VS Code asks on every cursor move).

use std::borrow::Cow;

use lsp_types::{CodeActionKind, CodeActionParams, CodeActionResponse, Diagnostic, Range, Uri};
use serde::{Serialize, Serializer};
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

pub(crate) fn handle(world: &World, params: CodeActionParams) -> Result<Answer> {
    let CodeActionParams {
        text_document,
        range,
        context,
        ..
    } = params;
    let uri = text_document.uri;
    let snapshot = validate::open_document(&world.state, &uri)?;
    validate::check_range(&snapshot, &range)?;
    let overview = world.tasks.overview();
    let mut offers = Vec::new();
    // A change waiting for review, then a pending approval: what the agent
    // waits for comes first.
    for change in &overview.changes {
        let id = change.id.to_string();
        let files = change.files_shown(&world.state);
        for (verb, command) in [
            ("Review", REVIEW_PENDING),
            ("Apply", APPLY_PENDING),
            ("Discard", DISCARD_PENDING),
        ] {
            offers.push(Offer::new(
                format!("Agent: {verb} change to {files}"),
                CodeActionKind::QUICKFIX,
                command,
                Argument::Id(id.clone()),
            ));
        }
    }
    for pending in &overview.approvals {
        let id = pending.id.to_string();
        let command = pending.command();
        let what = pending.action();
        offers.push(Offer::new(
            format!("Agent: Approve: {what}"),
            CodeActionKind::QUICKFIX,
            APPROVE,
            Argument::Id(id.clone()),
        ));
        offers.push(Offer::new(
            format!("Agent: Approve for this thread: {what}"),
            CodeActionKind::QUICKFIX,
            APPROVE_FOR_THREAD,
            Argument::Id(id.clone()),
        ));
        offers.push(Offer::new(
            format!("Agent: Deny: `{command}`"),
            CodeActionKind::QUICKFIX,
            DENY,
            Argument::Id(id),
        ));
    }
    let wanted = |kind: &CodeActionKind| {
        context.only.as_ref().is_none_or(|only| {
            only.iter()
                .any(|wanted| kind.as_str().starts_with(wanted.as_str()))
        })
    };
    // The diagnostics the client sent, and those it sent earlier for this
    // version on the same lines (Helix sends only those under the cursor).
    let version = snapshot.version();
    world
        .diagnostics
        .remember(&uri, version, &context.diagnostics);
    let mut on_lines = context.diagnostics.clone();
    for seen in world
        .diagnostics
        .on_lines(&uri, version, range.start.line, range.end.line)
    {
        if !on_lines.contains(&seen) {
            on_lines.push(seen);
        }
    }
    // Helix sends only the diagnostics under the cursor's columns and never
    // any other way: at the start of a line whose error is further right, the
    // server cannot know it is there. Offer the fix anyway; the task then asks
    // the model to find the problem on those lines itself.
    let fix_without_diagnostics = world.state.session().is_helix();
    let around = kind::Around::read(snapshot.text(), &range);
    for task in TaskKind::ALL {
        let (offered, action_kind) = match task {
            TaskKind::Fix => (
                !on_lines.is_empty() || fix_without_diagnostics,
                CodeActionKind::QUICKFIX,
            ),
            TaskKind::Implement => (
                around.has_unfinished_code(),
                CodeActionKind::REFACTOR_REWRITE,
            ),
            TaskKind::DoComment => (
                around.instruction_comment().is_some(),
                CodeActionKind::REFACTOR_REWRITE,
            ),
            TaskKind::Explain | TaskKind::WriteTests => (true, CodeActionKind::REFACTOR_REWRITE),
        };
        if offered && wanted(&action_kind) {
            // Fix this carries the diagnostics on the spot's lines, and lists them.
            let fix = task == TaskKind::Fix;
            let diagnostics = if fix {
                Diagnostics::OnLines
            } else {
                Diagnostics::None
            };
            let offer = Offer::new(
                format!("Agent: {}", task.title()),
                action_kind,
                task.command(),
                Argument::Spot(diagnostics),
            );
            offers.push(if fix {
                offer.fixing(diagnostics)
            } else {
                offer
            });
        }
    }
    // The user's own tasks (`[[tasks]]`), in the order they are defined.
    {
        let config = read_lock(&world.state.config);
        let tasks = &config.merged.tasks;
        if !tasks.is_empty() {
            let path = validate::file_path(&uri).ok();
            let byte = snapshot.position_to_byte(range.start);
            let in_function = || {
                path.as_deref().is_some_and(|path| {
                    user::definition_at(&world.symbols.index, path, byte, user::is_function)
                        .is_some()
                })
            };
            let spot = user::Spot {
                language_id: snapshot.language_id(),
                range,
                has_diagnostics: !on_lines.is_empty(),
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
                let offer = Offer::new(
                    task.title.clone(),
                    action_kind,
                    USER_TASK,
                    Argument::UserTask(task.title.clone(), Diagnostics::OnLines),
                );
                offers.push(if task.when == TaskWhen::Diagnostic {
                    offer.fixing(Diagnostics::OnLines)
                } else {
                    offer
                });
            }
        }
    }
    if wanted(&CodeActionKind::REFACTOR_REWRITE) {
        offers.push(Offer::new(
            "Agent: Show agent context",
            CodeActionKind::REFACTOR_REWRITE,
            SHOW_CONTEXT,
            Argument::Spot(Diagnostics::Sent),
        ));
    }
    if overview.has_answer && wanted(&CodeActionKind::REFACTOR_REWRITE) {
        offers.push(Offer::new(
            "Agent: Show last answer",
            CodeActionKind::REFACTOR_REWRITE,
            SHOW_LAST_ANSWER,
            Argument::None,
        ));
    }
    if overview.can_undo && wanted(&CodeActionKind::REFACTOR_REWRITE) {
        offers.push(Offer::new(
            "Agent: Undo last agent change",
            CodeActionKind::REFACTOR_REWRITE,
            UNDO,
            Argument::None,
        ));
    }
    if overview.running_turns > 0 {
        offers.push(Offer::new(
            "Agent: Stop agent",
            CodeActionKind::QUICKFIX,
            STOP,
            Argument::None,
        ));
    }
    Ok(Answer {
        uri,
        range,
        sent: context.diagnostics,
        on_lines,
        offers,
    })
}

/// The actions offered at a spot, written as `CodeAction`s with a command
/// each. The direct lane writes the answer from here: every action's argument
/// is written from the one spot it borrows, where building `CodeAction`s made
/// and copied a JSON value per action, on every cursor move.
pub(crate) struct Answer {
    uri: Uri,
    range: Range,
    /// The diagnostics the client sent.
    sent: Vec<Diagnostic>,
    /// Those and the ones it sent earlier for this version on the same lines.
    on_lines: Vec<Diagnostic>,
    offers: Vec<Offer>,
}

struct Offer {
    title: Cow<'static, str>,
    kind: CodeActionKind,
    command: &'static str,
    argument: Argument,
    /// The diagnostics the action fixes, listed on it.
    fixes: Option<Diagnostics>,
}

/// A command's one argument, or none.
enum Argument {
    None,
    /// A pending change or approval.
    Id(String),
    /// The spot (`TaskArgs`) with these diagnostics.
    Spot(Diagnostics),
    /// A `[[tasks]]` definition's title and the spot (`UserTaskArgs`).
    UserTask(String, Diagnostics),
}

#[derive(Clone, Copy)]
enum Diagnostics {
    None,
    Sent,
    OnLines,
}

impl Offer {
    fn new(
        title: impl Into<Cow<'static, str>>,
        kind: CodeActionKind,
        command: &'static str,
        argument: Argument,
    ) -> Offer {
        Offer {
            title: title.into(),
            kind,
            command,
            argument,
            fixes: None,
        }
    }

    fn fixing(self, diagnostics: Diagnostics) -> Offer {
        Offer {
            fixes: Some(diagnostics),
            ..self
        }
    }
}

impl Answer {
    /// The answer as `lsp_types` has it, for the router's `codeAction` (only
    /// frames the direct lane leaves to it).
    pub(crate) fn into_response(self) -> Result<Option<CodeActionResponse>> {
        serde_json::to_value(&self)
            .and_then(serde_json::from_value)
            .map(Some)
            .map_err(|error| crate::errors::internal(format_args!("codeAction answer: {error}")))
    }

    fn diagnostics(&self, which: Diagnostics) -> &[Diagnostic] {
        match which {
            Diagnostics::None => &[],
            Diagnostics::Sent => &self.sent,
            Diagnostics::OnLines => &self.on_lines,
        }
    }

    fn spot(&self, which: Diagnostics) -> TaskArgs<'_> {
        TaskArgs {
            uri: Cow::Borrowed(&self.uri),
            range: self.range,
            diagnostics: Cow::Borrowed(self.diagnostics(which)),
        }
    }

    fn written<'a>(&'a self, offer: &'a Offer) -> WrittenAction<'a> {
        let argument = match &offer.argument {
            Argument::None => None,
            Argument::Id(id) => Some(WrittenArgument::Id(id)),
            Argument::Spot(which) => Some(WrittenArgument::Spot(self.spot(*which))),
            Argument::UserTask(task, which) => Some(WrittenArgument::UserTask(UserTaskArgs {
                task: Cow::Borrowed(task),
                spot: self.spot(*which),
            })),
        };
        WrittenAction {
            title: &offer.title,
            kind: &offer.kind,
            diagnostics: offer.fixes.map(|which| self.diagnostics(which)),
            command: WrittenCommand {
                title: &offer.title,
                command: offer.command,
                arguments: argument.map(|argument| [argument]),
            },
        }
    }
}

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.offers.iter().map(|offer| self.written(offer)))
    }
}

/// `lsp_types::CodeAction` as this server fills it, borrowed: the same
/// fields, in the same order, left out when `lsp_types` leaves them out.
#[derive(Serialize)]
struct WrittenAction<'a> {
    title: &'a str,
    kind: &'a CodeActionKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    diagnostics: Option<&'a [Diagnostic]>,
    command: WrittenCommand<'a>,
}

/// `lsp_types::Command`, borrowed.
#[derive(Serialize)]
struct WrittenCommand<'a> {
    title: &'a str,
    command: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<[WrittenArgument<'a>; 1]>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum WrittenArgument<'a> {
    Id(&'a str),
    Spot(TaskArgs<'a>),
    UserTask(UserTaskArgs<'a>),
}
