use std::path::{Path, PathBuf};

use agent_client_protocol::v1::schema::{
    ContentBlock, EmbeddedResource, EmbeddedResourceResource, ImageContent, ResourceLink,
    TextResourceContents,
};
use agentls_core::protocol::{CommandStatus, FileChangeKind, FileDiff, PatchStatus};
use expect_test::{expect, Expect};

use super::*;

const ROOT: &str = "/w";

fn item(id: &str, kind: ThreadItemKind) -> ThreadItem {
    ThreadItem {
        id: id.to_string(),
        kind,
    }
}

/// The JSON a client receives, one value per line.
fn check(values: &[impl serde::Serialize], expected: Expect) {
    let lines: Vec<String> = values
        .iter()
        .map(|value| serde_json::to_string(value).unwrap())
        .collect();
    expected.assert_eq(&lines.join("\n"));
}

fn edit(status: PatchStatus, error: Option<&str>) -> ThreadItem {
    item(
        "item-4",
        ThreadItemKind::FileChange {
            call_id: "call_3".into(),
            changes: vec![FileDiff {
                path: PathBuf::from("/w/src/lib.rs"),
                kind: FileChangeKind::Update { moved_from: None },
                diff: "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a - b\n+a + b\n".into(),
            }],
            status,
            error: error.map(str::to_string),
        },
    )
}

#[test]
fn acp_tool_calls_are_announced_with_title_kind_and_locations() {
    let read = item(
        "item-2",
        ThreadItemKind::ToolCall {
            call_id: "call_1".into(),
            tool: "read_file".into(),
            arguments: r#"{"path":"src/lib.rs"}"#.into(),
            output: None,
            is_error: false,
        },
    );
    let grep = item(
        "item-3",
        ThreadItemKind::ToolCall {
            call_id: "call_2".into(),
            tool: "grep".into(),
            arguments: r#"{"pattern":"fn add"}"#.into(),
            output: None,
            is_error: false,
        },
    );
    let command = item(
        "item-5",
        ThreadItemKind::CommandExecution {
            call_id: "call_4".into(),
            argv: vec!["cargo".into(), "test".into()],
            cwd: PathBuf::from("/w/core"),
            output: String::new(),
            exit_code: None,
            status: CommandStatus::InProgress,
        },
    );
    let calls: Vec<ToolCall> = [read, grep, command, edit(PatchStatus::InProgress, None)]
        .iter()
        .map(|item| announce(item, Path::new(ROOT)).unwrap())
        .collect();
    check(
        &calls,
        expect![[r#"
            {"toolCallId":"item-2","title":"Read src/lib.rs","name":"read_file","kind":"read","status":"in_progress","locations":[{"path":"/w/src/lib.rs"}],"rawInput":{"path":"src/lib.rs"}}
            {"toolCallId":"item-3","title":"Search for `fn add`","name":"grep","kind":"search","status":"in_progress","rawInput":{"pattern":"fn add"}}
            {"toolCallId":"item-5","title":"`cargo test` in core","name":"shell","kind":"execute","status":"in_progress","locations":[{"path":"/w/core"}]}
            {"toolCallId":"item-4","title":"Edit src/lib.rs","name":"apply_patch","kind":"edit","status":"in_progress","content":[{"type":"content","content":{"type":"text","text":"```diff\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a - b\n+a + b\n```"}}],"locations":[{"path":"/w/src/lib.rs"}]}"#]],
    );
    let message = item(
        "item-1",
        ThreadItemKind::AssistantMessage { text: "hi".into() },
    );
    assert!(announce(&message, Path::new(ROOT)).is_none());
}

#[test]
fn acp_finished_edits_show_the_landed_texts_as_diffs_and_failures_say_why() {
    let landed = vec![(
        PathBuf::from("/w/src/lib.rs"),
        LandedText {
            old: Some("a - b\n".into()),
            new: Some("a + b\n".into()),
        },
    )];
    let updates = [
        finish(&edit(PatchStatus::Applied, None), &landed).unwrap(),
        finish(
            &edit(
                PatchStatus::Failed,
                Some("src/lib.rs changed in the editor"),
            ),
            &[],
        )
        .unwrap(),
    ];
    check(
        &updates,
        expect![[r#"
            {"toolCallId":"item-4","status":"completed","content":[{"type":"diff","path":"/w/src/lib.rs","oldText":"a - b\n","newText":"a + b\n"}]}
            {"toolCallId":"item-4","status":"failed","content":[{"type":"content","content":{"type":"text","text":"```diff\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a - b\n+a + b\n```"}},{"type":"content","content":{"type":"text","text":"not applied: src/lib.rs changed in the editor"}}]}"#]],
    );
}

#[test]
fn acp_finished_commands_say_how_they_ended() {
    let command = |status, exit_code, output: &str| {
        item(
            "item-5",
            ThreadItemKind::CommandExecution {
                call_id: "call_4".into(),
                argv: vec!["cargo".into(), "test".into()],
                cwd: PathBuf::from(ROOT),
                output: output.into(),
                exit_code,
                status,
            },
        )
    };
    let updates: Vec<ToolCallUpdate> = [
        command(CommandStatus::Completed, Some(0), "ok"),
        command(CommandStatus::Failed, Some(101), "1 failed"),
        command(CommandStatus::Declined, None, ""),
        command(CommandStatus::Interrupted, None, "```partial"),
    ]
    .iter()
    .map(|item| finish(item, &[]).unwrap())
    .collect();
    check(
        &updates,
        expect![[r#"
            {"toolCallId":"item-5","status":"completed","content":[{"type":"content","content":{"type":"text","text":"```\nok\n```"}}]}
            {"toolCallId":"item-5","status":"failed","content":[{"type":"content","content":{"type":"text","text":"```\n1 failed\n```"}},{"type":"content","content":{"type":"text","text":"exit status 101"}}]}
            {"toolCallId":"item-5","status":"failed","content":[{"type":"content","content":{"type":"text","text":"not run: declined"}}]}
            {"toolCallId":"item-5","status":"failed","content":[{"type":"content","content":{"type":"text","text":"````\n```partial\n````"}},{"type":"content","content":{"type":"text","text":"interrupted"}}]}"#]],
    );
}

#[test]
fn acp_replay_shows_a_past_thread_in_order() {
    let items = vec![
        item(
            "item-1",
            ThreadItemKind::UserMessage {
                text: "Fix it".into(),
                context: Vec::new(),
            },
        ),
        item(
            "item-2",
            ThreadItemKind::Reasoning {
                summary: vec!["Look first.".into()],
            },
        ),
        item(
            "item-3",
            ThreadItemKind::Plan {
                call_id: "call_1".into(),
                explanation: None,
                steps: vec![PlanStep {
                    step: "Read".into(),
                    status: PlanStepStatus::Completed,
                }],
            },
        ),
        edit(PatchStatus::Applied, None),
        item(
            "item-5",
            ThreadItemKind::AssistantMessage {
                text: "Done.".into(),
            },
        ),
    ];
    check(
        &replay(&items, Path::new(ROOT)),
        expect![[r#"
            {"sessionUpdate":"user_message_chunk","content":{"type":"text","text":"Fix it"}}
            {"sessionUpdate":"agent_thought_chunk","content":{"type":"text","text":"Look first."}}
            {"sessionUpdate":"plan","entries":[{"content":"Read","priority":"medium","status":"completed"}]}
            {"sessionUpdate":"tool_call","toolCallId":"item-4","title":"Edit src/lib.rs","name":"apply_patch","kind":"edit","status":"completed","content":[{"type":"content","content":{"type":"text","text":"```diff\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a - b\n+a + b\n```"}}],"locations":[{"path":"/w/src/lib.rs"}]}
            {"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Done."}}"#]],
    );
}

#[test]
fn acp_prompt_content_becomes_text_and_context() {
    let blocks = vec![
        ContentBlock::from("Explain"),
        ContentBlock::ResourceLink(ResourceLink::new("lib.rs", "file:///w/src/lib.rs")),
        ContentBlock::Resource(EmbeddedResource::new(
            EmbeddedResourceResource::TextResourceContents(TextResourceContents::new(
                "fn main() {}",
                "file:///w/src/main.rs",
            )),
        )),
    ];
    let (text, context) = prompt_input(&blocks).unwrap();
    assert_eq!(text, "Explain\n@/w/src/lib.rs");
    assert_eq!(
        context,
        vec![ContextItem {
            label: "the content of /w/src/main.rs".into(),
            path: Some(PathBuf::from("/w/src/main.rs")),
            text: "fn main() {}".into(),
        }]
    );
    let image = ContentBlock::Image(ImageContent::new("aGk=", "image/png"));
    assert_eq!(
        prompt_input(&[image]).unwrap_err(),
        "the prompt has an image: agentls takes text only"
    );
    assert_eq!(
        prompt_input(&[ContentBlock::from("  ")]).unwrap_err(),
        "the prompt is empty"
    );
}
