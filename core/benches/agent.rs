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

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentls_core::agent::{Agent, EnvironmentInfo, Thread, ThreadOptions};
use agentls_core::config::Config;
use agentls_core::model::{ResponseEvent, ResponseItem, Role, TokenUsage};
use agentls_core::protocol::{Event, Op, ThreadId};
use agentls_core::testing::{MemoryWorkspace, Reply, ScriptedProvider, ScriptedRunner};
use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;

/// Steps per thread in `loop_step`, so the history stays the size of a long turn.
const STEPS_PER_THREAD: u64 = 100;

/// A model that answers at once: `n_calls` answers calling `tool`, one per
/// request, then a text.
fn replies(n_calls: usize, tool: &str, arguments: &str) -> Vec<Reply> {
    let calls = (0..n_calls).map(|call| ResponseItem::FunctionCall {
        call_id: format!("call_{call}"),
        name: tool.to_string(),
        arguments: arguments.to_string(),
    });
    let answer = ResponseItem::Message {
        role: Role::Assistant,
        text: "Done.".to_string(),
    };
    calls
        .chain([answer])
        .map(|item| {
            Reply::Events(vec![
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
            ])
        })
        .collect()
}

fn agent(provider: Arc<ScriptedProvider>, data_dir: &Path) -> Agent {
    let text: String = (1..=40)
        .map(|line| {
            format!("    let value_{line} = compute({line}); // some code on line {line}\n")
        })
        .collect();
    let workspace = MemoryWorkspace::on_disk("/bench", &[("src/lib.rs", &text)]);
    Agent::new(
        Config::default(),
        provider,
        Arc::new(workspace),
        // Neither tool measured runs a command.
        Arc::new(ScriptedRunner::default()),
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
    // Requests are dropped as a real provider drops them once sent, not kept for
    // the whole run.
    let provider = Arc::new(ScriptedProvider::new(Vec::new()).forgetting_requests());
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
                    for reply in replies(
                        (steps - 1) as usize,
                        "update_plan",
                        r#"{"plan":[{"step":"bench","status":"in_progress"}]}"#,
                    ) {
                        provider.push(reply);
                    }
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
    let provider = Arc::new(
        ScriptedProvider::new(replies(249, "read_file", r#"{"path":"src/lib.rs"}"#))
            .forgetting_requests(),
    );
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
