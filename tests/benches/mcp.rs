//! What MCP costs (issue 15), hand-timed for medians and p95:
//!
//! - a tool call through agentls (what the loop does for `SERVER__tool`: the
//!   tool looked up, the approval rule, the PreToolUse hooks looked up, the
//!   hub's call with its argument parsing and result text) against the same
//!   call made with a bare `rmcp` client to another copy of the same server
//!   started the same way (through the sandbox helper), calls alternating in
//!   one run: the bare call is the server's own time plus the transport, the
//!   difference is agentls's overhead. The server is server-everything's
//!   `echo` from the e2e cache (tests/mcp/setup.sh), else the tests' fake
//!   server's `echo`;
//! - a turn that uses no MCP tool (a one-text answer from the fake provider on
//!   127.0.0.1), from submitting it to its end, on a fresh agent whose
//!   configuration has no MCP server, a server that starts at once, or one that
//!   takes 500 ms to start (`fake-mcp-server --start-delay-ms 500`).
//!
//! `cargo bench -p agentls-tests --bench mcp`

#![allow(clippy::print_stdout)] // a benchmark's report goes to stdout

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentls_core::agent::{Agent, ThreadOptions};
use agentls_core::approval;
use agentls_core::config::{Config, McpServerConfig};
use agentls_core::disk::DiskWorkspace;
use agentls_core::hooks::HookEventName;
use agentls_core::mcp::McpHub;
use agentls_core::process::{CommandRunner, ServerSpec};
use agentls_core::protocol::{Event, Op};
use agentls_core::sandbox::SandboxedRunner;
use agentls_tests::fake_provider::{FakeProvider, Format, Script};
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;

const HELPER: &str = env!("CARGO_BIN_EXE_sandbox-helper");
const FAKE_MCP: &str = env!("CARGO_BIN_EXE_fake-mcp-server");
const CALLS: usize = 2_000;
const WARMUP: usize = 200;
const TURNS: usize = 15;

/// The fake server: cargo's, or `AGENTLS_BENCH_FAKE_MCP` (a copy of it, when
/// builds of other checkouts share the target directory and replace cargo's).
fn fake_mcp() -> String {
    std::env::var("AGENTLS_BENCH_FAKE_MCP").unwrap_or_else(|_| FAKE_MCP.to_string())
}

/// server-everything's entry point, found as tests/tests/mcp.rs finds it.
fn server_everything() -> Option<PathBuf> {
    let cache = std::env::var_os("AGENTLS_E2E_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/agentls-e2e"))
        })?;
    let dir = cache.join("mcp");
    let entry = dir.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    (dir.join(".complete").exists() && entry.exists()).then_some(entry)
}

/// Median and 95th percentile of `samples`, sorted in place.
fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95))
}

fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

/// `a - b` in ms, negative when the bare path was the slower (noise).
fn signed_ms(a: Duration, b: Duration) -> String {
    format!("{:+.3} ms", (a.as_secs_f64() - b.as_secs_f64()) * 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let workspace = tempfile::tempdir().expect("a temp dir");
    let root = workspace.path().canonicalize().expect("the root");
    runtime.block_on(call_overhead(&root));
    runtime.block_on(first_turn(&root));
}

async fn call_overhead(root: &Path) {
    let (server, arguments, label) = match server_everything() {
        Some(entry) => (
            McpServerConfig {
                command: Some("node".into()),
                args: vec![entry.display().to_string(), "stdio".into()],
                ..McpServerConfig::default()
            },
            serde_json::json!({ "message": "hello through MCP" }),
            "server-everything `echo` (node)",
        ),
        None => (
            McpServerConfig {
                command: Some(fake_mcp()),
                ..McpServerConfig::default()
            },
            serde_json::json!({ "message": "hello through MCP" }),
            "fake-mcp-server `echo` (server-everything not installed)",
        ),
    };
    let mut config = Config::default();
    config
        .mcp_servers
        .insert("bench".to_string(), server.clone());
    let sandboxed = SandboxedRunner::new(HELPER);
    let unconfined = sandboxed.every_command_needs_approval();
    let runner: Arc<dyn CommandRunner> = Arc::new(sandboxed);
    let hub = McpHub::new(
        &config,
        root,
        runner.clone(),
        Arc::new(|_: &str| None),
        unconfined,
    );
    let tools = hub.tools(true).await;
    assert!(
        tools.specs.iter().any(|tool| tool.name == "bench__echo"),
        "the server did not start: {:?}",
        tools.failures
    );

    // The same server, started the same way, with a bare rmcp client.
    let mut argv = vec![server.command.clone().expect("a command")];
    argv.extend(server.args.iter().cloned());
    let spec = ServerSpec {
        argv,
        cwd: root.to_path_buf(),
        env: Vec::new(),
        pass_env: Vec::new(),
        writable_roots: vec![root.to_path_buf()],
        policy: config.sandbox.policy,
    };
    let command = runner.server_command(&spec).expect("the server's command");
    let bare =
        ().serve(TokioChildProcess::new(command).expect("spawn the bare server"))
            .await
            .expect("the bare handshake");
    let arguments_text = arguments.to_string();
    let arguments_map = arguments.as_object().cloned().expect("an object");

    let agentls_call = || async {
        let started = Instant::now();
        let info = hub.tool_info("bench__echo").expect("the tool is listed");
        let needs_approval = approval::mcp_call_needs_approval(
            config.approvals.policy,
            info.approval,
            info.read_only,
            info.confined,
        );
        let hooks = config
            .hooks
            .matching(HookEventName::PreToolUse, Some("bench__echo"));
        let (text, is_error) = hub
            .call("bench__echo", &arguments_text)
            .await
            .expect("the call");
        let elapsed = started.elapsed();
        assert!(!is_error && text.contains("hello through MCP"), "{text}");
        std::hint::black_box((needs_approval, hooks));
        elapsed
    };
    let bare_call = || async {
        let started = Instant::now();
        let result = bare
            .call_tool(CallToolRequestParams::new("echo").with_arguments(arguments_map.clone()))
            .await
            .expect("the bare call");
        let elapsed = started.elapsed();
        std::hint::black_box(result);
        elapsed
    };
    for _ in 0..WARMUP {
        agentls_call().await;
        bare_call().await;
    }
    let mut through_agentls = Vec::with_capacity(CALLS);
    let mut direct = Vec::with_capacity(CALLS);
    for index in 0..CALLS {
        // Alternating, and which goes first too, so drift hits both alike.
        if index % 2 == 0 {
            through_agentls.push(agentls_call().await);
            direct.push(bare_call().await);
        } else {
            direct.push(bare_call().await);
            through_agentls.push(agentls_call().await);
        }
    }
    let (agentls_median, agentls_p95) = percentiles(&mut through_agentls);
    let (bare_median, bare_p95) = percentiles(&mut direct);
    println!(
        "MCP tool call, {label}, {CALLS} calls each, alternating (sandboxed: {}):",
        !unconfined
    );
    println!(
        "  through agentls (lookup, approval rule, hooks lookup, McpHub::call): median {}, p95 {}",
        ms(agentls_median),
        ms(agentls_p95)
    );
    println!(
        "  bare rmcp client:                                                   median {}, p95 {}",
        ms(bare_median),
        ms(bare_p95)
    );
    println!(
        "  agentls overhead: median {}, p95 {} (goal: at most 2 ms)",
        signed_ms(agentls_median, bare_median),
        signed_ms(agentls_p95, bare_p95)
    );
    let _ = bare.cancel().await;
}

/// Time from submitting a one-text turn to its end, on a fresh agent with
/// `servers` configured.
async fn one_turn(
    root: &Path,
    fake: &FakeProvider,
    servers: &[(&str, McpServerConfig)],
) -> Duration {
    let data = tempfile::tempdir().expect("a data dir");
    let mut config = Config::default();
    config.provider = fake.config();
    for (name, server) in servers {
        config.mcp_servers.insert(name.to_string(), server.clone());
    }
    let sandboxed = SandboxedRunner::new(HELPER);
    let unconfined = sandboxed.every_command_needs_approval();
    let runner: Arc<dyn CommandRunner> = Arc::new(sandboxed);
    let hub = McpHub::new(
        &config,
        root,
        runner.clone(),
        Arc::new(|_: &str| None),
        unconfined,
    );
    let agent = Agent::new(
        config,
        fake.provider(),
        Arc::new(DiskWorkspace::new(root).expect("the workspace")),
        runner,
        data.path().to_path_buf(),
    )
    .with_unconfined_commands(unconfined)
    .with_mcp(hub);
    let mut thread = agent
        .start_thread(ThreadOptions::default())
        .expect("a thread");
    fake.push(Script::text("No tools needed."));
    let started = Instant::now();
    thread
        .submit(Op::UserInput {
            text: "hello".into(),
            context: vec![],
        })
        .await
        .expect("submitted");
    loop {
        match thread.next_event().await.expect("the thread is alive") {
            Event::TurnCompleted { .. } => return started.elapsed(),
            Event::Warning { message } => println!("  warning: {message}"),
            Event::TurnFailed { .. } | Event::TurnInterrupted { .. } => {
                panic!("the turn did not complete")
            }
            _ => {}
        }
    }
}

async fn first_turn(root: &Path) {
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    let fast = McpServerConfig {
        command: Some(fake_mcp()),
        ..McpServerConfig::default()
    };
    let slow = McpServerConfig {
        args: vec!["--start-delay-ms".into(), "500".into()],
        ..fast.clone()
    };
    let cases: [(&str, Vec<(&str, McpServerConfig)>); 3] = [
        ("no MCP server", vec![]),
        ("a server that starts at once", vec![("fast", fast)]),
        ("a server that takes 500 ms to start", vec![("slow", slow)]),
    ];
    // Warm up the provider connection and the helper.
    one_turn(root, &fake, &[]).await;
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..TURNS {
        for (index, (_, servers)) in cases.iter().enumerate() {
            samples[index].push(one_turn(root, &fake, servers).await);
        }
    }
    println!("A first turn that uses no MCP tool, submit to end, {TURNS} fresh agents each:");
    for ((label, _), samples) in cases.iter().zip(samples.iter_mut()) {
        let (median, p95) = percentiles(samples);
        println!("  {label:<40} median {}, p95 {}", ms(median), ms(p95));
    }
}
