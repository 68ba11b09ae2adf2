//! What the user sees and answers while a task runs, end to end: the approval
//! prompt answered Deny, dismissed or failed under a long timeout (each a deny at
//! once), "Allow for this thread", the code actions that answer a prompt still on
//! screen, long answers for a client without showDocument, a failed turn, the
//! progress texts, deleting files with and without resource operations,
//! "Explain this" through the spawned binary, and the `GLIBC_TUNABLES` the
//! commands it runs get from it.

mod common;

use std::time::Duration;

use common::*;

/// An approval timeout that outlasts every test: a deny seen here came from
/// the answer itself, not from the clock.
fn long_approvals() -> Value {
    json!({ "policy": "untrusted", "timeout_secs": 300 })
}

/// How long a prompt answer may take to reach the model: far below the
/// approval timeout, so passing means the answer itself counted.
const PROMPTLY: Duration = Duration::from_secs(10);

fn touch(file: &str) -> ToolCall {
    ToolCall::new("shell", json!({ "command": ["touch", file] }))
}

/// Serves the editor until the server asks with `showMessageRequest`, holding
/// the answer; returns the request (with its `id`).
async fn until_prompt(editor: &mut Editor) -> Value {
    editor
        .serve_until(|message| message["method"] == "window/showMessageRequest")
        .await
}

/// The `$/progress` values of agent turns, in order.
fn turn_progress(editor: &Editor) -> Vec<Value> {
    editor
        .shown("$/progress")
        .into_iter()
        .filter(|progress| {
            progress["token"]
                .as_str()
                .is_some_and(|token| token.starts_with("agentls/turn/"))
        })
        .map(|progress| progress["value"].clone())
        .collect()
}

fn progress_messages(progress: &[Value]) -> Vec<String> {
    progress
        .iter()
        .filter_map(|value| value["message"].as_str().map(str::to_string))
        .collect()
}

/// The tool output the model was sent for its call `call_id`.
fn output_of(fake: &FakeProvider, call_id: &str) -> String {
    let requests = fake.requests();
    let last = requests.last().expect("a request");
    last.tool_outputs()
        .into_iter()
        .find(|(id, _)| id == call_id)
        .map(|(_, output)| output)
        .unwrap_or_else(|| panic!("no output for {call_id} in {}", last.body["input"]))
}

#[derive(Clone, Copy, Debug)]
enum PromptAnswer {
    Deny,
    Null,
    RpcError,
}

/// A session with a long approval timeout whose model answers with `scripts`,
/// where "Agent: Write tests for this" on `src/lib.rs` has run until the
/// server's first `showMessageRequest`: the session, the file's URI and the
/// prompt, unanswered.
async fn write_tests_until_prompt(scripts: Vec<Script>) -> (Session, String, Value) {
    let mut session = Session::start(Options {
        approvals: long_approvals(),
        ..Options::default()
    })
    .await;
    for script in scripts {
        session.fake.push(script);
    }
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
        .await;
    let prompt = until_prompt(&mut session.editor).await;
    (session, uri, prompt)
}

#[tokio::test]
async fn prompt_deny_null_and_error_deny_at_once_under_a_long_timeout() {
    for answer in [
        PromptAnswer::Deny,
        PromptAnswer::Null,
        PromptAnswer::RpcError,
    ] {
        let (mut session, _, prompt) = write_tests_until_prompt(vec![
            Script::tool_calls([touch("checked.txt").with_id("call_touch")]),
            Script::text("Not allowed, so not checked."),
        ])
        .await;
        assert!(
            prompt["params"]["message"]
                .as_str()
                .unwrap()
                .contains("`touch checked.txt`"),
            "{prompt}"
        );
        let id = prompt["id"].clone();
        let reply = match answer {
            PromptAnswer::Deny => json!({"jsonrpc": "2.0", "id": id, "result": {"title": "Deny"}}),
            PromptAnswer::Null => json!({"jsonrpc": "2.0", "id": id, "result": null}),
            PromptAnswer::RpcError => json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32803, "message": "the prompt was closed"}}),
        };
        session.editor.client.send(&reply).await;

        let done = tokio::time::timeout(
            PROMPTLY,
            session.editor.until_message("Write tests for this: "),
        )
        .await
        .unwrap_or_else(|_| panic!("{answer:?}: the turn did not end promptly"));
        assert_eq!(
            done, "agentls: Write tests for this: Not allowed, so not checked.",
            "{answer:?}"
        );
        assert!(
            !session.path("checked.txt").exists(),
            "{answer:?}: the denied command ran"
        );
        assert_eq!(session.fake.requests().len(), 2, "{answer:?}");
        let output = output_of(&session.fake, "call_touch");
        assert!(
            output.starts_with("the user denied running `touch checked.txt`"),
            "{answer:?}: {output}"
        );
        let messages = session.editor.messages();
        assert!(
            messages.contains(&"agentls: denied `touch checked.txt`".to_string()),
            "{answer:?}: {messages:#?}"
        );
        assert!(
            !messages.iter().any(|message| message.contains("no answer")),
            "{answer:?}: not a timeout: {messages:#?}"
        );
        let progress = turn_progress(&session.editor);
        assert_eq!(
            progress.last().unwrap(),
            &json!({"kind": "end", "message": "done"}),
            "{answer:?}"
        );
    }
}

#[tokio::test]
async fn prompt_allow_for_this_thread_is_asked_once_for_the_same_command() {
    let mut session = Session::start(Options {
        approvals: long_approvals(),
        ..Options::default()
    })
    .await;
    let append = || {
        ToolCall::new(
            "shell",
            json!({ "command": ["sh", "-c", "echo ran >> log.txt"] }),
        )
    };
    session
        .fake
        .push(Script::tool_calls([append().with_id("call_first")]))
        .push(Script::tool_calls([append().with_id("call_second")]))
        .push(Script::text("Logged twice."));
    // Were the second call asked again, it would be denied and log only once.
    session
        .editor
        .answers
        .extend([Answer::Pick("Allow for this thread"), Answer::Pick("Deny")]);
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
        .await;
    session
        .editor
        .until_message("Write tests for this: Logged twice.")
        .await;

    let asked = session.editor.shown("window/showMessageRequest");
    assert_eq!(asked.len(), 1, "{asked:#?}");
    assert!(
        asked[0]["message"]
            .as_str()
            .unwrap()
            .contains("`echo ran >> log.txt`"),
        "{asked:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(session.path("log.txt")).unwrap(),
        "ran\nran\n"
    );
    for call in ["call_first", "call_second"] {
        let output = output_of(&session.fake, call);
        assert!(output.starts_with("exit code: 0"), "{call}: {output}");
    }
}

#[tokio::test]
async fn prompt_pending_leaves_requests_answered_and_the_code_action_answers_it() {
    let (mut session, uri, prompt) = write_tests_until_prompt(vec![
        Script::tool_calls([touch("checked.txt").with_id("call_touch")]),
        Script::text("Checked."),
    ])
    .await;

    // The prompt is on screen, unanswered: the server still answers.
    let actions = session.code_actions(&uri, 1, json!([])).await;
    let listed = titles(&actions);
    assert_eq!(
        listed[..3],
        [
            "Agent: Approve: run `touch checked.txt` [quickfix] -> agentls.approve",
            "Agent: Approve for this thread: run `touch checked.txt` [quickfix] -> agentls.approveForThread",
            "Agent: Deny: `touch checked.txt` [quickfix] -> agentls.deny",
        ],
        "{listed:#?}"
    );
    let approved = session
        .editor
        .request("workspace/executeCommand", actions[0]["command"].clone())
        .await;
    assert!(approved["result"]["id"].is_string(), "{approved}");
    // The prompt is answered later with Deny: the first answer counted.
    session
        .editor
        .client
        .send(&json!({"jsonrpc": "2.0", "id": prompt["id"], "result": {"title": "Deny"}}))
        .await;
    session
        .editor
        .until_message("Write tests for this: Checked.")
        .await;

    assert!(
        session.path("checked.txt").exists(),
        "the approved command ran"
    );
    let output = output_of(&session.fake, "call_touch");
    assert!(output.starts_with("exit code: 0"), "{output}");
    let messages = session.editor.messages();
    assert!(
        messages.contains(&"agentls: approved `touch checked.txt`".to_string()),
        "{messages:#?}"
    );
    assert!(
        !messages.iter().any(|message| message.contains("denied")),
        "{messages:#?}"
    );
    // Nothing is pending any more: the approval actions are gone.
    let after = titles(&session.code_actions(&uri, 1, json!([])).await);
    assert!(
        !after.iter().any(|title| title.contains("Approve")),
        "{after:#?}"
    );
}

#[tokio::test]
async fn long_answers_without_show_document_name_the_markdown_file() {
    let mut capabilities = editor_capabilities(true);
    capabilities["window"]
        .as_object_mut()
        .unwrap()
        .remove("showDocument");
    let mut session = Session::start(Options {
        capabilities,
        ..Options::default()
    })
    .await;
    let explanation = format!(
        "# add\n\nIt should add two numbers. {}",
        "It subtracts instead. ".repeat(30)
    );
    session.fake.push(Script::text(explanation.clone()));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Explain this")
        .await;
    let message = session.editor.until_message("Explain this done").await;

    let (summary, path) = message
        .split_once(" The full answer is in ")
        .unwrap_or_else(|| panic!("the message names no file: {message}"));
    assert_eq!(
        summary,
        "agentls: Explain this done: add (\"Agent: Show last answer\" shows it all)"
    );
    let path = PathBuf::from(path);
    assert!(
        path.starts_with(session.data.path().join("agentls/answers")),
        "{}",
        path.display()
    );
    assert_eq!(path.extension().unwrap(), "md");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        format!("# Explain this (src/lib.rs)\n\n{}\n", explanation.trim())
    );
    assert!(session.editor.shown("window/showDocument").is_empty());
}

#[tokio::test]
async fn a_failed_turn_says_so_as_an_error_and_ends_its_progress() {
    let bad_request = Script::Http(agentls_tests::fake_provider::Fault::Custom {
        status: 400,
        headers: vec![("content-type".into(), "application/json".into())],
        body: json!({"error": {
            "message": "Unsupported parameter: 'temperature' is not supported with this model.",
            "type": "invalid_request_error", "param": "temperature", "code": "unsupported_parameter",
        }})
        .to_string(),
    });
    for (script, expected) in [
        (Script::unauthorized(), "Incorrect API key provided"),
        (bad_request, "Unsupported parameter: 'temperature'"),
    ] {
        let mut session = Session::start(Options::default()).await;
        session.fake.push(script);
        let uri = session.open_lib().await;
        session
            .run_action(&uri, 1, json!([]), "Agent: Explain this")
            .await;
        let shown = session
            .editor
            .serve_until(|message| {
                message["method"] == "window/showMessage" && message["params"]["type"] == 1
            })
            .await;
        let error = shown["params"]["message"].as_str().unwrap();
        assert!(
            error.starts_with("agentls: Explain this failed: ") && error.contains(expected),
            "{error}"
        );
        assert!(!error.contains(FAKE_API_KEY), "the key leaked: {error}");
        // Not retried: one request, and no retry reported.
        assert_eq!(session.fake.requests().len(), 1);
        let progress = turn_progress(&session.editor);
        assert_eq!(progress.first().unwrap()["kind"], "begin", "{progress:#?}");
        assert_eq!(
            progress.last().unwrap(),
            &json!({"kind": "end", "message": "failed"}),
            "{progress:#?}"
        );
        assert!(
            !progress_messages(&progress)
                .iter()
                .any(|message| message.contains("retry")),
            "{progress:#?}"
        );
    }
}

#[tokio::test]
async fn progress_names_the_file_read_the_approval_awaited_and_the_command_run() {
    let (mut session, _, prompt) = write_tests_until_prompt(vec![
        Script::tool_calls([ToolCall::new("read_file", json!({ "path": "src/lib.rs" }))]),
        Script::tool_calls([touch("checked.txt")]),
        Script::text("Read and checked."),
    ])
    .await;

    // While the approval is pending.
    let pending = progress_messages(&turn_progress(&session.editor));
    assert!(
        pending.contains(&"reading src/lib.rs".to_string()),
        "{pending:#?}"
    );
    assert!(
        pending.contains(&"waiting for approval to run `touch checked.txt`".to_string()),
        "{pending:#?}"
    );
    session
        .editor
        .client
        .respond(&prompt["id"], json!({"title": "Allow"}))
        .await;
    session
        .editor
        .until_message("Write tests for this: Read and checked.")
        .await;
    assert!(session.path("checked.txt").exists());

    let progress = turn_progress(&session.editor);
    let messages = progress_messages(&progress);
    let is_running = |message: &String| {
        message == "running `touch checked.txt`"
            || (message.starts_with("running `touch checked.txt` (") && message.ends_with(" s)"))
    };
    assert!(messages.iter().any(is_running), "{messages:#?}");
    assert_eq!(
        progress.last().unwrap(),
        &json!({"kind": "end", "message": "done"})
    );
}

#[tokio::test]
async fn progress_says_running_only_once_the_command_is_approved() {
    let (mut session, _, prompt) = write_tests_until_prompt(vec![
        Script::tool_calls([touch("checked.txt")]),
        Script::text("Checked."),
    ])
    .await;
    // Helix users see only the progress: until they answer, it must not say
    // that the command runs.
    let before_answer = progress_messages(&turn_progress(&session.editor));
    assert!(
        !before_answer
            .iter()
            .any(|message| message.starts_with("running")),
        "the command is reported running before it was approved: {before_answer:#?}"
    );
    session
        .editor
        .client
        .respond(&prompt["id"], json!({"title": "Allow"}))
        .await;
    session
        .editor
        .until_message("Write tests for this: Checked.")
        .await;
    let messages = progress_messages(&turn_progress(&session.editor));
    let after_answer = &messages[before_answer.len()..];
    assert!(
        after_answer
            .iter()
            .any(|message| message.starts_with("running `touch checked.txt`")),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn a_multi_file_task_deletes_a_file_with_and_without_resource_operations() {
    for resource_operations in [
        Some(json!(["create", "rename", "delete"])),
        Some(json!([])),
        None,
    ] {
        let mut capabilities = editor_capabilities(true);
        let workspace_edit = capabilities["workspace"]["workspaceEdit"]
            .as_object_mut()
            .unwrap();
        match &resource_operations {
            Some(operations) => {
                workspace_edit.insert("resourceOperations".into(), operations.clone());
            }
            None => {
                workspace_edit.remove("resourceOperations");
            }
        }
        let mut session = Session::start(Options {
            capabilities,
            files: vec![("src/gone.rs", "pub fn gone() {}\n")],
            ..Options::default()
        })
        .await;
        let patch = "*** Begin Patch\n*** Delete File: src/gone.rs\n*** Update File: src/lib.rs\n@@\n pub fn add(a: i32, b: i32) -> i32 {\n-    a - b\n+    a + b\n }\n*** End Patch\n";
        session
            .fake
            .push(Script::tool_calls([ToolCall::new(
                "apply_patch",
                json!({ "input": patch }),
            )]))
            .push(Script::text("Fixed and tidied."));
        let uri = session.open_lib().await;
        session
            .run_action(&uri, 1, diagnostic(1, "wrong sign"), "Agent: Fix this")
            .await;
        let done = session.editor.until_message("Fix this: Fixed").await;
        assert_eq!(
            done, "agentls: Fix this: Fixed and tidied. Changed 2 files.",
            "{resource_operations:?}"
        );
        assert!(
            !session.path("src/gone.rs").exists(),
            "{resource_operations:?}: the file is still there"
        );
        assert_eq!(session.editor.text(&uri), FIXED, "{resource_operations:?}");
        let deletes: Vec<Value> = session
            .editor
            .apply_requests
            .iter()
            .flat_map(|request| {
                request["edit"]["documentChanges"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|change| change["kind"] == "delete")
            .collect();
        let gone_uri = agentls_tests::client::file_uri(&session.path("src/gone.rs"));
        if resource_operations == Some(json!(["create", "rename", "delete"])) {
            assert_eq!(deletes.len(), 1, "{:#?}", session.editor.apply_requests);
            assert_eq!(deletes[0]["uri"], gone_uri.as_str());
        } else {
            assert!(
                deletes.is_empty(),
                "{resource_operations:?}: the client takes no DeleteFile: {deletes:#?}"
            );
        }
    }
}

#[tokio::test]
async fn explain_this_through_the_spawned_binary() {
    let mut session = Session::start(Options {
        binary: true,
        ..Options::default()
    })
    .await;
    session
        .fake
        .push(Script::text("It subtracts b from a; the name says add."));
    let uri = session.open_lib().await;
    let response = session
        .run_action(&uri, 1, json!([]), "Agent: Explain this")
        .await;
    assert!(response["result"]["threadId"].is_string(), "{response}");
    let answer = session.editor.until_message("Explain this: ").await;
    assert_eq!(
        answer,
        "agentls: Explain this: It subtracts b from a; the name says add."
    );
    let sent = session.fake.requests()[0].body["input"].to_string();
    assert!(sent.contains("a - b"), "the code went to the model: {sent}");
    assert!(session.editor.apply_requests.is_empty());
}

/// The spawned server executes itself again without glibc's per-thread
/// malloc caches (`agentls::memory`), and puts `GLIBC_TUNABLES` back before
/// anything it starts: a command the agent runs sees the variable as the
/// user set it, or unset, and not the marker the second start reads.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_the_agent_runs_get_glibc_tunables_as_the_user_set_them() {
    for (given, seen) in [
        (None, "[tunables=unset]"),
        (
            Some("glibc.mem.tagging=0"),
            "[tunables=glibc.mem.tagging=0]",
        ),
    ] {
        // The extension's notifications say when the turn is through.
        let mut capabilities = editor_capabilities(true);
        capabilities["experimental"] = json!({ "agentls": true });
        let mut session = Session::start(Options {
            capabilities,
            binary: true,
            approvals: json!({ "policy": "never", "timeout_secs": 30 }),
            env: given
                .map(|given| vec![("GLIBC_TUNABLES", given)])
                .unwrap_or_default(),
            ..Options::default()
        })
        .await;
        let script = "echo \"[tunables=${GLIBC_TUNABLES-unset}] [before=${AGENTLS_GLIBC_TUNABLES_BEFORE-unset}]\"";
        session
            .fake
            .push(Script::tool_calls([ToolCall::new(
                "shell",
                json!({ "command": ["sh", "-c", script] }),
            )
            .with_id("call_env")]))
            .push(Script::text("Printed."));
        let turn = session
            .editor
            .request(
                "agent/turnStart",
                json!({ "text": "print the environment" }),
            )
            .await;
        assert!(turn.get("error").is_none(), "{given:?}: {turn}");
        let completed = session
            .editor
            .serve_until(|message| message["method"] == "agent/turnCompleted")
            .await;
        assert_eq!(
            completed["params"]["status"], "completed",
            "{given:?}: {completed}"
        );
        let printed = session
            .fake
            .requests()
            .iter()
            .flat_map(|request| request.tool_outputs())
            .find(|(id, _)| id == "call_env")
            .map(|(_, output)| output)
            .unwrap_or_else(|| panic!("{given:?}: the command's output never reached the model"));
        assert!(
            printed.contains(&format!("{seen} [before=unset]")),
            "{given:?}: {printed}"
        );
    }
}
