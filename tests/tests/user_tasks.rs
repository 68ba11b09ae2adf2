//! The user's `[[tasks]]` end to end, through the real binary: offered as code
//! actions where their `when` and `languages` say, run through
//! `agentls.userTask` like the built-in tasks with their placeholders filled
//! in, and a bad definition reported once with its key.

mod common;

use common::*;

const TASKS: &str = r#"
[[tasks]]
title = "Agent: Add docs"
prompt = "Write doc comments for {symbol} in {file} ({language})."
when = "function"
languages = ["rust"]
edits = "review"

[[tasks]]
title = "Agent: Review selection"
prompt = "Review this:\n{selection}"
when = "selection"

[[tasks]]
title = "Agent: Explain the error"
prompt = "Explain, without changing anything:\n{diagnostics}"
when = "diagnostic"

[[tasks]]
title = "Agent: Summarise"
prompt = "Summarise {file}"
languages = ["python"]

[[tasks]]
title = "Tidy"
prompt = "Tidy {file}"

[[tasks]]
title = "Agent: Nonsense"
prompt = "Do {nonsense} to {file}"
"#;

async fn session() -> Session {
    let mut session = Session::start(Options {
        binary: true,
        approvals: json!({ "policy": "never" }),
        files: vec![(".agentls.toml", TASKS)],
        ..Options::default()
    })
    .await;
    wait_for_index(&mut session.editor).await;
    session
}

/// Serves the editor until the workspace index is built.
async fn wait_for_index(editor: &mut Editor) {
    editor
        .serve_until(|message| {
            message["method"] == "$/progress"
                && message["params"]["token"] == "agentls/index"
                && message["params"]["value"]["kind"] == "end"
        })
        .await;
}

async fn actions_for(
    session: &mut Session,
    uri: &str,
    range: Value,
    diagnostics: Value,
) -> Vec<Value> {
    let response = session
        .editor
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": range,
                "context": {"diagnostics": diagnostics},
            }),
        )
        .await;
    response["result"].as_array().cloned().unwrap()
}

fn range(start: (u32, u32), end: (u32, u32)) -> Value {
    json!({"start": {"line": start.0, "character": start.1}, "end": {"line": end.0, "character": end.1}})
}

fn user_titles(actions: &[Value]) -> Vec<String> {
    titles(actions)
        .into_iter()
        .filter(|title| title.ends_with("agentls.userTask"))
        .collect()
}

#[tokio::test]
async fn user_tasks_are_offered_where_their_when_and_languages_say() {
    let mut session = session().await;
    // Shown once, at startup, while the index was built.
    let problems: Vec<String> = session
        .editor
        .messages()
        .into_iter()
        .filter(|message| message.contains("tasks["))
        .collect();
    // An unknown placeholder is refused, naming the key (rather than sent to
    // the model as written); the other tasks are offered.
    let file = session.path(".agentls.toml").display().to_string();
    assert_eq!(
        problems,
        [
            format!(
                "agentls: invalid configuration: {file}: `tasks[4].title`: `Tidy` must start with `Agent: ` and name the task (\"Agent: Add docs\") (left out)"
            ),
            format!(
                "agentls: invalid configuration: {file}: `tasks[5].prompt`: unknown placeholder `{{nonsense}}`; the placeholders are {{selection}}, {{symbol}}, {{file}}, {{language}}, {{diagnostics}} (left out)"
            ),
        ]
    );
    let uri = session.open_lib().await;
    // The cursor inside `add`, nothing selected, no diagnostics.
    let cursor = actions_for(&mut session, &uri, range((1, 4), (1, 4)), json!([])).await;
    expect_test::expect![[r#"
        [
            "Agent: Add docs [refactor.rewrite] -> agentls.userTask",
        ]
    "#]]
    .assert_debug_eq(&user_titles(&cursor));
    // A selection (Helix's one-character cursor is not one).
    let helix = actions_for(&mut session, &uri, range((1, 4), (1, 5)), json!([])).await;
    assert_eq!(user_titles(&helix).len(), 1);
    let selected = actions_for(&mut session, &uri, range((1, 4), (1, 9)), json!([])).await;
    expect_test::expect![[r#"
        [
            "Agent: Add docs [refactor.rewrite] -> agentls.userTask",
            "Agent: Review selection [refactor.rewrite] -> agentls.userTask",
        ]
    "#]]
    .assert_debug_eq(&user_titles(&selected));
    // A diagnostic: a quick fix that carries it, after the built-in Fix this.
    let diagnosed = actions_for(
        &mut session,
        &uri,
        range((1, 4), (1, 4)),
        diagnostic(1, "wrong sign"),
    )
    .await;
    expect_test::expect![[r#"
        [
            "Agent: Fix this [quickfix] -> agentls.fix",
            "Agent: Explain this [refactor.rewrite] -> agentls.explain",
            "Agent: Write tests for this [refactor.rewrite] -> agentls.writeTests",
            "Agent: Add docs [refactor.rewrite] -> agentls.userTask",
            "Agent: Explain the error [quickfix] -> agentls.userTask",
            "Agent: Show agent context [refactor.rewrite] -> agentls.showContext",
        ]
    "#]]
    .assert_debug_eq(&titles(&diagnosed));
    let explain = diagnosed
        .iter()
        .find(|action| action["title"] == "Agent: Explain the error")
        .unwrap();
    assert_eq!(explain["diagnostics"][0]["message"], "wrong sign");
    assert_eq!(
        explain["command"]["arguments"][0]["task"],
        "Agent: Explain the error"
    );
    // Past the function's end: no function there.
    let outside = actions_for(&mut session, &uri, range((3, 0), (3, 0)), json!([])).await;
    assert!(user_titles(&outside).is_empty(), "{outside:#?}");
    // `only` filters user tasks like the others (the diagnostic sent before
    // for this version and line is remembered).
    let response = session
        .editor
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": range((1, 4), (1, 4)),
                "context": {"diagnostics": [], "only": ["quickfix"]},
            }),
        )
        .await;
    assert_eq!(
        user_titles(response["result"].as_array().unwrap()),
        ["Agent: Explain the error [quickfix] -> agentls.userTask"],
        "{response}"
    );
    assert!(session.fake.requests().is_empty(), "no model call");
}

#[tokio::test]
async fn user_tasks_run_with_their_placeholders_filled_in() {
    let mut session = session().await;
    session
        .fake
        .push(Script::text("Documented."))
        .push(Script::text("Looks wrong: it subtracts."));
    let uri = session.open_lib().await;
    let cursor = actions_for(&mut session, &uri, range((1, 4), (1, 4)), json!([])).await;
    let add_docs = cursor
        .iter()
        .find(|action| action["title"] == "Agent: Add docs")
        .unwrap();
    let started = session
        .editor
        .request("workspace/executeCommand", add_docs["command"].clone())
        .await;
    assert!(started["result"]["threadId"].is_string(), "{started}");
    session.editor.until_message("Add docs: Documented.").await;
    let first = session.fake.requests()[0].body["input"].to_string();
    assert!(
        first.contains("Write doc comments for add in src/lib.rs (rust)."),
        "{first}"
    );
    assert!(first.contains("a - b"), "the code around goes too: {first}");

    let selected = actions_for(&mut session, &uri, range((1, 4), (1, 9)), json!([])).await;
    let review = selected
        .iter()
        .find(|action| action["title"] == "Agent: Review selection")
        .unwrap();
    session
        .editor
        .request("workspace/executeCommand", review["command"].clone())
        .await;
    session
        .editor
        .until_message("Review selection: Looks wrong")
        .await;
    let second = session.fake.requests()[1].body["input"].to_string();
    assert!(second.contains(r"Review this:\na - b"), "{second}");

    // A title no definition has is refused, naming the tasks there are.
    let unknown = session
        .editor
        .request(
            "workspace/executeCommand",
            json!({
                "command": "agentls.userTask",
                "arguments": [{"task": "Agent: Nope", "uri": uri, "range": range((1, 4), (1, 4))}],
            }),
        )
        .await;
    assert_eq!(unknown["error"]["code"], -32803, "{unknown}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the tasks are: Agent: Add docs, Agent: Review selection"),
        "{unknown}"
    );
}

/// A task with `edits = "review"` holds its change for the user's review though
/// `[approvals] edits` is the default, `apply`: no edit reaches the buffer until
/// the user applies it.
#[tokio::test]
async fn a_user_task_with_edits_review_waits_for_the_users_apply() {
    let mut session = session().await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": FIX_PATCH }),
        )]))
        .push(Script::text("Documented."));
    let uri = session.open_lib().await;
    let cursor = actions_for(&mut session, &uri, range((1, 4), (1, 4)), json!([])).await;
    let add_docs = cursor
        .iter()
        .find(|action| action["title"] == "Agent: Add docs")
        .unwrap();
    session
        .editor
        .request("workspace/executeCommand", add_docs["command"].clone())
        .await;
    session
        .editor
        .until_message("it waits for your review")
        .await;
    assert_eq!(session.editor.text(&uri), BUGGY);
    assert!(session.editor.apply_requests.is_empty());
    let applied = session
        .editor
        .request(
            "workspace/executeCommand",
            json!({ "command": "agentls.applyPending" }),
        )
        .await;
    assert!(applied.get("result").is_some(), "{applied}");
    session.editor.until_message("Add docs: Documented.").await;
    assert_eq!(session.editor.text(&uri), FIXED);
}

/// The direct lane writes a code action answer itself (`lsp/src/direct.rs`);
/// a frame over its 64 KiB limit goes through the router, which answers with
/// `lsp_types`' types. Both must read the same, byte for byte: quick fixes
/// listing their diagnostics, spots with and without them, and user tasks.
#[tokio::test]
async fn code_actions_read_the_same_through_the_direct_lane_and_the_router() {
    let mut session = session().await;
    let lib = session.open_lib().await;
    // Unfinished code and an instruction comment: Implement and Do what the
    // comment says.
    let todo = session
        .open_rust(
            "src/todo.rs",
            "// agent: make it iterative\npub fn count(n: u32) -> u32 {\n    todo!()\n}\n",
        )
        .await;
    for (uri, range, diagnostics) in [
        (&lib, range((1, 4), (1, 4)), diagnostic(1, "wrong sign")),
        (&lib, range((1, 4), (1, 9)), json!([])),
        (
            &lib,
            range((0, 0), (2, 0)),
            diagnostic(1, "a \"quoted\" message"),
        ),
        (&todo, range((1, 4), (1, 4)), json!([])),
    ] {
        let params = json!({
            "textDocument": {"uri": uri},
            "range": range,
            "context": {"diagnostics": diagnostics},
        });
        let direct = session
            .editor
            .request("textDocument/codeAction", params.clone())
            .await;
        // An unknown member makes the frame too large for the direct lane;
        // the params are the same to `CodeActionParams`.
        let mut padded = params;
        padded["padding"] = json!("x".repeat(70 * 1024));
        let routed = session
            .editor
            .request("textDocument/codeAction", padded)
            .await;
        assert!(
            direct["result"].as_array().is_some_and(|a| !a.is_empty()),
            "{direct}"
        );
        assert_eq!(direct["result"].to_string(), routed["result"].to_string());
    }
}
