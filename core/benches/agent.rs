//! The agent loop's own costs, with the model and the tools taken out:
//!
//! - `loop_step`: one step of a turn — the model's stream has ended, the tool call
//!   is dispatched (`update_plan`, which does no I/O), its output recorded (rollout
//!   included), and the next request handed to the provider. An in-memory provider
//!   answers at once. Target: median ≤ 2 ms.
//! - `resume_500_items`: resuming a thread whose history holds 500 items (a user
//!   message, 249 `read_file` calls of a 40-line file with their outputs, the
//!   answer) from its rollout, until the thread is ready. Target: ≤ 20 ms.
//!
//! Run: `cargo bench -p agentls-core --bench agent`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentls_core::agent::{Agent, EnvironmentInfo, Thread, ThreadOptions};
use agentls_core::config::Config;
use agentls_core::model::{
    ModelRequest, Provider, ProviderError, ResponseEvent, ResponseItem, ResponseStream, Role,
    TokenUsage,
};
use agentls_core::process::{
    CommandOutcome, CommandRunner, CommandSpec, OutputChunk, SandboxError,
};
use agentls_core::protocol::{Event, Op, ThreadId};
use agentls_core::workspace::{ApplyError, Changeset, FileSnapshot, Workspace, WorkspaceError};
use criterion::{criterion_group, criterion_main, Criterion};
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

/// Steps per thread in `loop_step`, so the history stays the size of a long turn.
const STEPS_PER_THREAD: u64 = 100;

/// Answers with `tool_calls_left` calls of `tool`, one per request, then a text.
struct InstantProvider {
    tool_calls_left: AtomicUsize,
    tool: &'static str,
    arguments: &'static str,
    next_call: AtomicUsize,
}

impl Provider for InstantProvider {
    fn name(&self) -> &str {
        "instant"
    }

    fn context_window(&self) -> Option<u64> {
        None
    }

    fn stream(
        &self,
        _request: ModelRequest,
    ) -> BoxFuture<'_, Result<ResponseStream, ProviderError>> {
        let call = self
            .tool_calls_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        let item = if call {
            ResponseItem::FunctionCall {
                call_id: format!("call_{}", self.next_call.fetch_add(1, Ordering::SeqCst)),
                name: self.tool.to_string(),
                arguments: self.arguments.to_string(),
            }
        } else {
            ResponseItem::Message {
                role: Role::Assistant,
                text: "Done.".to_string(),
            }
        };
        let events = vec![
            Ok(ResponseEvent::Created),
            Ok(ResponseEvent::OutputItemDone { item }),
            Ok(ResponseEvent::Completed {
                response_id: None,
                usage: Some(TokenUsage {
                    input_tokens: 1000,
                    output_tokens: 20,
                    total_tokens: 1020,
                    ..TokenUsage::default()
                }),
            }),
        ];
        Box::pin(async move { Ok(stream::iter(events).boxed()) })
    }
}

struct MemoryWorkspace {
    root: PathBuf,
    files: Mutex<BTreeMap<PathBuf, String>>,
}

impl Workspace for MemoryWorkspace {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read_file(&self, path: &Path) -> Result<FileSnapshot, WorkspaceError> {
        let path = self.root.join(path);
        let files = self
            .files
            .lock()
            .map_err(|_| WorkspaceError::NotFound(path.clone()))?;
        files
            .get(&path)
            .map(|text| FileSnapshot {
                text: text.clone(),
                version: None,
            })
            .ok_or(WorkspaceError::NotFound(path))
    }

    fn apply(&self, _changes: Changeset) -> BoxFuture<'_, Result<(), ApplyError>> {
        Box::pin(async { Ok(()) })
    }
}

struct NoRunner;

impl CommandRunner for NoRunner {
    fn run(
        &self,
        _command: CommandSpec,
        _output: Option<mpsc::Sender<OutputChunk>>,
    ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>> {
        Box::pin(async { Err(SandboxError::EmptyCommand) })
    }
}

fn agent(provider: Arc<InstantProvider>, data_dir: &Path) -> Agent {
    let root = PathBuf::from("/bench");
    let text: String = (1..=40)
        .map(|line| {
            format!("    let value_{line} = compute({line}); // some code on line {line}\n")
        })
        .collect();
    let workspace = MemoryWorkspace {
        files: Mutex::new(BTreeMap::from([(root.join("src/lib.rs"), text)])),
        root,
    };
    Agent::new(
        Config::default(),
        provider,
        Arc::new(workspace),
        Arc::new(NoRunner),
        data_dir.to_path_buf(),
    )
    .with_environment(EnvironmentInfo {
        os: "linux".into(),
        shell: "bash".into(),
    })
}

async fn run_turn(thread: &mut Thread, text: &str) {
    thread
        .submit(Op::UserInput {
            text: text.to_string(),
            context: Vec::new(),
        })
        .await
        .expect("the thread takes input");
    loop {
        match thread.next_event().await.expect("the thread runs") {
            Event::TurnCompleted { .. } => return,
            Event::TurnFailed { error, .. } => panic!("turn failed: {error}"),
            _ => {}
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn loop_step(c: &mut Criterion) {
    let runtime = runtime();
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let provider = Arc::new(InstantProvider {
        tool_calls_left: AtomicUsize::new(0),
        tool: "update_plan",
        arguments: r#"{"plan":[{"step":"bench","status":"in_progress"}]}"#,
        next_call: AtomicUsize::new(0),
    });
    let agent = agent(provider.clone(), data_dir.path());
    c.bench_function("loop_step", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let steps = left.min(STEPS_PER_THREAD);
                    left -= steps;
                    let mut thread = agent
                        .start_thread(ThreadOptions::default())
                        .expect("a thread");
                    // `steps` model calls: steps - 1 tool calls and the answer.
                    provider
                        .tool_calls_left
                        .store((steps - 1) as usize, Ordering::SeqCst);
                    let start = Instant::now();
                    run_turn(&mut thread, "go").await;
                    total += start.elapsed();
                }
                total
            })
        })
    });
}

fn resume_500_items(c: &mut Criterion) {
    let runtime = runtime();
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let provider = Arc::new(InstantProvider {
        tool_calls_left: AtomicUsize::new(249),
        tool: "read_file",
        arguments: r#"{"path":"src/lib.rs"}"#,
        next_call: AtomicUsize::new(0),
    });
    let agent = agent(provider, data_dir.path());
    let id: ThreadId = runtime.block_on(async {
        let mut thread = agent
            .start_thread(ThreadOptions::default())
            .expect("a thread");
        run_turn(&mut thread, "read it 249 times").await;
        thread.id().clone()
    });
    let loaded = agentls_core::rollout::load(data_dir.path(), &id).expect("the rollout");
    assert_eq!(
        loaded.history.len(),
        500,
        "the fixture thread has 500 items"
    );
    c.bench_function("resume_500_items", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut thread = agent.resume_thread(&id).expect("resume");
                match thread.next_event().await {
                    Some(Event::ThreadStarted { resumed: true, .. }) => {}
                    other => panic!("{other:?}"),
                }
            })
        })
    });
}

criterion_group!(benches, loop_step, resume_500_items);
criterion_main!(benches);
