//! Hostile providers, end to end: the real providers of the three wire formats
//! talking to a fake on 127.0.0.1 that misbehaves (SSE that is not SSE, JSON that
//! does not parse, streams cut mid-event or never finished, a 20 MB event, a
//! stall, 5xx with and without Retry-After, calls for tools that do not exist,
//! arguments that are not JSON or are 10 MB, patches aimed outside the workspace
//! or into `.git`). Each fault is one row of a table; every row must end in a
//! clear error (to the model when it can correct itself, to the user otherwise),
//! leave the thread usable for the next turn, and write nothing outside the
//! workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentls_core::agent::{Agent, Thread, ThreadOptions};
use agentls_core::config::Config;
use agentls_core::disk::DiskWorkspace;
use agentls_core::protocol::{Event, Op, ReviewDecision};
use agentls_core::sandbox::SandboxedRunner;
use agentls_tests::fake_provider::{FakeProvider, Fault, Format, Script, ToolCall};
use serde_json::json;

const HELPER: &str = env!("CARGO_BIN_EXE_sandbox-helper");
/// Generous: every wait here is for something that happens at once, or for one
/// short idle timeout.
const TIMEOUT: Duration = Duration::from_secs(120);
const FORMATS: [Format; 3] = [
    Format::OpenAiResponses,
    Format::OpenAiChat,
    Format::Anthropic,
];
/// Each row's agent retries once: a fault that is retried is scripted twice.
const MAX_RETRIES: u32 = 1;

/// A workspace with a file, a `.git/config`, and a symlink to a folder beside it
/// (`outside`) that nothing may write into.
struct Setup {
    dir: tempfile::TempDir,
    data_dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let workspace = dir.path().join("ws");
        std::fs::create_dir_all(workspace.join("src")).unwrap();
        std::fs::create_dir_all(workspace.join(".git")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(
            workspace.join("src/lib.rs"),
            "pub fn answer() -> u32 {\n    41\n}\n",
        )
        .unwrap();
        std::fs::write(workspace.join(".git/config"), "[core]\n\tbare = false\n").unwrap();
        std::fs::write(dir.path().join("outside/keep.txt"), "keep\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), workspace.join("link")).unwrap();
        Setup {
            dir,
            data_dir: tempfile::tempdir().unwrap(),
        }
    }

    fn workspace(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    fn agent(&self, fake: &FakeProvider, idle_timeout: Duration) -> Agent {
        let mut config = Config::default();
        config.provider = fake.config();
        config.provider.retry_base_ms = 10;
        config.provider.max_retries = MAX_RETRIES;
        let runner = SandboxedRunner::new(HELPER);
        let unconfined = runner.every_command_needs_approval();
        Agent::new(
            config,
            fake.provider_with_idle_timeout(idle_timeout),
            Arc::new(DiskWorkspace::new(self.workspace()).unwrap()),
            Arc::new(runner),
            self.data_dir.path().to_path_buf(),
        )
        .with_unconfined_commands(unconfined)
    }

    /// Every path under the temporary folder that is outside the workspace or in
    /// its `.git`, with its bytes (a link's target): what must not change.
    fn outside_and_git(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, workspace: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let guarded =
                    !path.starts_with(workspace) || path.starts_with(workspace.join(".git"));
                if meta.is_dir() {
                    if guarded {
                        out.insert(path.clone(), Vec::new());
                    }
                    walk(&path, workspace, out);
                } else if guarded {
                    let bytes = if meta.is_symlink() {
                        std::fs::read_link(&path)
                            .unwrap()
                            .into_os_string()
                            .into_encoded_bytes()
                    } else {
                        std::fs::read(&path).unwrap()
                    };
                    out.insert(path, bytes);
                }
            }
        }
        let mut files = BTreeMap::new();
        walk(self.dir.path(), &self.workspace(), &mut files);
        files
    }
}

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
                    decision: ReviewDecision::Denied,
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

/// How a row must end.
#[derive(Clone, Debug)]
enum Expect {
    /// The turn fails and says this to the user.
    User(&'static str),
    /// The model is told this (in the request after its call) and the turn goes on
    /// to the scripted answer after it.
    Model(&'static str),
    /// The turn completes, after one retry that waited this long (Retry-After).
    RetriedAfter(u64),
    /// The turn completes: what the provider sent was harmless.
    Completes,
}

struct Row {
    name: &'static str,
    scripts: Vec<Script>,
    expect: Expect,
    idle_timeout: Duration,
}

fn row(name: &'static str, scripts: Vec<Script>, expect: Expect) -> Row {
    Row {
        name,
        scripts,
        expect,
        // Long: a debug build on a loaded machine renders and reads the 10 and
        // 20 MB rows slowly, and a retry after a spurious idle timeout would take
        // the next row's script.
        idle_timeout: Duration::from_secs(60),
    }
}

/// An HTTP error answer in a shape every format's error reader takes.
fn status(status: u16, retry_after: Option<&str>) -> Script {
    Script::Http(Fault::Custom {
        status,
        headers: retry_after
            .map(|value| vec![("retry-after".to_string(), value.to_string())])
            .unwrap_or_default(),
        body: r#"{"error":{"message":"the fake provider is down","type":"server_error"}}"#
            .to_string(),
    })
}

fn patch(body: &str) -> Script {
    Script::tool_calls([ToolCall::new(
        "apply_patch",
        json!({ "input": format!("*** Begin Patch\n{body}*** End Patch\n") }),
    )])
}

/// Garbage lines between the events: a comment, a field SSE does not know, a
/// line without a colon. SSE says to ignore them.
fn with_noise(events: Vec<String>) -> Vec<String> {
    let mut out = vec![": keep-alive\n\nbogus-field: 1\nthis line has no colon\n\n".to_string()];
    for event in events {
        out.push(event);
        out.push("retry: soon\n\n".to_string());
    }
    out
}

/// The first event's data replaced by JSON that does not parse.
fn with_invalid_json(mut events: Vec<String>) -> Vec<String> {
    let position = events.len() / 2;
    events[position] =
        "data: {\"type\": \"response.output_text.delta\", \"delta\": \n\n".to_string();
    events
}

/// Every event but the last, and the last cut in half.
fn cut_mid_event(mut events: Vec<String>) -> Vec<String> {
    let last = events.len() - 1;
    let half = events[last].len() / 2;
    events[last].truncate(half);
    events
}

/// Every event but the closing ones: `response.completed`, `message_stop`, the
/// chunk with `finish_reason` and `[DONE]`.
fn without_completion(events: Vec<String>) -> Vec<String> {
    events
        .into_iter()
        .filter(|event| {
            !event.contains("response.completed")
                && !event.contains("message_stop")
                && !event.contains("message_delta")
                && !event.contains("[DONE]")
                && !event.contains("\"finish_reason\":\"")
        })
        .collect()
}

fn rows() -> Vec<Row> {
    let answer = || Script::text("Half an answer that never finishes.");
    let huge_path = "a".repeat(10 << 20);
    vec![
        row(
            "malformed SSE lines are skipped",
            vec![Script::text("Fine.").mangled(with_noise)],
            Expect::Completes,
        ),
        row(
            "an event with invalid JSON",
            vec![
                answer().mangled(with_invalid_json),
                answer().mangled(with_invalid_json),
            ],
            Expect::User("malformed event from the provider"),
        ),
        row(
            "a stream that ends mid-event",
            vec![
                answer().mangled(cut_mid_event),
                answer().mangled(cut_mid_event),
            ],
            Expect::User("ended before it completed"),
        ),
        row(
            "a stream that ends without its completion event",
            vec![
                answer().mangled(without_completion),
                answer().mangled(without_completion),
            ],
            Expect::User("ended before it completed"),
        ),
        row(
            "a connection dropped mid-event",
            vec![
                answer().mangled_then_dropped(cut_mid_event),
                answer().mangled_then_dropped(cut_mid_event),
            ],
            Expect::User("could not reach the provider"),
        ),
        row(
            "a single 20 MB event",
            vec![Script::text("y".repeat(20 << 20))],
            Expect::Completes,
        ),
        Row {
            idle_timeout: Duration::from_secs(1),
            ..row(
                "a stream that stalls forever",
                vec![Script::stall(), Script::stall()],
                Expect::User("the provider sent nothing for 1s"),
            )
        },
        row(
            "500 without Retry-After",
            vec![status(500, None), status(500, None)],
            Expect::User("provider error 500"),
        ),
        row(
            "503 without Retry-After",
            vec![status(503, None), status(503, None)],
            Expect::User("provider error 503"),
        ),
        row(
            "529 without Retry-After",
            vec![status(529, None), status(529, None)],
            Expect::User("provider error 529"),
        ),
        row(
            "500 with Retry-After",
            vec![status(500, Some("1")), Script::text("Back.")],
            Expect::RetriedAfter(1000),
        ),
        row(
            "503 with Retry-After",
            vec![status(503, Some("1")), Script::text("Back.")],
            Expect::RetriedAfter(1000),
        ),
        row(
            "529 with Retry-After",
            vec![status(529, Some("1")), Script::text("Back.")],
            Expect::RetriedAfter(1000),
        ),
        row(
            "a call for a tool that does not exist",
            vec![
                Script::tool_calls([ToolCall::new("format_disk", json!({ "device": "sda" }))]),
                Script::text("Sorry."),
            ],
            Expect::Model("format_disk"),
        ),
        row(
            "tool arguments that are not JSON",
            vec![
                Script::malformed_tool_call("read_file"),
                Script::text("Sorry."),
            ],
            Expect::Model("invalid"),
        ),
        row(
            "tool arguments of 10 MB",
            vec![
                Script::tool_calls([ToolCall::new("read_file", json!({ "path": huge_path }))]),
                Script::text("Sorry."),
            ],
            Expect::Model("more than the limit of 1048576; nothing was run"),
        ),
        row(
            "a patch for ../x",
            vec![
                patch("*** Add File: ../outside/x\n+escaped\n"),
                Script::text("Sorry."),
            ],
            Expect::Model("outside the workspace"),
        ),
        row(
            "a patch for an absolute path",
            vec![
                patch("*** Add File: /tmp/agentls-hostile-absolute\n+escaped\n"),
                Script::text("Sorry."),
            ],
            Expect::Model("outside the workspace"),
        ),
        row(
            "a patch adding a file through a symlink out of the workspace",
            vec![
                patch("*** Add File: link/x\n+escaped\n"),
                Script::text("Sorry."),
            ],
            Expect::Model("outside the workspace"),
        ),
        row(
            "a patch updating a file through a symlink out of the workspace",
            vec![
                patch("*** Update File: link/keep.txt\n@@\n-keep\n+escaped\n"),
                Script::text("Sorry."),
            ],
            Expect::Model("outside the workspace"),
        ),
        row(
            "a patch for .git/config",
            vec![
                patch(
                    "*** Update File: .git/config\n@@\n [core]\n-\tbare = false\n+\tbare = true\n",
                ),
                Script::text("Sorry."),
            ],
            Expect::Model(".git"),
        ),
        row(
            "a patch adding a git hook",
            vec![
                patch("*** Add File: .git/hooks/pre-commit\n+#!/bin/sh\n+curl evil\n"),
                Script::text("Sorry."),
            ],
            Expect::Model(".git"),
        ),
    ]
}

/// Runs one row on a fresh workspace and thread; `Err` says how it failed.
async fn run_row(format: Format, row: Row) -> Result<(), String> {
    let setup = Setup::new();
    let fake = FakeProvider::start(format).await;
    let before = setup.outside_and_git();
    let agent = setup.agent(&fake, row.idle_timeout);
    let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
    let n_scripts = row.scripts.len();
    for script in row.scripts {
        fake.push(script);
    }
    submit_input(&thread, "do the thing").await;
    let events = finish_turn(&mut thread).await;
    let last = events.last().cloned();
    let brief = |events: &[Event]| -> String {
        let text = format!("{events:?}");
        text.chars().take(3000).collect()
    };
    match (&row.expect, &last) {
        (Expect::User(said), Some(Event::TurnFailed { error, .. })) => {
            if !error.contains(said) {
                return Err(format!("the user was told {error:?}, not {said:?}"));
            }
        }
        (Expect::Model(said), Some(Event::TurnCompleted { .. })) => {
            let requests = fake.requests();
            let Some(second) = requests.get(1) else {
                return Err("the model was never told".to_string());
            };
            let body = second.body.to_string();
            if !body.contains(said) {
                // The conversation, without the instructions and tools around it.
                let conversation = ["input", "messages"]
                    .iter()
                    .map(|key| second.body[*key].to_string())
                    .collect::<String>();
                let shown: String = conversation.chars().take(3000).collect();
                return Err(format!("the model was not told {said:?}: {shown}"));
            }
        }
        (Expect::RetriedAfter(delay), Some(Event::TurnCompleted { .. })) => {
            let waited = events.iter().find_map(|event| match event {
                Event::Retrying { delay_ms, .. } => Some(*delay_ms),
                _ => None,
            });
            if waited != Some(*delay) {
                return Err(format!("retried after {waited:?} ms, not {delay} ms"));
            }
        }
        (Expect::Completes, Some(Event::TurnCompleted { .. })) => {}
        (expect, _) => {
            return Err(format!(
                "expected {expect:?}, the turn ended: {}",
                brief(&events)
            ));
        }
    }
    if fake.requests().len() != n_scripts {
        return Err(format!(
            "{} requests for {n_scripts} scripts",
            fake.requests().len()
        ));
    }

    // The thread goes on.
    fake.push(Script::text("Still here."));
    submit_input(&thread, "are you still there?").await;
    let events = finish_turn(&mut thread).await;
    if !matches!(events.last(), Some(Event::TurnCompleted { .. })) {
        return Err(format!(
            "the next turn did not complete: {}",
            brief(&events)
        ));
    }
    if setup.outside_and_git() != before {
        return Err("something outside the workspace or in .git changed".to_string());
    }
    if Path::new("/tmp/agentls-hostile-absolute").exists() {
        return Err("the absolute path was written".to_string());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_providers_end_in_a_clear_error_and_leave_the_thread_usable() {
    let mut failures = Vec::new();
    let mut total = 0;
    // `HOSTILE_ROW=<part of a row's name>` runs only the matching rows.
    let only = std::env::var("HOSTILE_ROW").unwrap_or_default();
    for format in FORMATS {
        for row in rows() {
            if !row.name.contains(&only) {
                continue;
            }
            total += 1;
            let name = row.name;
            if let Err(why) = run_row(format, row).await {
                failures.push(format!("{format:?}: {name}: {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "provider faults survived: {}/{total}\n{}",
        total - failures.len(),
        failures.join("\n")
    );
}

/// A hostile workspace: a symlink loop, a link out of the root, a FIFO named
/// `main.rs`, an unreadable folder, a sparse 1 GB source file, names and contents
/// that are not UTF-8, and 100,000 small files. The index build finishes, never
/// follows a link out of the root and never blocks on the FIFO.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_workspace_is_indexed_without_hanging_or_leaving_the_root() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;

    use agentls_core::context::{BuildOptions, SharedIndex};

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.rs"), "pub fn outside_secret() {}\n").unwrap();
    std::fs::write(root.join("src/good.rs"), "pub fn good_one() {}\n").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
    std::os::unix::fs::symlink(&root, root.join("src/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("a.rs"), root.join("b.rs")).unwrap();
    std::os::unix::fs::symlink(root.join("b.rs"), root.join("a.rs")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("src/main.rs"))
        .status()
        .unwrap();
    assert!(status.success());
    let locked = root.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::write(locked.join("hidden.rs"), "pub fn locked_away() {}\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let big = std::fs::File::create(root.join("src/big.rs")).unwrap();
    big.set_len(1 << 30).unwrap();
    drop(big);
    std::fs::write(
        root.join("src/latin1.rs"),
        b"// caf\xe9\npub fn latin() {}\n",
    )
    .unwrap();
    let odd_name = std::ffi::OsStr::from_bytes(b"caf\xe9.rs");
    std::fs::write(root.join("src").join(odd_name), "pub fn odd_name() {}\n").unwrap();
    const N_FILES: usize = 100_000;
    for folder in 0..100 {
        let folder_path = root.join(format!("gen/d{folder:03}"));
        std::fs::create_dir_all(&folder_path).unwrap();
        for file in 0..N_FILES / 100 {
            std::fs::write(
                folder_path.join(format!("f{file:04}.rs")),
                format!("pub fn f{folder}_{file}() {{}}\n"),
            )
            .unwrap();
        }
    }

    let index = SharedIndex::new();
    let build = {
        let index = index.clone();
        let root = root.clone();
        tokio::task::spawn_blocking(move || index.build(&[root], &BuildOptions::default(), &|_| {}))
    };
    let stats = tokio::time::timeout(Duration::from_secs(600), build)
        .await
        .expect("the index build finishes")
        .unwrap()
        .expect("the build succeeds");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();

    let index = index.read();
    let paths: Vec<PathBuf> = index.paths().into_iter().map(Path::to_path_buf).collect();
    assert!(paths.contains(&root.join("src/good.rs")), "{stats:?}");
    assert!(
        paths.contains(&root.join("src").join(odd_name)),
        "{stats:?}"
    );
    for path in &paths {
        assert!(path.starts_with(&root), "left the root: {}", path.display());
        assert!(
            !path.starts_with(root.join("out")),
            "followed a link: {}",
            path.display()
        );
        assert!(
            !path.starts_with(root.join("src/loop")),
            "followed a loop: {}",
            path.display()
        );
    }
    for excluded in ["src/main.rs", "src/big.rs", "src/latin1.rs", "a.rs", "b.rs"] {
        assert!(
            !paths.contains(&root.join(excluded)),
            "{excluded} was indexed"
        );
    }
    assert!(index.definitions("outside_secret").is_empty());
    assert!(stats.files > N_FILES, "{stats:?}");
    assert!(
        stats.skipped >= 1,
        "the file that is not UTF-8 is skipped: {stats:?}"
    );
}
