//! Retries of faulty model calls. Time is paused: the backoff sleeps pass at once.

use super::*;

#[tokio::test(start_paused = true)]
async fn agent_retries_faults_with_events_and_discards_partial_output() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            Reply::Refuse(ProviderError::RateLimited {
                message: "slow down".into(),
                retry_after: Some(Duration::from_secs(7)),
            }),
            Reply::Events(vec![
                Ok(ResponseEvent::OutputTextDelta {
                    delta: "Half an ans".into(),
                }),
                Err(ProviderError::StreamEnded),
            ]),
            text("Whole answer."),
        ],
    );
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "hi").await;
    let retries: Vec<(u32, u32, u64, Vec<String>)> = events
        .iter()
        .filter_map(|event| match event {
            Event::Retrying {
                attempt,
                max,
                delay_ms,
                discarded_items,
                ..
            } => Some((*attempt, *max, *delay_ms, discarded_items.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2, "{events:#?}");
    assert_eq!(retries[0], (1, 2, 7000, vec![]));
    let (attempt, max, delay_ms, discarded) = &retries[1];
    assert_eq!((*attempt, *max), (2, 2));
    // 100 ms doubled once, ±10%.
    assert!((180..=220).contains(delay_ms), "{delay_ms}");
    assert_eq!(discarded.len(), 1);
    // The discarded item never completes; the answer that did is the third try's.
    assert!(!events.iter().any(|event| matches!(event,
        Event::ItemCompleted { item, .. } if item.id == discarded[0])));
    assert_eq!(
        completed(&events).last(),
        Some(&ThreadItemKind::AssistantMessage {
            text: "Whole answer.".into()
        })
    );
    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0], requests[2], "a retry sends the same request");
    assert_eq!(history(&requests[2], 2), vec![user("hi")]);
}

#[tokio::test(start_paused = true)]
async fn agent_fails_the_turn_when_retries_run_out() {
    let server_error = || {
        Reply::Refuse(ProviderError::Server {
            status: 503,
            message: "overloaded".into(),
            retry_after: None,
        })
    };
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            server_error(),
            server_error(),
            server_error(),
            text("Later."),
        ],
    );
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "hi").await;
    match events.last() {
        Some(Event::TurnFailed { error, .. }) => {
            assert_eq!(error, "provider error 503: overloaded")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(harness.provider.requests().len(), 3);
    // The thread lives on.
    let events = run_turn(&mut thread, "again").await;
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
}

#[tokio::test(start_paused = true)]
async fn agent_does_not_retry_a_rejected_request() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![Reply::Refuse(ProviderError::Rejected {
            status: 401,
            message: "bad key".into(),
        })],
    );
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "hi").await;
    assert!(matches!(events.last(), Some(Event::TurnFailed { .. })));
    assert!(!events
        .iter()
        .any(|event| matches!(event, Event::Retrying { .. })));
}

#[tokio::test(start_paused = true)]
async fn agent_interrupts_a_backoff() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![Reply::Refuse(ProviderError::RateLimited {
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(50)),
        })],
    );
    let mut thread = harness.start();
    input(&thread, "hi").await;
    events_until(&mut thread, |event| matches!(event, Event::Retrying { .. })).await;
    thread.submit(Op::Interrupt).await.unwrap();
    let events = events_until(&mut thread, is_turn_end).await;
    assert!(matches!(events.last(), Some(Event::TurnInterrupted { .. })));
    assert_eq!(harness.provider.requests().len(), 1);
}
