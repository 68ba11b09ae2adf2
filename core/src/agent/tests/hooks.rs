//! Hooks in the loop, with a scripted runner standing in for the hook
//! processes: what each event hands the hook on stdin and what its verdict
//! does to the turn.

use super::*;
use crate::hooks::HookDefinition;
use crate::process::CommandOutcome;

fn hook(command: &str) -> HookDefinition {
    HookDefinition {
        matcher: None,
        command: command.into(),
        timeout_secs: 5,
    }
}

fn exits(code: i32, stdout: &str, stderr: &str) -> Run {
    Run::Finish(
        Vec::new(),
        CommandOutcome {
            stderr: stderr.as_bytes().to_vec(),
            ..outcome(code, stdout)
        },
    )
}

fn stdin_of(harness: &Harness, index: usize) -> serde_json::Value {
    serde_json::from_slice(&harness.runner.inputs.lock().unwrap()[index]).unwrap()
}

fn request_text(request: &ModelRequest) -> String {
    serde_json::to_string(&request.input).unwrap()
}

#[tokio::test]
async fn hooks_a_stop_hook_keeps_the_turn_going_once_then_lets_it_end() {
    let mut config = config(ApprovalPolicy::OnRequest);
    config.hooks.stop.push(hook("./check.sh"));
    let harness = harness(config, vec![text("Done."), text("Really done.")]);
    harness.runner.push(exits(2, "", "the tests still fail\n"));
    harness.runner.push(exits(0, "", ""));
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "fix it").await;
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 2);
    assert!(request_text(&requests[1]).contains("the tests still fail"));
    assert_eq!(stdin_of(&harness, 0)["stop_hook_active"], false);
    assert_eq!(stdin_of(&harness, 1)["stop_hook_active"], true);
    assert_eq!(stdin_of(&harness, 1)["hook_event_name"], "Stop");
}

#[tokio::test]
async fn hooks_pre_tool_use_ask_asks_even_when_the_policy_would_not_and_allow_skips_the_question() {
    let mut config = config(ApprovalPolicy::Untrusted);
    config.hooks.pre_tool_use.push(HookDefinition {
        matcher: Some("shell".into()),
        ..hook("./policy.sh")
    });
    let harness = harness(
        config,
        vec![
            shell_call("c1", &["cargo", "test"]),
            shell_call("c2", &["ls"]),
            text("Done."),
        ],
    );
    // `cargo test` would be asked about under `untrusted`: the hook allows it.
    harness.runner.push(exits(
        0,
        r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow"}}"#,
        "",
    ));
    harness.runner.push(ok_run("ok\n"));
    // `ls` is known-safe: the hook asks anyway.
    harness.runner.push(exits(
        0,
        r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"ask","permissionDecisionReason":"listing is sensitive here"}}"#,
        "",
    ));
    let mut thread = harness.start();
    input(&thread, "test it").await;
    let events = events_until(&mut thread, |event| {
        matches!(event, Event::ApprovalRequested { .. })
    })
    .await;
    let Some(Event::ApprovalRequested {
        id, argv, reason, ..
    }) = events.last()
    else {
        unreachable!()
    };
    assert_eq!(argv, &["ls"]);
    assert_eq!(reason.as_deref(), Some("listing is sensitive here"));
    assert_eq!(
        harness.runner.argvs()[1],
        ["cargo", "test"],
        "allowed without a question"
    );
    thread
        .submit(Op::ApprovalDecision {
            id: id.clone(),
            decision: crate::protocol::ReviewDecision::Denied,
        })
        .await
        .unwrap();
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
    let input = stdin_of(&harness, 0);
    assert_eq!(input["tool_name"], "shell");
    assert_eq!(
        input["tool_input"]["command"],
        serde_json::json!(["cargo", "test"])
    );
    assert_eq!(input["tool_use_id"], "c1");
}
