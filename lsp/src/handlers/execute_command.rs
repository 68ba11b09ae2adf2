//! `workspace/executeCommand agentls.*`: what the agent code actions run. Every
//! command answers at once (Helix gives up after 20 s and ignores the reply) and
//! says what happened with `window/showMessage` too; a task's turn runs in the
//! background.

use agentls_core::protocol::ReviewDecision;
use lsp_types::{ExecuteCommandParams, MessageType};
use serde::Serialize;
use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;

use crate::errors;
use crate::ext::command::{
    self, APPLY_PENDING, APPROVE, APPROVE_FOR_THREAD, DENY, DISCARD_PENDING, REVIEW_PENDING,
    SHOW_CONTEXT, SHOW_LAST_ANSWER, STOP, UNDO, USER_TASK,
};
use crate::ext::{ContextParams, Decided, Empty, Stopped, TaskStarted};
use crate::tasks::kind::TaskKind;
use crate::tasks::{ReviewAnswer, TaskError};
use crate::world::World;
use crate::{context_page, launch, validate};

pub(crate) async fn handle(world: &World, params: ExecuteCommandParams) -> Result<Option<Value>> {
    let (state, client) = (&world.state, &world.client);
    let name = params.command.as_str();
    let outcome: std::result::Result<Value, TaskError> = match name {
        UNDO => {
            // The revert lands in the background; the reply goes out now.
            if let Err(error) = world.tasks.undo(state, client) {
                client
                    .show_message(MessageType::WARNING, format!("agentls: {error}"))
                    .await;
            }
            Ok(reply(Empty {}))
        }
        SHOW_CONTEXT => {
            let args = validate::task_args(&params.arguments, SHOW_CONTEXT)?;
            let context = ContextParams {
                uri: args.uri.into_owned(),
                range: args.range,
                diagnostics: args.diagnostics.into_owned(),
            };
            tokio::spawn(context_page::show(world.clone(), context));
            Ok(reply(Empty {}))
        }
        SHOW_LAST_ANSWER => world
            .tasks
            .show_last_answer(state, client)
            .await
            .map(|()| reply(Empty {})),
        STOP => {
            let stopped = world.tasks.stop_all().await;
            if stopped == 0 {
                client
                    .show_message(MessageType::INFO, "agentls: no agent task is running")
                    .await;
            }
            Ok(reply(Stopped { stopped }))
        }
        APPROVE | APPROVE_FOR_THREAD | DENY => {
            let decision = match name {
                APPROVE => ReviewDecision::Approved,
                APPROVE_FOR_THREAD => ReviewDecision::ApprovedForThread,
                _ => ReviewDecision::Denied,
            };
            let id = validate::pending_id(&params.arguments, "approval")?;
            match world.tasks.decide(id.as_deref(), decision).await {
                Ok(pending) => {
                    let verb = if decision == ReviewDecision::Denied {
                        "denied"
                    } else {
                        "approved"
                    };
                    client
                        .show_message(
                            MessageType::INFO,
                            format!("agentls: {verb} `{}`", pending.command()),
                        )
                        .await;
                    Ok(reply(Decided {
                        id: pending.id.to_string(),
                    }))
                }
                Err(error) => Err(error),
            }
        }
        USER_TASK => {
            let args = validate::user_task_args(&params.arguments)?;
            launch::user_task(world, args)
                .await
                .map(|thread_id| reply(TaskStarted { thread_id }))
        }
        REVIEW_PENDING => {
            let id = validate::pending_id(&params.arguments, "change")?;
            world
                .tasks
                .show_change(state, client, id.as_deref())
                .await
                .map(|change| {
                    reply(Decided {
                        id: change.id.to_string(),
                    })
                })
        }
        APPLY_PENDING | DISCARD_PENDING => {
            let answer = if name == APPLY_PENDING {
                ReviewAnswer::Apply
            } else {
                ReviewAnswer::Discard
            };
            let id = validate::pending_id(&params.arguments, "change")?;
            match world.tasks.answer_change(id.as_deref(), answer) {
                Ok(change) => {
                    let files = change.files_shown(state);
                    let said = match answer {
                        ReviewAnswer::Apply => format!("agentls: applying the change to {files}"),
                        ReviewAnswer::Discard => {
                            format!("agentls: discarded the change to {files}; the agent is told")
                        }
                    };
                    client.show_message(MessageType::INFO, said).await;
                    Ok(reply(Decided {
                        id: change.id.to_string(),
                    }))
                }
                Err(error) => Err(error),
            }
        }
        other => match TaskKind::from_command(other) {
            Some(kind) => {
                let args = validate::task_args(&params.arguments, other)?;
                launch::code_action_task(world, kind, args)
                    .await
                    .map(|thread_id| reply(TaskStarted { thread_id }))
            }
            None => {
                return Err(errors::invalid_params(format_args!(
                    "unknown command {other:?}; agentls has {}",
                    command::ALL.join(", ")
                )))
            }
        },
    };
    match outcome {
        Ok(value) => Ok(Some(value)),
        Err(error) => {
            // Helix ignores the reply: say it where every editor shows it.
            client
                .show_message(MessageType::WARNING, format!("agentls: {error}"))
                .await;
            Err(errors::from_task(error))
        }
    }
}

/// A command's typed reply as the JSON `executeCommand` returns.
fn reply(value: impl Serialize) -> Value {
    // These types are plain structs of strings and numbers: serializing them
    // cannot fail, and `null` would be the least surprising reply if it did.
    serde_json::to_value(value).unwrap_or(Value::Null)
}
