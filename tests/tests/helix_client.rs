//! What a client like Helix 25.07 gets (issue 18): it shows one status line and
//! keeps no message history, opens `window/showDocument` without announcing it,
//! cannot answer `showMessageRequest`, and sends only the diagnostics under the
//! cursor's columns with a code action request. Driven through the scripted
//! editor with Helix's `clientInfo` and capabilities; the real Helix is driven by
//! the editors issue's tmux script.

mod common;

use common::*;

fn helix() -> Options {
    let mut capabilities = editor_capabilities(false);
    // Helix 25.07 announces no showDocument support.
    capabilities["window"]
        .as_object_mut()
        .unwrap()
        .remove("showDocument");
    Options {
        capabilities,
        client_name: Some("helix"),
        ..Options::default()
    }
}

#[tokio::test]
async fn helix_gets_long_answers_opened_though_it_does_not_announce_show_document() {
    let mut session = Session::start(helix()).await;
    let explanation = format!("# add\n\n{}", "It adds two numbers. ".repeat(40));
    session.fake.push(Script::text(explanation.clone()));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Explain this")
        .await;
    let message = session.editor.until_message("Explain this done").await;
    assert_eq!(message, "agentls: Explain this done: add");
    let shown = session.editor.shown("window/showDocument");
    assert_eq!(shown.len(), 1, "{shown:#?}");

    // The answer stays reachable: "Agent: Show last answer" opens it again.
    let actions = session.code_actions(&uri, 0, json!([])).await;
    assert!(
        titles(&actions).contains(
            &"Agent: Show last answer [refactor.rewrite] -> agentls.showLastAnswer".to_string()
        ),
        "{:#?}",
        titles(&actions)
    );
    session
        .run_action(&uri, 0, json!([]), "Agent: Show last answer")
        .await;
    let shown = session.editor.shown("window/showDocument");
    assert_eq!(shown.len(), 2, "{shown:#?}");
    assert_eq!(shown[0]["uri"], shown[1]["uri"]);
    let document = shown[1]["uri"].as_str().unwrap();
    let text = std::fs::read_to_string(document.strip_prefix("file://").unwrap()).unwrap();
    assert!(text.contains("It adds two numbers."), "{text}");
}

#[tokio::test]
async fn show_last_answer_before_any_answer_says_so() {
    let mut session = Session::start(helix()).await;
    let uri = session.open_lib().await;
    let actions = session.code_actions(&uri, 0, json!([])).await;
    assert!(!titles(&actions)
        .iter()
        .any(|title| title.starts_with("Agent: Show last answer")));
    let response = session
        .editor
        .request(
            "workspace/executeCommand",
            json!({ "command": "agentls.showLastAnswer", "arguments": [] }),
        )
        .await;
    assert_eq!(response["error"]["code"], -32803, "{response}");
    session
        .editor
        .until_message("no agent task has answered yet")
        .await;
}

/// The diagnostics "Agent: Fix this" carries at `line` (a zero-width range at
/// the line start, as Helix asks with the cursor there), with those Helix sent.
async fn fix_diagnostics(session: &mut Session, uri: &str, line: u32, sent: Value) -> Vec<String> {
    let actions = session.code_actions(uri, line, sent).await;
    let action = actions
        .iter()
        .find(|action| action["title"] == "Agent: Fix this")
        .unwrap_or_else(|| panic!("no Fix this in {:#?}", titles(&actions)));
    action["command"]["arguments"][0]["diagnostics"]
        .as_array()
        .map(|diagnostics| {
            diagnostics
                .iter()
                .map(|diagnostic| {
                    diagnostic["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn fix_this_is_offered_from_the_line_start_once_the_diagnostic_was_seen() {
    let mut session = Session::start(helix()).await;
    let uri = session.open_lib().await;
    // The cursor at the start of line 1: Helix sends no diagnostic (the error
    // is at columns 4-9), and none was seen yet. Offered all the same, for the
    // model to find the problem.
    assert!(fix_diagnostics(&mut session, &uri, 1, json!([]))
        .await
        .is_empty());
    // The cursor on the error: Helix sends it.
    assert_eq!(
        fix_diagnostics(&mut session, &uri, 1, diagnostic(1, "mismatched types")).await,
        ["mismatched types"]
    );
    // Back at the line start: the diagnostic seen is carried for the model.
    assert_eq!(
        fix_diagnostics(&mut session, &uri, 1, json!([])).await,
        ["mismatched types"]
    );
    // Not on another line.
    assert!(fix_diagnostics(&mut session, &uri, 0, json!([]))
        .await
        .is_empty());
    // An edit makes a new version: what was seen for the old one is gone.
    session
        .editor
        .type_change(
            &uri,
            json!({"range": {"start": {"line": 2, "character": 1}, "end": {"line": 2, "character": 1}}, "text": "\n"}),
        )
        .await;
    assert!(fix_diagnostics(&mut session, &uri, 1, json!([]))
        .await
        .is_empty());
}

/// Other editors send the diagnostics of the whole selection or line: there, no
/// diagnostic means nothing to fix, and the action is not offered.
#[tokio::test]
async fn fix_this_needs_a_diagnostic_outside_helix() {
    let mut session = Session::start(Options::default()).await;
    let uri = session.open_lib().await;
    let actions = session.code_actions(&uri, 1, json!([])).await;
    assert!(
        !actions
            .iter()
            .any(|action| action["title"] == "Agent: Fix this"),
        "{:#?}",
        titles(&actions)
    );
}

#[tokio::test]
async fn helix_hears_what_to_do_about_an_approval_within_80_columns() {
    let mut session = Session::start(Options {
        approvals: json!({ "policy": "untrusted", "timeout_secs": 300 }),
        ..helix()
    })
    .await;
    session
        .fake
        .push(Script::tool_calls(vec![ToolCall::new(
            "shell",
            json!({ "command": ["touch", "a-file-with-a-rather-long-name-for-the-status-line.txt"] }),
        )]))
        .push(Script::text("Done."));
    let uri = session.open_lib().await;
    session
        .run_action(&uri, 1, json!([]), "Agent: Write tests for this")
        .await;
    let announced = session
        .editor
        .until_message("space a → Agent: Approve")
        .await;
    assert!(announced.chars().count() <= 80, "{announced}");
    assert_eq!(
        announced,
        "agentls: approve `touch a-file-with-a-rather…`? space a → Agent: Approve or Deny"
    );
    // The full command is in the code action's title.
    let actions = session.code_actions(&uri, 0, json!([])).await;
    assert_eq!(
        actions[0]["title"],
        "Agent: Approve: run `touch a-file-with-a-rather-long-name-for-the-status-line.txt`"
    );
}
