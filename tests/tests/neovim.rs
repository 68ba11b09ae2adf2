//! A real editor: Debian's Neovim (0.7.2), headless, runs "Agent: Fix this" on a
//! buggy buffer through its own code-action path, allows the command the agent
//! asks to run, and ends with the fix in the buffer. The fake provider plays the
//! model; `tests/nvim/fix_this.lua` plays the user.
//!
//! Only on 0.7.2 (`tests/tests/neovim_plugin.rs` runs the plugin on 0.11 too):
//! from 0.10, `vim.lsp.buf.code_action()` without the plugin sends each server
//! only the diagnostics it published itself, and agentls publishes none, so bare
//! 0.11 never offers "Agent: Fix this" for another source's diagnostic; the
//! plugin's `:AgentActions` sends them (docs/editors/neovim.md).

use std::time::{Duration, SystemTime};

use agentls_tests::fake_provider::{
    FakeProvider, Format, Script, ToolCall, FAKE_API_KEY, FAKE_API_KEY_ENV,
};
use agentls_tests::fix_this::{
    BUGGY, COMMAND, DIAGNOSTIC_MESSAGE, FINAL_ANSWER, FIXED, PATCH, REASON,
};
use agentls_tests::neovim::{list, Neovim, Release, ScenarioRun};
use serde_json::json;

/// A finished run of `tests/nvim/fix_this.lua` over a workspace with the bug, the
/// fake provider scripted to run `COMMAND`, patch and answer.
struct FixThis {
    run: ScenarioRun,
    fake: FakeProvider,
    workspace: tempfile::TempDir,
}

async fn fix_this(then_undo: bool) -> FixThis {
    let nvim = Neovim::release(Release::Debian);

    let workspace = tempfile::tempdir().unwrap();
    let file = workspace.path().join("src/lib.rs");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, BUGGY).unwrap();
    // Saved a while ago, as a user's file is: Neovim tells a later change on
    // disk by its modification time.
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    std::fs::write(
        workspace.path().join("Cargo.toml"),
        "[package]\nname = \"adder\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();

    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    fake.push(Script::text_and_tool_calls(
        "Let me set up a scratch directory first.",
        [ToolCall::new(
            "shell",
            json!({ "command": COMMAND, "justification": REASON }),
        )],
    ))
    .push(Script::tool_calls([ToolCall::new(
        "apply_patch",
        json!({ "input": PATCH }),
    )]))
    .push(Script::text(FINAL_ANSWER));

    let init_options = json!({
        "provider": {
            "kind": "openai-responses",
            "base_url": fake.base_url(),
            "model": "gpt-fake",
            "api_key_env": FAKE_API_KEY_ENV,
        },
        "approvals": { "policy": "untrusted" },
    });
    let diagnostic = json!({
        "lnum": 1, "col": 4, "end_lnum": 1, "end_col": 9,
        "message": DIAGNOSTIC_MESSAGE,
        "source": "cargo test",
    });
    let run = nvim
        .scenario("fix_this.lua")
        .env(
            "AGENTLS_TEST_WORKSPACE",
            workspace.path().display().to_string(),
        )
        .env("AGENTLS_TEST_FILE", file.display().to_string())
        .env("AGENTLS_TEST_INIT_OPTIONS", init_options.to_string())
        .env("AGENTLS_TEST_DIAGNOSTIC", diagnostic.to_string())
        .env("AGENTLS_TEST_THEN_UNDO", if then_undo { "1" } else { "0" })
        .env(FAKE_API_KEY_ENV, FAKE_API_KEY)
        .run()
        .await;
    FixThis {
        run,
        fake,
        workspace,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_fix_this_asks_approval_and_lands_the_fix_in_the_buffer() {
    let FixThis {
        run,
        fake,
        workspace,
    } = fix_this(false).await;
    let report = run.report();

    // The user's view: the menu, the question, the buffer.
    let menus = list(report, "code_actions");
    run.check(
        menus.len() == 1 && menus[0]["kind"] == "codeaction",
        "Neovim showed one code action menu",
    );
    let approvals = list(report, "show_message_request");
    run.check(approvals.len() == 1, "exactly one approval was asked");
    let approval = approvals[0];
    let message = approval["message"].as_str().unwrap_or_default();
    run.check(
        message.contains(&COMMAND.join(" ")) && message.contains(REASON),
        "the approval names the command and the model's reason",
    );
    run.check(
        approval["actions"] == json!(["Allow", "Allow for this thread", "Deny"])
            && approval["answered"] == "Allow",
        "the approval offers Allow / Allow for this thread / Deny, and Allow was picked",
    );
    run.check(
        report["buffer_after"] == FIXED,
        "the buffer holds exactly the fixed text",
    );
    run.check(
        report["disk_after"] == BUGGY && report["buffer_modified"] == true,
        "the fix waits in the modified buffer: the disk, saved before the task, was not written",
    );
    run.check(
        report["file_changed_shell"].is_null(),
        "Neovim found no change behind its back (no FileChangedShell on :checktime)",
    );
    run.check(
        report["saved"] == true && report["disk_saved"] == FIXED && report["buffer_saved"] == FIXED,
        ":write saves the fix without asking",
    );
    let shown: Vec<&str> = list(report, "show_message")
        .iter()
        .filter_map(|shown| shown["message"].as_str())
        .collect();
    run.check(
        shown.iter().any(|message| message.starts_with("agentls: "))
            && shown.iter().any(|message| message.contains(FINAL_ANSWER)),
        "showMessage said when the task ran and gave the model's answer",
    );
    run.check(
        workspace.path().join("scratch").is_dir(),
        "the approved command ran in the workspace",
    );

    // The model's view: the diagnostic, then the approved command's output.
    let requests = fake.requests();
    run.check(
        requests.len() == 3 && fake.remaining() == 0,
        "the model was asked three times, one per scripted answer",
    );
    run.check(
        requests[0].body["input"]
            .to_string()
            .contains(DIAGNOSTIC_MESSAGE),
        "the diagnostic Neovim sent reached the model",
    );
    let outputs: Vec<String> = requests[1]
        .tool_outputs()
        .into_iter()
        .map(|(_, output)| output)
        .collect();
    run.check(
        outputs.len() == 1
            && outputs[0].contains("exit code: 0")
            && outputs[0].contains("created directory"),
        "the approved command's output reached the model",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_undo_last_agent_change_reverts_the_fix_after_a_save() {
    let FixThis { run, fake, .. } = fix_this(true).await;
    let report = run.report();
    run.check(
        report["saved"] == true && report["buffer_saved"] == FIXED,
        "the fix landed and was saved",
    );
    let menus = list(report, "code_actions");
    run.check(
        menus.len() == 2 && menus[1]["picked"] == "Agent: Undo last agent change",
        "the second menu offered \"Agent: Undo last agent change\"",
    );
    run.check(
        report["buffer_after_undo"] == BUGGY,
        "the buffer holds exactly the text from before the task",
    );
    run.check(
        report["disk_after_undo"] == FIXED,
        "the undo reverted the buffer only: the disk keeps what the user saved",
    );
    run.check(
        report["disk_after_undo_saved"] == BUGGY,
        ":write after the undo saves the reverted text without asking",
    );
    let shown: Vec<&str> = list(report, "show_message")
        .iter()
        .filter_map(|shown| shown["message"].as_str())
        .collect();
    run.check(
        shown
            .last()
            .is_some_and(|message| message.starts_with("agentls: undid Fix this")),
        "the undo said what it reverted",
    );
    run.check(fake.requests().len() == 3, "undo asked the model nothing");
}
