//! Nothing shown is lost on `kill -9`: the spawned `agentls` binary is killed
//! mid-turn (the model's answer streaming), mid-command (a command running) and
//! mid-edit (an `applyEdit` the editor has not answered); a new server's
//! `agent/threadResume` must bring back every item the editor was shown as
//! completed (`agent/itemCompleted`) before the kill, and the thread goes on.

mod common;

use agentls_tests::fake_provider::Gate;
use common::*;

fn extension_capabilities() -> Value {
    let mut capabilities = editor_capabilities(true);
    capabilities["experimental"] = json!({ "agentls": true });
    capabilities
}

async fn start_binary() -> Session {
    Session::start(Options {
        capabilities: extension_capabilities(),
        binary: true,
        approvals: json!({ "policy": "never", "timeout_secs": 30 }),
        ..Options::default()
    })
    .await
}

/// A second server on the same workspace, data directory and fake provider.
async fn restart(session: &mut Session) {
    let env = TestEnv::new()
        .var("XDG_DATA_HOME", session.data.path().display().to_string())
        .var(
            "XDG_CONFIG_HOME",
            session.data.path().join("config").display().to_string(),
        )
        .var("HOME", session.data.path().display().to_string())
        .var(FAKE_API_KEY_ENV, FAKE_API_KEY)
        .var("AGENTLS_SANDBOX_HELPER", HELPER);
    let mut editor = Editor::new(TestClient::spawn_binary(env, &[]));
    let init = editor
        .client
        .initialize_with(json!({
            "processId": null,
            "rootUri": agentls_tests::client::file_uri(&session.root()),
            "capabilities": extension_capabilities(),
            "initializationOptions": {
                "provider": {
                    "kind": "openai-responses",
                    "base_url": session.fake.base_url(),
                    "model": "test-model",
                    "api_key_env": FAKE_API_KEY_ENV,
                    "retry_base_ms": 10,
                },
                "approvals": { "policy": "never", "timeout_secs": 30 },
            },
        }))
        .await;
    assert!(init["result"]["capabilities"].is_object(), "{init}");
    session.editor = editor;
}

/// The items of every `agent/itemCompleted` among `messages`.
fn completed_items(messages: &[Value]) -> Vec<Value> {
    messages
        .iter()
        .filter(|message| message["method"] == "agent/itemCompleted")
        .map(|message| message["params"]["item"].clone())
        .collect()
}

fn is_completed(message: &Value, kind: &str) -> bool {
    message["method"] == "agent/itemCompleted" && message["params"]["item"]["type"] == kind
}

/// Kills the server once `ready` has been seen, and returns every item the
/// editor was shown as completed before the kill.
async fn kill_when(session: &mut Session, ready: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let seen_ready = session.editor.serve_until(ready).await;
    session.editor.client.kill().await;
    let mut messages: Vec<Value> = session
        .editor
        .shown
        .iter()
        .map(|shown| json!({ "method": shown.method, "params": shown.params }))
        .collect();
    messages.push(seen_ready);
    messages.extend(session.editor.client.rest().await);
    completed_items(&messages)
}

/// Resumes `thread_id` on a new server; asserts every item in `shown` came back
/// (the same item, with the same id) and that a next turn completes.
async fn resume_and_check(session: &mut Session, thread_id: &str, shown: &[Value], case: &str) {
    restart(session).await;
    let resumed = session
        .editor
        .request("agent/threadResume", json!({ "threadId": thread_id }))
        .await;
    assert!(resumed.get("error").is_none(), "{case}: {resumed}");
    let items = resumed["result"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{case}: {resumed}"))
        .clone();
    let lost: Vec<&Value> = shown.iter().filter(|item| !items.contains(item)).collect();
    assert!(
        lost.is_empty(),
        "{case}: lost on kill: {lost:#?}\nresumed: {items:#?}"
    );

    session.fake.push(Script::text("Back again."));
    let turn = session
        .editor
        .request(
            "agent/turnStart",
            json!({ "threadId": thread_id, "text": "go on" }),
        )
        .await;
    assert!(turn.get("error").is_none(), "{case}: {turn}");
    let completed = session
        .editor
        .serve_until(|message| message["method"] == "agent/turnCompleted")
        .await;
    assert_eq!(
        completed["params"]["status"], "completed",
        "{case}: {completed}"
    );
}

async fn start_turn(session: &mut Session, text: &str) -> String {
    let turn = session
        .editor
        .request("agent/turnStart", json!({ "text": text }))
        .await;
    turn["result"]["threadId"]
        .as_str()
        .unwrap_or_else(|| panic!("{turn}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_mid_turn_loses_no_item_shown() {
    let mut session = start_binary().await;
    // A read, then an answer that streams two events and stops there.
    let gate = Gate::new();
    // Created, in progress, the message added, its content part, one delta.
    gate.open(5);
    session
        .fake
        .push(Script::text_and_tool_calls(
            "Reading it first.",
            [ToolCall::new("read_file", json!({ "path": "src/lib.rs" }))],
        ))
        .push(Script::Gated {
            answer: agentls_tests::fake_provider::Answer {
                text: Some("It subtracts where it should add.".to_string()),
                ..Default::default()
            },
            gate,
        });
    let thread_id = start_turn(&mut session, "what does add do?").await;
    // The read completed, then the second answer started streaming.
    let mut read_done = false;
    let shown = kill_when(&mut session, |message| {
        read_done |= is_completed(message, "toolCall");
        read_done && message["method"] == "agent/itemDelta"
    })
    .await;
    assert!(
        shown.iter().any(|item| item["type"] == "toolCall"),
        "the read was shown before the kill: {shown:#?}"
    );
    resume_and_check(&mut session, &thread_id, &shown, "mid-turn").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_mid_command_loses_no_item_shown() {
    let mut session = start_binary().await;
    session
        .editor
        .answers
        .extend([Answer::Pick("Allow"), Answer::Pick("Allow")]);
    session.fake.push(Script::text_and_tool_calls(
        "Running a slow check.",
        [
            ToolCall::new("read_file", json!({ "path": "src/lib.rs" })),
            ToolCall::new("shell", json!({ "command": ["sleep", "30"] })),
        ],
    ));
    let thread_id = start_turn(&mut session, "check it slowly").await;
    let shown = kill_when(&mut session, |message| {
        message["method"] == "agent/itemStarted"
            && message["params"]["item"]["type"] == "commandExecution"
    })
    .await;
    assert!(
        shown.iter().any(|item| item["type"] == "toolCall"),
        "the read was shown before the kill: {shown:#?}"
    );
    resume_and_check(&mut session, &thread_id, &shown, "mid-command").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_mid_edit_loses_no_item_shown() {
    let mut session = start_binary().await;
    session.open_lib().await;
    session.fake.push(Script::text_and_tool_calls(
        "Fixing the sign.",
        [
            ToolCall::new("read_file", json!({ "path": "src/lib.rs" })),
            ToolCall::new("apply_patch", json!({ "input": FIX_PATCH })),
        ],
    ));
    session.editor.apply_mode = ApplyMode::Hold;
    let thread_id = start_turn(&mut session, "fix add").await;
    // The edit arrives and is never answered: the server dies waiting. (The
    // read's item and the edit come by different paths, in either order.)
    let (mut read_done, mut edit_sent) = (false, false);
    let shown = kill_when(&mut session, |message| {
        read_done |= is_completed(message, "toolCall");
        edit_sent |= message["method"] == "workspace/applyEdit";
        read_done && edit_sent
    })
    .await;
    assert!(
        shown.iter().any(|item| item["type"] == "toolCall"),
        "the read was shown before the kill: {shown:#?}"
    );
    resume_and_check(&mut session, &thread_id, &shown, "mid-edit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_after_a_completed_turn_loses_no_item_shown() {
    let mut session = start_binary().await;
    session
        .fake
        .push(Script::reasoning("Thinking about add.", "It adds."));
    let thread_id = start_turn(&mut session, "what does add do?").await;
    let shown = kill_when(&mut session, |message| {
        message["method"] == "agent/turnCompleted"
    })
    .await;
    assert!(
        shown.iter().any(|item| item["type"] == "assistantMessage"),
        "{shown:#?}"
    );
    resume_and_check(&mut session, &thread_id, &shown, "after a turn").await;
}
