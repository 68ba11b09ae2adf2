//! The agent loop end to end, for each of the three wire formats: the real
//! providers talking to the fake provider on 127.0.0.1, files on disk through
//! `DiskWorkspace`, commands through `SandboxedRunner` and the real sandbox helper.
//! Also the offline example in `examples/fix-a-test`, replayed through
//! `agentls exec`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentls_core::agent::{Agent, Thread, ThreadOptions};
use agentls_core::config::{ApprovalPolicy, Config};
use agentls_core::disk::DiskWorkspace;
use agentls_core::protocol::{Event, InterruptReason, Op, ReviewDecision, ThreadItemKind};
use agentls_core::sandbox::SandboxedRunner;
use agentls_tests::fake_provider::{FakeProvider, Format, Script, ToolCall};
use serde_json::{json, Value};

const HELPER: &str = env!("CARGO_BIN_EXE_sandbox-helper");
/// Generous: every wait here is for something that happens at once.
const TIMEOUT: Duration = Duration::from_secs(60);
const FORMATS: [Format; 3] = [
    Format::OpenAiResponses,
    Format::OpenAiChat,
    Format::Anthropic,
];

struct Setup {
    workspace: tempfile::TempDir,
    data_dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let workspace = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(workspace.path().join("src")).unwrap();
        std::fs::write(
            workspace.path().join("src/lib.rs"),
            "pub fn answer() -> u32 {\n    41\n}\n",
        )
        .unwrap();
        Setup {
            workspace,
            data_dir: tempfile::tempdir().unwrap(),
        }
    }

    fn agent(&self, fake: &FakeProvider) -> Agent {
        self.agent_with(fake, ApprovalPolicy::OnRequest)
    }

    fn agent_with(&self, fake: &FakeProvider, approvals: ApprovalPolicy) -> Agent {
        let mut config = Config::default();
        config.approvals.policy = approvals;
        config.provider = fake.config();
        config.provider.retry_base_ms = 10;
        let runner = SandboxedRunner::new(HELPER);
        let unconfined = runner.every_command_needs_approval();
        Agent::new(
            config,
            fake.provider(),
            Arc::new(DiskWorkspace::new(self.workspace.path()).unwrap()),
            Arc::new(runner),
            self.data_dir.path().to_path_buf(),
        )
        .with_unconfined_commands(unconfined)
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.workspace.path().join(path)).unwrap()
    }
}

/// Events until the turn ends, approving any command the sandbox fall-back asks
/// about (on a kernel that cannot confine, every command asks).
async fn finish_turn(thread: &mut Thread) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let event = tokio::time::timeout(TIMEOUT, thread.next_event())
            .await
            .expect("the turn goes on")
            .expect("the thread is alive");
        if let Event::ApprovalRequested { id, .. } = &event {
            thread
                .submit(Op::ApprovalDecision {
                    id: id.clone(),
                    decision: ReviewDecision::Approved,
                })
                .await
                .unwrap();
        }
        let end = matches!(
            event,
            Event::TurnCompleted { .. } | Event::TurnInterrupted { .. } | Event::TurnFailed { .. }
        );
        events.push(event);
        if end {
            return events;
        }
    }
}

async fn submit_input(thread: &Thread, text: &str) {
    thread
        .submit(Op::UserInput {
            text: text.into(),
            context: vec![],
        })
        .await
        .unwrap();
}

/// The conversation part of a request body, whatever the format, as a list of
/// entries. Anthropic merges consecutive user turns into one message (a steer
/// or the input after an interrupt joins the message before it), so there an
/// entry is one content block with its role: appending a block to the last
/// message still only appends to what the cache matches.
fn conversation(format: Format, body: &Value) -> Vec<Value> {
    let key = match format {
        Format::OpenAiResponses => "input",
        Format::OpenAiChat | Format::Anthropic => "messages",
    };
    let items = body[key].as_array().cloned().unwrap_or_default();
    if format != Format::Anthropic {
        return items;
    }
    let mut blocks = Vec::new();
    for message in items {
        match &message["content"] {
            Value::Array(content) => {
                for block in content {
                    blocks.push(json!({ "role": message["role"], "block": block }));
                }
            }
            text => blocks.push(json!({ "role": message["role"], "block": text })),
        }
    }
    blocks
}

/// `value` without Anthropic's `cache_control` markers: the provider moves its
/// breakpoint to the newest block on each request, and the marker is not part of
/// the prefix the cache matches.
fn without_cache_markers(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| key.as_str() != "cache_control")
                .map(|(key, value)| (key.clone(), without_cache_markers(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_cache_markers).collect()),
        other => other.clone(),
    }
}

/// Every request of the fake is the one before it plus appended messages.
fn assert_requests_append(format: Format, bodies: &[Value]) {
    let bodies: Vec<Value> = bodies.iter().map(without_cache_markers).collect();
    for pair in bodies.windows(2) {
        let (before, after) = (
            conversation(format, &pair[0]),
            conversation(format, &pair[1]),
        );
        assert!(
            after.len() > before.len(),
            "{format:?}: the conversation shrank"
        );
        assert_eq!(
            serde_json::to_string(&before).unwrap(),
            serde_json::to_string(&after[..before.len()]).unwrap(),
            "{format:?}: a request rewrote what the one before it sent"
        );
        for key in ["tools", "instructions", "system", "model"] {
            assert_eq!(
                pair[0].get(key),
                pair[1].get(key),
                "{format:?}: {key} changed"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_loop_reads_patches_and_runs_a_command_with_every_provider() {
    for format in FORMATS {
        let setup = Setup::new();
        let fake = FakeProvider::start(format).await;
        let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n pub fn answer() -> u32 {\n-    41\n+    42\n }\n*** End Patch\n";
        fake.push(Script::text_and_tool_calls(
            "Reading it.",
            [ToolCall::new("read_file", json!({ "path": "src/lib.rs" }))],
        ))
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": patch }),
        )]))
        .push(Script::tool_calls([ToolCall::new(
            "shell",
            json!({ "command": ["grep", "-c", "42", "src/lib.rs"] }),
        )]))
        .push(Script::text("It returns 42 now."));
        let agent = setup.agent(&fake);
        let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
        submit_input(&thread, "make answer() return 42").await;
        let events = finish_turn(&mut thread).await;

        match events.last() {
            Some(Event::TurnCompleted { changed_files, .. }) => {
                assert_eq!(changed_files.len(), 1, "{format:?}");
                assert!(changed_files[0].ends_with("src/lib.rs"));
            }
            other => panic!("{format:?}: {other:?}\n{events:#?}"),
        }
        assert_eq!(
            setup.read("src/lib.rs"),
            "pub fn answer() -> u32 {\n    42\n}\n"
        );
        let command = events
            .iter()
            .find_map(|event| match event {
                Event::ItemCompleted { item, .. } => match &item.kind {
                    ThreadItemKind::CommandExecution {
                        exit_code, output, ..
                    } => Some((*exit_code, output.clone())),
                    _ => None,
                },
                _ => None,
            })
            .expect("a command item");
        assert_eq!(command.0, Some(0), "{format:?}: {}", command.1);
        assert!(command.1.contains('1'), "{format:?}: {}", command.1);

        let requests = fake.requests();
        assert_eq!(requests.len(), 4, "{format:?}");
        let bodies: Vec<Value> = requests
            .iter()
            .map(|request| request.body.clone())
            .collect();
        assert_requests_append(format, &bodies);
        // The read's output reached the model in the next request.
        let second = serde_json::to_string(&bodies[1]).unwrap();
        assert!(second.contains("41"), "{format:?}: {second}");
    }
}

/// Interrupting a turn while its command runs kills the command (the sandbox
/// runner's process group) and the next turn goes on over the same thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_loop_interrupts_a_running_command_with_every_provider() {
    for format in FORMATS {
        let setup = Setup::new();
        let fake = FakeProvider::start(format).await;
        fake.push(Script::tool_calls([ToolCall::new(
            "shell",
            json!({ "command": ["sleep", "600"] }),
        )]))
        .push(Script::text("Fine."));
        let agent = setup.agent(&fake);
        let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
        submit_input(&thread, "wait for it").await;
        loop {
            let event = tokio::time::timeout(TIMEOUT, thread.next_event())
                .await
                .expect("the turn goes on")
                .expect("the thread is alive");
            match event {
                Event::ApprovalRequested { id, .. } => thread
                    .submit(Op::ApprovalDecision {
                        id,
                        decision: ReviewDecision::Approved,
                    })
                    .await
                    .unwrap(),
                Event::ItemStarted { item, .. }
                    if matches!(item.kind, ThreadItemKind::CommandExecution { .. }) =>
                {
                    break
                }
                _ => {}
            }
        }
        thread.submit(Op::Interrupt).await.unwrap();
        let events = finish_turn(&mut thread).await;
        assert!(
            matches!(
                events.last(),
                Some(Event::TurnInterrupted {
                    reason: InterruptReason::User,
                    ..
                })
            ),
            "{format:?}: {events:#?}"
        );
        submit_input(&thread, "go on").await;
        let events = finish_turn(&mut thread).await;
        assert!(
            matches!(events.last(), Some(Event::TurnCompleted { .. })),
            "{format:?}: {events:#?}"
        );
        let bodies: Vec<Value> = fake.requests().iter().map(|r| r.body.clone()).collect();
        assert_eq!(bodies.len(), 2);
        assert_requests_append(format, &bodies);
        let last = serde_json::to_string(&bodies[1]).unwrap();
        assert!(
            last.contains("aborted: the turn was stopped"),
            "{format:?}: {last}"
        );
    }
}

/// The turn after interrupting a stalled stream is answered at once. It once
/// waited out the idle timeout in about one run in six: the fake recorded a
/// request before taking its script, so the next turn's request, on a new
/// connection, could take the `Stall` meant for the interrupted one. Also checks
/// that the client never sends a request on the connection it abandoned. Rounds
/// alternate a fresh connection and one reused from a finished turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_loop_answers_the_turn_after_interrupting_a_stalled_stream_at_once() {
    const ROUNDS: usize = 16;
    for format in FORMATS {
        for round in 0..ROUNDS {
            let setup = Setup::new();
            let fake = FakeProvider::start(format).await;
            let mut config = Config::default();
            config.provider = fake.config();
            // A request stuck on a stall fails the turn instead of being retried.
            config.provider.max_retries = 0;
            let agent = Agent::new(
                config,
                fake.provider_with_idle_timeout(Duration::from_secs(2)),
                Arc::new(DiskWorkspace::new(setup.workspace.path()).unwrap()),
                Arc::new(SandboxedRunner::new(HELPER)),
                setup.data_dir.path().to_path_buf(),
            );
            let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
            if round % 2 == 1 {
                fake.push(Script::text("Warm."));
                submit_input(&thread, "warm up").await;
                finish_turn(&mut thread).await;
            }
            let stalled = fake.requests().len();
            fake.push(Script::stall());
            submit_input(&thread, "stall").await;
            tokio::time::timeout(TIMEOUT, fake.wait_for_requests(stalled + 1))
                .await
                .expect("the stalled request arrives");
            thread.submit(Op::Interrupt).await.unwrap();
            let events = finish_turn(&mut thread).await;
            assert!(
                matches!(events.last(), Some(Event::TurnInterrupted { .. })),
                "{format:?} round {round}: {events:#?}"
            );

            fake.push(Script::text("Answered."));
            submit_input(&thread, "go on").await;
            let events = finish_turn(&mut thread).await;
            assert!(
                matches!(events.last(), Some(Event::TurnCompleted { .. })),
                "{format:?} round {round}: {events:#?}"
            );
            let requests = fake.requests();
            assert_eq!(requests.len(), stalled + 2, "{format:?} round {round}");
            assert_ne!(
                requests[stalled + 1].connection,
                requests[stalled].connection,
                "{format:?} round {round}: a request went out on the abandoned connection"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_loop_resumes_a_thread_byte_for_byte_with_every_provider() {
    for format in FORMATS {
        let setup = Setup::new();
        let fake = FakeProvider::start(format).await;
        fake.push(Script::tool_calls([ToolCall::new(
            "read_file",
            json!({ "path": "src/lib.rs" }),
        )]))
        .push(Script::text("It returns 41."))
        .push(Script::text("Still 41."));
        let id = {
            let agent = setup.agent(&fake);
            let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
            submit_input(&thread, "what does answer() return?").await;
            finish_turn(&mut thread).await;
            let id = thread.id().clone();
            let (handle, _events, task) = thread.into_parts();
            drop(handle);
            tokio::time::timeout(TIMEOUT, task).await.unwrap().unwrap();
            id
        };
        // A new agent, as after a restart of the server.
        let agent = setup.agent(&fake);
        let listed = agent.list_threads().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].preview.as_deref(),
            Some("what does answer() return?")
        );
        let mut thread = agent.resume_thread(&id).unwrap();
        assert!(!thread.past_items().is_empty());
        submit_input(&thread, "and now?").await;
        let events = finish_turn(&mut thread).await;
        assert!(
            matches!(events.last(), Some(Event::TurnCompleted { .. })),
            "{format:?}"
        );
        let bodies: Vec<Value> = fake.requests().iter().map(|r| r.body.clone()).collect();
        assert_eq!(bodies.len(), 3);
        // The request after the resume extends the last one before it, byte for byte.
        assert_requests_append(format, &bodies);
    }
}

/// A steer submitted while the turn runs (here: while a command waits for its
/// approval) reaches the model right after the tool outputs of that step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_loop_delivers_a_steer_with_every_provider() {
    for format in FORMATS {
        let setup = Setup::new();
        let fake = FakeProvider::start(format).await;
        fake.push(Script::tool_calls([ToolCall::new(
            "shell",
            json!({ "command": ["touch", "marker"] }),
        )]))
        .push(Script::text("Touched, and noted."));
        let agent = setup.agent_with(&fake, ApprovalPolicy::Untrusted);
        let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
        submit_input(&thread, "touch the marker").await;
        let approval = loop {
            let event = tokio::time::timeout(TIMEOUT, thread.next_event())
                .await
                .expect("the turn goes on")
                .expect("the thread is alive");
            if let Event::ApprovalRequested { id, .. } = event {
                break id;
            }
        };
        thread
            .submit(Op::Steer {
                text: "then say what it returns".into(),
            })
            .await
            .unwrap();
        thread
            .submit(Op::ApprovalDecision {
                id: approval,
                decision: ReviewDecision::Approved,
            })
            .await
            .unwrap();
        let events = finish_turn(&mut thread).await;
        assert!(
            matches!(events.last(), Some(Event::TurnCompleted { .. })),
            "{format:?}: {events:#?}"
        );
        let bodies: Vec<Value> = fake.requests().iter().map(|r| r.body.clone()).collect();
        assert_eq!(bodies.len(), 2, "{format:?}");
        assert_requests_append(format, &bodies);
        let first = serde_json::to_string(&bodies[0]).unwrap();
        assert!(!first.contains("then say what it returns"), "{format:?}");
        let second = conversation(format, &bodies[1]);
        let last = serde_json::to_string(second.last().unwrap()).unwrap();
        assert!(
            last.contains("then say what it returns"),
            "{format:?}: {last}"
        );
    }
}

/// A context-length error compacts the thread (the model writes the summary) and
/// the request is tried again on the compacted history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_loop_compacts_on_context_length_errors_with_every_provider() {
    for format in FORMATS {
        let setup = Setup::new();
        let fake = FakeProvider::start(format).await;
        fake.push(Script::text("First."))
            .push(Script::context_length_exceeded())
            .push(Script::text("The user asked twice about answer()."))
            .push(Script::text("Second."));
        let agent = setup.agent(&fake);
        let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
        submit_input(&thread, "first question").await;
        finish_turn(&mut thread).await;
        submit_input(&thread, "second question").await;
        let events = finish_turn(&mut thread).await;
        assert!(
            matches!(events.last(), Some(Event::TurnCompleted { .. })),
            "{format:?}: {events:#?}"
        );
        assert!(events.iter().any(|event| matches!(event,
            Event::ItemCompleted { item, .. } if matches!(&item.kind,
                ThreadItemKind::Compaction { summary } if summary == "The user asked twice about answer()."))));
        let bodies: Vec<Value> = fake.requests().iter().map(|r| r.body.clone()).collect();
        assert_eq!(bodies.len(), 4, "{format:?}");
        // The summary request extends the failed one: the cache still hits.
        assert_requests_append(format, &bodies[1..3]);
        let after = serde_json::to_string(&bodies[3]).unwrap();
        assert!(
            after.contains("hand-off summary of the conversation so far"),
            "{format:?}"
        );
        assert!(after.contains("second question"), "{format:?}");
        assert!(
            !after.contains("First."),
            "{format:?}: the old answer is gone"
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .canonicalize()
        .unwrap()
}

#[derive(Clone, Default)]
struct Output(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Output {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `agentls exec --replay examples/fix-a-test.session.jsonl`: the recorded
/// session plays through the whole loop offline and fixes the example's bug.
/// Commands are denied here (`--approval untrusted`), so the test runs no cargo.
/// `AGENTLS_UPDATE_EXAMPLE=1` records the session again first (running the real
/// `cargo test` of the example).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_loop_example_session_replays_offline() {
    if std::env::var_os("AGENTLS_UPDATE_EXAMPLE").is_some() {
        example::record().await;
    }
    let project = tempfile::tempdir().unwrap();
    copy_dir(&examples().join("fix-a-test"), project.path());
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().display().to_string();
    let out = Output::default();
    let status = agentls::exec::run_with(
        agentls::exec::ExecArgs {
            task: "Fix the failing test".into(),
            cd: Some(project.path().to_path_buf()),
            replay: Some(examples().join("fix-a-test.session.jsonl")),
            approval: Some("untrusted".into()),
            ..agentls::exec::ExecArgs::default()
        },
        agentls::exec::ExecIo {
            env: Box::new(move |name| (name == "HOME").then(|| home_path.clone())),
            sandbox_helper: PathBuf::from(HELPER),
            out: Box::new(out.clone()),
        },
    )
    .await
    .unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert_eq!(status, 0, "{text}");
    let fixed = std::fs::read_to_string(project.path().join("src/lib.rs")).unwrap();
    assert!(fixed.contains("split_whitespace"), "{fixed}");
    assert!(text.contains("$ cargo test"), "{text}");
    assert!(text.contains("* edited src/lib.rs"), "{text}");
    assert!(text.contains("done: changed src/lib.rs"), "{text}");
    // The rollout landed in the data directory under HOME.
    let threads = home.path().join(".local/share/agentls/threads");
    assert_eq!(std::fs::read_dir(threads).unwrap().count(), 1);
}

/// The example session: what the model says at each step, recorded through the
/// real loop so the requests in the file are the ones the loop sends.
mod example {
    use super::*;
    use agentls_core::model::{ModelRequest, ResponseEvent, ResponseItem, Role, TokenUsage};
    use agentls_core::provider::{Exchange, ExchangeOutcome, RecordingProvider, ReplayProvider};

    fn answer(text: &str, calls: &[(&str, &str, Value)]) -> Vec<ResponseEvent> {
        let mut events = vec![ResponseEvent::Created];
        if !text.is_empty() {
            // Streamed a few words at a time, as a model does.
            let words: Vec<&str> = text.split_inclusive(' ').collect();
            for chunk in words.chunks(4) {
                events.push(ResponseEvent::OutputTextDelta {
                    delta: chunk.concat(),
                });
            }
            events.push(ResponseEvent::OutputItemDone {
                item: ResponseItem::Message {
                    role: Role::Assistant,
                    text: text.to_string(),
                },
            });
        }
        for (call_id, name, arguments) in calls {
            let arguments = arguments.to_string();
            events.push(ResponseEvent::ToolCallStarted {
                call_id: call_id.to_string(),
                name: name.to_string(),
            });
            events.push(ResponseEvent::ToolCallArgumentsDelta {
                call_id: call_id.to_string(),
                delta: arguments.clone(),
            });
            events.push(ResponseEvent::OutputItemDone {
                item: ResponseItem::FunctionCall {
                    call_id: call_id.to_string(),
                    name: name.to_string(),
                    arguments,
                },
            });
        }
        events.push(ResponseEvent::Completed {
            response_id: None,
            usage: Some(TokenUsage {
                input_tokens: 2400,
                cached_input_tokens: 2048,
                output_tokens: 60,
                reasoning_output_tokens: 0,
                total_tokens: 2460,
            }),
        });
        events
    }

    fn script() -> Vec<Vec<ResponseEvent>> {
        let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@ pub fn word_count(text: &str) -> usize {\n-    text.split(' ').filter(|word| !word.is_empty()).count()\n+    text.split_whitespace().count()\n*** End Patch\n";
        vec![
            answer(
                "I'll run the tests to see what fails.",
                &[
                    (
                        "call_plan",
                        "update_plan",
                        json!({"plan": [
                            {"step": "Run the tests", "status": "in_progress"},
                            {"step": "Fix the failing one", "status": "pending"},
                            {"step": "Run the tests again", "status": "pending"}
                        ]}),
                    ),
                    ("call_test", "shell", json!({"command": ["cargo", "test"]})),
                ],
            ),
            answer(
                "",
                &[("call_read", "read_file", json!({"path": "src/lib.rs"}))],
            ),
            answer(
                "`word_count` splits on spaces only, so a newline or a tab joins two words. `split_whitespace` splits on any whitespace.",
                &[("call_patch", "apply_patch", json!({"input": patch}))],
            ),
            answer(
                "",
                &[
                    (
                        "call_plan2",
                        "update_plan",
                        json!({"plan": [
                            {"step": "Run the tests", "status": "completed"},
                            {"step": "Fix the failing one", "status": "completed"},
                            {"step": "Run the tests again", "status": "in_progress"}
                        ]}),
                    ),
                    ("call_test2", "shell", json!({"command": ["cargo", "test"]})),
                ],
            ),
            answer(
                "Fixed: `word_count` now uses `split_whitespace`, so words separated by newlines and tabs count too. Both tests pass.",
                &[],
            ),
        ]
    }

    pub(super) async fn record() {
        let placeholder = ModelRequest {
            model: String::new(),
            instructions: String::new(),
            tools: Vec::new(),
            input: Vec::new(),
            prompt_cache_key: None,
            parallel_tool_calls: true,
            reasoning: None,
            max_output_tokens: None,
        };
        let exchanges = script()
            .into_iter()
            .map(|events| Exchange {
                request: placeholder.clone(),
                outcome: ExchangeOutcome::Streamed {
                    events,
                    error: None,
                },
            })
            .collect();
        let session = examples().join("fix-a-test.session.jsonl");
        let _ = std::fs::remove_file(&session);
        let provider = RecordingProvider::new(
            Arc::new(ReplayProvider::from_exchanges(exchanges)),
            &session,
        )
        .unwrap();
        let project = tempfile::tempdir().unwrap();
        copy_dir(&examples().join("fix-a-test"), project.path());
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.approvals.policy = ApprovalPolicy::Never;
        let agent = Agent::new(
            config,
            Arc::new(provider),
            Arc::new(DiskWorkspace::new(project.path()).unwrap()),
            Arc::new(SandboxedRunner::new(HELPER)),
            data_dir.path().to_path_buf(),
        );
        let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
        submit_input(&thread, "Fix the failing test").await;
        let events = finish_turn(&mut thread).await;
        assert!(
            matches!(events.last(), Some(Event::TurnCompleted { .. })),
            "{events:#?}"
        );
    }
}

/// `agentls exec` keeps the workspace's symbol index in the data directory, as
/// the language server does: the second run in the same workspace answers
/// `find_definition` the same way, from the cache the first one wrote (which it
/// leaves as it is: nothing changed, so nothing was parsed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_loop_exec_keeps_the_symbol_index_between_runs() {
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join("src")).unwrap();
    std::fs::write(
        project.path().join("src/lib.rs"),
        "/// The answer.\npub fn answer() -> u32 {\n    42\n}\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let index_dir = home.path().join(".local/share/agentls/index");
    let mut outputs = Vec::new();
    let mut written = Vec::new();
    for run in 0..2 {
        let fake = FakeProvider::start(Format::OpenAiResponses).await;
        fake.push(Script::tool_calls([ToolCall::new(
            "find_definition",
            json!({ "name": "answer" }),
        )]))
        .push(Script::text("Found it."));
        let home_path = home.path().display().to_string();
        let out = Output::default();
        let status = agentls::exec::run_with(
            agentls::exec::ExecArgs {
                task: "Where is answer defined?".into(),
                cd: Some(project.path().to_path_buf()),
                provider: Some("openai-responses".into()),
                base_url: Some(fake.base_url()),
                model: Some("test-model".into()),
                ..agentls::exec::ExecArgs::default()
            },
            agentls::exec::ExecIo {
                env: Box::new(move |name| match name {
                    "HOME" => Some(home_path.clone()),
                    "OPENAI_API_KEY" => Some(agentls_tests::fake_provider::FAKE_API_KEY.into()),
                    _ => None,
                }),
                sandbox_helper: PathBuf::from(HELPER),
                out: Box::new(out.clone()),
            },
        )
        .await
        .unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(status, 0, "run {run}: {text}");
        let requests = fake.requests();
        let (_, output) = requests[1]
            .tool_outputs()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("run {run}: no tool output"));
        outputs.push(output);
        let caches: Vec<_> = std::fs::read_dir(&index_dir)
            .unwrap_or_else(|error| panic!("run {run}: no {}: {error}", index_dir.display()))
            .flatten()
            .collect();
        assert_eq!(caches.len(), 1, "run {run}: one cache for the workspace");
        let cache = caches[0].path();
        written.push((
            std::fs::metadata(&cache).unwrap().modified().unwrap(),
            std::fs::read(&cache).unwrap(),
        ));
    }
    assert!(
        outputs[0].starts_with("src/lib.rs:2-4: function `answer`\n/// The answer.\n"),
        "{outputs:#?}"
    );
    assert_eq!(outputs[0], outputs[1], "the cached index answers the same");
    assert_eq!(
        written[0], written[1],
        "the second run took everything from the cache and left it alone"
    );
}
