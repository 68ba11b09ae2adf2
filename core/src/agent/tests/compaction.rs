//! Compaction, on the provider's word and on the threshold.

use super::*;
use crate::agent::compaction::SUMMARY_PREFIX;

fn summary_of(request: &ModelRequest) -> Option<&str> {
    request.input.iter().find_map(|item| match item {
        ResponseItem::Message {
            role: Role::User,
            text,
        } => text.strip_prefix(SUMMARY_PREFIX),
        _ => None,
    })
}

#[tokio::test]
async fn agent_compacts_when_the_context_is_too_long_and_tries_again() {
    let mut config = config(ApprovalPolicy::OnRequest);
    config.compaction.keep_user_messages = 1;
    let harness = harness(
        config,
        vec![
            text("First answer."),
            Reply::Refuse(ProviderError::ContextLengthExceeded("too long".into())),
            text("Summary: the user asked twice."),
            text("Second answer."),
        ],
    );
    let mut thread = harness.start();
    run_turn(&mut thread, "first").await;
    let events = run_turn(&mut thread, "second").await;
    assert!(
        matches!(events.last(), Some(Event::TurnCompleted { .. })),
        "{events:#?}"
    );
    assert!(completed(&events).iter().any(|kind| matches!(kind,
        ThreadItemKind::Compaction { summary } if summary == "Summary: the user asked twice.")));
    // The summary call streams nothing to the user.
    assert!(!events.iter().any(|event| matches!(event,
        Event::ItemDelta { delta: crate::protocol::ItemDelta::AssistantText { text }, .. } if text.starts_with("Summary"))));

    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 4);
    // The summary request is the failed one plus the summary prompt: still a cache hit.
    assert_eq!(
        requests[2].input[..requests[1].input.len()],
        requests[1].input[..]
    );
    assert!(
        matches!(requests[2].input.last(), Some(ResponseItem::Message { role: Role::User, text }) if text.contains("hand-off summary"))
    );
    // After: prefix, the kept user message, the summary.
    assert_eq!(requests[3].input[..2], requests[0].input[..2]);
    assert_eq!(
        history(&requests[3], 2),
        vec![
            user("second"),
            user(&format!("{SUMMARY_PREFIX}Summary: the user asked twice."))
        ]
    );
    assert_eq!(
        summary_of(&requests[3]),
        Some("Summary: the user asked twice.")
    );
}

#[tokio::test]
async fn agent_fails_when_even_the_compacted_context_is_too_long() {
    let harness = harness(
        config(ApprovalPolicy::OnRequest),
        vec![
            Reply::Refuse(ProviderError::ContextLengthExceeded("too long".into())),
            text("Summary."),
            Reply::Refuse(ProviderError::ContextLengthExceeded(
                "still too long".into(),
            )),
        ],
    );
    let mut thread = harness.start();
    let events = run_turn(&mut thread, "huge").await;
    match events.last() {
        Some(Event::TurnFailed { error, .. }) => {
            assert!(error.contains("still too long"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn agent_compacts_past_the_threshold_before_the_next_step() {
    let mut config = config(ApprovalPolicy::OnRequest);
    config.compaction.threshold = 0.5;
    config.compaction.keep_user_messages = 2;
    let harness = harness_with_window(
        config,
        vec![
            text_with_usage("One.", 100),
            text_with_usage("Two.", 400),
            // Reported 410 of 1000 tokens + the new input: under 0.5. This one
            // reports 600, so the next turn compacts first.
            text_with_usage("Three.", 600),
            text("Summary of three turns."),
            text("Four."),
        ],
        Some(1000),
    );
    let mut thread = harness.start();
    for input in ["one", "two", "three"] {
        let events = run_turn(&mut thread, input).await;
        assert!(!completed(&events)
            .iter()
            .any(|kind| matches!(kind, ThreadItemKind::Compaction { .. })));
    }
    let events = run_turn(&mut thread, "four").await;
    assert!(completed(&events)
        .iter()
        .any(|kind| matches!(kind, ThreadItemKind::Compaction { .. })));
    let requests = harness.provider.requests();
    assert_eq!(requests.len(), 5);
    assert_eq!(
        history(&requests[4], 2),
        vec![
            user("three"),
            user("four"),
            user(&format!("{SUMMARY_PREFIX}Summary of three turns."))
        ]
    );
    // After the compaction the requests append again.
    let events = {
        harness.provider.push(text("Five."));
        run_turn(&mut thread, "five").await
    };
    assert!(matches!(events.last(), Some(Event::TurnCompleted { .. })));
    let requests = harness.provider.requests();
    assert_eq!(
        requests[5].input[..requests[4].input.len()],
        requests[4].input[..]
    );
}
