//! The loop through its public seam (`Agent`, `Thread`, ops and events) against
//! in-memory fakes: a scripted provider that records every request, a workspace
//! of strings, a runner whose commands the test controls.

mod approvals;
mod compaction;
mod hooks;
mod interrupts;
mod resume;
mod retries;
mod turns;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::{Agent, Clock, EnvironmentInfo, Thread, ThreadOptions};
use crate::config::{ApprovalPolicy, Config};
use crate::model::{ModelRequest, ProviderError, ResponseEvent, ResponseItem, Role, TokenUsage};
use crate::protocol::{Event, Op, ThreadItemKind};
use crate::testing::{
    ok_run, outcome, MemoryWorkspace, Reply, Run, ScriptedProvider, ScriptedRunner,
};

pub(super) const ROOT: &str = "/w";

pub(super) fn usage(input_tokens: u64) -> TokenUsage {
    TokenUsage {
        input_tokens,
        output_tokens: 10,
        total_tokens: input_tokens + 10,
        ..TokenUsage::default()
    }
}

pub(super) fn text(answer: &str) -> Reply {
    text_with_usage(answer, 100)
}

pub(super) fn text_with_usage(answer: &str, input_tokens: u64) -> Reply {
    Reply::Events(vec![
        Ok(ResponseEvent::Created),
        Ok(ResponseEvent::OutputTextDelta {
            delta: answer.to_string(),
        }),
        Ok(ResponseEvent::OutputItemDone {
            item: ResponseItem::Message {
                role: Role::Assistant,
                text: answer.to_string(),
            },
        }),
        Ok(ResponseEvent::Completed {
            response_id: None,
            usage: Some(usage(input_tokens)),
        }),
    ])
}

/// Tool calls as `(call_id, tool, arguments)`.
pub(super) fn calls(calls: &[(&str, &str, &str)]) -> Reply {
    let mut events = vec![Ok(ResponseEvent::Created)];
    for (call_id, name, arguments) in calls {
        events.push(Ok(ResponseEvent::ToolCallStarted {
            call_id: call_id.to_string(),
            name: name.to_string(),
        }));
        events.push(Ok(ResponseEvent::ToolCallArgumentsDelta {
            call_id: call_id.to_string(),
            delta: arguments.to_string(),
        }));
        events.push(Ok(ResponseEvent::OutputItemDone {
            item: ResponseItem::FunctionCall {
                call_id: call_id.to_string(),
                name: name.to_string(),
                arguments: arguments.to_string(),
            },
        }));
    }
    events.push(Ok(ResponseEvent::Completed {
        response_id: None,
        usage: Some(usage(200)),
    }));
    Reply::Events(events)
}

pub(super) fn shell_call(call_id: &str, argv: &[&str]) -> Reply {
    let arguments = serde_json::json!({ "command": argv }).to_string();
    calls(&[(call_id, "shell", &arguments)])
}

pub(super) struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap() // 2026-01-01
    }
}

pub(super) struct Harness {
    pub(super) agent: Agent,
    pub(super) provider: Arc<ScriptedProvider>,
    pub(super) workspace: Arc<MemoryWorkspace>,
    pub(super) runner: Arc<ScriptedRunner>,
    pub(super) data_dir: tempfile::TempDir,
}

pub(super) fn config(policy: ApprovalPolicy) -> Config {
    let mut config = Config::default();
    config.approvals.policy = policy;
    config.provider.max_retries = 2;
    config.provider.retry_base_ms = 100;
    config
}

pub(super) fn harness(config: Config, replies: Vec<Reply>) -> Harness {
    harness_with_window(config, replies, None)
}

pub(super) fn harness_with_window(
    config: Config,
    replies: Vec<Reply>,
    context_window: Option<u64>,
) -> Harness {
    let provider = Arc::new(ScriptedProvider::new(replies).with_context_window(context_window));
    let workspace = Arc::new(MemoryWorkspace::on_disk(
        ROOT,
        &[
            ("src/lib.rs", "pub fn answer() -> u32 {\n    41\n}\n"),
            ("README.md", "a crate\n"),
            ("AGENTS.md", "Run `cargo test` before you finish.\n"),
        ],
    ));
    let runner = Arc::new(ScriptedRunner::default());
    let data_dir = tempfile::tempdir().unwrap();
    let agent = Agent::new(
        config,
        provider.clone(),
        workspace.clone(),
        runner.clone(),
        data_dir.path().to_path_buf(),
    )
    .with_clock(Arc::new(FixedClock))
    .with_environment(EnvironmentInfo {
        os: "linux".into(),
        shell: "bash".into(),
    });
    Harness {
        agent,
        provider,
        workspace,
        runner,
        data_dir,
    }
}

impl Harness {
    pub(super) fn start(&self) -> Thread {
        self.agent.start_thread(ThreadOptions::default()).unwrap()
    }
}

pub(super) async fn input(thread: &Thread, text: &str) {
    thread
        .submit(Op::UserInput {
            text: text.into(),
            context: vec![],
        })
        .await
        .unwrap();
}

/// Events until (and with) the first that `stop` accepts.
pub(super) async fn events_until(thread: &mut Thread, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let event = thread
            .next_event()
            .await
            .unwrap_or_else(|| panic!("the thread ended; events so far: {events:#?}"));
        let done = stop(&event);
        events.push(event);
        if done {
            return events;
        }
    }
}

pub(super) fn is_turn_end(event: &Event) -> bool {
    matches!(
        event,
        Event::TurnCompleted { .. } | Event::TurnInterrupted { .. } | Event::TurnFailed { .. }
    )
}

/// Submit input and read the events of the turn it starts.
pub(super) async fn run_turn(thread: &mut Thread, text: &str) -> Vec<Event> {
    input(thread, text).await;
    events_until(thread, is_turn_end).await
}

/// The item kinds completed in `events`, in order.
pub(super) fn completed(events: &[Event]) -> Vec<ThreadItemKind> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::ItemCompleted { item, .. } => Some(item.kind.clone()),
            _ => None,
        })
        .collect()
}

/// The history part of a request (what follows the prefix of `n_prefix` items).
pub(super) fn history(request: &ModelRequest, n_prefix: usize) -> Vec<ResponseItem> {
    request.input[n_prefix..].to_vec()
}

pub(super) fn user(text: &str) -> ResponseItem {
    ResponseItem::Message {
        role: Role::User,
        text: text.into(),
    }
}

pub(super) fn assistant(text: &str) -> ResponseItem {
    ResponseItem::Message {
        role: Role::Assistant,
        text: text.into(),
    }
}

/// The output the history holds for `call_id` in `request`.
pub(super) fn output_of(request: &ModelRequest, call_id: &str) -> (String, bool) {
    request
        .input
        .iter()
        .find_map(|item| match item {
            ResponseItem::FunctionCallOutput {
                call_id: id,
                output,
                is_error,
            } if id == call_id => Some((output.clone(), *is_error)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no output for {call_id} in {:#?}", request.input))
}
