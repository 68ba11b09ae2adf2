//! Interrupts and steers reaching a running turn.

use super::*;
use crate::protocol::{CommandStatus, InterruptReason};

fn is_command_started(event: &Event) -> bool {
    matches!(event, Event::ItemStarted { item, .. } if matches!(item.kind, ThreadItemKind::CommandExecution { .. }))
}

#[tokio::test]
async fn agent_interrupts_a_streaming_answer() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            Reply::Stall(vec![
                ResponseEvent::Created,
                ResponseEvent::OutputTextDelta {
                    delta: "Let me think".into(),
                },
            ]),
            text("Fresh start."),
        ],
    );
    let mut thread = harness.start();
    input(&thread, "think hard").await;
    events_until(&mut thread, |event| {
        matches!(event, Event::ItemDelta { .. })
    })
    .await;
    thread.submit(Op::Interrupt).await.unwrap();
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(
        events.last(),
        Some(Event::TurnInterrupted {
            reason: InterruptReason::User,
            ..
        })
    ));
    // The half-streamed text is not history: the next request has only the inputs.
    run_turn(&mut thread, "again").await;
    let requests = harness.provider.requests();
    assert_eq!(
        history(&requests[1], 2),
        vec![user("think hard"), user("again")]
    );
}

#[tokio::test]
async fn agent_interrupts_a_running_command_and_kills_it() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![shell_call("c1", &["sleep", "1000"]), text("Stopped.")],
    );
    let killed = Arc::new(AtomicBool::new(false));
    harness.runner.push(Run::Hang(killed.clone()));
    let mut thread = harness.start();
    input(&thread, "wait").await;
    events_until(&mut thread, is_command_started).await;
    thread.submit(Op::Interrupt).await.unwrap();
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(killed.load(Ordering::SeqCst), "the command was not dropped");
    assert!(completed(&events).iter().any(|kind| matches!(
        kind,
        ThreadItemKind::CommandExecution {
            status: CommandStatus::Interrupted,
            ..
        }
    )));
    assert!(matches!(events.last(), Some(Event::TurnInterrupted { .. })));
    run_turn(&mut thread, "ok").await;
    let requests = harness.provider.requests();
    assert_eq!(
        output_of(&requests[1], "c1"),
        (crate::rollout::ABORTED_CALL_OUTPUT.to_string(), true)
    );
}

#[tokio::test]
async fn agent_delivers_a_steer_at_the_next_tool_boundary() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            shell_call("c1", &["cargo", "build"]),
            text("Built, and tested."),
        ],
    );
    let (gate, wait) = oneshot::channel();
    harness.runner.push(Run::Gated(wait, outcome(0, "built\n")));
    let mut thread = harness.start();
    input(&thread, "build").await;
    events_until(&mut thread, is_command_started).await;
    thread
        .submit(Op::Steer {
            text: "also run the tests".into(),
        })
        .await
        .unwrap();
    gate.send(()).unwrap();
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 2);
    let tail = history(&requests[1], 2);
    // user, call, output, then the steer.
    assert_eq!(tail.len(), 4);
    assert!(
        matches!(&tail[2], ResponseItem::FunctionCallOutput { call_id, .. } if call_id == "c1")
    );
    assert_eq!(tail[3], user("also run the tests"));
    assert!(completed(&events).iter().any(|kind| matches!(kind,
        ThreadItemKind::UserMessage { text, .. } if text == "also run the tests")));
}

#[tokio::test]
async fn agent_keeps_going_when_a_steer_arrives_as_the_model_finishes() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![text("Done."), text("Done, with the extra.")],
    );
    let mut thread = harness.start();
    thread
        .submit(Op::UserInput {
            text: "do it".into(),
            context: vec![],
        })
        .await
        .unwrap();
    thread
        .submit(Op::Steer {
            text: "and the extra".into(),
        })
        .await
        .unwrap();
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 2, "the steer got its own model call");
    assert_eq!(
        history(&requests[1], 2),
        vec![user("do it"), assistant("Done."), user("and the extra")]
    );
}

#[tokio::test]
async fn agent_shutdown_interrupts_and_ends_the_thread() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![Reply::Stall(vec![ResponseEvent::Created])],
    );
    let mut thread = harness.start();
    input(&thread, "slow").await;
    events_until(&mut thread, |event| {
        matches!(event, Event::TurnStarted { .. })
    })
    .await;
    thread.submit(Op::Shutdown).await.unwrap();
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(
        events.last(),
        Some(Event::TurnInterrupted {
            reason: InterruptReason::Shutdown,
            ..
        })
    ));
    assert_eq!(thread.next_event().await, None);
    assert!(thread.submit(Op::Interrupt).await.is_err());
}
