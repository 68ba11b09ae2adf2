//! Turns that run to their end: answers, tool calls, the request prefix.

use expect_test::expect;

use super::*;
use crate::protocol::{CommandStatus, FileChangeKind, PatchStatus};

#[tokio::test]
async fn agent_text_answer_streams_and_completes() {
    let harness = harness(config(ApprovalPolicy::OnRequest), vec![text("Hello.")]);
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "hi").await;
    let json: Vec<String> = events
        .iter()
        .map(|event| serde_json::to_string(event).unwrap())
        .collect();
    expect![[r#"
        {"type":"threadStarted","threadId":"<id>","resumed":false}
        {"type":"turnStarted","turnId":"turn-1"}
        {"type":"itemStarted","turnId":"turn-1","item":{"id":"item-2","type":"userMessage","text":"hi"}}
        {"type":"itemCompleted","turnId":"turn-1","item":{"id":"item-2","type":"userMessage","text":"hi"}}
        {"type":"itemStarted","turnId":"turn-1","item":{"id":"item-3","type":"assistantMessage","text":""}}
        {"type":"itemDelta","turnId":"turn-1","itemId":"item-3","delta":{"kind":"assistantText","text":"Hello."}}
        {"type":"itemCompleted","turnId":"turn-1","item":{"id":"item-3","type":"assistantMessage","text":"Hello."}}
        {"type":"tokenUsage","turnId":"turn-1","last":{"input_tokens":100,"cached_input_tokens":0,"output_tokens":10,"reasoning_output_tokens":0,"total_tokens":110},"turnTotal":{"input_tokens":100,"cached_input_tokens":0,"output_tokens":10,"reasoning_output_tokens":0,"total_tokens":110}}
        {"type":"turnCompleted","turnId":"turn-1","usage":{"input_tokens":100,"cached_input_tokens":0,"output_tokens":10,"reasoning_output_tokens":0,"total_tokens":110},"changedFiles":[]}"#]]
    .assert_eq(&json.join("\n").replace(&thread.id().0, "<id>"));

    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request.prompt_cache_key.as_deref(),
        Some(thread.id().0.as_str())
    );
    assert_eq!(
        request
            .tools
            .iter()
            .map(|tool| tool.name.as_str())
            .collect::<Vec<_>>(),
        [
            "read_file",
            "list_dir",
            "grep",
            "apply_patch",
            "shell",
            "update_plan",
            "find_definition",
            "find_references",
            "outline"
        ]
    );
    let ResponseItem::Message {
        text: environment, ..
    } = &request.input[0]
    else {
        panic!("{:?}", request.input[0])
    };
    expect![[r#"
        <environment_context>
          <cwd>/w</cwd>
          <workspace_root>/w</workspace_root>
          <approval_policy>on-request</approval_policy>
          <sandbox_mode>workspace-write</sandbox_mode>
          <os>linux</os>
          <shell>bash</shell>
          <current_date>2026-01-01</current_date>
        </environment_context>"#]]
    .assert_eq(environment);
    let ResponseItem::Message { text: agents, .. } = &request.input[1] else {
        panic!("{:?}", request.input[1])
    };
    expect![[r#"
        # AGENTS.md instructions for .

        <INSTRUCTIONS>
        Run `cargo test` before you finish.
        </INSTRUCTIONS>"#]]
    .assert_eq(agents);
    assert_eq!(history(request, 2), vec![user("hi")]);
}

#[tokio::test]
async fn agent_reads_patches_and_runs_a_command_in_one_turn() {
    let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n pub fn answer() -> u32 {\n-    41\n+    42\n }\n*** End Patch\n";
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            calls(&[("c1", "read_file", r#"{"path":"src/lib.rs"}"#)]),
            calls(&[(
                "c2",
                "apply_patch",
                &serde_json::json!({ "input": patch }).to_string(),
            )]),
            shell_call("c3", &["cargo", "test"]),
            text("Fixed: answer() returns 42."),
        ],
    );
    harness.runner.push(ok_run("test result: ok. 1 passed\n"));
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "make answer() return 42").await;

    assert_eq!(
        harness.workspace.text("src/lib.rs").unwrap(),
        "pub fn answer() -> u32 {\n    42\n}\n"
    );
    let runs = harness.runner.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].argv, ["cargo", "test"]);
    assert_eq!(runs[0].cwd, PathBuf::from("/w"));
    assert_eq!(runs[0].writable_roots, [PathBuf::from("/w")]);
    assert_eq!(
        runs[0].policy,
        crate::process::SandboxPolicy::WorkspaceWrite
    );

    let items = completed(&events);
    assert!(
        matches!(&items[1], ThreadItemKind::ToolCall { tool, is_error: false, output: Some(output), .. }
        if tool == "read_file" && output.contains("41")),
        "{:?}",
        items[1]
    );
    match &items[2] {
        ThreadItemKind::FileChange {
            changes, status, ..
        } => {
            assert_eq!(*status, PatchStatus::Applied);
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].path, PathBuf::from("/w/src/lib.rs"));
            assert_eq!(changes[0].kind, FileChangeKind::Update { moved_from: None });
            expect![[r#"
                --- a/src/lib.rs
                +++ b/src/lib.rs
                @@ -1,3 +1,3 @@
                 pub fn answer() -> u32 {
                -    41
                +    42
                 }
            "#]]
            .assert_eq(&changes[0].diff);
        }
        other => panic!("{other:?}"),
    }
    match &items[3] {
        ThreadItemKind::CommandExecution {
            argv,
            exit_code,
            status,
            output,
            ..
        } => {
            assert_eq!(argv, &["cargo", "test"]);
            assert_eq!(*exit_code, Some(0));
            assert_eq!(*status, CommandStatus::Completed);
            assert!(output.contains("1 passed"), "{output}");
        }
        other => panic!("{other:?}"),
    }
    assert!(events.iter().any(|event| matches!(event,
        Event::ItemDelta { delta: crate::protocol::ItemDelta::CommandOutput { text, .. }, .. } if text.contains("1 passed"))));
    match events.last().unwrap() {
        Event::TurnCompleted {
            changed_files,
            usage,
            ..
        } => {
            assert_eq!(changed_files, &[PathBuf::from("/w/src/lib.rs")]);
            assert_eq!(usage.input_tokens, 200 * 3 + 100);
        }
        other => panic!("{other:?}"),
    }

    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 4);
    let (patched, is_error) = output_of(&requests[2], "c2");
    assert!(!is_error);
    assert_eq!(
        patched,
        "Success. Updated the following files:\nM src/lib.rs"
    );
    let (ran, is_error) = output_of(&requests[3], "c3");
    assert!(!is_error && ran.contains("exit code: 0"), "{ran}");
}

#[tokio::test]
async fn agent_runs_read_only_calls_of_one_answer_together() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            calls(&[
                ("c1", "read_file", r#"{"path":"src/lib.rs"}"#),
                ("c2", "read_file", r#"{"path":"README.md"}"#),
            ]),
            text("Read both."),
        ],
    );
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "read").await;
    // Both calls start before either finishes: they ran as one batch.
    let marks: Vec<&str> = events
        .iter()
        .filter_map(|event| match event {
            Event::ItemStarted { item, .. }
                if matches!(item.kind, ThreadItemKind::ToolCall { .. }) =>
            {
                Some("start")
            }
            Event::ItemCompleted { item, .. }
                if matches!(item.kind, ThreadItemKind::ToolCall { .. }) =>
            {
                Some("end")
            }
            _ => None,
        })
        .collect();
    assert_eq!(marks, ["start", "start", "end", "end"]);
    let requests = harness.provider.requests();
    let tail = &history(&requests[1], 2)[1..];
    assert!(
        matches!(&tail[2], ResponseItem::FunctionCallOutput { call_id, output, .. } if call_id == "c1" && output.contains("41"))
    );
    assert!(
        matches!(&tail[3], ResponseItem::FunctionCallOutput { call_id, output, .. } if call_id == "c2" && output.contains("a crate"))
    );
}

#[tokio::test]
async fn agent_tells_the_model_about_malformed_arguments_and_unknown_tools() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            calls(&[
                ("c1", "read_file", r#"{"path": "src/li"#),
                ("c2", "shell", r#"{"cmd": 3}"#),
                ("c3", "delete_everything", "{}"),
                ("c4", "apply_patch", r#"{"input":"not a patch"}"#),
            ]),
            text("Sorry."),
        ],
    );
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "go").await;
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
    let requests = harness.provider.requests();
    for call_id in ["c1", "c2", "c3", "c4"] {
        let (output, is_error) = output_of(&requests[1], call_id);
        assert!(is_error, "{call_id}: {output}");
    }
    assert!(output_of(&requests[1], "c3")
        .0
        .contains("there is no tool `delete_everything`"));
    assert!(harness.runner.argvs().is_empty());
    let errors = completed(&events)
        .into_iter()
        .filter(|kind| matches!(kind, ThreadItemKind::ToolCall { is_error: true, .. }))
        .count();
    assert_eq!(errors, 4);
}

#[tokio::test]
async fn agent_shows_a_plan() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            calls(&[(
                "p1",
                "update_plan",
                r#"{"plan":[{"step":"read","status":"completed"},{"step":"fix","status":"in_progress"}]}"#,
            )]),
            text("Planned."),
        ],
    );
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "plan it").await;
    let plan = completed(&events)
        .into_iter()
        .find(|kind| matches!(kind, ThreadItemKind::Plan { .. }))
        .unwrap();
    assert_eq!(
        serde_json::to_string(&plan).unwrap(),
        r#"{"type":"plan","callId":"p1","steps":[{"step":"read","status":"completed"},{"step":"fix","status":"inProgress"}]}"#
    );
    assert_eq!(
        output_of(&harness.provider.requests()[1], "p1").0,
        "Plan updated"
    );
}

/// The prompt cache property: each request of a thread is the one before it plus
/// items appended at its end, byte for byte, across steps and turns.
#[tokio::test]
async fn agent_requests_only_ever_append() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            calls(&[
                ("c1", "read_file", r#"{"path":"src/lib.rs"}"#),
                ("c2", "read_file", r#"{"path":"README.md"}"#),
            ]),
            shell_call("c3", &["cargo", "test"]),
            text("First."),
            calls(&[(
                "c4",
                "update_plan",
                r#"{"plan":[{"step":"x","status":"pending"}]}"#,
            )]),
            text("Second."),
            text("Third."),
        ],
    );
    let mut thread = harness.start();
    run_turn(&mut thread, "one").await;
    run_turn(&mut thread, "two").await;
    run_turn(&mut thread, "three").await;
    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 6);
    let bodies: Vec<serde_json::Value> = requests
        .iter()
        .map(|request| serde_json::to_value(request).unwrap())
        .collect();
    for pair in bodies.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        for key in [
            "model",
            "instructions",
            "tools",
            "prompt_cache_key",
            "parallel_tool_calls",
        ] {
            assert_eq!(
                serde_json::to_string(&before[key]).unwrap(),
                serde_json::to_string(&after[key]).unwrap(),
                "{key}"
            );
        }
        let before_input = before["input"].as_array().unwrap();
        let after_input = after["input"].as_array().unwrap();
        assert!(after_input.len() > before_input.len());
        let before_bytes = serde_json::to_string(before_input).unwrap();
        let after_prefix =
            serde_json::to_string(&after_input[..before_input.len()].to_vec()).unwrap();
        assert_eq!(before_bytes, after_prefix);
    }
}

#[tokio::test]
async fn agent_runs_threads_side_by_side() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![text("A."), text("B.")],
    );
    let mut first = harness.start();
    let mut second = harness.start();
    input(&first, "first").await;
    input(&second, "second").await;
    let (a, b) = tokio::join!(
        events_until(&mut first, is_turn_end),
        events_until(&mut second, is_turn_end)
    );
    assert!(matches!(a.last(), Some(Event::TurnCompleted { .. })));
    assert!(matches!(b.last(), Some(Event::TurnCompleted { .. })));
    assert_ne!(first.id(), second.id());
    let listed = harness.agent.list_threads().unwrap();
    assert_eq!(listed.len(), 2);
    let mut previews: Vec<_> = listed
        .iter()
        .filter_map(|thread| thread.preview.clone())
        .collect();
    previews.sort();
    assert_eq!(previews, ["first", "second"]);
}

#[tokio::test]
async fn agent_queues_input_that_arrives_during_a_turn() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![shell_call("c1", &["make"]), text("Made."), text("Next.")],
    );
    let (gate, wait) = oneshot::channel();
    harness.runner.push(Run::Gated(wait, outcome(0, "")));
    let mut thread = harness.start();
    input(&thread, "build").await;
    events_until(&mut thread, |event| matches!(event, Event::ItemStarted { item, .. } if matches!(item.kind, ThreadItemKind::CommandExecution { .. }))).await;
    input(&thread, "then this").await;
    gate.send(()).unwrap();
    events_until(&mut thread, is_turn_end).await;
    let second = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(second.first(), Some(Event::TurnStarted { turn_id }) if turn_id != "turn-1"));
    let requests = harness.provider.requests();
    assert_eq!(history(&requests[2], 2).last(), Some(&user("then this")));
}

/// The symbol tools read the front end's index, and a patch the agent lands is
/// in it for the next call of the same turn.
#[tokio::test]
async fn agent_symbol_tools_use_the_index_and_see_its_own_patches() {
    let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n-pub fn answer() -> u32 {\n+pub fn reply() -> u32 {\n*** End Patch\n";
    let patch_call = serde_json::json!({ "input": patch }).to_string();
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            calls(&[("d1", "find_definition", r#"{"name":"answer"}"#)]),
            calls(&[("p1", "apply_patch", &patch_call)]),
            calls(&[
                ("d2", "find_definition", r#"{"name":"reply"}"#),
                ("o1", "outline", r#"{"path":"src/lib.rs"}"#),
            ]),
            text("Renamed."),
        ],
    );
    let index = crate::context::SharedIndex::new();
    index.update_file(
        std::path::Path::new("/w/src/lib.rs"),
        crate::language::Language::Rust,
        &harness.workspace.text("src/lib.rs").unwrap(),
    );
    let agent = harness.agent.clone().with_symbols(index);
    let mut thread = agent.start_thread(Default::default()).unwrap();
    run_turn(&mut thread, "rename answer to reply").await;
    let requests = harness.provider.requests();
    assert_eq!(
        output_of(&requests[1], "d1"),
        (
            "src/lib.rs:1-3: function `answer`\npub fn answer() -> u32 {\n    41\n}\n".to_string(),
            false
        )
    );
    assert_eq!(
        output_of(&requests[3], "d2"),
        (
            "src/lib.rs:1-3: function `reply`\npub fn reply() -> u32 {\n    41\n}\n".to_string(),
            false
        )
    );
    assert_eq!(
        output_of(&requests[3], "o1"),
        (
            "src/lib.rs (3 lines), line ranges then signatures:\n1-3 pub fn reply() -> u32\n"
                .to_string(),
            false
        )
    );
}
