//! Approvals: asked per policy, answered with each decision, remembered per thread,
//! and the escalation out of the sandbox.

use super::*;
use crate::protocol::{CommandStatus, InterruptReason, ReviewDecision};

async fn wait_approval(thread: &mut Thread) -> (String, bool) {
    let events = events_until(thread, |event| {
        matches!(event, Event::ApprovalRequested { .. })
    })
    .await;
    match events.last() {
        Some(Event::ApprovalRequested {
            id,
            sandbox_escalation,
            ..
        }) => (id.clone(), *sandbox_escalation),
        _ => unreachable!(),
    }
}

async fn decide(thread: &Thread, id: String, decision: ReviewDecision) {
    thread
        .submit(Op::ApprovalDecision { id, decision })
        .await
        .unwrap();
}

#[tokio::test]
async fn agent_runs_an_approved_command() {
    let harness = harness(
        config(ApprovalPolicy::Untrusted),
        vec![shell_call("c1", &["cargo", "test"]), text("Done.")],
    );
    let mut thread = harness.start();
    input(&thread, "test it").await;
    let (id, escalation) = wait_approval(&mut thread).await;
    assert!(!escalation);
    assert!(harness.runner.argvs().is_empty(), "ran before approval");
    decide(&thread, id, ReviewDecision::Approved).await;
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
    assert_eq!(harness.runner.argvs(), [["cargo", "test"]]);
}

#[tokio::test]
async fn agent_does_not_ask_about_known_safe_commands() {
    let harness = harness(
        config(ApprovalPolicy::Untrusted),
        vec![shell_call("c1", &["ls", "src"]), text("Listed.")],
    );
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "list").await;
    assert!(!events
        .iter()
        .any(|event| matches!(event, Event::ApprovalRequested { .. })));
    assert_eq!(harness.runner.argvs(), [["ls", "src"]]);
}

#[tokio::test]
async fn agent_tells_the_model_a_command_was_denied_and_goes_on() {
    let harness = harness(
        config(ApprovalPolicy::Untrusted),
        vec![
            shell_call("c1", &["rm", "-rf", "target"]),
            text("I will not delete it."),
        ],
    );
    let mut thread = harness.start();
    input(&thread, "clean").await;
    let (id, _) = wait_approval(&mut thread).await;
    decide(&thread, id, ReviewDecision::Denied).await;
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
    assert!(harness.runner.argvs().is_empty());
    assert!(completed(&events).iter().any(|kind| matches!(
        kind,
        ThreadItemKind::CommandExecution {
            status: CommandStatus::Declined,
            ..
        }
    )));
    let (output, is_error) = output_of(&harness.provider.requests()[1], "c1");
    assert!(is_error);
    assert!(
        output.contains("the user denied running `rm -rf target`"),
        "{output}"
    );
}

#[tokio::test]
async fn agent_ends_the_turn_when_an_approval_is_aborted() {
    let harness = harness(
        config(ApprovalPolicy::Untrusted),
        vec![shell_call("c1", &["make", "deploy"]), text("Next turn.")],
    );
    let mut thread = harness.start();
    input(&thread, "deploy").await;
    let (id, _) = wait_approval(&mut thread).await;
    decide(&thread, id, ReviewDecision::Abort).await;
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(
        events.last(),
        Some(Event::TurnInterrupted {
            reason: InterruptReason::Aborted,
            ..
        })
    ));
    assert!(harness.runner.argvs().is_empty());
    // The next turn's history answers the aborted call.
    run_turn(&mut thread, "never mind").await;
    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        output_of(&requests[1], "c1"),
        (crate::rollout::ABORTED_CALL_OUTPUT.to_string(), true)
    );
}

#[tokio::test]
async fn agent_remembers_a_command_approved_for_the_thread() {
    let harness = harness(
        config(ApprovalPolicy::Untrusted),
        vec![
            shell_call("c1", &["cargo", "build"]),
            text("Built."),
            shell_call("c2", &["cargo", "build"]),
            shell_call("c3", &["cargo", "run"]),
            text("Ran."),
        ],
    );
    let mut thread = harness.start();
    input(&thread, "build").await;
    let (id, _) = wait_approval(&mut thread).await;
    decide(&thread, id, ReviewDecision::ApprovedForThread).await;
    events_until(&mut thread, is_turn_end).await;

    // Same command again: no question. Another command: asked.
    input(&thread, "build and run").await;
    let events = events_until(&mut thread, |event| {
        matches!(event, Event::ApprovalRequested { .. })
    })
    .await;
    let asked: Vec<&Vec<String>> = events
        .iter()
        .filter_map(|event| match event {
            Event::ApprovalRequested { argv, .. } => Some(argv),
            _ => None,
        })
        .collect();
    assert_eq!(asked, [&vec!["cargo".to_string(), "run".to_string()]]);
    let Some(Event::ApprovalRequested { id, .. }) = events.last() else {
        unreachable!()
    };
    decide(&thread, id.clone(), ReviewDecision::Approved).await;
    events_until(&mut thread, is_turn_end).await;
    assert_eq!(
        harness.runner.argvs(),
        [["cargo", "build"], ["cargo", "build"], ["cargo", "run"]]
    );
}

#[tokio::test]
async fn agent_offers_to_leave_the_sandbox_when_it_denied_something() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![shell_call("c1", &["npm", "install"]), text("Installed.")],
    );
    let mut denied = outcome(1, "");
    denied.sandbox_denied = true;
    denied.stderr = b"EACCES: network".to_vec();
    harness.runner.push(Run::Finish(vec![], denied));
    harness.runner.push(ok_run("added 3 packages\n"));
    let mut thread = harness.start();
    input(&thread, "install").await;
    let (id, escalation) = wait_approval(&mut thread).await;
    assert!(escalation);
    decide(&thread, id, ReviewDecision::Approved).await;
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
    let runs = harness.runner.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[0].policy,
        crate::process::SandboxPolicy::WorkspaceWrite
    );
    assert_eq!(runs[1].policy, crate::process::SandboxPolicy::FullAccess);
    let (output, is_error) = output_of(&harness.provider.requests()[1], "c1");
    assert!(!is_error, "{output}");
    assert!(
        output.contains("outside the sandbox") && output.contains("added 3 packages"),
        "{output}"
    );
}

#[tokio::test]
async fn agent_tells_the_model_what_the_sandbox_denied_when_escalation_is_refused() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![shell_call("c1", &["curl", "example.com"]), text("Offline.")],
    );
    let mut denied = outcome(7, "");
    denied.sandbox_denied = true;
    harness.runner.push(Run::Finish(vec![], denied));
    let mut thread = harness.start();
    input(&thread, "fetch").await;
    let (id, _) = wait_approval(&mut thread).await;
    decide(&thread, id, ReviewDecision::Denied).await;
    events_until(&mut thread, is_turn_end).await;
    assert_eq!(harness.runner.argvs().len(), 1);
    let (output, is_error) = output_of(&harness.provider.requests()[1], "c1");
    assert!(is_error);
    assert!(
        output.contains("the user declined to run it outside the sandbox"),
        "{output}"
    );
}

#[tokio::test]
async fn agent_never_escalates_under_the_never_policy() {
    let harness = harness(
        config(ApprovalPolicy::Never),
        vec![shell_call("c1", &["curl", "example.com"]), text("Offline.")],
    );
    let mut denied = outcome(7, "");
    denied.sandbox_denied = true;
    harness.runner.push(Run::Finish(vec![], denied));
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "fetch").await;
    assert!(!events
        .iter()
        .any(|event| matches!(event, Event::ApprovalRequested { .. })));
    let (output, _) = output_of(&harness.provider.requests()[1], "c1");
    assert!(
        output.contains("does not allow running commands outside it"),
        "{output}"
    );
}

#[tokio::test]
async fn agent_asks_about_every_command_when_the_sandbox_cannot_confine() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![shell_call("c1", &["ls"]), text("Listed.")],
    );
    let agent = harness.agent.clone().with_unconfined_commands(true);
    let mut thread = agent.start_thread(ThreadOptions::default()).unwrap();
    input(&thread, "list").await;
    let (id, escalation) = wait_approval(&mut thread).await;
    assert!(!escalation);
    decide(&thread, id, ReviewDecision::Approved).await;
    events_until(&mut thread, is_turn_end).await;
    assert_eq!(harness.runner.argvs(), [["ls"]]);
}
