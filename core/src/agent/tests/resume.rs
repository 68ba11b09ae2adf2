//! Resuming threads from their rollouts.

use super::*;
use crate::protocol::InterruptReason;

fn is_command_started(event: &Event) -> bool {
    matches!(event, Event::ItemStarted { item, .. } if matches!(item.kind, ThreadItemKind::CommandExecution { .. }))
}

/// What must be equal between two threads' requests: all but the cache key.
fn comparable(request: &ModelRequest) -> String {
    let mut request = request.clone();
    request.prompt_cache_key = None;
    serde_json::to_string(&request).unwrap()
}

#[tokio::test]
async fn agent_resumes_a_thread_dropped_mid_turn_exactly() {
    let replies = || {
        vec![
            calls(&[("c0", "read_file", r#"{"path":"README.md"}"#)]),
            shell_call("c1", &["cargo", "test"]),
            text("Carrying on."),
        ]
    };

    // The control thread is interrupted mid-command and continued.
    let control = harness(config(ApprovalPolicy::OnRequest), replies());
    control
        .runner
        .push(Run::Hang(Arc::new(AtomicBool::new(false))));
    let mut thread = control.start();
    input(&thread, "test it").await;
    events_until(&mut thread, is_command_started).await;
    thread.submit(Op::Interrupt).await.unwrap();
    events_until(&mut thread, is_turn_end).await;
    run_turn(&mut thread, "go on").await;
    let expected = control.provider.requests();

    // This one is dropped mid-command, then resumed and continued.
    let subject = harness(config(ApprovalPolicy::OnRequest), replies());
    let killed = Arc::new(AtomicBool::new(false));
    subject.runner.push(Run::Hang(killed.clone()));
    let mut thread = subject.start();
    let id = thread.id().clone();
    input(&thread, "test it").await;
    events_until(&mut thread, is_command_started).await;
    let (handle, mut events, task) = thread.into_parts();
    drop(handle);
    task.await.unwrap();
    assert!(killed.load(Ordering::SeqCst));
    let rest = {
        let mut rest = Vec::new();
        while let Some(event) = events.recv().await {
            rest.push(event);
        }
        rest
    };
    assert!(
        matches!(
            rest.last(),
            Some(Event::TurnInterrupted {
                reason: InterruptReason::Shutdown,
                ..
            })
        ),
        "{rest:#?}"
    );

    let mut resumed = subject.agent.resume_thread(&id).unwrap();
    assert_eq!(resumed.id(), &id);
    assert!(resumed.past_items().iter().any(
        |item| matches!(&item.kind, ThreadItemKind::UserMessage { text, .. } if text == "test it")
    ));
    let first = resumed.next_event().await.unwrap();
    assert_eq!(
        first,
        Event::ThreadStarted {
            thread_id: id.clone(),
            resumed: true
        }
    );
    let events = run_turn(&mut resumed, "go on").await;
    // Ids continue after the ones the thread used before.
    assert!(matches!(&events[0], Event::TurnStarted { turn_id } if turn_id != "turn-1"));

    let actual = subject.provider.requests();
    assert_eq!(actual.len(), expected.len());
    for (actual, expected) in actual.iter().zip(&expected) {
        assert_eq!(comparable(actual), comparable(expected));
    }
    assert_eq!(actual[2].prompt_cache_key.as_deref(), Some(id.0.as_str()));
}

#[tokio::test]
async fn agent_resume_answers_calls_a_crash_left_open() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![shell_call("c1", &["cargo", "test"]), text("Resumed.")],
    );
    harness
        .runner
        .push(Run::Hang(Arc::new(AtomicBool::new(false))));
    let mut thread = harness.start();
    let id = thread.id().clone();
    input(&thread, "test").await;
    events_until(&mut thread, is_command_started).await;
    // A crash: the rollout as it is now, without the interrupt's answer.
    let path = crate::rollout::rollout_path(harness.data_dir.path(), &id);
    let crashed = std::fs::read_to_string(&path).unwrap();
    let (handle, _events, task) = thread.into_parts();
    drop(handle);
    task.await.unwrap();
    std::fs::write(&path, &crashed).unwrap();

    let mut resumed = harness.agent.resume_thread(&id).unwrap();
    run_turn(&mut resumed, "again").await;
    let request = harness.provider.requests().pop().unwrap();
    assert_eq!(
        output_of(&request, "c1"),
        (crate::rollout::ABORTED_CALL_OUTPUT.to_string(), true)
    );
    // The repair went to the file too: reading it again gives the same history.
    let loaded = crate::rollout::load(harness.data_dir.path(), &id).unwrap();
    assert!(loaded.repairs.is_empty());
    assert_eq!(
        &request.input[2..],
        &loaded.history[..request.input.len() - 2]
    );
}

#[tokio::test]
async fn agent_resume_keeps_approvals_for_the_thread() {
    let harness = harness(
        config(ApprovalPolicy::Untrusted),
        vec![
            shell_call("c1", &["make"]),
            text("Made."),
            shell_call("c2", &["make"]),
            text("Made again."),
        ],
    );
    let mut thread = harness.start();
    let id = thread.id().clone();
    input(&thread, "make").await;
    let events = events_until(&mut thread, |event| {
        matches!(event, Event::ApprovalRequested { .. })
    })
    .await;
    let Some(Event::ApprovalRequested { id: approval, .. }) = events.last() else {
        unreachable!()
    };
    thread
        .submit(Op::ApprovalDecision {
            id: approval.clone(),
            decision: crate::protocol::ReviewDecision::ApprovedForThread,
        })
        .await
        .unwrap();
    events_until(&mut thread, is_turn_end).await;
    thread.submit(Op::Shutdown).await.unwrap();
    while thread.next_event().await.is_some() {}

    let mut resumed = harness.agent.resume_thread(&id).unwrap();
    let events = run_turn(&mut resumed, "again").await;
    assert!(!events
        .iter()
        .any(|event| matches!(event, Event::ApprovalRequested { .. })));
    assert_eq!(harness.runner.argvs(), [["make"], ["make"]]);
}
