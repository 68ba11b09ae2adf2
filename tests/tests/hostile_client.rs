//! Hostile clients: an editor that answers `workspace/applyEdit` with garbage,
//! an error or never, `window/showMessageRequest` with a title it was not
//! offered, `null` or an error, and refuses `window/workDoneProgress/create`.
//! Each row must end the turn cleanly (the edit refused and the model told, the
//! command denied), leave the buffer and the disk as they were, and the thread
//! must take a next turn.

mod common;

use common::*;

fn extension_capabilities() -> Value {
    let mut capabilities = editor_capabilities(true);
    capabilities["experimental"] = json!({ "agentls": true });
    capabilities
}

/// What the editor does to the server request a row is about.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Result(&'static str),
    Error,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    ApplyEdit,
    Prompt,
    Progress,
}

struct Row {
    name: &'static str,
    target: Target,
    reply: Reply,
}

async fn reply(editor: &mut Editor, request: &Value, reply: Reply) {
    let id = &request["id"];
    match reply {
        Reply::Result(json_text) => {
            let value: Value = serde_json::from_str(json_text).unwrap();
            editor.client.respond(id, value).await;
        }
        Reply::Error => {
            editor
                .client
                .send(&json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": { "code": -32603, "message": "the editor fell over" },
                }))
                .await
        }
        Reply::Never => {}
    }
}

async fn run_row(row: &Row) -> Result<(), String> {
    let mut session = Session::start(Options {
        capabilities: extension_capabilities(),
        approvals: json!({ "policy": "untrusted", "timeout_secs": 30 }),
        ..Options::default()
    })
    .await;
    let uri = session.open_lib().await;
    let script = match row.target {
        Target::ApplyEdit => {
            Script::tool_calls([ToolCall::new("apply_patch", json!({ "input": FIX_PATCH }))])
        }
        Target::Prompt => Script::tool_calls([ToolCall::new(
            "shell",
            json!({ "command": ["touch", "made-by-the-agent"] }),
        )]),
        Target::Progress => Script::text("Answered without progress."),
    };
    session.fake.push(script);
    if row.target != Target::Progress {
        session.fake.push(Script::text("Understood."));
    }
    let turn = session
        .editor
        .request("agent/turnStart", json!({ "text": "do it" }))
        .await;
    let thread_id = turn["result"]["threadId"]
        .as_str()
        .ok_or_else(|| format!("no thread: {turn}"))?
        .to_string();
    let method = match row.target {
        Target::ApplyEdit => "workspace/applyEdit",
        Target::Prompt => "window/showMessageRequest",
        Target::Progress => "window/workDoneProgress/create",
    };
    let request = session
        .editor
        .serve_until(|message| message["method"] == method && message.get("id").is_some())
        .await;
    reply(&mut session.editor, &request, row.reply).await;
    if matches!(row.reply, Reply::Never) {
        // The user's way out of an editor that never answers.
        let interrupted = session
            .editor
            .request("agent/turnInterrupt", json!({ "threadId": thread_id }))
            .await;
        if interrupted.get("error").is_some() {
            return Err(format!("interrupt refused: {interrupted}"));
        }
    }
    let ended = session
        .editor
        .serve_until(|message| message["method"] == "agent/turnCompleted")
        .await;
    let status = ended["params"]["status"].as_str().unwrap_or("").to_string();
    let expected = if matches!(row.reply, Reply::Never) {
        "interrupted"
    } else {
        "completed"
    };
    if status != expected {
        return Err(format!("the turn ended {status}, not {expected}: {ended}"));
    }
    if session.editor.text(&uri) != BUGGY {
        return Err(format!(
            "the buffer changed: {:?}",
            session.editor.text(&uri)
        ));
    }
    if std::fs::read_to_string(session.path("src/lib.rs")).unwrap() != BUGGY {
        return Err("the disk changed".to_string());
    }
    if session.path("made-by-the-agent").exists() {
        return Err("the command ran without a yes".to_string());
    }
    if row.target != Target::Progress && !matches!(row.reply, Reply::Never) {
        let outputs = tool_outputs(&session.fake);
        let told = outputs.iter().any(|output| {
            let lower = output.to_lowercase();
            lower.contains("refused")
                || lower.contains("denied")
                || lower.contains("declined")
                || lower.contains("not applied")
        });
        if !told {
            return Err(format!("the model was not told: {outputs:?}"));
        }
    }

    session.fake.push(Script::text("Still here."));
    let next = session
        .editor
        .request(
            "agent/turnStart",
            json!({ "threadId": thread_id, "text": "again" }),
        )
        .await;
    if next.get("error").is_some() {
        return Err(format!("the next turn was refused: {next}"));
    }
    let ended = session
        .editor
        .serve_until(|message| message["method"] == "agent/turnCompleted")
        .await;
    if ended["params"]["status"] != "completed" {
        return Err(format!("the next turn did not complete: {ended}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_end_turns_cleanly_and_the_thread_goes_on() {
    let rows = [
        Row {
            name: "applyEdit answered with a string",
            target: Target::ApplyEdit,
            reply: Reply::Result(r#""banana""#),
        },
        Row {
            name: "applyEdit answered with applied of the wrong type",
            target: Target::ApplyEdit,
            reply: Reply::Result(r#"{"applied": "yes"}"#),
        },
        Row {
            name: "applyEdit answered with an error",
            target: Target::ApplyEdit,
            reply: Reply::Error,
        },
        Row {
            name: "applyEdit never answered",
            target: Target::ApplyEdit,
            reply: Reply::Never,
        },
        Row {
            name: "showMessageRequest answered with a title it was not offered",
            target: Target::Prompt,
            reply: Reply::Result(r#"{"title": "Allow everything forever"}"#),
        },
        Row {
            name: "showMessageRequest answered with null",
            target: Target::Prompt,
            reply: Reply::Result("null"),
        },
        Row {
            name: "showMessageRequest answered with an error",
            target: Target::Prompt,
            reply: Reply::Error,
        },
        Row {
            name: "showMessageRequest answered with garbage",
            target: Target::Prompt,
            reply: Reply::Result(r#"[1, 2, 3]"#),
        },
        Row {
            name: "workDoneProgress/create refused",
            target: Target::Progress,
            reply: Reply::Error,
        },
    ];
    let mut failures = Vec::new();
    for row in &rows {
        if let Err(why) = run_row(row).await {
            failures.push(format!("{}: {why}", row.name));
        }
    }
    assert!(
        failures.is_empty(),
        "client faults survived: {}/{}\n{}",
        rows.len() - failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// An editor that cancels every request it sends, at once (as VS Code does to
/// code actions when the cursor moves on). Each request still gets exactly one
/// answer, its result or `RequestCancelled` (-32800) and nothing else; the
/// buffer is untouched, and afterwards the server answers, runs a turn to its
/// end and shuts down cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_cancelled_gets_one_answer_and_the_server_goes_on() {
    let mut session = Session::start(Options {
        capabilities: extension_capabilities(),
        ..Options::default()
    })
    .await;
    let uri = session.open_lib().await;
    // Turns the cancellation came too late to stop answer from this queue.
    for _ in 0..4 {
        session.fake.push(Script::text("Answered."));
    }
    let range = json!({"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 9}});
    let spot = json!({ "uri": uri, "range": range, "diagnostics": diagnostic(1, "wrong sign") });
    let requests = [
        (
            "textDocument/codeAction",
            json!({ "textDocument": {"uri": uri}, "range": range,
                    "context": {"diagnostics": diagnostic(1, "wrong sign")} }),
        ),
        (
            "workspace/executeCommand",
            json!({ "command": "agentls.explain", "arguments": [spot] }),
        ),
        (
            "workspace/executeCommand",
            json!({ "command": "agentls.showContext", "arguments": [spot] }),
        ),
        ("agent/context", spot.clone()),
        ("agent/documentState", json!({ "uri": uri })),
        ("agent/threadList", json!({})),
        ("agent/threadStart", json!({})),
        ("agent/turnStart", json!({ "text": "explain the crate" })),
        ("agent/undo", json!({})),
    ];
    let mut ids = Vec::new();
    for (method, params) in &requests {
        let id = session
            .editor
            .client
            .send_request(method, params.clone())
            .await;
        session
            .editor
            .client
            .notify("$/cancelRequest", json!({ "id": id }))
            .await;
        ids.push((id, *method));
    }
    // Each is answered with its result (or, for undo with nothing to undo,
    // its own error) or with RequestCancelled. The answers come in any order: collect them all in one pass, since the
    // editor drops a response nobody waits for.
    let mut answers: Vec<(i64, Value)> = Vec::new();
    while answers.len() < ids.len() {
        let answer = session
            .editor
            .serve_until(|message| {
                message.get("method").is_none()
                    && ids.iter().any(|(id, _)| message["id"] == json!(id))
            })
            .await;
        let id = answer["id"].as_i64().unwrap_or_default();
        if answers.iter().any(|(seen, _)| *seen == id) {
            panic!("request {id} answered twice: {answer}");
        }
        answers.push((id, answer));
    }
    let mut failures = Vec::new();
    for (id, answer) in &answers {
        let method = ids
            .iter()
            .find(|(sent, _)| sent == id)
            .map(|(_, method)| *method)
            .unwrap_or_default();
        match (answer.get("result"), answer.get("error")) {
            (Some(_), None) => {}
            (None, Some(error)) if error["code"] == -32800 => {}
            // Its own answer when nothing was cancelled in time.
            (None, Some(error)) if method == "agent/undo" && error["code"] == -32803 => {}
            _ => failures.push(format!("{method}: {answer}")),
        }
    }
    assert!(
        failures.is_empty(),
        "requests answered with neither their own answer nor RequestCancelled:\n{}",
        failures.join("\n")
    );
    // The server goes on: it still lists the actions, runs a turn to its end,
    // and the buffer is what the user had.
    let actions = session
        .code_actions(&uri, 1, diagnostic(1, "wrong sign"))
        .await;
    assert!(
        actions
            .iter()
            .any(|action| action["title"] == "Agent: Fix this"),
        "{actions:#?}"
    );
    session.fake.push(Script::text("Still here."));
    let turn = session
        .editor
        .request("agent/turnStart", json!({ "text": "are you there?" }))
        .await;
    let thread_id = turn["result"]["threadId"]
        .as_str()
        .unwrap_or_else(|| panic!("{turn}"))
        .to_string();
    let ended = session
        .editor
        .serve_until(|message| {
            message["method"] == "agent/turnCompleted" && message["params"]["threadId"] == thread_id
        })
        .await;
    assert_eq!(ended["params"]["status"], "completed", "{ended}");
    assert_eq!(session.editor.text(&uri), BUGGY);
    assert_eq!(
        std::fs::read_to_string(session.path("src/lib.rs")).unwrap(),
        BUGGY
    );
}
