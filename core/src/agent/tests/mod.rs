//! The loop through its public seam (`Agent`, `Thread`, ops and events) against
//! in-memory fakes: a scripted provider that records every request, a workspace
//! of strings, a runner whose commands the test controls.

mod approvals;
mod compaction;
mod interrupts;
mod resume;
mod retries;
mod turns;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::{Agent, Clock, EnvironmentInfo, Thread, ThreadOptions};
use crate::config::{ApprovalPolicy, Config};
use crate::model::{
    ModelRequest, Provider, ProviderError, ResponseEvent, ResponseItem, ResponseStream, Role,
    TokenUsage,
};
use crate::process::{
    CommandOutcome, CommandRunner, CommandSpec, OutputChunk, OutputStream, SandboxError,
};
use crate::protocol::{Event, Op, ThreadItemKind};
use crate::workspace::{ApplyError, Changeset, FileSnapshot, Workspace, WorkspaceError};

pub(super) const ROOT: &str = "/w";

/// One scripted answer of the provider.
#[derive(Clone)]
pub(super) enum Reply {
    /// These events, then the stream ends (a `Completed` must be among them for
    /// the answer to count).
    Events(Vec<Result<ResponseEvent, ProviderError>>),
    /// These events, then nothing ever again (a stalled stream).
    Stall(Vec<ResponseEvent>),
    /// The call fails before streaming.
    Refuse(ProviderError),
}

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

/// A provider that plays `Reply`s in order and records each request.
pub(super) struct ScriptedProvider {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<ModelRequest>>,
    context_window: Option<u64>,
}

impl ScriptedProvider {
    pub(super) fn requests(&self) -> Vec<ModelRequest> {
        self.requests.lock().unwrap().clone()
    }

    pub(super) fn push(&self, reply: Reply) {
        self.replies.lock().unwrap().push_back(reply);
    }
}

impl Provider for ScriptedProvider {
    fn name(&self) -> &str {
        "scripted"
    }

    fn context_window(&self) -> Option<u64> {
        self.context_window
    }

    fn stream(
        &self,
        request: ModelRequest,
    ) -> BoxFuture<'_, Result<ResponseStream, ProviderError>> {
        self.requests.lock().unwrap().push(request);
        let reply = self.replies.lock().unwrap().pop_front();
        Box::pin(async move {
            match reply {
                None => panic!("the provider ran out of scripted replies"),
                Some(Reply::Refuse(error)) => Err(error),
                Some(Reply::Events(events)) => Ok(stream::iter(events).boxed()),
                Some(Reply::Stall(events)) => Ok(stream::iter(events.into_iter().map(Ok))
                    .chain(stream::pending())
                    .boxed()),
            }
        })
    }
}

/// Files in memory under `/w`.
pub(super) struct MemoryWorkspace {
    root: PathBuf,
    pub(super) files: Mutex<BTreeMap<PathBuf, String>>,
}

impl MemoryWorkspace {
    pub(super) fn text(&self, path: &str) -> Option<String> {
        self.files
            .lock()
            .unwrap()
            .get(&self.root.join(path))
            .cloned()
    }
}

impl Workspace for MemoryWorkspace {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read_file(&self, path: &Path) -> Result<FileSnapshot, WorkspaceError> {
        let path = self.root.join(path);
        self.files
            .lock()
            .unwrap()
            .get(&path)
            .map(|text| FileSnapshot {
                text: text.clone(),
                version: None,
            })
            .ok_or(WorkspaceError::NotFound(path))
    }

    fn apply(&self, changes: Changeset) -> BoxFuture<'_, Result<(), ApplyError>> {
        Box::pin(async move {
            let mut files = self.files.lock().unwrap();
            for (path, change) in changes.files {
                let current = files.get(change.moved_from.as_ref().unwrap_or(&path));
                if current != change.base.as_ref().map(|base| &base.text) {
                    return Err(ApplyError::Conflict(path));
                }
                if let Some(from) = &change.moved_from {
                    files.remove(from);
                }
                match change.proposed {
                    Some(text) => files.insert(path, text),
                    None => files.remove(&path),
                };
            }
            Ok(())
        })
    }
}

/// What the fake runner does with the next command.
pub(super) enum Run {
    /// Output these chunks, then end with this outcome.
    Finish(Vec<OutputChunk>, CommandOutcome),
    /// Wait for the signal, then end with this outcome.
    Gated(oneshot::Receiver<()>, CommandOutcome),
    /// Never end; set the flag when dropped (the command was killed).
    Hang(Arc<AtomicBool>),
}

pub(super) fn outcome(exit_code: i32, stdout: &str) -> CommandOutcome {
    CommandOutcome {
        exit_code: Some(exit_code),
        stdout: stdout.as_bytes().to_vec(),
        stderr: Vec::new(),
        timed_out: false,
        sandbox_denied: false,
        duration: Duration::from_millis(5),
    }
}

pub(super) fn ok_run(stdout: &str) -> Run {
    Run::Finish(
        vec![OutputChunk {
            stream: OutputStream::Stdout,
            bytes: stdout.as_bytes().to_vec(),
        }],
        outcome(0, stdout),
    )
}

/// A runner that records what it was asked and does what the test scripted
/// (by default: exit 0, printing `ok`).
#[derive(Default)]
pub(super) struct FakeRunner {
    pub(super) runs: Mutex<Vec<CommandSpec>>,
    script: Mutex<VecDeque<Run>>,
}

impl FakeRunner {
    pub(super) fn push(&self, run: Run) {
        self.script.lock().unwrap().push_back(run);
    }

    pub(super) fn argvs(&self) -> Vec<Vec<String>> {
        self.runs
            .lock()
            .unwrap()
            .iter()
            .map(|spec| spec.argv.clone())
            .collect()
    }
}

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl CommandRunner for FakeRunner {
    fn run(
        &self,
        command: CommandSpec,
        output: Option<mpsc::Sender<OutputChunk>>,
    ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>> {
        self.runs.lock().unwrap().push(command);
        let run = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| ok_run("ok\n"));
        Box::pin(async move {
            match run {
                Run::Finish(chunks, outcome) => {
                    if let Some(output) = output {
                        for chunk in chunks {
                            let _ = output.send(chunk).await;
                        }
                    }
                    Ok(outcome)
                }
                Run::Gated(gate, outcome) => {
                    let _ = gate.await;
                    Ok(outcome)
                }
                Run::Hang(flag) => {
                    let _guard = DropFlag(flag);
                    futures::future::pending::<()>().await;
                    unreachable!()
                }
            }
        })
    }
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
    pub(super) runner: Arc<FakeRunner>,
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
    let provider = Arc::new(ScriptedProvider {
        replies: Mutex::new(replies.into()),
        requests: Mutex::new(Vec::new()),
        context_window,
    });
    let root = PathBuf::from(ROOT);
    let files = [
        ("src/lib.rs", "pub fn answer() -> u32 {\n    41\n}\n"),
        ("README.md", "a crate\n"),
        ("AGENTS.md", "Run `cargo test` before you finish.\n"),
    ]
    .iter()
    .map(|(path, text)| (root.join(path), text.to_string()))
    .collect();
    let workspace = Arc::new(MemoryWorkspace {
        root,
        files: Mutex::new(files),
    });
    let runner = Arc::new(FakeRunner::default());
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
