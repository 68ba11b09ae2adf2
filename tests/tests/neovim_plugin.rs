//! The Neovim plugin (`editors/neovim`) in Debian's Neovim 0.7.2 and in the current
//! release, 0.11 (each test runs on both: `…_on_0_7`, `…_on_0_11`), headless, with
//! the plugin directory on 'runtimepath' and the real agentls: `setup({})` attaches
//! one agentls client to every file buffer; the `:Agent*` commands reach the
//! server (an approval answered with `:AgentApprove` lets the command run and its
//! output reach the model, `:AgentDeny` tells the model no, `:AgentStop` and
//! `:AgentUndo` do what they say); an approval prompt is `vim.ui.select` on 0.11;
//! progress is echoed, throttled. The fake provider plays the model;
//! `tests/nvim/plugin_*.lua` play the user.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use agentls_tests::client::agentls_binary;
use agentls_tests::fake_provider::{
    FakeProvider, Format, RecordedRequest, Script, ToolCall, FAKE_API_KEY, FAKE_API_KEY_ENV,
};
use agentls_tests::neovim::{list, Neovim, Release, ScenarioRun};
use serde_json::{json, Value};

const BUGGY: &str = "\
pub fn add(a: i32, b: i32) -> i32 {
    a - b
}
";

const FIXED: &str = "\
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}
";

const PATCH: &str = "\
*** Begin Patch
*** Update File: src/lib.rs
@@
 pub fn add(a: i32, b: i32) -> i32 {
-    a - b
+    a + b
 }
*** End Patch
";

const MANIFEST: &str = "[package]\nname = \"adder\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
const DIAGNOSTIC_MESSAGE: &str = "add(2, 3) returned -1, expected 5";
/// The plugin's `PROGRESS_INTERVAL_MS`: no two progress lines closer than this.
const PROGRESS_INTERVAL_MS: u64 = 200;

fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/neovim")
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The progress lines the plugin echoed (titled `Agent: …`). 0.11 echoes the
/// server's `window/showMessage` too (`LSP[agentls][Info] …`), 0.7 prints it.
fn progress_echoes(report: &Value) -> Vec<&Value> {
    list(report, "echoed")
        .into_iter()
        .filter(|echo| {
            echo["text"]
                .as_str()
                .is_some_and(|text| text.starts_with("Agent: "))
        })
        .collect()
}

fn echoed(report: &Value) -> Vec<&str> {
    progress_echoes(report)
        .iter()
        .filter_map(|echo| echo["text"].as_str())
        .collect()
}

/// The plugin's throttle: every progress line came at least the interval after
/// the one before.
fn check_throttled(run: &ScenarioRun, report: &Value) {
    let times: Vec<u64> = progress_echoes(report)
        .iter()
        .filter_map(|echo| echo["at"].as_u64())
        .collect();
    run.check(
        !times.is_empty()
            && times
                .windows(2)
                .all(|pair| pair[1] >= pair[0] + PROGRESS_INTERVAL_MS),
        "progress lines were echoed, at least 200 ms apart",
    );
}

/// The Neovim that ran the scenario is the release asked for (`Neovim::release`
/// checked the binary's `--version`; this is what the editor itself said).
fn check_release(run: &ScenarioRun, report: &Value, release: Release) {
    let expected = match release {
        Release::Debian => "0.7.",
        Release::Current => "0.11.",
    };
    run.check(
        report["nvim_version"]
            .as_str()
            .is_some_and(|version| version.starts_with(expected)),
        &format!("the scenario ran in Neovim {expected}x"),
    );
}

/// The tool outputs of an OpenAI Responses request.
fn tool_outputs(request: &RecordedRequest) -> Vec<String> {
    request
        .tool_outputs()
        .into_iter()
        .map(|(_, output)| output)
        .collect()
}

/// A workspace with `Cargo.toml` and a buggy `src/lib.rs` saved an hour ago (Neovim
/// tells a later change on disk by its modification time).
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let workspace = tempfile::tempdir().unwrap();
    let file = workspace.path().join("src/lib.rs");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, BUGGY).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    std::fs::write(workspace.path().join("Cargo.toml"), MANIFEST).unwrap();
    (workspace, file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_setup_attaches_one_agentls_client_to_every_file_buffer_on_0_7() {
    setup_attaches_one_agentls_client_to_every_file_buffer(Release::Debian).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_setup_attaches_one_agentls_client_to_every_file_buffer_on_0_11() {
    setup_attaches_one_agentls_client_to_every_file_buffer(Release::Current).await;
}

async fn setup_attaches_one_agentls_client_to_every_file_buffer(release: Release) {
    let nvim = Neovim::release(release);
    let (workspace, _) = workspace();
    // `setup({})` starts `agentls` from PATH, as a user's install does.
    let binary_dir = agentls_binary().parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(binary_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let run = nvim
        .scenario("plugin_setup.lua")
        .env("PATH", path.to_string_lossy())
        .env("AGENTLS_TEST_PLUGIN", plugin_dir().display().to_string())
        .env(
            "AGENTLS_TEST_WORKSPACE",
            workspace.path().display().to_string(),
        )
        .run()
        .await;
    let report = run.report();
    check_release(&run, report, release);

    let attached = &report["attached"];
    run.check(
        strings(&attached["manifest"]) == ["agentls"]
            && strings(&attached["source"]) == ["agentls"],
        "the file open before setup and the file opened after both have the agentls client",
    );
    run.check(
        strings(&attached["scratch"]).is_empty()
            && strings(&attached["help"]).is_empty()
            && report["help_buftype"] == "help",
        "a scratch buffer and a help window (buffers that are not files) have none",
    );
    let clients = list(report, "clients");
    let root = workspace.path().display().to_string();
    run.check(
        clients.len() == 1
            && clients[0]["cmd"] == json!(["agentls", "--stdio"])
            && clients[0]["root_dir"] == root.as_str(),
        "one client, started as `agentls --stdio` with the current directory as its root",
    );
    run.check(
        echoed(report)
            .iter()
            .any(|text| text.starts_with("Agent: indexing: ")),
        "the index's progress was echoed",
    );
    check_throttled(&run, report);
    run.check(
        [
            "AgentActions",
            "AgentApprove",
            "AgentDeny",
            "AgentStop",
            "AgentUndo",
            "AgentReview",
            "AgentApply",
            "AgentDiscard",
        ]
        .iter()
        .all(|name| report["commands"][name] == true),
        "setup defined :AgentActions, :AgentApprove, :AgentDeny, :AgentStop, :AgentUndo, \
         :AgentReview, :AgentApply and :AgentDiscard",
    );
    run.check(
        report["stop_answer"] == "agentls: no agent task is running",
        ":AgentStop reached the server, which said nothing was running",
    );
    let without: Vec<&Value> = report["keymaps_without_option"]
        .as_object()
        .map(|maps| maps.values().collect())
        .unwrap_or_default();
    run.check(
        without.len() == 8 && without.iter().all(|rhs| *rhs == ""),
        "no keys are mapped without `keymaps`",
    );
    let with = &report["keymaps_with_option"];
    run.check(
        with["<leader>aa"] == ":AgentActions<CR>"
            && with["<leader>ay"] == ":AgentApprove<CR>"
            && with["<leader>an"] == ":AgentDeny<CR>"
            && with["<leader>as"] == ":AgentStop<CR>"
            && with["<leader>au"] == ":AgentUndo<CR>"
            && with["<leader>ar"] == ":AgentReview<CR>"
            && with["<leader>ac"] == ":AgentApply<CR>"
            && with["<leader>ax"] == ":AgentDiscard<CR>"
            && report["visual_actions_keymap"] == ":AgentActions<CR>",
        "`keymaps = true` maps the default keys, :AgentActions in visual mode too",
    );
    run.check(
        report["clients_after_second_setup"] == json!([report["client_id"]]),
        "calling setup again keeps the one client",
    );
}

/// A finished run of `tests/nvim/plugin_tasks.lua`, the fake provider scripted
/// with `scripts`.
struct Tasks {
    run: ScenarioRun,
    fake: FakeProvider,
    workspace: tempfile::TempDir,
}

async fn tasks(release: Release, flow: &str, scripts: Vec<Script>) -> Tasks {
    tasks_in("plugin_tasks.lua", release, flow, scripts).await
}

/// A finished run of `tests/nvim/<script>`, which reads the same variables as
/// `plugin_tasks.lua`.
async fn tasks_in(script: &str, release: Release, flow: &str, scripts: Vec<Script>) -> Tasks {
    let nvim = Neovim::release(release);
    let (workspace, file) = workspace();
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    for script in scripts {
        fake.push(script);
    }
    let init_options = json!({
        "provider": {
            "kind": "openai-responses",
            "base_url": fake.base_url(),
            "model": "gpt-fake",
            "api_key_env": FAKE_API_KEY_ENV,
        },
        "approvals": { "policy": "untrusted", "edits": if flow == "review" { "review" } else { "apply" } },
    });
    let diagnostic = json!({
        "lnum": 1, "col": 4, "end_lnum": 1, "end_col": 9,
        "message": DIAGNOSTIC_MESSAGE,
        "source": "cargo test",
    });
    let run = nvim
        .scenario(script)
        .env("AGENTLS_TEST_PLUGIN", plugin_dir().display().to_string())
        .env(
            "AGENTLS_TEST_WORKSPACE",
            workspace.path().display().to_string(),
        )
        .env("AGENTLS_TEST_FILE", file.display().to_string())
        .env("AGENTLS_TEST_INIT_OPTIONS", init_options.to_string())
        .env("AGENTLS_TEST_DIAGNOSTIC", diagnostic.to_string())
        .env("AGENTLS_TEST_FLOW", flow)
        .env(FAKE_API_KEY_ENV, FAKE_API_KEY)
        .run()
        .await;
    check_release(&run, run.report(), release);
    Tasks {
        run,
        fake,
        workspace,
    }
}

/// Checks what both flows share: the client's root, the menu, no prompt, the
/// announced approval, the echoed progress.
fn check_task_basics(run: &ScenarioRun, report: &Value, root: &Path) {
    run.check(
        report["root_dir"] == root.display().to_string().as_str(),
        "root_markers found the workspace from a file below it (the current directory is src/)",
    );
    let menus = list(report, "code_actions");
    run.check(
        !menus.is_empty()
            && menus.iter().all(|menu| {
                strings(&menu["titles"]).contains(&"Agent: Fix this")
                    && menu["picked"] == "Agent: Fix this"
            }),
        ":AgentActions listed \"Agent: Fix this\", which was picked",
    );
    run.check(
        list(report, "show_message_request").is_empty(),
        "with `approval_prompt = false` Neovim was never asked (no blocking inputlist)",
    );
    let shown: Vec<&str> = list(report, "show_message")
        .iter()
        .filter_map(|shown| shown["message"].as_str())
        .collect();
    run.check(
        shown
            .iter()
            .any(|message| message.contains("agentls.approve")),
        "the pending approval was announced in the message area",
    );
    let echoes = echoed(report);
    run.check(
        echoes
            .iter()
            .any(|text| text.starts_with("Agent: Fix this: waiting for approval to run `"))
            && echoes.contains(&"Agent: Fix this: done"),
        "the echoed progress said it waited for approval, then done (states shorter \
         than the throttle's interval are replaced by the next)",
    );
    check_throttled(run, report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_agent_approve_runs_the_command_and_agent_undo_reverts_on_0_7() {
    agent_approve_runs_the_command_and_agent_undo_reverts(Release::Debian).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_agent_approve_runs_the_command_and_agent_undo_reverts_on_0_11() {
    agent_approve_runs_the_command_and_agent_undo_reverts(Release::Current).await;
}

async fn agent_approve_runs_the_command_and_agent_undo_reverts(release: Release) {
    const COMMAND: [&str; 3] = ["mkdir", "-v", "scratch"];
    const FINAL_ANSWER: &str = "Fixed: `add` now returns `a + b`.";
    let Tasks {
        run,
        fake,
        workspace,
    } = tasks(
        release,
        "approve",
        vec![
            Script::text_and_tool_calls(
                "Let me make a scratch directory first.",
                [ToolCall::new(
                    "shell",
                    json!({ "command": COMMAND, "justification": "try the fix there" }),
                )],
            ),
            Script::tool_calls([ToolCall::new("apply_patch", json!({ "input": PATCH }))]),
            Script::text(FINAL_ANSWER),
        ],
    )
    .await;
    let report = run.report();
    check_task_basics(&run, report, workspace.path());

    run.check(
        workspace.path().join("src/scratch").is_dir() || workspace.path().join("scratch").is_dir(),
        ":AgentApprove let the command run",
    );
    let requests = fake.requests();
    run.check(
        requests.len() == 3 && fake.remaining() == 0,
        "the model was asked three times, one per scripted answer",
    );
    let outputs = tool_outputs(&requests[1]);
    run.check(
        outputs.len() == 1
            && outputs[0].contains("exit code: 0")
            && outputs[0].contains("created directory"),
        "the approved command's output reached the model",
    );
    run.check(
        report["buffer_after"] == FIXED,
        "the fix landed in the buffer",
    );
    let messages = report["messages_after_task"].as_str().unwrap_or_default();
    run.check(
        messages.contains("agentls: approved `mkdir -v scratch`")
            && messages.contains(FINAL_ANSWER),
        ":messages shows the approval and the task's final message",
    );
    run.check(
        report["modified_before_write"] == true && report["disk_before_write"] == BUGGY,
        "the fix waited in the modified buffer: the disk was not written behind Neovim's back",
    );
    run.check(
        report["disk_after_write"] == FIXED,
        ":checktime found nothing to ask about and :write saved the fix",
    );
    run.check(
        report["buffer_after_undo"] == BUGGY,
        ":AgentUndo reverted the fix",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_agent_deny_tells_the_model_and_agent_stop_stops_the_task_on_0_7() {
    agent_deny_tells_the_model_and_agent_stop_stops_the_task(Release::Debian).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_agent_deny_tells_the_model_and_agent_stop_stops_the_task_on_0_11() {
    agent_deny_tells_the_model_and_agent_stop_stops_the_task(Release::Current).await;
}

async fn agent_deny_tells_the_model_and_agent_stop_stops_the_task(release: Release) {
    const COMMAND: [&str; 2] = ["touch", "denied.txt"];
    const FINAL_ANSWER: &str = "Understood: I will not create the file.";
    let Tasks {
        run,
        fake,
        workspace,
    } = tasks(
        release,
        "deny_then_stop",
        vec![
            Script::text_and_tool_calls(
                "Let me mark the spot first.",
                [ToolCall::new(
                    "shell",
                    json!({ "command": COMMAND, "justification": "mark it" }),
                )],
            ),
            Script::text(FINAL_ANSWER),
            Script::stall(),
        ],
    )
    .await;
    let report = run.report();
    check_task_basics(&run, report, workspace.path());

    run.check(
        !workspace.path().join("denied.txt").exists()
            && !workspace.path().join("src/denied.txt").exists(),
        ":AgentDeny kept the command from running",
    );
    let requests = fake.requests();
    run.check(
        requests.len() == 3 && fake.remaining() == 0,
        "the model was asked three times: the denied call, its answer, the stopped task",
    );
    let outputs = tool_outputs(&requests[1]);
    run.check(
        outputs.len() == 1 && outputs[0].contains("the user denied running `touch denied.txt`"),
        "the model was told the user denied the command",
    );
    let messages = report["messages"].as_str().unwrap_or_default();
    run.check(
        messages.contains("agentls: denied `touch denied.txt`")
            && messages.contains(FINAL_ANSWER)
            && messages.contains("agentls: Fix this stopped"),
        ":messages shows the denial, the first task's final message and the stop",
    );
    run.check(
        echoed(report).contains(&"Agent: Fix this: stopped"),
        "the echoed progress said the second task stopped",
    );
    run.check(report["buffer_after"] == BUGGY, "the buffer is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_approval_prompt_allow_runs_the_command_on_0_7() {
    approval_prompt_allow_runs_the_command(Release::Debian).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_approval_prompt_allow_runs_the_command_on_0_11() {
    approval_prompt_allow_runs_the_command(Release::Current).await;
}

/// `approval_prompt` left on: the server asks with `window/showMessageRequest`,
/// which 0.7 can only answer with its blocking `inputlist()` (the harness stands
/// in for the user typing the number) and the plugin asks with `vim.ui.select`
/// on 0.10+, the editor free meanwhile.
async fn approval_prompt_allow_runs_the_command(release: Release) {
    const COMMAND: [&str; 3] = ["mkdir", "-v", "scratch"];
    const FINAL_ANSWER: &str = "Fixed: `add` now returns `a + b`.";
    let Tasks {
        run,
        fake,
        workspace,
    } = tasks(
        release,
        "prompt",
        vec![
            Script::text_and_tool_calls(
                "Let me make a scratch directory first.",
                [ToolCall::new(
                    "shell",
                    json!({ "command": COMMAND, "justification": "try the fix there" }),
                )],
            ),
            Script::tool_calls([ToolCall::new("apply_patch", json!({ "input": PATCH }))]),
            Script::text(FINAL_ANSWER),
        ],
    )
    .await;
    let report = run.report();

    let asked = list(report, "show_message_request");
    let prompt = match release {
        Release::Debian => "inputlist",
        Release::Current => "vim.ui.select",
    };
    run.check(
        asked.len() == 1
            && asked[0]["prompt"] == prompt
            && asked[0]["message"]
                .as_str()
                .is_some_and(|message| message.contains("mkdir -v scratch"))
            && strings(&asked[0]["actions"]) == ["Allow", "Allow for this thread", "Deny"]
            && asked[0]["answered"] == "Allow",
        &format!("the approval was asked once with {prompt}, naming the command, and Allow picked"),
    );
    run.check(
        workspace.path().join("src/scratch").is_dir() || workspace.path().join("scratch").is_dir(),
        "Allow let the command run",
    );
    let requests = fake.requests();
    run.check(
        requests.len() == 3 && fake.remaining() == 0,
        "the model was asked three times, one per scripted answer",
    );
    run.check(
        tool_outputs(&requests[1])
            .first()
            .is_some_and(|output| output.contains("created directory")),
        "the allowed command's output reached the model",
    );
    run.check(
        report["buffer_after"] == FIXED,
        "the fix landed in the buffer",
    );
    let messages = report["messages"].as_str().unwrap_or_default();
    run.check(
        messages.contains(FINAL_ANSWER),
        ":messages shows the task's final message",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_review_mode_applies_the_change_through_its_code_action_on_0_7() {
    review_mode_applies_the_change_through_its_code_action(Release::Debian).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_review_mode_applies_the_change_through_its_code_action_on_0_11() {
    review_mode_applies_the_change_through_its_code_action(Release::Current).await;
}

/// `approvals.edits = "review"`: Neovim declares no change annotations (and
/// would apply annotated edits without asking), so the change waits as a
/// pending change until "Agent: Apply change to src/lib.rs" is picked from
/// :AgentActions.
async fn review_mode_applies_the_change_through_its_code_action(release: Release) {
    const FINAL_ANSWER: &str = "Fixed after your review.";
    let Tasks {
        run,
        fake,
        workspace: _workspace,
    } = tasks(
        release,
        "review",
        vec![
            Script::tool_calls([ToolCall::new("apply_patch", json!({ "input": PATCH }))]),
            Script::text(FINAL_ANSWER),
        ],
    )
    .await;
    let report = run.report();
    run.check(
        report["buffer_while_pending"] == BUGGY,
        "nothing landed while the change waited for review",
    );
    let menus = list(report, "code_actions");
    run.check(
        menus.len() == 2
            && menus[1]["picked"] == "Agent: Apply change to src/lib.rs"
            && strings(&menus[1]["titles"]).starts_with(&[
                "Agent: Review change to src/lib.rs",
                "Agent: Apply change to src/lib.rs",
                "Agent: Discard change to src/lib.rs",
            ]),
        "the second :AgentActions menu offered Review, Apply and Discard first; Apply was picked",
    );
    run.check(
        report["buffer_after"] == FIXED,
        "the fix landed in the buffer once applied",
    );
    let requests = fake.requests();
    run.check(
        requests.len() == 2
            && tool_outputs(&requests[1])
                .first()
                .is_some_and(|output| output.starts_with("Success.")),
        "the model heard that the patch was applied",
    );
    let messages = report["messages"].as_str().unwrap_or_default();
    run.check(
        messages.contains("it waits for your review")
            && messages.contains("agentls: applying the change to src/lib.rs")
            && messages.contains(FINAL_ANSWER),
        ":messages shows the announcement, the apply and the task's final message",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_turn_view_streams_the_items_into_a_scratch_split_on_0_7() {
    turn_view_streams_the_items_into_a_scratch_split(Release::Debian).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_plugin_turn_view_streams_the_items_into_a_scratch_split_on_0_11() {
    turn_view_streams_the_items_into_a_scratch_split(Release::Current).await;
}

/// `tests/nvim/turn_view.lua`: the split opened by itself when the turn started
/// and showed the turn as it streamed (the approval waiting, then approved, the
/// command and its output, the edit, the answer); `d` on the edit and
/// `:AgentTurnDiff` opened unified diffs.
async fn turn_view_streams_the_items_into_a_scratch_split(release: Release) {
    const COMMAND: [&str; 3] = ["mkdir", "-v", "scratch"];
    const FIRST_MESSAGE: &str = "Let me make a scratch directory first.";
    const FINAL_ANSWER: &str = "Fixed: `add` now returns `a + b`.";
    let Tasks { run, fake, .. } = tasks_in(
        "turn_view.lua",
        release,
        "approve",
        vec![
            Script::text_and_tool_calls(
                FIRST_MESSAGE,
                [ToolCall::new(
                    "shell",
                    json!({ "command": COMMAND, "justification": "try the fix there" }),
                )],
            ),
            Script::tool_calls([ToolCall::new("apply_patch", json!({ "input": PATCH }))]),
            Script::text(FINAL_ANSWER),
        ],
    )
    .await;
    let report = run.report();
    run.check(
        report["commands"] == json!({ "AgentTurn": true, "AgentTurnDiff": true }),
        "setup defined :AgentTurn and :AgentTurnDiff",
    );
    run.check(
        report["experimental"]["agentls"] == true
            && report["server_experimental"] == json!({ "agentls": { "version": 1 } }),
        "the plugin declared experimental.agentls and the server answered with its version",
    );
    run.check(
        report["auto_opened"] == true
            && report["cursor_stayed"] == true
            && report["view_height"] == 12,
        "with auto_open the split opened by itself, 12 lines high, and the cursor stayed in the source window",
    );
    run.check(
        report["buftype"] == "nofile"
            && report["filetype"] == "markdown"
            && report["modifiable"] == false,
        "the view is a scratch buffer (nofile, markdown, not modifiable)",
    );
    let waiting = strings(&report["lines_waiting"]);
    run.check(
        waiting.first() == Some(&"# Fix this — running")
            && waiting.contains(&"## Task")
            && waiting.contains(&FIRST_MESSAGE)
            && waiting.contains(
                &"## Approval 1: run `mkdir -v scratch` — waiting (:AgentApprove / :AgentDeny)",
            )
            && !waiting.iter().any(|line| line.starts_with("## Command")),
        "while the approval waited, the view showed the running turn, its task, the first \
         message and the approval, and no command yet",
    );
    let done = strings(&report["lines_done"]);
    let position = |line: &str| done.iter().position(|each| *each == line);
    let in_order = [
        "# Fix this",
        "## Task",
        FIRST_MESSAGE,
        "## Approval 1: run `mkdir -v scratch` — approved",
        "## Command `mkdir -v scratch` — exit 0",
        "    mkdir: created directory 'scratch'",
        "## Edit src/lib.rs (+1 −1) — applied",
        FINAL_ANSWER,
        "## Done · changed src/lib.rs · ",
    ];
    let found: Vec<Option<usize>> = in_order
        .iter()
        .map(|line| {
            if line.ends_with(' ') {
                done.iter().position(|each| each.starts_with(line))
            } else {
                position(line)
            }
        })
        .collect();
    run.check(
        found.iter().all(Option::is_some) && found.windows(2).all(|pair| pair[0] < pair[1]),
        &format!("after the turn the view showed, in order, {in_order:#?}; found at {found:?}"),
    );
    run.check(
        report["agent_turn_focused"] == true && report["windows_after_agent_turn"] == 1,
        ":AgentTurn went to the open split (no second one)",
    );
    let edit_diff = &report["edit_diff"];
    run.check(
        edit_diff["filetype"] == "diff"
            && edit_diff["buftype"] == "nofile"
            && strings(&edit_diff["lines"]).contains(&"-    a - b")
            && strings(&edit_diff["lines"]).contains(&"+    a + b"),
        "`d` on the edit opened its unified diff in a diff buffer",
    );
    let turn_diff = &report["turn_diff"];
    run.check(
        turn_diff["filetype"] == "diff"
            && strings(&turn_diff["lines"]).first() == Some(&"--- a/src/lib.rs")
            && strings(&turn_diff["lines"]).contains(&"+    a + b"),
        ":AgentTurnDiff opened the turn's unified diff",
    );
    run.check(
        report["buffer_after"] == FIXED,
        "the fix landed in the buffer",
    );
    run.check(
        fake.requests().len() == 3 && fake.remaining() == 0,
        "the model was asked three times, one per scripted answer",
    );
}
