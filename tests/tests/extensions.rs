//! The `agent/*` extension end to end (docs/lsp-extensions.md): threads started,
//! continued, listed and resumed; steering and interrupting a running turn; undo;
//! approvals answered through `agent/approve`; and the notifications, which go
//! only to clients that declared `experimental.agentls`. Every test talks to the
//! in-process server through the scripted editor, against the fake provider.

mod common;

use agentls_tests::client::RECV_TIMEOUT;
use agentls_tests::fake_provider::{Answer as ModelAnswer, Gate, RecordedRequest};
use common::*;

/// A full editor that also declares `experimental.agentls`.
fn extension_capabilities(prompts: bool) -> Value {
    let mut capabilities = editor_capabilities(prompts);
    capabilities["experimental"] = json!({ "agentls": true });
    capabilities
}

async fn start_with_extensions() -> Session {
    Session::start(Options {
        capabilities: extension_capabilities(true),
        ..Options::default()
    })
    .await
}

/// Serves the editor until a notification with this method; returns its params.
async fn until_notification(editor: &mut Editor, method: &str) -> Value {
    editor
        .serve_until(|message| message["method"] == method)
        .await["params"]
        .clone()
}

/// The model requests once `count` have arrived (the fake does not time out).
async fn wait_for_requests(fake: &FakeProvider, count: usize) -> Vec<RecordedRequest> {
    tokio::time::timeout(RECV_TIMEOUT, fake.wait_for_requests(count))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the model never got request {count}: {:#?}",
                fake.requests()
            )
        })
}

/// The result of a request that must succeed.
fn result(response: &Value) -> Value {
    assert!(response.get("error").is_none(), "{response}");
    response["result"].clone()
}

fn thread_id_of(response: &Value) -> String {
    result(response)["threadId"]
        .as_str()
        .unwrap_or_else(|| panic!("no threadId in {response}"))
        .to_string()
}

/// The conversation of an OpenAI Responses request body as `role: text` lines
/// (`tool: output` for a tool's output), the stable prefix's messages included.
fn conversation(request: &RecordedRequest) -> Vec<String> {
    request.body["input"]
        .as_array()
        .unwrap_or_else(|| panic!("no input in {}", request.body))
        .iter()
        .filter_map(|item| match item["type"].as_str() {
            Some("message") => {
                let text: String = item["content"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|part| part["text"].as_str())
                    .collect();
                Some(format!("{}: {text}", item["role"].as_str().unwrap_or("?")))
            }
            Some("function_call_output") => Some(format!(
                "tool: {}",
                item["output"].as_str().unwrap_or_default()
            )),
            _ => None,
        })
        .collect()
}

/// The `agent/*` notifications the editor was shown, as `method item-type`.
fn agent_notifications(editor: &Editor) -> Vec<String> {
    editor
        .shown
        .iter()
        .filter(|shown| shown.method.starts_with("agent/"))
        .map(|shown| {
            let detail = shown.params["item"]["type"]
                .as_str()
                .or_else(|| shown.params["delta"]["kind"].as_str())
                .or_else(|| shown.params["status"].as_str())
                .unwrap_or_default();
            format!("{} {detail}", shown.method).trim_end().to_string()
        })
        .collect()
}

#[tokio::test]
async fn extensions_thread_start_then_turns_on_that_thread_and_the_list_shows_it() {
    let mut session = start_with_extensions().await;
    session
        .fake
        .push(Script::text("First answer."))
        .push(Script::text("Second answer."));

    let started = session.editor.request("agent/threadStart", json!({})).await;
    let thread_id = thread_id_of(&started);
    assert_eq!(result(&started), json!({ "threadId": thread_id }));
    assert!(session.fake.requests().is_empty(), "no model call yet");

    let turn = session
        .editor
        .request(
            "agent/turnStart",
            json!({ "threadId": thread_id, "text": "first question" }),
        )
        .await;
    assert_eq!(result(&turn), json!({ "threadId": thread_id }));
    let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
    assert_eq!(completed["threadId"], thread_id.as_str(), "{completed}");
    assert_eq!(completed["status"], "completed", "{completed}");

    let turn = session
        .editor
        .request(
            "agent/turnStart",
            json!({ "threadId": thread_id, "text": "second question" }),
        )
        .await;
    assert_eq!(result(&turn), json!({ "threadId": thread_id }));
    let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
    assert_eq!(completed["threadId"], thread_id.as_str(), "{completed}");

    // The second request is the first one's history plus the answer and the
    // new question: the turn ran on the same thread.
    let requests = wait_for_requests(&session.fake, 2).await;
    assert_eq!(requests.len(), 2);
    let first = conversation(&requests[0]);
    assert_eq!(first.last().unwrap(), "user: first question", "{first:#?}");
    let second = conversation(&requests[1]);
    assert_eq!(second[..first.len()], first[..], "{second:#?}");
    assert_eq!(
        second[first.len()..],
        [
            "assistant: First answer.".to_string(),
            "user: second question".to_string()
        ],
        "{second:#?}"
    );

    let list = session.editor.request("agent/threadList", json!({})).await;
    let threads = result(&list)["threads"].as_array().cloned().unwrap();
    assert_eq!(threads.len(), 1, "{list}");
    let thread = &threads[0];
    for key in ["created", "updated"] {
        assert!(thread[key].is_string(), "{key}: {thread}");
    }
    let mut shown = thread.clone();
    shown.as_object_mut().unwrap().remove("created");
    shown.as_object_mut().unwrap().remove("updated");
    assert_eq!(
        shown,
        json!({
            "id": thread_id,
            "cwd": session.root(),
            "preview": "first question",
        })
    );
}

/// A second server over the same data directory (the editor restarted): the
/// threads of the first are finished and on disk.
async fn restart_server(session: &mut Session) {
    let env = TestEnv::new()
        .var("XDG_DATA_HOME", session.data.path().display().to_string())
        .var(
            "XDG_CONFIG_HOME",
            session.data.path().join("config").display().to_string(),
        )
        .var("HOME", session.data.path().display().to_string())
        .var(FAKE_API_KEY_ENV, FAKE_API_KEY)
        .var("AGENTLS_SANDBOX_HELPER", HELPER);
    let mut editor = Editor::new(TestClient::in_process_with_env(env));
    let init = editor
        .client
        .initialize_with(json!({
            "processId": null,
            "rootUri": agentls_tests::client::file_uri(&session.root()),
            "capabilities": extension_capabilities(true),
            "initializationOptions": {
                "provider": {
                    "kind": "openai-responses",
                    "base_url": session.fake.base_url(),
                    "model": "test-model",
                    "api_key_env": FAKE_API_KEY_ENV,
                    "retry_base_ms": 10,
                },
                "approvals": { "policy": "untrusted", "timeout_secs": 30 },
            },
        }))
        .await;
    assert!(init["result"]["capabilities"].is_object(), "{init}");
    session.editor = editor;
}

/// A thread whose first turn ("what does add do?", answered "It adds two
/// numbers.") has completed; the fake holds the answer to a second turn. Returns
/// the thread's id.
async fn first_turn_done(session: &mut Session) -> String {
    session
        .fake
        .push(Script::text("It adds two numbers."))
        .push(Script::text("Yes, with a sign bug."));
    let turn = session
        .editor
        .request("agent/turnStart", json!({ "text": "what does add do?" }))
        .await;
    let thread_id = thread_id_of(&turn);
    let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
    assert_eq!(completed["status"], "completed", "{completed}");
    thread_id
}

#[tokio::test]
async fn extensions_thread_resume_returns_the_items_and_a_turn_continues_it() {
    let mut session = start_with_extensions().await;
    let thread_id = first_turn_done(&mut session).await;

    restart_server(&mut session).await;
    let resumed = session
        .editor
        .request("agent/threadResume", json!({ "threadId": thread_id }))
        .await;
    let resumed = result(&resumed);
    assert_eq!(resumed["threadId"], thread_id.as_str(), "{resumed}");
    assert_eq!(
        items_without_ids(&resumed),
        [
            json!({ "type": "userMessage", "text": "what does add do?" }),
            json!({ "type": "assistantMessage", "text": "It adds two numbers." }),
        ],
        "{resumed}"
    );

    let turn = session
        .editor
        .request(
            "agent/turnStart",
            json!({ "threadId": thread_id, "text": "is it right?" }),
        )
        .await;
    assert_eq!(result(&turn), json!({ "threadId": thread_id }));
    let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
    assert_eq!(completed["threadId"], thread_id.as_str(), "{completed}");
    assert_eq!(completed["status"], "completed", "{completed}");
    let requests = wait_for_requests(&session.fake, 2).await;
    let first = conversation(&requests[0]);
    let second = conversation(&requests[1]);
    assert_eq!(second[..first.len()], first[..], "{second:#?}");
    assert_eq!(
        second[first.len()..],
        [
            "assistant: It adds two numbers.".to_string(),
            "user: is it right?".to_string()
        ],
        "{second:#?}"
    );
}

#[tokio::test]
async fn extensions_thread_resume_of_an_unknown_thread_is_invalid_params() {
    // docs/lsp-extensions.md: "an unknown thread or approval is -32602".
    let mut session = start_with_extensions().await;
    let unknown = session
        .editor
        .request("agent/threadResume", json!({ "threadId": "nope" }))
        .await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("nope")),
        "the message names the thread: {unknown}"
    );
    // Nothing was started for it: the list stays empty.
    let list = session.editor.request("agent/threadList", json!({})).await;
    assert_eq!(result(&list), json!({ "threads": [] }));
}

/// The items a resume answered, without their ids (numbered by the thread).
fn items_without_ids(resumed: &Value) -> Vec<Value> {
    resumed["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{resumed}"))
        .iter()
        .map(|item| {
            assert!(item["id"].is_string(), "{item}");
            let mut item = item.clone();
            item.as_object_mut().unwrap().remove("id");
            item
        })
        .collect()
}

#[tokio::test]
async fn extensions_thread_resume_of_a_thread_finished_in_this_session_returns_its_items() {
    // The flow a client follows: run a turn, list the threads, open one. The
    // thread's turn has finished; the server still holds it, idle.
    let mut session = start_with_extensions().await;
    let thread_id = first_turn_done(&mut session).await;
    let list = session.editor.request("agent/threadList", json!({})).await;
    assert_eq!(
        result(&list)["threads"][0]["id"],
        thread_id.as_str(),
        "{list}"
    );

    let resumed = session
        .editor
        .request("agent/threadResume", json!({ "threadId": thread_id }))
        .await;
    let resumed = result(&resumed);
    assert_eq!(resumed["threadId"], thread_id.as_str(), "{resumed}");
    assert_eq!(
        items_without_ids(&resumed),
        [
            json!({ "type": "userMessage", "text": "what does add do?" }),
            json!({ "type": "assistantMessage", "text": "It adds two numbers." }),
        ],
        "{resumed}"
    );
    session
        .editor
        .request(
            "agent/turnStart",
            json!({ "threadId": thread_id, "text": "is it right?" }),
        )
        .await;
    let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
    assert_eq!(completed["threadId"], thread_id.as_str(), "{completed}");
    let requests = wait_for_requests(&session.fake, 2).await;
    assert_eq!(requests.len(), 2, "one thread, not a second copy of it");
    let first = conversation(&requests[0]);
    let second = conversation(&requests[1]);
    assert_eq!(second[..first.len()], first[..], "{second:#?}");
}

#[tokio::test]
async fn extensions_turn_steer_mid_stream_reaches_the_model() {
    let mut session = start_with_extensions().await;
    let gate = Gate::new();
    session
        .fake
        .push(Script::Gated {
            answer: ModelAnswer {
                text: Some("Reading it now, then I will answer.".to_string()),
                ..ModelAnswer::default()
            },
            gate: gate.clone(),
        })
        .push(Script::text("In one line: it subtracts."));
    let turn = session
        .editor
        .request("agent/turnStart", json!({ "text": "explain add" }))
        .await;
    let thread_id = thread_id_of(&turn);
    // Let the stream out up to its first text delta (created, in_progress,
    // output_item.added, content_part.added, delta): the turn is mid-answer when
    // the steer arrives.
    gate.open(5);
    let delta = until_notification(&mut session.editor, "agent/itemDelta").await;
    assert_eq!(delta["threadId"], thread_id.as_str(), "{delta}");
    let steered = session
        .editor
        .request(
            "agent/turnSteer",
            json!({ "threadId": thread_id, "text": "keep it to one line" }),
        )
        .await;
    assert_eq!(result(&steered), json!({}));
    gate.open(1000);
    let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
    assert_eq!(completed["status"], "completed", "{completed}");

    let requests = wait_for_requests(&session.fake, 2).await;
    assert_eq!(requests.len(), 2, "the steer makes one more model call");
    assert!(
        !requests[0].body.to_string().contains("keep it to one line"),
        "the first request was sent before the steer"
    );
    let second = conversation(&requests[1]);
    assert_eq!(
        second[second.len() - 2..],
        [
            "assistant: Reading it now, then I will answer.".to_string(),
            "user: keep it to one line".to_string()
        ],
        "{second:#?}"
    );
    // The steer is an item of the turn, and the answer after it ends the turn.
    let completed_items: Vec<Value> = session
        .editor
        .shown("agent/itemCompleted")
        .iter()
        .map(|shown| shown["item"].clone())
        .collect();
    assert!(
        completed_items
            .iter()
            .any(|item| item["type"] == "userMessage" && item["text"] == "keep it to one line"),
        "{completed_items:#?}"
    );
    assert_eq!(
        completed_items.last().unwrap()["text"],
        "In one line: it subtracts.",
        "{completed_items:#?}"
    );
    // Steering a thread that does not exist is an error, not a silent no-op.
    let unknown = session
        .editor
        .request(
            "agent/turnSteer",
            json!({ "threadId": "nope", "text": "hello" }),
        )
        .await;
    assert_eq!(
        unknown["error"],
        json!({ "code": -32602, "message": "unknown thread nope" }),
        "{unknown}"
    );
}

#[tokio::test]
async fn extensions_turn_interrupt_ends_a_running_turn() {
    let mut session = start_with_extensions().await;
    session.fake.push(Script::stall());
    let turn = session
        .editor
        .request("agent/turnStart", json!({ "text": "think forever" }))
        .await;
    let thread_id = thread_id_of(&turn);
    let started = until_notification(&mut session.editor, "agent/turnStarted").await;
    assert_eq!(
        started,
        json!({ "threadId": thread_id, "turnId": started["turnId"], "title": "think forever" })
    );
    // The progress began before the notification went out.
    let progress = session.editor.shown("$/progress");
    let begin = progress
        .iter()
        .find(|p| {
            p["value"]["kind"] == "begin"
                && p["token"]
                    .as_str()
                    .is_some_and(|token| token.starts_with("agentls/turn/"))
        })
        .unwrap_or_else(|| panic!("{progress:#?}"));
    assert_eq!(begin["value"]["title"], "Agent: think forever");
    let token = begin["token"].clone();
    wait_for_requests(&session.fake, 1).await;

    let interrupted = session
        .editor
        .request("agent/turnInterrupt", json!({ "threadId": thread_id }))
        .await;
    assert_eq!(result(&interrupted), json!({}));
    let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
    assert_eq!(
        completed,
        json!({
            "threadId": thread_id,
            "turnId": started["turnId"],
            "status": "interrupted",
            "reason": "user",
            "changedFiles": [],
        })
    );
    let end = session
        .editor
        .serve_until(|message| {
            message["method"] == "$/progress"
                && message["params"]["token"] == token
                && message["params"]["value"]["kind"] == "end"
        })
        .await;
    assert_eq!(
        end["params"]["value"],
        json!({ "kind": "end", "message": "stopped" })
    );
    let message = session.editor.until_message("stopped").await;
    assert_eq!(message, "agentls: think forever stopped");
    assert_eq!(session.fake.requests().len(), 1, "no retry after the stop");

    // The thread is idle again and takes a new turn.
    session.fake.push(Script::text("Back."));
    session
        .editor
        .request(
            "agent/turnStart",
            json!({ "threadId": thread_id, "text": "are you there?" }),
        )
        .await;
    let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
    assert_eq!(completed["status"], "completed", "{completed}");
}

/// Issue 12's stall: in about 2 of 12 runs, the request after interrupting a
/// stalled stream waited out the provider's idle timeout. Interrupt a stalled
/// turn and start the next one at once, twelve times on one thread: every next
/// turn must answer well within the editor's patience (the idle timeout is the
/// default, minutes, so a stall fails on the receive timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_turn_after_interrupting_a_stalled_stream_answers_at_once() {
    let mut session = start_with_extensions().await;
    let mut thread_id: Option<String> = None;
    for round in 1..=12 {
        session.fake.push(Script::stall());
        let mut params = json!({ "text": format!("think forever, round {round}") });
        if let Some(id) = &thread_id {
            params["threadId"] = json!(id);
        }
        let turn = session.editor.request("agent/turnStart", params).await;
        let id = thread_id_of(&turn);
        wait_for_requests(&session.fake, 2 * round - 1).await;
        let interrupted = session
            .editor
            .request("agent/turnInterrupt", json!({ "threadId": id }))
            .await;
        assert_eq!(result(&interrupted), json!({}));
        let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
        assert_eq!(
            completed["status"], "interrupted",
            "round {round}: {completed}"
        );

        session.fake.push(Script::text("Back."));
        let next = session
            .editor
            .request(
                "agent/turnStart",
                json!({ "threadId": id, "text": format!("are you there, round {round}?") }),
            )
            .await;
        assert_eq!(thread_id_of(&next), id);
        let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
        assert_eq!(
            completed["status"], "completed",
            "round {round}: {completed}"
        );
        thread_id = Some(id);
    }
}

#[tokio::test]
async fn extensions_undo_reverts_the_turn_then_says_nothing_is_left() {
    let mut session = start_with_extensions().await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": FIX_PATCH }),
        )]))
        .push(Script::text("Fixed the sign."));
    let uri = session.open_lib().await;
    session
        .editor
        .request(
            "agent/turnStart",
            json!({
                "text": "fix the sign",
                "uri": uri,
                "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
            }),
        )
        .await;
    let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
    assert_eq!(completed["status"], "completed", "{completed}");
    assert_eq!(
        completed["changedFiles"],
        json!([session.path("src/lib.rs")]),
        "{completed}"
    );
    assert_eq!(session.editor.text(&uri), FIXED);

    // The answer comes once the revert is planned; the edit lands after it and
    // the message says so.
    let undone = session.editor.request("agent/undo", json!({})).await;
    assert_eq!(
        result(&undone),
        json!({
            "title": "fix the sign",
            "reverted": [session.path("src/lib.rs")],
            "refused": [],
            "message": "agentls: undid fix the sign in src/lib.rs",
        })
    );
    let message = session.editor.until_message("agentls: undid").await;
    assert_eq!(message, "agentls: undid fix the sign in src/lib.rs");
    assert_eq!(
        session.editor.text(&uri),
        BUGGY,
        "{:#?}",
        session.editor.apply_requests
    );
    assert_eq!(
        std::fs::read_to_string(session.path("src/lib.rs")).unwrap(),
        BUGGY,
        "the disk was never written: the edit and its undo happened in the buffer"
    );

    let again = session.editor.request("agent/undo", json!({})).await;
    assert_eq!(
        again["error"],
        json!({ "code": -32803, "message": "there is no agent change to undo" }),
        "{again}"
    );
    assert_eq!(session.editor.text(&uri), BUGGY);
}

/// What the model asks to run: it writes a file, so the policy asks first; its
/// output (`ran marker`) is not in its own text, so the model can only have it
/// from running it.
const SCRIPT: &str = "printf 'ran %s\\n' marker > marker.txt && cat marker.txt";

/// A turn whose model wants to run `SCRIPT`, waiting for the approval; returns
/// the `agent/approvalRequested` params.
async fn turn_waiting_for_approval(session: &mut Session) -> Value {
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "shell",
            json!({
                "command": ["sh", "-c", SCRIPT],
                "justification": "leave a marker",
            }),
        )]))
        .push(Script::text("Done with the marker."));
    let turn = session
        .editor
        .request("agent/turnStart", json!({ "text": "leave a marker" }))
        .await;
    let thread_id = thread_id_of(&turn);
    let requested = until_notification(&mut session.editor, "agent/approvalRequested").await;
    assert_eq!(
        requested,
        json!({
            "threadId": thread_id,
            "turnId": requested["turnId"],
            "itemId": requested["itemId"],
            "id": "1",
            "argv": ["sh", "-c", SCRIPT],
            "cwd": session.root(),
            "reason": "leave a marker",
            "sandboxEscalation": false,
        })
    );
    requested
}

#[tokio::test]
async fn extensions_approve_answers_a_pending_approval() {
    for decision in ["approved", "denied"] {
        let mut session = Session::start(Options {
            capabilities: extension_capabilities(false),
            ..Options::default()
        })
        .await;
        let requested = turn_waiting_for_approval(&mut session).await;

        let unknown = session
            .editor
            .request("agent/approve", json!({ "id": "99", "decision": decision }))
            .await;
        assert_eq!(
            unknown["error"],
            json!({ "code": -32602, "message": "no approval 99 is pending" }),
            "{unknown}"
        );
        let approved = session
            .editor
            .request(
                "agent/approve",
                json!({ "id": requested["id"], "decision": decision }),
            )
            .await;
        assert_eq!(result(&approved), json!({}), "{decision}");
        // A client that showed the question learns it was answered (here or
        // anywhere else) and by what.
        let resolved = until_notification(&mut session.editor, "agent/approvalResolved").await;
        assert_eq!(
            resolved,
            json!({
                "threadId": requested["threadId"],
                "turnId": requested["turnId"],
                "itemId": requested["itemId"],
                "id": "1",
                "decision": decision,
            })
        );
        let completed = until_notification(&mut session.editor, "agent/turnCompleted").await;
        assert_eq!(completed["status"], "completed", "{decision}: {completed}");

        assert!(
            session.editor.shown("window/showMessageRequest").is_empty(),
            "the client has no prompts"
        );
        let command = session
            .editor
            .shown("agent/itemCompleted")
            .into_iter()
            .map(|shown| shown["item"].clone())
            .find(|item| item["type"] == "commandExecution")
            .unwrap_or_else(|| panic!("{decision}: no command item"));
        assert_eq!(command["id"], requested["itemId"], "{command}");
        let outputs = tool_outputs(&session.fake);
        if decision == "approved" {
            assert_eq!(command["status"], "completed", "{command}");
            assert!(
                outputs
                    .iter()
                    .any(|output| output.starts_with("exit code: 0")
                        && output.contains("ran marker")),
                "the command's output reaches the model: {outputs:#?} {:#?}",
                session.fake.requests().last().unwrap().body["input"]
            );
            assert_eq!(
                std::fs::read_to_string(session.path("marker.txt")).unwrap(),
                "ran marker\n"
            );
        } else {
            assert_eq!(command["status"], "declined", "{command}");
            assert!(
                outputs.iter().any(|output| {
                    let output = output.to_lowercase();
                    output.contains("denied") || output.contains("declined")
                }),
                "the model is told it was denied: {outputs:#?}"
            );
            assert!(
                !outputs.iter().any(|output| output.contains("ran marker")),
                "{outputs:#?}"
            );
            assert!(
                !session.path("marker.txt").exists(),
                "the command must not run"
            );
        }
        // Answered once: a second answer names the approval.
        let again = session
            .editor
            .request("agent/approve", json!({ "id": requested["id"] }))
            .await;
        assert_eq!(
            again["error"],
            json!({ "code": -32602, "message": "no approval 1 is pending" }),
            "{again}"
        );
    }
}

/// A full turn (an edit, then an answer) started with `agent/turnStart`, served
/// until its answer is shown: the relay sends every notification of the turn
/// before that message.
async fn full_turn(session: &mut Session) -> String {
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": FIX_PATCH }),
        )]))
        .push(Script::text("Fixed the sign."));
    let uri = session.open_lib().await;
    let turn = session
        .editor
        .request(
            "agent/turnStart",
            json!({
                "text": "fix the sign",
                "uri": uri,
                "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
            }),
        )
        .await;
    let thread_id = thread_id_of(&turn);
    let answer = session.editor.until_message("Fixed the sign.").await;
    assert_eq!(
        answer,
        "agentls: fix the sign: Fixed the sign. Changed src/lib.rs."
    );
    assert_eq!(session.editor.text(&uri), FIXED);
    // One more round trip: anything sent before its answer has arrived.
    session.editor.request("agent/threadList", json!({})).await;
    thread_id
}

#[tokio::test]
async fn extensions_notifications_only_for_clients_that_declare_them() {
    // A plain client: standard LSP only.
    let mut session = Session::start(Options::default()).await;
    full_turn(&mut session).await;
    assert_eq!(
        agent_notifications(&session.editor),
        Vec::<String>::new(),
        "no agent/* for a client that did not opt in"
    );
    let messages = session.editor.messages();
    assert!(
        messages[0].starts_with("agentls: fix the sign on src/lib.rs started"),
        "{messages:#?}"
    );
    let progress: Vec<String> = session
        .editor
        .shown("$/progress")
        .iter()
        .filter(|p| {
            p["token"]
                .as_str()
                .is_some_and(|token| token.starts_with("agentls/turn/"))
        })
        .map(|p| p["value"]["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(progress.first().map(String::as_str), Some("begin"));
    assert_eq!(progress.last().map(String::as_str), Some("end"));

    // A client that opted in: the turn's items as they happen, in order.
    let mut session = start_with_extensions().await;
    let thread_id = full_turn(&mut session).await;
    let mut methods = agent_notifications(&session.editor);
    methods.dedup();
    expect_test::expect![[r#"
        [
            "agent/turnStarted",
            "agent/itemStarted userMessage",
            "agent/itemCompleted userMessage",
            "agent/itemStarted fileChange",
            "agent/itemCompleted fileChange",
            "agent/itemStarted assistantMessage",
            "agent/itemDelta assistantText",
            "agent/itemCompleted assistantMessage",
            "agent/turnDiff",
            "agent/turnCompleted completed",
        ]
    "#]]
    .assert_debug_eq(&methods);
    let notifications: Vec<Value> = session
        .editor
        .shown
        .iter()
        .filter(|shown| shown.method.starts_with("agent/"))
        .map(|shown| shown.params.clone())
        .collect();
    let turn_id = notifications[0]["turnId"].clone();
    for params in &notifications {
        assert_eq!(params["threadId"], thread_id.as_str(), "{params}");
        assert_eq!(params["turnId"], turn_id, "{params}");
    }
    // Each delta belongs to an item started before it and completed after it.
    let assistant_id =
        session.editor.shown("agent/itemCompleted").last().unwrap()["item"]["id"].clone();
    let deltas = session.editor.shown("agent/itemDelta");
    assert!(
        deltas.iter().all(|delta| delta["itemId"] == assistant_id),
        "{deltas:#?}"
    );
    let text: String = deltas
        .iter()
        .map(|delta| delta["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Fixed the sign.");
    let completed = session.editor.shown("agent/turnCompleted");
    assert_eq!(
        completed[0]["changedFiles"],
        json!([session.path("src/lib.rs")])
    );
    let diff = session.editor.shown("agent/turnDiff");
    assert!(
        diff[0]["diff"]
            .as_str()
            .unwrap()
            .starts_with("--- a/src/lib.rs\n+++ b/src/lib.rs\n"),
        "{diff:#?}"
    );
    // It still gets the standard messages and progress.
    assert!(
        session
            .editor
            .messages()
            .iter()
            .any(|message| message.starts_with("agentls: fix the sign on src/lib.rs started")),
        "{:#?}",
        session.editor.messages()
    );
    assert!(
        session
            .editor
            .shown("$/progress")
            .iter()
            .any(|p| p["value"]["kind"] == "end"),
        "progress ends"
    );
}

#[tokio::test]
async fn extensions_thread_start_cwd_must_be_a_folder_inside_the_workspace() {
    // The agent may write anywhere under its thread's root: a client cannot
    // widen that past the workspace folders.
    let mut session = start_with_extensions().await;
    let outside = session
        .editor
        .request("agent/threadStart", json!({ "cwd": "/" }))
        .await;
    assert_eq!(outside["error"]["code"], -32602, "{outside}");
    let message = outside["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("cwd / is outside the workspace folders (")
            && message.contains(&session.root().display().to_string()),
        "{outside}"
    );
    let missing = session
        .editor
        .request("agent/threadStart", json!({ "cwd": "no/such/dir" }))
        .await;
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    assert!(
        missing["error"]["message"]
            .as_str()
            .is_some_and(|message| message.ends_with("no/such/dir is not a directory")),
        "{missing}"
    );
    // A folder inside the workspace, relative to it, is fine.
    let inside = session
        .editor
        .request("agent/threadStart", json!({ "cwd": "src" }))
        .await;
    thread_id_of(&inside);
    let list = session.editor.request("agent/threadList", json!({})).await;
    let threads = result(&list)["threads"].clone();
    assert_eq!(
        threads.as_array().map(Vec::len),
        Some(1),
        "only the thread inside the workspace was started: {threads}"
    );
}
