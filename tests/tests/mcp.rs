//! MCP servers end to end: real servers from npm (`server-everything`,
//! `server-filesystem`, installed by tests/mcp/setup.sh into the e2e cache) and
//! a fake one that misbehaves (`fake-mcp-server`), each started by agentls over
//! stdio through the real sandbox helper, with the fake model provider on
//! 127.0.0.1 calling their tools. Checked: the tools in the request, the
//! result in the next request, approval asked in the editor, and every fault
//! (exit at start, garbage, a crash mid-call, a hang, 10 MB) ending in a clear
//! message while the thread goes on.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentls_core::agent::{Agent, Thread, ThreadOptions};
use agentls_core::config::{Config, McpServerConfig};
use agentls_core::disk::DiskWorkspace;
use agentls_core::mcp::McpHub;
use agentls_core::protocol::{Event, Op, ThreadItemKind};
use agentls_core::sandbox::SandboxedRunner;
use common::*;

const FAKE_MCP: &str = env!("CARGO_BIN_EXE_fake-mcp-server");
const TIMEOUT: Duration = Duration::from_secs(90);

/// The npm packages' folder, or `None` (and a message) when setup did not run.
/// .ci/run runs tests/install.sh, which installs them, so there they run.
#[allow(clippy::print_stdout)]
fn npm_servers() -> Option<PathBuf> {
    let cache = std::env::var_os("AGENTLS_E2E_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/agentls-e2e"))
        })?;
    let dir = cache.join("mcp");
    if dir.join(".complete").exists() {
        return Some(dir.join("node_modules/@modelcontextprotocol"));
    }
    println!(
        "SKIPPED: the MCP servers from npm are not installed in {} (run `bash tests/mcp/setup.sh`; tests/install.sh does)",
        dir.display()
    );
    None
}

fn node_server(dir: &Path, package: &str, args: &[&str]) -> McpServerConfig {
    let mut argv = vec![dir
        .join(package)
        .join("dist/index.js")
        .display()
        .to_string()];
    argv.extend(args.iter().map(|arg| arg.to_string()));
    McpServerConfig {
        command: Some("node".into()),
        args: argv,
        ..McpServerConfig::default()
    }
}

fn fake_server(args: &[&str]) -> McpServerConfig {
    McpServerConfig {
        command: Some(FAKE_MCP.into()),
        args: args.iter().map(|arg| arg.to_string()).collect(),
        startup_timeout_secs: 5,
        tool_timeout_secs: 2,
        ..McpServerConfig::default()
    }
}

struct Setup {
    workspace: tempfile::TempDir,
    data: tempfile::TempDir,
    fake: FakeProvider,
}

impl Setup {
    async fn new() -> Setup {
        let workspace = tempfile::tempdir().unwrap();
        std::fs::write(workspace.path().join("notes.txt"), "the notes say 42\n").unwrap();
        Setup {
            workspace,
            data: tempfile::tempdir().unwrap(),
            fake: FakeProvider::start(Format::OpenAiResponses).await,
        }
    }

    fn root(&self) -> PathBuf {
        self.workspace.path().canonicalize().unwrap()
    }

    fn agent(&self, servers: &[(&str, McpServerConfig)]) -> Agent {
        let mut config = Config::default();
        config.provider = self.fake.config();
        config.provider.retry_base_ms = 10;
        for (name, server) in servers {
            config.mcp_servers.insert(name.to_string(), server.clone());
        }
        let runner = SandboxedRunner::new(HELPER);
        let unconfined = runner.every_command_needs_approval();
        let runner: Arc<dyn agentls_core::process::CommandRunner> = Arc::new(runner);
        let hub = McpHub::new(
            &config,
            &self.root(),
            runner.clone(),
            Arc::new(|_: &str| None),
            unconfined,
        );
        Agent::new(
            config,
            self.fake.provider(),
            Arc::new(DiskWorkspace::new(self.root()).unwrap()),
            runner,
            self.data.path().to_path_buf(),
        )
        .with_unconfined_commands(unconfined)
        .with_mcp(hub)
    }
}

/// The events of one turn, to its end; approvals are not answered here.
async fn turn(thread: &mut Thread, text: &str) -> Vec<Event> {
    thread
        .submit(Op::UserInput {
            text: text.into(),
            context: vec![],
        })
        .await
        .unwrap();
    let mut events = Vec::new();
    loop {
        let event = tokio::time::timeout(TIMEOUT, thread.next_event())
            .await
            .expect("the turn goes on")
            .expect("the thread is alive");
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

fn completed(events: &[Event]) {
    assert!(
        matches!(events.last(), Some(Event::TurnCompleted { .. })),
        "{events:#?}"
    );
}

fn warnings(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Warning { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// The output the model was sent for `call_id`.
fn output_of(fake: &FakeProvider, call_id: &str) -> String {
    fake.requests()
        .iter()
        .flat_map(|request| request.tool_outputs())
        .find(|(id, _)| id == call_id)
        .map(|(_, output)| output)
        .unwrap_or_else(|| panic!("no output for {call_id}"))
}

fn tool_names(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_server_everything_echo_result_reaches_the_next_request() {
    let Some(npm) = npm_servers() else { return };
    let setup = Setup::new().await;
    setup
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "everything__echo",
            json!({ "message": "hello through MCP" }),
        )
        .with_id("call_echo")]))
        .push(Script::text("It echoed."));
    let agent = setup.agent(&[(
        "everything",
        node_server(&npm, "server-everything", &["stdio"]),
    )]);
    let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
    let events = turn(&mut thread, "echo something").await;
    completed(&events);

    let requests = setup.fake.requests();
    assert_eq!(requests.len(), 2);
    let tools = tool_names(&requests[0].body);
    // Built-in tools first in their order, then the server's, sorted.
    assert_eq!(tools[0], "read_file");
    let mcp: Vec<&String> = tools.iter().filter(|name| name.contains("__")).collect();
    assert!(mcp.contains(&&"everything__echo".to_string()), "{tools:?}");
    let mut sorted = mcp.clone();
    sorted.sort();
    assert_eq!(mcp, sorted);
    let echo = requests[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["name"] == "everything__echo")
        .unwrap();
    assert_eq!(
        echo["parameters"]["properties"]["message"]["type"], "string",
        "the server's schema: {echo}"
    );
    // The same tools, byte for byte, in the next request (the cached prefix).
    assert_eq!(requests[0].body["tools"], requests[1].body["tools"]);
    assert_eq!(
        output_of(&setup.fake, "call_echo"),
        "Echo: hello through MCP"
    );
    let item = events.iter().find_map(|event| match event {
        Event::ItemCompleted { item, .. } => match &item.kind {
            ThreadItemKind::ToolCall { tool, output, .. } if tool == "everything__echo" => {
                output.clone()
            }
            _ => None,
        },
        _ => None,
    });
    assert_eq!(item.as_deref(), Some("Echo: hello through MCP"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_server_filesystem_reads_a_workspace_file_in_the_sandbox() {
    let Some(npm) = npm_servers() else { return };
    let setup = Setup::new().await;
    let root = setup.root();
    let notes = root.join("notes.txt").display().to_string();
    setup
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "filesystem__read_text_file",
            json!({ "path": notes }),
        )
        .with_id("call_read")]))
        .push(Script::tool_calls([ToolCall::new(
            "filesystem__write_file",
            json!({ "path": "/etc/agentls-mcp-test", "content": "no" }),
        )
        .with_id("call_outside")]))
        .push(Script::text("Read it."));
    let agent = setup.agent(&[(
        "filesystem",
        node_server(&npm, "server-filesystem", &[&root.display().to_string()]),
    )]);
    let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
    let events = turn(&mut thread, "read the notes").await;
    completed(&events);
    assert_eq!(output_of(&setup.fake, "call_read"), "the notes say 42\n");
    // Outside its allowed directory the server itself refuses; the turn goes on.
    let outside = output_of(&setup.fake, "call_outside");
    assert!(
        outside.to_lowercase().contains("denied") || outside.contains("outside"),
        "{outside}"
    );
    assert!(!Path::new("/etc/agentls-mcp-test").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_faults_end_in_a_message_to_the_model_and_the_thread_goes_on() {
    let setup = Setup::new().await;
    let call = |name: &str, id: &str| ToolCall::new(format!("fake__{name}"), json!({})).with_id(id);
    setup
        .fake
        .push(Script::tool_calls([call("hang", "call_hang")]))
        .push(Script::tool_calls([call("garbage", "call_garbage")]))
        .push(Script::tool_calls([call("big", "call_big")]))
        .push(Script::tool_calls([ToolCall::new(
            "fake__echo",
            json!({ "message": "still here" }),
        )
        .with_id("call_echo")]))
        .push(Script::tool_calls([call("crash", "call_crash")]))
        .push(Script::tool_calls([ToolCall::new(
            "fake__echo",
            json!({ "message": "restarted" }),
        )
        .with_id("call_after_restart")]))
        .push(Script::tool_calls([call("crash", "call_crash_again")]))
        .push(Script::tool_calls([ToolCall::new(
            "fake__echo",
            json!({ "message": "gone" }),
        )
        .with_id("call_after_second_crash")]))
        .push(Script::text("Done."));
    let agent = setup.agent(&[("fake", fake_server(&[]))]);
    let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
    let events = turn(&mut thread, "exercise the faults").await;
    completed(&events);

    let hang = output_of(&setup.fake, "call_hang");
    assert_eq!(
        hang,
        "the MCP server `fake` did not answer the call of `hang` within 2 s (tool_timeout_secs); the call was abandoned"
    );
    let garbage = output_of(&setup.fake, "call_garbage");
    assert!(garbage.starts_with("the MCP server `fake`"), "{garbage}");
    let big = output_of(&setup.fake, "call_big");
    assert!(big.len() < 40_000, "{} bytes reached the model", big.len());
    assert!(big.contains("bytes of the result left out"), "{big:.200}");
    assert_eq!(output_of(&setup.fake, "call_echo"), "fake echo: still here");
    let crash = output_of(&setup.fake, "call_crash");
    assert!(
        crash.starts_with(
            "the MCP server `fake` exited during the call of `crash` and was restarted; the call was not retried"
        ),
        "{crash}"
    );
    assert!(crash.contains("crashing mid-call"), "its stderr: {crash}");
    assert_eq!(
        output_of(&setup.fake, "call_after_restart"),
        "fake echo: restarted"
    );
    let again = output_of(&setup.fake, "call_crash_again");
    assert!(
        again.contains("exited during the call of `crash` and could not be restarted"),
        "{again}"
    );
    let gone = output_of(&setup.fake, "call_after_second_crash");
    // Down for good: its tools left the list, so the model hears there is no
    // such tool any more (the history before keeps its calls).
    assert!(gone.starts_with("there is no tool `fake__echo`"), "{gone}");
    // The user heard of both exits.
    let told = warnings(&events);
    assert_eq!(
        told.iter()
            .filter(|message| message.contains("exited during the call"))
            .count(),
        2,
        "{told:#?}"
    );

    // The next turn works, without the dead server's tools.
    setup.fake.push(Script::text("Still usable."));
    let events = turn(&mut thread, "and now?").await;
    completed(&events);
    let last = setup.fake.requests().last().unwrap().body.clone();
    assert!(!tool_names(&last)
        .iter()
        .any(|name| name.starts_with("fake__")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_servers_that_fail_to_start_are_named_and_left_out() {
    let setup = Setup::new().await;
    setup.fake.push(Script::text("Fine without them."));
    let mut missing = fake_server(&[]);
    missing.command = Some("/nonexistent/mcp-server".into());
    let agent = setup.agent(&[
        ("exits", fake_server(&["--exit-at-start"])),
        ("garbled", fake_server(&["--garbage-at-start"])),
        ("missing", missing),
        ("works", fake_server(&[])),
    ]);
    let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
    let events = turn(&mut thread, "hello").await;
    completed(&events);
    let mut told = warnings(&events);
    told.sort();
    assert_eq!(told.len(), 3, "{told:#?}");
    assert!(
        told[0].starts_with("the MCP server `exits` is not available, its tools are left out")
            && told[0].contains("told to exit at start"),
        "{}",
        told[0]
    );
    assert!(
        told[1].starts_with("the MCP server `garbled` is not available")
            && told[1].contains("within 5 s"),
        "{}",
        told[1]
    );
    assert!(
        told[2].starts_with("the MCP server `missing` is not available")
            && told[2].contains("/nonexistent/mcp-server"),
        "{}",
        told[2]
    );
    let tools = tool_names(&setup.fake.requests()[0].body);
    assert!(tools.contains(&"works__echo".to_string()), "{tools:?}");
    assert!(!tools.iter().any(|name| name.starts_with("exits__")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_tool_list_change_is_offered_without_rewriting_earlier_items() {
    let setup = Setup::new().await;
    setup
        .fake
        .push(Script::tool_calls([
            ToolCall::new("fake__grow", json!({})).with_id("call_grow")
        ]))
        // The announcement is handled on a task of its own as it arrives,
        // beside the call's answer: one more round trip to the server and it
        // has been seen.
        .push(Script::tool_calls([ToolCall::new(
            "fake__echo",
            json!({ "message": "round trip" }),
        )
        .with_id("call_round_trip")]))
        .push(Script::tool_calls([
            ToolCall::new("fake__late", json!({})).with_id("call_late")
        ]))
        .push(Script::text("Grown."));
    let agent = setup.agent(&[("fake", fake_server(&[]))]);
    let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
    let events = turn(&mut thread, "grow").await;
    completed(&events);
    let requests = setup.fake.requests();
    assert!(!tool_names(&requests[0].body).contains(&"fake__late".to_string()));
    assert!(tool_names(&requests[2].body).contains(&"fake__late".to_string()));
    assert_eq!(output_of(&setup.fake, "call_late"), "late tool called");
    // The history is only appended to.
    let before = requests[0].body["input"].as_array().unwrap().clone();
    let after = requests[2].body["input"].as_array().unwrap();
    assert_eq!(&after[..before.len()], &before[..]);
}

/// In the editor: a server with `approval = "always"` asks with
/// showMessageRequest, names the tool and its arguments, and offers the
/// `Agent: Approve: call …` code action; Allow runs the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_call_approval_is_asked_in_the_editor() {
    // The workspace's own configuration, read when the server starts.
    let config: &'static str = Box::leak(
        format!(
            "[mcp_servers.fake]\ncommand = {FAKE_MCP:?}\napproval = \"always\"\ntool_timeout_secs = 5\n"
        )
        .into_boxed_str(),
    );
    let mut session = Session::start(Options {
        approvals: json!({ "policy": "on-request", "timeout_secs": 30 }),
        files: vec![(".agentls.toml", config)],
        ..Options::default()
    })
    .await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "fake__echo",
            json!({ "message": "may I" }),
        )
        .with_id("call_asked")]))
        .push(Script::text("Asked and done."));
    session.editor.answers.push_back(Answer::Pick("Allow"));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Explain this")
        .await;
    session.editor.until_message("Asked and done.").await;

    let asked = session.editor.shown("window/showMessageRequest");
    assert_eq!(asked.len(), 1, "{asked:#?}");
    let question = asked[0]["message"].as_str().unwrap();
    assert!(
        question.contains("wants to call the tool `echo` of the MCP server `fake`")
            && question.contains("may I"),
        "{question}"
    );
    assert_eq!(output_of(&session.fake, "call_asked"), "fake echo: may I");
    let announced = session.editor.messages();
    assert!(
        announced.iter().any(
            |message| message.starts_with("agentls: approve `fake__echo")
                && message.contains("\"Agent: Approve\" or agentls.approve 1")
        ),
        "{announced:#?}"
    );

    // agent/mcpServers names the server, ready, with its tools.
    let servers = session.editor.request("agent/mcpServers", json!({})).await;
    let fake = &servers["result"]["servers"][0];
    assert_eq!(fake["name"], "fake", "{servers}");
    assert_eq!(fake["state"], "ready", "{servers}");
    assert_eq!(fake["transport"], "stdio");
    assert!(
        fake["tools"]
            .as_array()
            .unwrap()
            .contains(&json!("fake__echo")),
        "{servers}"
    );
}

/// A PreToolUse hook sees an MCP call by its `SERVER__tool` name: its `ask`
/// puts a call the server's `approval = "never"` would let through to the
/// user, with the hook's reason; its exit 2 refuses the next call, the model
/// reading why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_tool_use_hook_asks_for_and_blocks_mcp_calls() {
    let config: &'static str = Box::leak(
        format!(
            r#"[mcp_servers.fake]
command = {FAKE_MCP:?}
approval = "never"
tool_timeout_secs = 5

[[hooks.PreToolUse]]
matcher = "fake__.*"
command = '''
if grep -q '"blocked'; then echo "no echoes of blocked words" >&2; exit 2; fi
echo '{{"hookSpecificOutput": {{"hookEventName": "PreToolUse", "permissionDecision": "ask", "permissionDecisionReason": "the team reviews every echo"}}}}'
'''
"#
        )
        .into_boxed_str(),
    );
    let mut session = Session::start(Options {
        approvals: json!({ "policy": "on-request", "timeout_secs": 30 }),
        files: vec![(".agentls.toml", config)],
        ..Options::default()
    })
    .await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "fake__echo",
            json!({ "message": "hello" }),
        )
        .with_id("call_asked")]))
        .push(Script::tool_calls([ToolCall::new(
            "fake__echo",
            json!({ "message": "blocked" }),
        )
        .with_id("call_blocked")]))
        .push(Script::text("Hooked and done."));
    session.editor.answers.push_back(Answer::Pick("Allow"));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Explain this")
        .await;
    session.editor.until_message("Hooked and done.").await;

    let asked = session.editor.shown("window/showMessageRequest");
    assert_eq!(asked.len(), 1, "{asked:#?}");
    let question = asked[0]["message"].as_str().unwrap();
    assert!(
        question.contains("wants to call the tool `echo` of the MCP server `fake`")
            && question.contains("Reason: the team reviews every echo."),
        "{question}"
    );
    assert_eq!(output_of(&session.fake, "call_asked"), "fake echo: hello");
    let blocked = output_of(&session.fake, "call_blocked");
    assert!(
        blocked.contains("no echoes of blocked words") && !blocked.contains("fake echo"),
        "{blocked}"
    );
}

/// The real binary: `agentls exec` reads `[mcp_servers]` from the workspace's
/// `.agentls.toml`, starts server-everything through its own sandbox helper, and
/// the echo's result reaches the model's next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_through_agentls_exec_reaches_the_next_request() {
    let Some(npm) = npm_servers() else { return };
    let setup = Setup::new().await;
    let root = setup.root();
    let server = node_server(&npm, "server-everything", &["stdio"]);
    std::fs::write(
        root.join(".agentls.toml"),
        format!(
            "[provider]\nkind = \"openai-responses\"\nbase_url = {:?}\nmodel = \"test-model\"\napi_key_env = {:?}\n\
             [mcp_servers.everything]\ncommand = \"node\"\nargs = {:?}\n",
            setup.fake.base_url(),
            FAKE_API_KEY_ENV,
            server.args,
        ),
    )
    .unwrap();
    setup
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "everything__echo",
            json!({ "message": "from exec" }),
        )
        .with_id("call_exec_echo")]))
        .push(Script::text("Echoed from exec."));
    let home = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(agentls_tests::client::agentls_binary())
        .args(["exec", "-C", root.to_str().unwrap(), "echo through MCP"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_DATA_HOME", home.path().join(".local/share"))
        .env(FAKE_API_KEY_ENV, FAKE_API_KEY)
        .stdin(std::process::Stdio::null())
        .output();
    let output = tokio::time::timeout(TIMEOUT, output)
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Echoed from exec."), "{stdout}");
    assert_eq!(output_of(&setup.fake, "call_exec_echo"), "Echo: from exec");
}

/// Bad servers beside a good one: one that speaks another protocol version is
/// named and left out; tools with a schema no model accepts are named and
/// left out while the rest of their server's tools are offered; megabytes of
/// stderr while serving (one line of 2 MB among them) neither block the server
/// nor reach the model, and what a later error quotes of it stays short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_bad_servers_are_named_and_the_rest_keeps_working() {
    let setup = Setup::new().await;
    setup
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "schemas__flood",
            json!({}),
        )
        .with_id("call_flood")]))
        .push(Script::tool_calls([ToolCall::new(
            "schemas__echo",
            json!({ "message": "after the flood" }),
        )
        .with_id("call_echo")]))
        .push(Script::tool_calls([ToolCall::new(
            "schemas__crash",
            json!({}),
        )
        .with_id("call_crash")]))
        .push(Script::text("Survived."));
    let agent = setup.agent(&[
        (
            "oldproto",
            fake_server(&["--protocol-version", "1999-01-01"]),
        ),
        ("schemas", fake_server(&["--bad-schemas"])),
    ]);
    let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
    let events = turn(&mut thread, "misbehave").await;
    completed(&events);

    let mut told = warnings(&events);
    told.retain(|message| !message.contains("exited during the call"));
    told.sort();
    expect_test::expect![[r#"
        [
            "the MCP server `oldproto` is not available, its tools are left out: it speaks MCP protocol version `1999-01-01`, which agentls does not (it speaks 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28); its stderr ended with: fake-mcp-server: started",
            "the MCP server `schemas` (mcp_servers.schemas) lists the tool `bad_properties` with an input schema no model accepts (`inputSchema.properties` is \"none\", not an object); that tool is left out",
            "the MCP server `schemas` (mcp_servers.schemas) lists the tool `bad_type` with an input schema no model accepts (`inputSchema.type` is 5, not \"object\"); that tool is left out",
        ]
    "#]]
    .assert_debug_eq(&told);
    let tools = tool_names(&setup.fake.requests()[0].body);
    assert!(tools.contains(&"schemas__echo".to_string()), "{tools:?}");
    assert!(
        !tools
            .iter()
            .any(|name| name.starts_with("schemas__bad") || name.starts_with("oldproto__")),
        "{tools:?}"
    );
    // The call that wrote 10 MB of stderr was answered (within its 2 s), and
    // the server serves on.
    assert_eq!(output_of(&setup.fake, "call_flood"), "flooded");
    assert_eq!(
        output_of(&setup.fake, "call_echo"),
        "fake echo: after the flood"
    );
    // Its stderr's last lines are quoted, each kept short.
    let crash = output_of(&setup.fake, "call_crash");
    assert!(crash.contains("flood over"), "{crash:.2000}");
    assert!(crash.len() < 40_000, "{} bytes", crash.len());
}
