//! Review before apply (`[approvals] edits = "review"`), end to end: a client with
//! change annotations gets the change as one annotated `workspace/applyEdit`
//! needing confirmation (its preview accepted whole, in part, cancelled, never
//! answered, answered with the wrong shape); a client without gets no applyEdit
//! until it applies the pending change (`agentls.applyPending`), can review it
//! as a diff and discard it; the user editing or closing the file while the
//! change waits; and each time what the model is told in its next request.

mod common;

use common::*;

/// Two functions, two wrong operators: a patch with two hunks.
const TWO: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n\npub fn mul(a: i32, b: i32) -> i32 {\n    a / b\n}\n";
const TWO_FIXED: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\npub fn mul(a: i32, b: i32) -> i32 {\n    a * b\n}\n";
const TWO_PATCH: &str = "*** Begin Patch\n*** Update File: src/two.rs\n@@\n pub fn add(a: i32, b: i32) -> i32 {\n-    a - b\n+    a + b\n }\n@@\n pub fn mul(a: i32, b: i32) -> i32 {\n-    a / b\n+    a * b\n }\n*** End Patch\n";

const ANSWER: &str = "Reviewed.";

/// A full editor that shows annotated edits in a preview (VS Code).
fn previewing_editor() -> Value {
    let mut capabilities = editor_capabilities(true);
    capabilities["workspace"]["workspaceEdit"]["changeAnnotationSupport"] =
        json!({ "groupsOnLabel": true });
    capabilities
}

fn review_options(capabilities: Value, timeout_secs: u64) -> Options {
    Options {
        capabilities,
        approvals: json!({ "policy": "untrusted", "timeout_secs": timeout_secs, "edits": "review" }),
        files: vec![("src/two.rs", TWO)],
        ..Options::default()
    }
}

/// The fake model patches with `patch`, then answers.
fn script_patch(session: &Session, patch: &str) {
    session
        .fake
        .push(Script::tool_calls([ToolCall::new(
            "apply_patch",
            json!({ "input": patch }),
        )]))
        .push(Script::text(ANSWER));
}

/// Starts "Fix this" on src/lib.rs.
async fn fix_this(session: &mut Session, uri: &str) {
    let response = session
        .run_action(uri, 1, diagnostic(1, "wrong sign"), "Agent: Fix this")
        .await;
    assert!(response["result"]["threadId"].is_string(), "{response}");
}

/// The one tool output of the model's last request.
fn told(session: &Session) -> String {
    let outputs = tool_outputs(&session.fake);
    assert_eq!(outputs.len(), 1, "{outputs:#?}");
    outputs[0].clone()
}

#[tokio::test]
async fn review_with_change_annotations_asks_for_confirmation_per_file_and_lands_it() {
    let mut session = Session::start(review_options(previewing_editor(), 30)).await;
    script_patch(&session, FIX_PATCH);
    let uri = session.open_lib().await;
    fix_this(&mut session, &uri).await;
    session.editor.until_message("Fix this: Reviewed.").await;

    assert_eq!(session.editor.apply_requests.len(), 1);
    let edit = &session.editor.apply_requests[0]["edit"];
    expect_test::expect![[r#"
        {
          "agentls/review/1/1": {
            "label": "Agent: Fix this",
            "needsConfirmation": true,
            "description": "src/lib.rs"
          }
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&edit["changeAnnotations"]).unwrap());
    let text_edits = edit["documentChanges"][0]["edits"].as_array().unwrap();
    assert!(
        text_edits
            .iter()
            .all(|text_edit| text_edit["annotationId"] == "agentls/review/1/1"),
        "{edit}"
    );
    assert_eq!(edit["documentChanges"][0]["textDocument"]["version"], 1);
    assert_eq!(session.editor.text(&uri), FIXED);
    assert!(told(&session).starts_with("Success."), "{}", told(&session));
    // The change waits in the buffer for the user's save, as without review.
    assert_eq!(
        std::fs::read_to_string(session.path("src/lib.rs")).unwrap(),
        BUGGY
    );
}

#[tokio::test]
async fn review_partial_acceptance_in_the_preview_is_told_to_the_model_and_undo_reverts_only_it() {
    let mut session = Session::start(review_options(previewing_editor(), 30)).await;
    script_patch(&session, TWO_PATCH);
    let path = session.path("src/two.rs");
    let uri = session.editor.open(&path, "rust", TWO).await;
    // The user unticks the second hunk; VS Code still answers `applied: true`.
    session.editor.untick = Some(|edit| edit["newText"] == "*");
    fix_this(&mut session, &uri).await;
    let warning = session
        .editor
        .until_message("the user refused in review")
        .await;
    session.editor.until_message("Fix this: Reviewed.").await;

    let half = TWO.replace("a - b", "a + b");
    assert_eq!(session.editor.text(&uri), half);
    let output = told(&session);
    assert!(
        output.starts_with("the patch was applied only in part: ")
            && output.contains(
                "then the user refused in review: src/two.rs: line 6 (left as you read it) of the lines as you read them"
            ),
        "{output}"
    );
    expect_test::expect![[r#"agentls: the agent's edit landed only in part (src/two.rs changed): the user refused in review: src/two.rs: line 6 (left as you read it) of the lines as you read them; the agent was told"#]]
    .assert_eq(&warning);

    // The checkpoint holds what landed, not what was proposed.
    session.editor.untick = None;
    session
        .run_action(&uri, 0, json!([]), "Agent: Undo last agent change")
        .await;
    session
        .editor
        .until_message("agentls: undid Fix this")
        .await;
    assert_eq!(session.editor.text(&uri), TWO);
    assert_ne!(TWO_FIXED, TWO);
}

#[tokio::test]
async fn review_preview_cancelled_not_answered_or_answered_wrongly_applies_nothing() {
    for (mode, timeout_secs, expected) in [
        (
            ApplyMode::Decline,
            30,
            "the patch was not applied: the change to src/lib.rs was not applied: the user applied none of it in the preview (or the file changed meanwhile)",
        ),
        (
            ApplyMode::Hold,
            1,
            "the patch was not applied: the user did not answer the review of the change to src/lib.rs within 1 s; nothing of it was applied",
        ),
        (
            ApplyMode::Malformed,
            30,
            "the patch was not applied: the change to src/lib.rs was not applied: the editor answered the review with an error: ",
        ),
    ] {
        let mut session = Session::start(review_options(previewing_editor(), timeout_secs)).await;
        session.editor.apply_mode = mode;
        script_patch(&session, FIX_PATCH);
        let uri = session.open_lib().await;
        fix_this(&mut session, &uri).await;
        session.editor.until_message("Fix this: Reviewed.").await;
        assert_eq!(session.editor.text(&uri), BUGGY, "{mode:?}");
        assert_eq!(session.editor.apply_requests.len(), 1, "{mode:?}");
        let output = told(&session);
        assert!(output.starts_with(expected), "{mode:?}: {output}");
        let messages = session.editor.messages();
        assert!(
            messages
                .iter()
                .any(|message| message.ends_with("; the agent was told")),
            "{mode:?}: {messages:#?}"
        );
        // Nothing landed: nothing to undo.
        let actions = session.code_actions(&uri, 1, json!([])).await;
        assert!(
            !titles(&actions)
                .iter()
                .any(|title| title.starts_with("Agent: Undo")),
            "{mode:?}"
        );
    }
}

/// Serves the server until the pending change is announced.
async fn until_pending(session: &mut Session) -> String {
    session
        .editor
        .until_message("it waits for your review")
        .await
}

#[tokio::test]
async fn review_without_annotations_sends_no_edit_until_apply_pending() {
    let mut session = Session::start(review_options(editor_capabilities(true), 30)).await;
    script_patch(&session, FIX_PATCH);
    let uri = session.open_lib().await;
    fix_this(&mut session, &uri).await;
    let announced = until_pending(&mut session).await;
    expect_test::expect![[r#"agentls: Fix this proposes a change to src/lib.rs; it waits for your review: "Agent: Review change" shows it, "Agent: Apply change" (agentls.applyPending 1) applies it, "Agent: Discard change" (agentls.discardPending 1) discards it"#]]
    .assert_eq(&announced);
    assert!(session.editor.apply_requests.is_empty());
    assert_eq!(session.fake.requests().len(), 1, "the turn waits");

    // Offered at any spot, first.
    let actions = session.code_actions(&uri, 0, json!([])).await;
    expect_test::expect![[r#"
        [
            "Agent: Review change to src/lib.rs [quickfix] -> agentls.reviewPending",
            "Agent: Apply change to src/lib.rs [quickfix] -> agentls.applyPending",
            "Agent: Discard change to src/lib.rs [quickfix] -> agentls.discardPending",
        ]
    "#]]
    .assert_debug_eq(&titles(&actions)[..3].to_vec());

    // Review: the diff, opened with showDocument.
    let reviewed = session
        .run_action(&uri, 0, json!([]), "Agent: Review change to src/lib.rs")
        .await;
    assert_eq!(reviewed["result"], json!({ "id": "1" }), "{reviewed}");
    let shown = session.editor.shown("window/showDocument");
    let diff_uri = shown.last().expect("the diff was shown")["uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(diff_uri.ends_with("/reviews/change-1.diff"), "{diff_uri}");
    let diff = std::fs::read_to_string(diff_uri.strip_prefix("file://").unwrap()).unwrap();
    expect_test::expect![[r#"
        agentls: Fix this proposes this change (pending change 1).
        Apply it with "Agent: Apply change" (agentls.applyPending 1),
        discard it with "Agent: Discard change" (agentls.discardPending 1).

        --- a/src/lib.rs
        +++ b/src/lib.rs
        @@ -1,3 +1,3 @@
         pub fn add(a: i32, b: i32) -> i32 {
        -    a - b
        +    a + b
         }
    "#]]
    .assert_eq(&diff);
    assert!(session.editor.apply_requests.is_empty());

    // Apply (the command as a Helix user types it, without an id).
    let applied = session
        .editor
        .request(
            "workspace/executeCommand",
            json!({ "command": "agentls.applyPending" }),
        )
        .await;
    assert_eq!(applied["result"], json!({ "id": "1" }), "{applied}");
    session.editor.until_message("Fix this: Reviewed.").await;
    assert_eq!(session.editor.text(&uri), FIXED);
    // A plain versioned edit, no annotations.
    let edit = &session.editor.apply_requests[0]["edit"];
    assert!(edit.get("changeAnnotations").is_none(), "{edit}");
    assert!(told(&session).starts_with("Success."));
    // Answered: no longer offered, and a second answer is refused.
    let actions = session.code_actions(&uri, 0, json!([])).await;
    assert!(!titles(&actions)
        .iter()
        .any(|title| title.contains("change to")));
    let again = session
        .editor
        .request(
            "workspace/executeCommand",
            json!({ "command": "agentls.discardPending", "arguments": ["1"] }),
        )
        .await;
    assert_eq!(again["error"]["code"], -32602, "{again}");
    assert_eq!(again["error"]["message"], "no change 1 is pending");
}

#[tokio::test]
async fn review_discard_tells_the_model_in_its_next_request() {
    let mut session = Session::start(review_options(editor_capabilities(false), 30)).await;
    script_patch(&session, FIX_PATCH);
    let uri = session.open_lib().await;
    fix_this(&mut session, &uri).await;
    until_pending(&mut session).await;
    let discarded = session
        .run_action(&uri, 2, json!([]), "Agent: Discard change to src/lib.rs")
        .await;
    assert_eq!(discarded["result"], json!({ "id": "1" }), "{discarded}");
    session.editor.until_message("Fix this: Reviewed.").await;
    assert!(session.editor.apply_requests.is_empty());
    assert_eq!(session.editor.text(&uri), BUGGY);
    let requests = session.fake.requests();
    assert_eq!(requests.len(), 2);
    let outputs = requests[1].tool_outputs();
    assert_eq!(
        outputs[0].1,
        "the patch was not applied: the user discarded the change to src/lib.rs in review; nothing of it was applied"
    );
    let messages = session.editor.messages();
    assert!(
        messages.contains(
            &"agentls: discarded the change to src/lib.rs; the agent is told".to_string()
        ),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn review_pending_change_is_rebased_onto_other_lines_and_refused_as_stale_on_the_same_lines()
{
    // The user types on other lines while the change waits: it lands re-based.
    let mut session = Session::start(review_options(editor_capabilities(true), 30)).await;
    script_patch(&session, TWO_PATCH);
    let path = session.path("src/two.rs");
    let uri = session.editor.open(&path, "rust", TWO).await;
    fix_this(&mut session, &uri).await;
    until_pending(&mut session).await;
    let comment = json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "// math\n"});
    session.editor.type_change(&uri, comment).await;
    session
        .run_action(&uri, 0, json!([]), "Agent: Apply change to src/two.rs")
        .await;
    session.editor.until_message("Fix this: Reviewed.").await;
    assert_eq!(session.editor.text(&uri), format!("// math\n{TWO_FIXED}"));
    assert!(told(&session).starts_with("Success."));

    // The user rewrites the line the agent changes: the review says it is
    // stale, applying refuses it, and both the model and the user hear why.
    let mut session = Session::start(review_options(editor_capabilities(true), 30)).await;
    script_patch(&session, FIX_PATCH);
    let uri = session.open_lib().await;
    fix_this(&mut session, &uri).await;
    until_pending(&mut session).await;
    let rewrite = json!({"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 9}}, "text": "b - a"});
    session.editor.type_change(&uri, rewrite).await;
    session
        .run_action(&uri, 0, json!([]), "Agent: Review change to src/lib.rs")
        .await;
    let shown = session.editor.shown("window/showDocument");
    let diff_path = shown.last().unwrap()["uri"].as_str().unwrap()["file://".len()..].to_string();
    let diff = std::fs::read_to_string(diff_path).unwrap();
    assert!(
        diff.contains("Stale: src/lib.rs changed since the agent read it, at line 2, where the agent changes it too"),
        "{diff}"
    );
    session
        .run_action(&uri, 0, json!([]), "Agent: Apply change to src/lib.rs")
        .await;
    let warning = session
        .editor
        .until_message("overlaps the user's edits")
        .await;
    session.editor.until_message("Fix this: Reviewed.").await;
    let user_text = BUGGY.replace("a - b", "b - a");
    assert_eq!(session.editor.text(&uri), user_text, "not a keystroke lost");
    assert!(
        warning.ends_with("nothing was applied; the agent was told"),
        "{warning}"
    );
    let output = told(&session);
    assert!(
        output.starts_with("the patch was not applied: ")
            && output.contains("overlaps the user's edits at line 2"),
        "{output}"
    );
}

#[tokio::test]
async fn review_file_closed_while_the_change_waits_lands_on_disk_when_applied() {
    let mut session = Session::start(review_options(editor_capabilities(true), 30)).await;
    script_patch(&session, FIX_PATCH);
    let uri = session.open_lib().await;
    fix_this(&mut session, &uri).await;
    until_pending(&mut session).await;
    // Closed unmodified: the disk holds what the agent read.
    session.editor.close(&uri).await;
    let applied = session
        .editor
        .request(
            "workspace/executeCommand",
            json!({ "command": "agentls.applyPending", "arguments": [1] }),
        )
        .await;
    assert_eq!(applied["result"], json!({ "id": "1" }), "{applied}");
    session.editor.until_message("Fix this: Reviewed.").await;
    assert_eq!(
        std::fs::read_to_string(session.path("src/lib.rs")).unwrap(),
        FIXED
    );
    assert!(told(&session).starts_with("Success."));

    // Closed after the user changed the file on disk: refused, told.
    let mut session = Session::start(review_options(editor_capabilities(true), 30)).await;
    script_patch(&session, FIX_PATCH);
    let uri = session.open_lib().await;
    fix_this(&mut session, &uri).await;
    until_pending(&mut session).await;
    session.editor.close(&uri).await;
    let theirs = BUGGY.replace("a - b", "a.wrapping_sub(b)");
    std::fs::write(session.path("src/lib.rs"), &theirs).unwrap();
    session
        .editor
        .request(
            "workspace/executeCommand",
            json!({ "command": "agentls.applyPending" }),
        )
        .await;
    session.editor.until_message("Fix this: Reviewed.").await;
    assert_eq!(
        std::fs::read_to_string(session.path("src/lib.rs")).unwrap(),
        theirs
    );
    let output = told(&session);
    assert!(
        output.starts_with("the patch was not applied: ")
            && output.ends_with(
                "src/lib.rs: the agent's change overlaps the user's edits at line 2 of the file on disk; nothing was applied"
            ),
        "{output}"
    );
}

#[tokio::test]
async fn review_unanswered_or_stopped_withdraws_the_pending_change() {
    // No answer in time: not applied, the model told, the change withdrawn.
    let mut session = Session::start(review_options(editor_capabilities(false), 1)).await;
    script_patch(&session, FIX_PATCH);
    let uri = session.open_lib().await;
    fix_this(&mut session, &uri).await;
    session.editor.until_message("Fix this: Reviewed.").await;
    assert_eq!(
        told(&session),
        "the patch was not applied: the user did not answer the review of the change to src/lib.rs within 1 s; nothing of it was applied"
    );
    let actions = session.code_actions(&uri, 0, json!([])).await;
    assert!(!titles(&actions)
        .iter()
        .any(|title| title.contains("change to")));

    // "Agent: Stop agent" while the change waits.
    let mut session = Session::start(review_options(editor_capabilities(false), 30)).await;
    script_patch(&session, FIX_PATCH);
    let uri = session.open_lib().await;
    fix_this(&mut session, &uri).await;
    until_pending(&mut session).await;
    session
        .run_action(&uri, 0, json!([]), "Agent: Stop agent")
        .await;
    session.editor.until_message("Fix this stopped").await;
    let actions = session.code_actions(&uri, 0, json!([])).await;
    assert!(
        !titles(&actions)
            .iter()
            .any(|title| title.contains("change to")),
        "{actions:#?}"
    );
    let applied = session
        .editor
        .request(
            "workspace/executeCommand",
            json!({ "command": "agentls.applyPending" }),
        )
        .await;
    assert_eq!(applied["error"]["code"], -32803, "{applied}");
    assert_eq!(
        applied["error"]["message"],
        "no agent change is waiting for review"
    );
    assert!(session.editor.apply_requests.is_empty());
    assert_eq!(session.editor.text(&uri), BUGGY);
}
