//! `agentls acp` driven by a real ACP client: the TypeScript SDK
//! (`@agentclientprotocol/sdk`, installed by tests/acp/setup.sh) in
//! tests/acp/client.mjs, which plays an editor with unsaved buffers, against the
//! fake provider on 127.0.0.1. The script prints one JSON report of what the
//! client saw; these tests assert on it, on the disk and on the requests the
//! model got.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentls_tests::client::agentls_binary;
use agentls_tests::fake_provider::{
    FakeProvider, Format, Script, ToolCall, FAKE_API_KEY, FAKE_API_KEY_ENV,
};
use agentls_tests::fix_this::{BUGGY, COMMAND, FINAL_ANSWER, FIXED, PATCH, REASON};
use serde_json::{json, Value};

/// Text only the client's buffer has: the agent saw the buffer if the model got it.
const UNSAVED: &str = "// an unsaved note in the editor\n";

struct Setup {
    _home: tempfile::TempDir,
    home: PathBuf,
    workspace: PathBuf,
}

/// A home (config, data) and a workspace with `src/lib.rs` as BUGGY on disk.
fn set_up(fake: &FakeProvider) -> Setup {
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path().canonicalize().unwrap();
    let workspace = home.join("work");
    std::fs::create_dir_all(workspace.join("src")).unwrap();
    std::fs::write(workspace.join("src/lib.rs"), BUGGY).unwrap();
    let config_dir = home.join("config/agentls");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        format!(
            "[provider]\nkind = \"openai-responses\"\nbase_url = {:?}\nmodel = \"gpt-fake\"\n\
             api_key_env = {FAKE_API_KEY_ENV:?}\n\n[approvals]\npolicy = \"untrusted\"\ntimeout_secs = 3\n",
            fake.base_url()
        ),
    )
    .unwrap();
    Setup {
        _home: home_dir,
        home,
        workspace,
    }
}

/// Where tests/acp/setup.sh put the SDK.
fn sdk_dir() -> PathBuf {
    let cache = std::env::var_os("AGENTLS_E2E_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/agentls-e2e"))
        })
        .expect("HOME or AGENTLS_E2E_CACHE is set");
    let dir = cache.join("acp");
    assert!(
        dir.join("node_modules/@agentclientprotocol/sdk/package.json")
            .exists(),
        "the ACP SDK is not installed in {}: run tests/install.sh (or tests/acp/setup.sh)",
        dir.display()
    );
    dir
}

/// Run tests/acp/client.mjs through `scenario` and return its report.
async fn run_client(setup: &Setup, scenario: &str, extra: Value) -> Value {
    let mut config = json!({
        "binary": agentls_binary(),
        "cwd": setup.workspace,
        "buffers": {
            setup.workspace.join("src/lib.rs").display().to_string(): format!("{BUGGY}{UNSAVED}"),
        },
    });
    if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        config.extend(extra.clone());
    }
    let config_path = setup.home.join(format!("{scenario}.json"));
    std::fs::write(&config_path, config.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("acp/client.mjs");
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .arg(scenario)
        .arg(&config_path)
        .env("AGENTLS_ACP_MODULES", sdk_dir())
        .env("HOME", &setup.home)
        .env("XDG_CONFIG_HOME", setup.home.join("config"))
        .env("XDG_DATA_HOME", setup.home.join("data"))
        .env(FAKE_API_KEY_ENV, FAKE_API_KEY)
        .env("AGENTLS_LOG", "agentls=debug")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the ACP client finished within 120 s")
        .expect("node runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "client.mjs {scenario} failed: {:?}\n{stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "client.mjs {scenario} printed no report ({error}): {}\n{stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The session updates of the report, from event `from` on.
fn updates(report: &Value, from: usize) -> Vec<Value> {
    report["events"].as_array().unwrap()[from..]
        .iter()
        .filter(|event| event["type"] == "update")
        .map(|event| event["update"].clone())
        .collect()
}

fn events_of<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["type"] == kind)
        .collect()
}

/// The tool call updates (and announcements) whose title or id mentions `needle`.
fn tool_calls_about<'a>(updates: &'a [Value], needle: &str) -> Vec<&'a Value> {
    let ids: Vec<&Value> = updates
        .iter()
        .filter(|update| {
            update["sessionUpdate"] == "tool_call"
                && update["title"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(needle)
        })
        .map(|update| &update["toolCallId"])
        .collect();
    updates
        .iter()
        .filter(|update| ids.contains(&&update["toolCallId"]))
        .collect()
}

fn message_text(updates: &[Value], kind: &str) -> String {
    updates
        .iter()
        .filter(|update| update["sessionUpdate"] == kind)
        .filter_map(|update| update["content"]["text"].as_str())
        .collect()
}

fn shell(argv: &[&str]) -> ToolCall {
    ToolCall::new("shell", json!({ "command": argv, "justification": REASON }))
}

#[tokio::test]
async fn acp_client_prompts_approves_edits_through_the_client_cancels_and_loads_again() {
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    fake.push(Script::text_and_tool_calls(
        "Reading it.",
        [
            ToolCall::new(
                "update_plan",
                json!({ "plan": [
                    { "step": "Read src/lib.rs", "status": "in_progress" },
                    { "step": "Fix add", "status": "pending" },
                ] }),
            ),
            ToolCall::new("read_file", json!({ "path": "src/lib.rs" })),
        ],
    ))
    .push(Script::tool_calls([shell(&COMMAND)]))
    .push(Script::tool_calls([ToolCall::new(
        "apply_patch",
        json!({ "input": PATCH }),
    )]))
    .push(Script::text(FINAL_ANSWER))
    .push(Script::tool_calls([shell(&["sleep", "30"])]))
    .push(Script::text("Resumed."));
    let setup = set_up(&fake);
    let report = run_client(&setup, "main", json!({})).await;
    let lib = setup.workspace.join("src/lib.rs");
    let from = report["loadFrom"].as_u64().unwrap() as usize;
    let before_load = report["events"].as_array().unwrap()[..from].to_vec();
    let all = updates(&json!({ "events": before_load }), 0);

    // The first prompt: plan, read, approved command, patch, answer.
    assert_eq!(
        report["steps"]["fix"]["result"]["stopReason"], "end_turn",
        "{report:#}"
    );
    let plan = all
        .iter()
        .find(|update| update["sessionUpdate"] == "plan")
        .expect("a plan update");
    assert_eq!(plan["entries"][0]["content"], "Read src/lib.rs");
    assert_eq!(plan["entries"][0]["status"], "in_progress");
    let read = tool_calls_about(&all, "Read src/lib.rs");
    assert_eq!(read[0]["kind"], "read", "{read:#?}");
    assert_eq!(read.last().unwrap()["status"], "completed", "{read:#?}");
    assert!(
        events_of(&report, "read")
            .iter()
            .any(|event| event["path"] == lib.display().to_string()),
        "the agent read src/lib.rs through the client: {report:#}"
    );
    let requests = fake.requests();
    let read_output = requests[1]
        .tool_outputs()
        .into_iter()
        .find(|(_, output)| output.contains("pub fn add"))
        .expect("read_file's output went to the model")
        .1;
    assert!(
        read_output.contains(UNSAVED.trim()),
        "the model saw the editor's unsaved buffer: {read_output}"
    );

    let permissions = events_of(&report, "permission");
    let first = permissions[0];
    assert!(
        first["toolCall"]["title"]
            .as_str()
            .unwrap()
            .contains("mkdir -v scratch"),
        "{first:#}"
    );
    let option_ids: Vec<&str> = first["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|option| option["optionId"].as_str().unwrap())
        .collect();
    assert_eq!(option_ids, ["allow_once", "allow_always", "reject_once"]);
    let kinds: Vec<&str> = first["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|option| option["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["allow_once", "allow_always", "reject_once"]);
    assert!(
        setup.workspace.join("scratch").is_dir(),
        "the approved command ran in the workspace"
    );
    let command = tool_calls_about(&all, "mkdir -v scratch");
    // Announced pending (the default status, left out) while it waits for
    // approval, then run.
    let statuses: Vec<&str> = command
        .iter()
        .map(|update| update["status"].as_str().unwrap_or("pending"))
        .collect();
    assert_eq!(
        statuses,
        ["pending", "in_progress", "completed"],
        "{command:#?}"
    );

    // The patch landed in the client's buffer, not on the disk.
    let writes = events_of(&report, "write");
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0]["path"], lib.display().to_string());
    let fixed_buffer = format!("{FIXED}{UNSAVED}");
    assert_eq!(report["buffers"][lib.display().to_string()], fixed_buffer);
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), BUGGY);
    let edit = tool_calls_about(&all, "Edit src/lib.rs");
    assert_eq!(edit[0]["kind"], "edit", "{edit:#?}");
    let done = edit.last().unwrap();
    assert_eq!(done["status"], "completed", "{done:#?}");
    assert_eq!(done["content"][0]["type"], "diff", "{done:#?}");
    assert_eq!(done["content"][0]["path"], lib.display().to_string());
    assert_eq!(done["content"][0]["oldText"], format!("{BUGGY}{UNSAVED}"));
    assert_eq!(done["content"][0]["newText"], fixed_buffer);
    assert!(
        message_text(&all, "agent_message_chunk").contains(FINAL_ANSWER),
        "{all:#?}"
    );

    // Cancelled while `sleep 30` ran (twice): the prompt answers `cancelled` at once.
    let slow = &report["steps"]["slow"];
    assert_eq!(slow["result"]["stopReason"], "cancelled", "{report:#}");
    let waited = slow["at"].as_u64().unwrap() - report["cancelledAt"].as_u64().unwrap();
    assert!(waited < 10_000, "the cancel took {waited} ms");
    let sleep = tool_calls_about(&all, "sleep 30");
    assert_eq!(sleep.last().unwrap()["status"], "failed", "{sleep:#?}");

    // A prompt to a session that does not exist.
    let unknown = &report["steps"]["unknown"]["error"];
    assert_eq!(unknown["code"], -32002, "{report:#}");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("no-such-session"),
        "{unknown:#}"
    );

    // Loaded again: the whole conversation is replayed, then it goes on.
    assert!(report["steps"]["load"]["result"].is_object(), "{report:#}");
    let replayed = updates(&report, from);
    let users = message_text(&replayed, "user_message_chunk");
    assert!(users.contains("Fix the bug in src/lib.rs"), "{replayed:#?}");
    assert!(users.contains("Check it slowly"), "{replayed:#?}");
    assert!(
        message_text(&replayed, "agent_message_chunk").contains(FINAL_ANSWER),
        "{replayed:#?}"
    );
    let replayed_edit = tool_calls_about(&replayed, "Edit src/lib.rs");
    assert_eq!(
        replayed_edit[0]["status"], "completed",
        "{replayed_edit:#?}"
    );
    assert_eq!(
        tool_calls_about(&replayed, "sleep 30")[0]["status"],
        "failed"
    );
    assert_eq!(
        report["steps"]["resumed"]["result"]["stopReason"], "end_turn",
        "{report:#}"
    );
    let last = fake.requests().pop().unwrap();
    let history = last.body["input"].to_string();
    assert!(history.contains("Fix the bug in src/lib.rs"), "{history}");
    assert!(history.contains("Go on"), "{history}");
    assert_eq!(fake.remaining(), 0);
    assert_eq!(report["exit"]["code"], 0, "{report:#}");
}

#[tokio::test]
async fn acp_bad_input_unknown_option_unanswered_permission_and_stdin_closed_mid_turn() {
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    fake.push(Script::tool_calls([shell(&["touch", "a.txt"])]))
        .push(Script::text("Not touched."))
        .push(Script::tool_calls([shell(&["touch", "b.txt"])]))
        .push(Script::text("Still not touched."))
        .push(Script::tool_calls([shell(&["sleep", "30"])]));
    let setup = set_up(&fake);
    let report = run_client(&setup, "hostile", json!({})).await;
    let all = updates(&report, 0);

    // An option that was never offered: rejected, and the client told why.
    assert_eq!(
        report["steps"]["unknown_option"]["result"]["stopReason"], "end_turn",
        "{report:#}"
    );
    assert!(!setup.workspace.join("a.txt").exists());
    let touch_a = tool_calls_about(&all, "touch a.txt");
    assert!(
        touch_a.iter().any(|update| update["content"]
            .to_string()
            .contains("`bogus_option`, which was not offered")),
        "{touch_a:#?}"
    );
    assert_eq!(touch_a.last().unwrap()["status"], "failed", "{touch_a:#?}");

    // Never answered: the approval timeout rejects it and withdraws the request.
    assert_eq!(
        report["steps"]["unanswered"]["result"]["stopReason"], "end_turn",
        "{report:#}"
    );
    assert!(!setup.workspace.join("b.txt").exists());
    let permissions = events_of(&report, "permission");
    assert_eq!(permissions.len(), 3, "{permissions:#?}");
    assert_eq!(permissions[1]["withdrawn"], true, "{permissions:#?}");
    let outputs = fake.requests()[3].tool_outputs();
    assert!(
        outputs.iter().any(|(_, output)| output.contains("declined")
            || output.contains("denied")
            || output.contains("not run")),
        "{outputs:?}"
    );

    // stdin closed while `sleep 30` ran: the process ends promptly.
    assert_eq!(report["exit"]["code"], 0, "{report:#}");
    let took = report["exit"]["at"].as_u64().unwrap() - report["closedAt"].as_u64().unwrap();
    assert!(took < 15_000, "agentls acp took {took} ms to exit");

    // The rollout is intact: every line is JSON, and a later process loads it.
    let session_id = report["sessionId"].as_str().unwrap().to_string();
    let rollout = setup
        .home
        .join(format!("data/agentls/threads/{session_id}.jsonl"));
    let text = std::fs::read_to_string(&rollout).unwrap();
    for line in text.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|error| panic!("{}: {error}: {line}", rollout.display()));
    }
    let reload = run_client(&setup, "reload", json!({ "sessionId": session_id })).await;
    assert!(reload["steps"]["load"]["result"].is_object(), "{reload:#}");
    let replayed = updates(&reload, 0);
    let users = message_text(&replayed, "user_message_chunk");
    for prompt in ["Touch a", "Touch b", "Check it slowly"] {
        assert!(users.contains(prompt), "{prompt}: {replayed:#?}");
    }
    assert!(
        message_text(&replayed, "agent_message_chunk").contains("Still not touched."),
        "{replayed:#?}"
    );
    let sleep = tool_calls_about(&replayed, "sleep 30");
    assert_eq!(sleep[0]["status"], "failed", "{sleep:#?}");

    // Loading a session that never existed, or with a relative cwd.
    let missing = &reload["steps"]["missing"]["error"];
    assert_eq!(missing["code"], -32002, "{reload:#}");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("0190aaaa-0000-7000-8000-000000000000"),
        "{missing:#}"
    );
    let relative = &reload["steps"]["relative"]["error"];
    assert_eq!(relative["code"], -32602, "{reload:#}");
    assert!(
        relative["message"]
            .as_str()
            .unwrap()
            .contains("relative/dir"),
        "{relative:#}"
    );
}

/// The MCP servers a client offers in `session/new` (Zed passes its context
/// servers so) are connected: a stdio server runs through the sandbox helper,
/// its tool is offered as `SERVER__tool`, the call asks permission through the
/// client, and its result reaches the model. An SSE server is named and left out.
#[tokio::test]
async fn acp_client_offered_mcp_servers_are_connected_and_their_tools_called() {
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    fake.push(Script::tool_calls([ToolCall::new(
        "client__echo",
        json!({ "message": "from the client's server" }),
    )
    .with_id("call_client_echo")]))
        .push(Script::text("Echoed."));
    let setup = set_up(&fake);
    let report = run_client(
        &setup,
        "mcp",
        json!({ "mcpServers": [
            { "name": "client", "command": env!("CARGO_BIN_EXE_fake-mcp-server"), "args": [], "env": [] },
            { "type": "sse", "name": "legacy", "url": "http://127.0.0.1:9/sse", "headers": [] },
        ] }),
    )
    .await;
    assert_eq!(
        report["steps"]["echo"]["result"]["stopReason"], "end_turn",
        "{report:#}"
    );
    let tools: Vec<String> = fake.requests()[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_string())
        .collect();
    assert!(tools.contains(&"client__echo".to_string()), "{tools:?}");
    let permissions = events_of(&report, "permission");
    assert_eq!(permissions.len(), 1, "{report:#}");
    let asked = &permissions[0]["toolCall"];
    assert_eq!(
        asked["title"], "`echo` of the MCP server `client`",
        "{asked:#}"
    );
    assert_eq!(asked["name"], "client__echo", "{asked:#}");
    assert_eq!(
        asked["rawInput"]["message"], "from the client's server",
        "{asked:#}"
    );
    let output = fake
        .requests()
        .iter()
        .flat_map(|request| request.tool_outputs())
        .find(|(id, _)| id == "call_client_echo")
        .map(|(_, output)| output)
        .expect("the call's output went to the model");
    assert_eq!(output, "fake echo: from the client's server");
    let said = message_text(&updates(&report, 0), "agent_message_chunk");
    assert!(
        said.contains("the client's MCP server `legacy` speaks SSE"),
        "{said}"
    );
}
