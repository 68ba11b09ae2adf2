//! The agent in the editor, end to end: code actions answered at once,
//! `executeCommand` starting a turn against the fake provider, edits landing in
//! the scripted editor's buffers as versioned `workspace/applyEdit`s, progress,
//! approvals (granted, denied, timed out, through the code-action fallback),
//! races with the user's typing, undo, interrupting through progress cancel, a
//! multi-file task, and the `agent/*` extension for richer clients.

mod common;

use common::*;
#[tokio::test]
async fn editor_code_actions_at_a_spot_answer_without_a_model_call() {
    let mut session = Session::start(Options::default()).await;
    let uri = session.open_lib().await;
    let actions = session
        .code_actions(&uri, 1, diagnostic(1, "wrong sign"))
        .await;
    expect_test::expect![[r#"
        [
            "Agent: Fix this [quickfix] -> agentls.fix",
            "Agent: Explain this [refactor.rewrite] -> agentls.explain",
            "Agent: Write tests for this [refactor.rewrite] -> agentls.writeTests",
            "Agent: Show agent context [refactor.rewrite] -> agentls.showContext",
        ]
    "#]]
    .assert_debug_eq(&titles(&actions));
    // The Fix action carries the diagnostics, to the agent and to the editor.
    assert_eq!(actions[0]["diagnostics"][0]["message"], "wrong sign");
    assert_eq!(
        actions[0]["command"]["arguments"][0]["diagnostics"][0]["message"],
        "wrong sign"
    );

    let todo = session
        .open_rust(
            "src/todo.rs",
            "// agent: make this iterative\nfn fact(n: u64) -> u64 {\n    todo!()\n}\n",
        )
        .await;
    let actions = session.code_actions(&todo, 1, json!([])).await;
    expect_test::expect![[r#"
        [
            "Agent: Explain this [refactor.rewrite] -> agentls.explain",
            "Agent: Implement this [refactor.rewrite] -> agentls.implement",
            "Agent: Write tests for this [refactor.rewrite] -> agentls.writeTests",
            "Agent: Do what the comment says [refactor.rewrite] -> agentls.doComment",
            "Agent: Show agent context [refactor.rewrite] -> agentls.showContext",
        ]
    "#]]
    .assert_debug_eq(&titles(&actions));
    assert!(
        session.fake.requests().is_empty(),
        "no model call for code actions"
    );
}

/// Issue 18: the agent's edit waits in the buffer for the user's save, and a
/// command the agent runs next sees it there all the same (the buffer's text is
/// bound over the file in the command's mount namespace), while the disk keeps
/// the saved text. The model hears which files it saw unsaved.
#[tokio::test]
async fn a_command_after_an_edit_sees_the_unsaved_buffer_and_the_disk_is_untouched() {
    let mut session = Session::start(Options::default()).await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": FIX_PATCH }),
        )]))
        .push(Script::tool_calls([ToolCall::new(
            "shell",
            json!({ "command": ["cat", "src/lib.rs"] }),
        )]))
        .push(Script::text("It adds now."));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, diagnostic(1, "wrong sign"), "Agent: Fix this")
        .await;
    session.editor.until_message("Fix this: It adds now").await;
    assert_eq!(session.editor.text(&uri), FIXED);
    assert_eq!(
        std::fs::read_to_string(session.path("src/lib.rs")).unwrap(),
        BUGGY
    );
    let outputs = tool_outputs(&session.fake);
    let output = outputs.last().expect("the command's output");
    let support = agentls_core::sandbox::sandbox_support();
    if matches!(
        support.containment_for(agentls_core::process::SandboxPolicy::WorkspaceWrite),
        agentls_core::sandbox::ProcessContainment::PidNamespace { .. }
    ) {
        assert!(output.contains("a + b"), "{output}");
        assert!(
            output.contains("the command saw the editor's unsaved text of src/lib.rs"),
            "{output}"
        );
    } else {
        assert!(output.contains("a - b"), "{output}");
        assert!(
            output.contains("saw the files as saved on disk"),
            "{output}"
        );
    }
}

#[tokio::test]
async fn editor_fix_this_lands_a_versioned_minimal_edit_in_the_buffer_only() {
    let mut session = Session::start(Options::default()).await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": FIX_PATCH }),
        )]))
        .push(Script::text("It subtracted; it adds now."));
    let uri = session.open_lib().await;
    let response = session
        .run_action(&uri, 1, diagnostic(1, "wrong sign"), "Agent: Fix this")
        .await;
    assert!(response["result"]["threadId"].is_string(), "{response}");

    let done = session
        .editor
        .until_message("Fix this: It subtracted")
        .await;
    assert_eq!(session.editor.text(&uri), FIXED);
    assert_eq!(
        done,
        "agentls: Fix this: It subtracted; it adds now. Changed src/lib.rs."
    );
    // One small edit, versioned against what the agent read.
    let edit = &session.editor.apply_requests[0]["edit"]["documentChanges"][0];
    assert_eq!(edit["textDocument"]["version"], 1);
    assert_eq!(edit["edits"].as_array().unwrap().len(), 1, "{edit}");
    assert!(
        edit["edits"][0]["newText"].as_str().unwrap().len() < 20,
        "{edit}"
    );
    // The fix lives in the buffer until the user saves it: nothing was written
    // behind the editor's back (issue 18).
    assert_eq!(
        std::fs::read_to_string(session.path("src/lib.rs")).unwrap(),
        BUGGY
    );
    // The task's text and the diagnostic reached the model.
    let first = &session.fake.requests()[0].body;
    let input = first["input"].to_string();
    assert!(
        input.contains("wrong sign (rustc E0000) at line 2"),
        "{input}"
    );
    assert!(
        input.contains("a - b"),
        "the code around the cursor is sent: {input}"
    );
    // Progress: begin, reports, end; start and end also as messages.
    let progress: Vec<Value> = session
        .editor
        .shown("$/progress")
        .into_iter()
        .filter(|p| {
            p["token"]
                .as_str()
                .is_some_and(|token| token.starts_with("agentls/turn/"))
        })
        .collect();
    assert_eq!(progress.first().unwrap()["value"]["kind"], "begin");
    assert_eq!(
        progress.first().unwrap()["value"]["title"],
        "Agent: Fix this"
    );
    assert!(
        progress
            .iter()
            .any(|p| p["value"]["message"] == "applying edits"),
        "{progress:#?}"
    );
    assert_eq!(progress.last().unwrap()["value"]["kind"], "end");
    let messages = session.editor.messages();
    assert!(
        messages[0].starts_with("agentls: Fix this on src/lib.rs started"),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn editor_approval_granted_through_show_message_request() {
    let mut session = Session::start(Options::default()).await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "shell",
            json!({ "command": ["touch", "checked.txt"], "justification": "mark it checked" }),
        )]))
        .push(Script::text("Checked."));
    session.editor.answers.push_back(Answer::Pick("Allow"));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
        .await;
    session
        .editor
        .until_message("Write tests for this: Checked.")
        .await;

    let asked = session.editor.shown("window/showMessageRequest");
    assert_eq!(asked.len(), 1);
    let question = asked[0]["message"].as_str().unwrap();
    assert!(question.contains("`touch checked.txt`"), "{question}");
    assert!(
        question.contains(&session.root().display().to_string()),
        "{question}"
    );
    assert!(question.contains("Reason: mark it checked"), "{question}");
    let actions: Vec<&str> = asked[0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["Allow", "Allow for this thread", "Deny"]);
    assert!(
        session.path("checked.txt").exists(),
        "the approved command ran"
    );
    let outputs = tool_outputs(&session.fake);
    assert!(
        outputs
            .iter()
            .any(|output| output.starts_with("exit code: 0")),
        "{outputs:#?}"
    );
}

#[tokio::test]
async fn editor_approval_denied_dismissed_and_timed_out_are_denies() {
    for answer in [Answer::Pick("Deny"), Answer::Dismiss, Answer::Ignore] {
        let options = Options {
            approvals: json!({ "policy": "untrusted", "timeout_secs": 1 }),
            ..Options::default()
        };
        let mut session = Session::start(options).await;
        session
            .fake
            .push(Script::tool_calls([ToolCall::new(
                "shell",
                json!({ "command": ["touch", "checked.txt"] }),
            )]))
            .push(Script::text("Not allowed, so not checked."));
        session.editor.answers.push_back(answer.clone());
        let uri = session.open_lib().await;
        session
            .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
            .await;
        session.editor.until_message("Not allowed").await;
        assert!(
            !session.path("checked.txt").exists(),
            "{answer:?}: the command must not run"
        );
        let outputs = tool_outputs(&session.fake);
        assert!(
            outputs
                .iter()
                .any(|output| output.to_lowercase().contains("denied")
                    || output.to_lowercase().contains("declined")),
            "{answer:?}: {outputs:#?}"
        );
    }
}

#[tokio::test]
async fn editor_approval_through_the_code_action_fallback_without_prompts() {
    // Helix 25.07: no showMessageRequest; the approval is a code action.
    let options = Options {
        capabilities: editor_capabilities(false),
        ..Options::default()
    };
    let mut session = Session::start(options).await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "shell",
            json!({ "command": ["touch", "checked.txt"] }),
        )]))
        .push(Script::text("Checked."));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
        .await;
    let announced = session
        .editor
        .until_message("wants to run `touch checked.txt`")
        .await;
    assert!(announced.contains("agentls.approve 1"), "{announced}");
    let actions = session.code_actions(&uri, 0, json!([])).await;
    let listed = titles(&actions);
    assert_eq!(
        listed[0], "Agent: Approve: run `touch checked.txt` [quickfix] -> agentls.approve",
        "{listed:#?}"
    );
    assert!(
        listed.contains(&"Agent: Deny: `touch checked.txt` [quickfix] -> agentls.deny".to_string())
    );
    assert!(listed.contains(&"Agent: Stop agent [quickfix] -> agentls.stop".to_string()));
    let response = session
        .editor
        .request("workspace/executeCommand", actions[0]["command"].clone())
        .await;
    assert_eq!(response["result"]["id"], "1", "{response}");
    session
        .editor
        .until_message("Write tests for this: Checked.")
        .await;
    assert!(session.path("checked.txt").exists());
    assert!(session.editor.shown("window/showMessageRequest").is_empty());
    // Answered once: a second answer names the problem.
    let again = session
        .editor
        .request(
            "workspace/executeCommand",
            json!({"command": "agentls.deny", "arguments": ["1"]}),
        )
        .await;
    assert_eq!(
        again["error"]["message"], "no approval 1 is pending",
        "{again}"
    );
}

#[tokio::test]
async fn editor_user_typing_while_the_agent_edits_is_rebased_or_refused() {
    // The agent changes two files; while the editor applies the first, the user
    // types in the second: away from the agent's lines (re-based), then on them
    // (conflict: nothing of that file is applied; the model and the user are told
    // that the first file did land).
    for conflict in [false, true] {
        let mut session = Session::start(Options::default()).await;
        let other_text = "pub fn sub(a: i32, b: i32) -> i32 {\n    a + b\n}\n";
        std::fs::write(session.path("src/other.rs"), other_text).unwrap();
        let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n pub fn add(a: i32, b: i32) -> i32 {\n-    a - b\n+    a + b\n }\n*** Update File: src/other.rs\n@@\n pub fn sub(a: i32, b: i32) -> i32 {\n-    a + b\n+    a - b\n }\n*** End Patch\n";
        session
            .fake
            .push(Script::tool_calls([ToolCall::new(
                "apply_patch",
                json!({ "input": patch }),
            )]))
            .push(Script::text("Swapped the signs."));
        let uri = session.open_lib().await;
        let other_path = session.path("src/other.rs");
        let other = session.editor.open(&other_path, "rust", other_text).await;
        let typed_uri = other.clone();
        session.editor.before_next_apply(Box::new(move |_| {
            let change = if conflict {
                json!({"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 9}}, "text": "b + a"})
            } else {
                json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "// user\n"})
            };
            vec![(typed_uri.clone(), change)]
        }));
        session
            .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
            .await;
        session
            .editor
            .until_message("Write tests for this: Swapped")
            .await;
        assert_eq!(session.editor.text(&uri), FIXED);
        if conflict {
            assert_eq!(
                session.editor.text(&other),
                "pub fn sub(a: i32, b: i32) -> i32 {\n    b + a\n}\n"
            );
            let warning = session
                .editor
                .messages()
                .into_iter()
                .find(|message| message.contains("overlaps the user's edits"))
                .expect("the user is told");
            assert!(
                warning.contains("src/other.rs") && warning.contains("line 2"),
                "{warning}"
            );
            // src/lib.rs landed before the user typed in src/other.rs: the model
            // is told exactly that, not that nothing changed.
            let outputs = tool_outputs(&session.fake);
            let output = outputs
                .iter()
                .find(|output| output.contains("overlaps the user's edits"))
                .unwrap_or_else(|| panic!("{outputs:#?}"));
            assert!(
                output.starts_with("the patch was applied only in part: ")
                    && output.contains("src/lib.rs changed")
                    && !output.contains("not applied"),
                "{output}"
            );
            assert!(
                warning.contains("landed only in part (src/lib.rs changed)"),
                "{warning}"
            );
        } else {
            assert_eq!(
                session.editor.text(&other),
                "// user\npub fn sub(a: i32, b: i32) -> i32 {\n    a - b\n}\n"
            );
        }
    }
}

#[tokio::test]
async fn editor_neovim_dropping_a_stale_edit_is_not_believed() {
    // Neovim 0.7 drops a stale edit and still answers `applied: true`.
    let mut session = Session::start(Options::default()).await;
    session.editor.apply_mode = ApplyMode::DropStaleButSayApplied;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": FIX_PATCH }),
        )]))
        .push(Script::text("Tried."));
    let uri = session.open_lib().await;
    let typed = uri.clone();
    // The user types right as the edit arrives, so it is stale in the editor.
    session.editor.before_next_apply(Box::new(move |_| {
        vec![(typed.clone(), json!({"range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 0}}, "text": "// end\n"}))]
    }));
    session
        .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
        .await;
    let warning = session.editor.until_message("did not apply the edit").await;
    assert!(warning.contains("src/lib.rs"), "{warning}");
    session
        .editor
        .until_message("Write tests for this: Tried.")
        .await;
    assert_eq!(session.editor.text(&uri), format!("{BUGGY}// end\n"));
    let outputs = tool_outputs(&session.fake);
    assert!(
        outputs
            .iter()
            .any(|output| output.contains("did not apply the edit")),
        "{outputs:#?}"
    );
}

#[tokio::test]
async fn editor_undo_reverts_the_last_turn_hunk_by_hunk() {
    for user_edits_since in [false, true] {
        let mut session = Session::start(Options::default()).await;
        let text = "fn one() -> i32 {\n    1\n}\n\nfn two() -> i32 {\n    2\n}\n";
        std::fs::write(session.path("src/lib.rs"), text).unwrap();
        let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn one() -> i32 {\n-    1\n+    10\n }\n@@\n fn two() -> i32 {\n-    2\n+    20\n }\n*** End Patch\n";
        session
            .fake
            .push(Script::tool_calls([ToolCall::new(
                "apply_patch",
                json!({ "input": patch }),
            )]))
            .push(Script::text("Multiplied."));
        let path = session.path("src/lib.rs");
        let uri = session.editor.open(&path, "rust", text).await;
        session
            .run_action(&uri, 0, json!([]), "Agent: Write tests for this")
            .await;
        session.editor.until_message("Multiplied.").await;
        assert_eq!(
            session.editor.text(&uri),
            "fn one() -> i32 {\n    10\n}\n\nfn two() -> i32 {\n    20\n}\n"
        );
        if user_edits_since {
            session
                .editor
                .type_change(&uri, json!({"range": {"start": {"line": 5, "character": 4}, "end": {"line": 5, "character": 6}}, "text": "200"}))
                .await;
        }
        let message = {
            let response = session
                .run_action(&uri, 0, json!([]), "Agent: Undo last agent change")
                .await;
            assert!(response["result"].is_object(), "{response}");
            session
                .editor
                .until_message("undid Write tests for this")
                .await
        };
        if user_edits_since {
            assert_eq!(
                session.editor.text(&uri),
                "fn one() -> i32 {\n    1\n}\n\nfn two() -> i32 {\n    200\n}\n"
            );
            assert_eq!(message, "agentls: undid Write tests for this in src/lib.rs; kept line 6 of src/lib.rs because you edited them since");
        } else {
            assert_eq!(session.editor.text(&uri), text);
            assert_eq!(message, "agentls: undid Write tests for this in src/lib.rs");
        }
        // Nothing left to undo: the action is gone.
        let actions = titles(&session.code_actions(&uri, 0, json!([])).await);
        assert!(
            !actions.iter().any(|title| title.contains("Undo")),
            "{actions:#?}"
        );
    }
}

#[tokio::test]
async fn editor_cancelling_the_progress_interrupts_the_turn() {
    let mut session = Session::start(Options::default()).await;
    session.fake.push(Script::stall());
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Explain this")
        .await;
    let begin = session
        .editor
        .serve_until(|message| {
            message["method"] == "$/progress"
                && message["params"]["value"]["kind"] == "begin"
                && message["params"]["value"]["title"] == "Agent: Explain this"
        })
        .await;
    assert_eq!(begin["params"]["value"]["cancellable"], true);
    session.fake.wait_for_requests(1).await;
    let token = begin["params"]["token"].clone();
    session
        .editor
        .client
        .notify("window/workDoneProgress/cancel", json!({ "token": token }))
        .await;
    let message = session.editor.until_message("stopped").await;
    assert_eq!(message, "agentls: Explain this stopped");
    let progress = session.editor.shown("$/progress");
    let end = progress.iter().rev().find(|p| p["token"] == token).unwrap();
    assert_eq!(end["value"], json!({"kind": "end", "message": "stopped"}));
    assert_eq!(end["token"], token);
}

#[tokio::test]
async fn editor_a_second_task_on_a_busy_buffer_is_refused_and_stop_ends_the_first() {
    let mut session = Session::start(Options::default()).await;
    session.fake.push(Script::stall());
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
        .await;
    session.fake.wait_for_requests(1).await;
    let second = session
        .run_action(&uri, 1, diagnostic(1, "wrong sign"), "Agent: Fix this")
        .await;
    let error = second["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{second}"));
    assert!(
        error.contains("already working on")
            && error.contains("src/lib.rs")
            && error.contains("Write tests for this"),
        "{error}"
    );
    // Explaining only reads: it may run beside it.
    session
        .fake
        .push(Script::text("It adds two numbers, or should."));
    let explain = session
        .run_action(&uri, 1, json!([]), "Agent: Explain this")
        .await;
    assert!(explain["result"]["threadId"].is_string(), "{explain}");
    session.editor.until_message("Explain this: It adds").await;

    let stop = session
        .run_action(&uri, 1, json!([]), "Agent: Stop agent")
        .await;
    assert_eq!(stop["result"]["stopped"], 1, "{stop}");
    session
        .editor
        .until_message("Write tests for this stopped")
        .await;
}

#[tokio::test]
async fn editor_multi_file_task_creates_and_renames_files() {
    for resource_operations in [true, false] {
        let mut capabilities = editor_capabilities(true);
        if !resource_operations {
            capabilities["workspace"]["workspaceEdit"]["resourceOperations"] = json!([]);
        }
        let mut session = Session::start(Options {
            capabilities,
            ..Options::default()
        })
        .await;
        std::fs::write(session.path("src/old.rs"), "pub fn old() {}\n").unwrap();
        let patch = "*** Begin Patch\n*** Add File: src/new.rs\n+pub fn new() {}\n*** Update File: src/old.rs\n*** Move to: src/renamed.rs\n@@\n-pub fn old() {}\n+pub fn renamed() {}\n*** End Patch\n";
        session
            .fake
            .push(Script::tool_calls([ToolCall::new(
                "apply_patch",
                json!({ "input": patch }),
            )]))
            .push(Script::text("Added and renamed."));
        let uri = session.open_lib().await;
        session
            .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
            .await;
        session.editor.until_message("Added and renamed.").await;
        assert_eq!(
            std::fs::read_to_string(session.path("src/new.rs")).unwrap(),
            "pub fn new() {}\n"
        );
        assert_eq!(
            std::fs::read_to_string(session.path("src/renamed.rs")).unwrap(),
            "pub fn renamed() {}\n"
        );
        assert!(!session.path("src/old.rs").exists());
        let kinds: Vec<String> = session
            .editor
            .apply_requests
            .iter()
            .flat_map(|request| {
                request["edit"]["documentChanges"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|change| change["kind"].as_str().map(str::to_string))
            .collect();
        if resource_operations {
            assert_eq!(
                kinds,
                ["create", "rename"],
                "{:#?}",
                session.editor.apply_requests
            );
        } else {
            assert!(kinds.is_empty(), "the server writes them itself: {kinds:?}");
        }
        // Undo puts everything back.
        session
            .run_action(&uri, 1, json!([]), "Agent: Undo last agent change")
            .await;
        session.editor.until_message("undid").await;
        assert!(!session.path("src/new.rs").exists());
        assert!(!session.path("src/renamed.rs").exists());
        assert_eq!(
            std::fs::read_to_string(session.path("src/old.rs")).unwrap(),
            "pub fn old() {}\n"
        );
    }
}

#[tokio::test]
async fn editor_long_answers_open_as_a_document() {
    let mut session = Session::start(Options::default()).await;
    let explanation = format!("# add\n\n{}", "It adds two numbers. ".repeat(40));
    session.fake.push(Script::text(explanation.clone()));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Explain this")
        .await;
    let message = session.editor.until_message("Explain this done").await;
    assert_eq!(message, "agentls: Explain this done: add");
    let shown = session.editor.shown("window/showDocument");
    let document = shown[0]["uri"].as_str().unwrap();
    let text = std::fs::read_to_string(document.strip_prefix("file://").unwrap()).unwrap();
    assert!(
        text.starts_with("# Explain this (src/lib.rs)\n\n# add"),
        "{text}"
    );
}

#[tokio::test]
async fn editor_tasks_on_different_files_run_at_once() {
    // The task on src/lib.rs is held mid-answer (its stream gated) while a task
    // on src/other.rs starts, edits its file and finishes; then the first one
    // lands too.
    let other_text = "pub fn sub(a: i32, b: i32) -> i32 {\n    a + b\n}\n";
    let mut session = Session::start(Options {
        files: vec![("src/other.rs", other_text)],
        ..Options::default()
    })
    .await;
    let other_patch = "*** Begin Patch\n*** Update File: src/other.rs\n@@\n pub fn sub(a: i32, b: i32) -> i32 {\n-    a + b\n+    a - b\n }\n*** End Patch\n";
    let gate = agentls_tests::fake_provider::Gate::new();
    session
        .fake
        .push(Script::Gated {
            answer: agentls_tests::fake_provider::Answer {
                tool_calls: vec![ToolCall::new("apply_patch", json!({ "input": FIX_PATCH }))],
                ..Default::default()
            },
            gate: gate.clone(),
        })
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": other_patch }),
        )]))
        .push(Script::text("Fixed sub."))
        .push(Script::text("Fixed add."));
    let lib = session.open_lib().await;
    let other_path = session.path("src/other.rs");
    let other = session.editor.open(&other_path, "rust", other_text).await;
    session
        .run_action(&lib, 1, diagnostic(1, "wrong sign"), "Agent: Fix this")
        .await;
    tokio::time::timeout(
        agentls_tests::client::RECV_TIMEOUT,
        session.fake.wait_for_requests(1),
    )
    .await
    .expect("the first task asks the model");
    session
        .run_action(&other, 1, diagnostic(1, "wrong sign"), "Agent: Fix this")
        .await;
    session.editor.until_message("Fix this: Fixed sub.").await;
    assert_eq!(
        session.editor.text(&other),
        "pub fn sub(a: i32, b: i32) -> i32 {\n    a - b\n}\n"
    );
    assert_eq!(
        session.editor.text(&lib),
        BUGGY,
        "the first task is still waiting on its model"
    );
    gate.open(1000);
    session.editor.until_message("Fix this: Fixed add.").await;
    assert_eq!(session.editor.text(&lib), FIXED);
}

#[tokio::test]
async fn editor_explain_and_write_tests_ask_the_model_their_task_at_the_spot() {
    let mut session = Session::start(Options::default()).await;
    session
        .fake
        .push(Script::text("It subtracts."))
        .push(Script::text("Added a test."));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Explain this")
        .await;
    session
        .editor
        .until_message("Explain this: It subtracts.")
        .await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
        .await;
    session
        .editor
        .until_message("Write tests for this: Added a test.")
        .await;
    let requests = session.fake.requests();
    let user_text = |index: usize| {
        requests[index].body["input"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|item| item["role"] == "user")
            .map(|item| item["content"].to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let explain = user_text(0);
    assert!(
        explain.contains("Explain what the code at `src/lib.rs` line 2 does and why")
            && explain.contains("Do not change any file."),
        "{explain}"
    );
    assert!(
        explain.contains("a - b"),
        "the code goes with it: {explain}"
    );
    let tests = user_text(1);
    assert!(
        tests.contains("Write tests for the code at `src/lib.rs` line 2, where and how this project keeps its tests."),
        "{tests}"
    );
}

#[tokio::test]
async fn editor_extension_requests_stream_items_and_the_turn_diff() {
    let mut capabilities = editor_capabilities(true);
    capabilities["experimental"] = json!({ "agentls": true });
    let mut session = Session::start(Options {
        capabilities,
        ..Options::default()
    })
    .await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": FIX_PATCH }),
        )]))
        .push(Script::text("Fixed the sign."));
    let uri = session.open_lib().await;
    let started = session
        .editor
        .request(
            "agent/turnStart",
            json!({"text": "fix the sign", "uri": uri, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}}),
        )
        .await;
    let thread_id = started["result"]["threadId"]
        .as_str()
        .unwrap_or_else(|| panic!("{started}"))
        .to_string();
    let completed = session
        .editor
        .serve_until(|message| message["method"] == "agent/turnCompleted")
        .await;
    assert_eq!(completed["params"]["status"], "completed");
    assert_eq!(completed["params"]["threadId"], thread_id.as_str());
    let diff = session.editor.shown("agent/turnDiff");
    expect_test::expect![[r#"
        --- a/src/lib.rs
        +++ b/src/lib.rs
        @@ -1,3 +1,3 @@
         pub fn add(a: i32, b: i32) -> i32 {
        -    a - b
        +    a + b
         }
    "#]]
    .assert_eq(diff[0]["diff"].as_str().unwrap());
    let deltas: String = session
        .editor
        .shown("agent/itemDelta")
        .iter()
        .filter_map(|delta| delta["delta"]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(deltas, "Fixed the sign.");
    let kinds: Vec<String> = session
        .editor
        .shown("agent/itemCompleted")
        .iter()
        .map(|item| item["item"]["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        ["userMessage", "fileChange", "assistantMessage"],
        "{kinds:?}"
    );

    // The thread goes on; listing shows it.
    session.fake.push(Script::text("Nothing else to do."));
    let next = session
        .editor
        .request(
            "agent/turnStart",
            json!({"threadId": thread_id, "text": "anything else?"}),
        )
        .await;
    assert_eq!(next["result"]["threadId"], thread_id.as_str(), "{next}");
    session
        .editor
        .serve_until(|message| message["method"] == "agent/turnCompleted")
        .await;
    let list = session.editor.request("agent/threadList", json!({})).await;
    assert_eq!(
        list["result"]["threads"][0]["id"],
        thread_id.as_str(),
        "{list}"
    );
    let unknown = session
        .editor
        .request("agent/turnInterrupt", json!({"threadId": "nope"}))
        .await;
    assert_eq!(unknown["error"]["code"], -32602);
    assert_eq!(unknown["error"]["message"], "unknown thread nope");
}

#[tokio::test]
async fn editor_fix_this_through_the_spawned_binary() {
    let mut session = Session::start(Options {
        binary: true,
        ..Options::default()
    })
    .await;
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "shell",
            json!({ "command": ["touch", "checked.txt"] }),
        )]))
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": FIX_PATCH }),
        )]))
        .push(Script::text("Fixed."));
    session.editor.answers.push_back(Answer::Pick("Allow"));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, diagnostic(1, "wrong sign"), "Agent: Fix this")
        .await;
    session.editor.until_message("Fix this: Fixed.").await;
    assert_eq!(session.editor.text(&uri), FIXED);
    assert!(session.path("checked.txt").exists());
}

#[tokio::test]
async fn editor_implement_and_do_what_the_comment_says_reach_the_model() {
    let mut session = Session::start(Options::default()).await;
    let source = "// agent: make this iterative\nfn fact(n: u64) -> u64 {\n    todo!()\n}\n";
    let path = session.path("src/fact.rs");
    std::fs::write(&path, source).unwrap();
    let patch = "*** Begin Patch\n*** Update File: src/fact.rs\n@@\n-// agent: make this iterative\n fn fact(n: u64) -> u64 {\n-    todo!()\n+    (1..=n).product()\n }\n*** End Patch\n";
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": patch }),
        )]))
        .push(Script::text("Iterative now."))
        .push(Script::text("Already implemented."));
    let uri = session.editor.open(&path, "rust", source).await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Do what the comment says")
        .await;
    session
        .editor
        .until_message("Do what the comment says: Iterative now.")
        .await;
    assert_eq!(
        session.editor.text(&uri),
        "fn fact(n: u64) -> u64 {\n    (1..=n).product()\n}\n"
    );
    let asked = session.fake.requests()[0].body["input"].to_string();
    assert!(
        asked.contains(r#"comment in `src/fact.rs` line 1 asks: \"make this iterative\""#),
        "{asked}"
    );

    // Implement is offered on the todo!() only while there is one.
    let actions = titles(&session.code_actions(&uri, 1, json!([])).await);
    assert!(
        !actions
            .iter()
            .any(|title| title.starts_with("Agent: Implement")),
        "{actions:#?}"
    );
    session
        .editor
        .type_change(&uri, json!({"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 21}}, "text": "unimplemented!()"}))
        .await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Implement this")
        .await;
    session
        .editor
        .until_message("Implement this: Already implemented.")
        .await;
    let asked = session.fake.requests().last().unwrap().body["input"].to_string();
    assert!(
        asked.contains("Implement the unfinished code at `src/fact.rs` line 2"),
        "{asked}"
    );
    assert!(
        asked.contains("unimplemented!()"),
        "the user's unsaved text is what the agent sees: {asked}"
    );
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

/// util.rs defines `bump`; main.rs calls it on line 4, at character 18.
const BUMP_FILES: [(&str, &str); 2] = [
    (
        "src/util.rs",
        "/// Adds one, saturating.\npub fn bump(value: u32) -> u32 {\n    value.saturating_add(1)\n}\n",
    ),
    (
        "src/main.rs",
        "mod util;\n\nfn main() {\n    let n = util::bump(41);\n    println!(\"{n}\");\n}\n",
    ),
];

/// A session on [`BUMP_FILES`], indexed, with main.rs open; its URI.
async fn bump_session() -> (Session, String) {
    let mut session = Session::start(Options {
        files: BUMP_FILES.to_vec(),
        ..Options::default()
    })
    .await;
    wait_for_index(&mut session.editor).await;
    let main = session.path("src/main.rs");
    let uri = session.editor.open(&main, "rust", BUMP_FILES[1].1).await;
    (session, uri)
}

/// The text `agent/context` shows of `bump`'s definition for the cursor in
/// main.rs; polled (the index follows the buffers after a pause in typing)
/// until `wanted` is in it, else the last text seen.
async fn bump_definition_until(session: &mut Session, uri: &str, wanted: &str) -> String {
    let cursor =
        json!({"start": {"line": 3, "character": 18}, "end": {"line": 3, "character": 18}});
    let mut text = String::new();
    for _ in 0..100 {
        let context = session
            .editor
            .request("agent/context", json!({"uri": uri, "range": cursor}))
            .await;
        text = context["result"]["pieces"]
            .as_array()
            .unwrap_or_else(|| panic!("{context}"))
            .iter()
            .find(|piece| piece["kind"] == "definition")
            .map(|piece| piece["text"].as_str().unwrap().to_string())
            .unwrap_or_default();
        if text.contains(wanted) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    text
}

/// The index keeps no copy of an open buffer's text: the definition a prompt
/// shows from another open file is read from the editor's buffer (its unsaved
/// edit shown), and from the disk again once the buffer is closed unsaved.
#[tokio::test]
async fn editor_context_shows_other_buffers_unsaved_text_and_the_disk_after_close() {
    let (mut session, main_uri) = bump_session().await;
    let util = session.path("src/util.rs");
    let util_uri = session.editor.open(&util, "rust", BUMP_FILES[0].1).await;
    // The user rewrites the doc comment and does not save.
    session
        .editor
        .type_change(
            &util_uri,
            json!({"range": {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 25}}, "text": "Adds one, unless at the maximum."}),
        )
        .await;
    let shown = bump_definition_until(&mut session, &main_uri, "unless at the maximum").await;
    assert!(
        shown.starts_with("/// Adds one, unless at the maximum.\npub fn bump"),
        "the unsaved buffer's text: {shown:?}"
    );
    session.editor.close(&util_uri).await;
    let shown = bump_definition_until(&mut session, &main_uri, "saturating").await;
    assert!(
        shown.starts_with("/// Adds one, saturating.\npub fn bump"),
        "closed unsaved: the disk's text: {shown:?}"
    );
}

/// What the user typed lately reaches the context a task sends, as a
/// "recent edit" piece at the lines where it now stands.
#[tokio::test]
async fn editor_context_shows_the_lines_typed_lately_where_they_now_are() {
    let (mut session, uri) = bump_session().await;
    // A helper typed below `main`, then a line added above everything.
    session
        .editor
        .type_change(
            &uri,
            json!({"range": {"start": {"line": 6, "character": 0}, "end": {"line": 6, "character": 0}}, "text": "\nfn helper() -> u32 {\n    7\n}\n"}),
        )
        .await;
    session
        .editor
        .type_change(
            &uri,
            json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "//! The demo.\n"}),
        )
        .await;
    let cursor =
        json!({"start": {"line": 4, "character": 18}, "end": {"line": 4, "character": 18}});
    let context = session
        .editor
        .request("agent/context", json!({"uri": uri, "range": cursor}))
        .await;
    let edits: Vec<(u64, String)> = context["result"]["pieces"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}"))
        .iter()
        .filter(|piece| piece["kind"] == "recent edit")
        .map(|piece| {
            (
                piece["startLine"].as_u64().unwrap(),
                piece["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        edits
            .iter()
            .any(|(start, text)| *start == 8 && text.contains("fn helper() -> u32 {")),
        "the helper, moved down a line by the edit above it: {edits:?}"
    );
    assert!(
        edits
            .iter()
            .any(|(start, text)| *start == 1 && text.contains("//! The demo.")),
        "the line added on top: {edits:?}"
    );
}

#[tokio::test]
async fn editor_context_shows_what_a_task_sends_and_the_task_sends_it() {
    let (mut session, uri) = bump_session().await;
    let cursor =
        json!({"start": {"line": 3, "character": 18}, "end": {"line": 3, "character": 18}});
    let context = session
        .editor
        .request("agent/context", json!({"uri": uri, "range": cursor}))
        .await;
    let pieces = context["result"]["pieces"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}"));
    let summary: Vec<String> = pieces
        .iter()
        .map(|piece| {
            format!(
                "{} [{}] {}-{}",
                piece["label"].as_str().unwrap(),
                piece["kind"].as_str().unwrap(),
                piece["startLine"],
                piece["endLine"]
            )
        })
        .collect();
    assert!(
        summary
            .iter()
            .any(|piece| piece.contains("[enclosing item] 3-6")),
        "{summary:#?}"
    );
    let definition = pieces
        .iter()
        .find(|piece| piece["kind"] == "definition")
        .unwrap_or_else(|| panic!("{summary:#?}"));
    assert!(
        definition["path"]
            .as_str()
            .unwrap()
            .ends_with("src/util.rs"),
        "{definition}"
    );
    assert!(
        definition["text"].as_str().unwrap().contains("Adds one"),
        "{definition}"
    );
    let total: u64 = pieces
        .iter()
        .map(|piece| piece["nTokens"].as_u64().unwrap())
        .sum();
    assert_eq!(context["result"]["nTokens"].as_u64().unwrap(), total);
    assert_eq!(context["result"]["budget"], 6000);

    // "Show agent context" opens the same as a page.
    session
        .run_action(&uri, 3, json!([]), "Agent: Show agent context")
        .await;
    let message = session.editor.until_message("the agent would send").await;
    assert!(
        message.contains(&format!("{} pieces", pieces.len())),
        "{message}"
    );
    let shown = session.editor.shown("window/showDocument");
    let page = std::fs::read_to_string(
        shown[0]["uri"]
            .as_str()
            .unwrap()
            .strip_prefix("file://")
            .unwrap(),
    )
    .unwrap();
    assert!(
        page.starts_with("# Agent context for src/main.rs line 4"),
        "{page}"
    );
    assert!(page.contains("saturating_add"), "{page}");

    // A task at that spot sends it to the model.
    session.fake.push(Script::text("It bumps 41."));
    session
        .run_action(&uri, 3, json!([]), "Agent: Explain this")
        .await;
    session
        .editor
        .until_message("Explain this: It bumps 41.")
        .await;
    let sent = session.fake.requests()[0].body["input"].to_string();
    assert!(
        sent.contains("saturating_add") && sent.contains("Adds one"),
        "{sent}"
    );
}
