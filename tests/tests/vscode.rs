//! A real VS Code: code-server 4.139.1 (VS Code 1.139) on 127.0.0.1, driven in
//! Debian's headless Chromium by `tests/vscode/driver.mjs` (playwright-core).
//! The extension is packaged with `@vscode/vsce` and installed with
//! `code-server --install-extension`; a scripted diagnostics source (the
//! extension in `tests/vscode/diagnostics/`) reports a failing test on the buggy
//! line. The user runs "Agent: Fix this" from Ctrl+., allows the command in the
//! approval toast, saves, then runs "Agent: Undo last agent change" and saves
//! again. Meanwhile the streamed turn view (the "Agent" panel) opens by itself
//! and is read off the screen: the approval waiting, then every item of the
//! turn; "Agent: Show turn" brings it back, and a click on the edit opens its
//! side-by-side diff. With `agentls.approvals.edits = "review"` the change first
//! opens in VS Code's Refactor Preview (change annotations with
//! `needsConfirmation`), where the user ticks it and presses Apply. The fake
//! provider plays the model. With `agentls.completion.enabled`, the user types
//! on an empty line, sees the fake FIM model's completion as ghost text and
//! accepts it with Tab (`AGENTLS_E2E_SCENARIO=inline-completion`).
//!
//! Everything it needs is installed by `tests/vscode/setup.sh` (which `.ci/run`
//! runs) into `~/.cache/agentls-e2e`; without it the test fails saying what is
//! missing.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use agentls_tests::client::agentls_binary;
use agentls_tests::fake_completions::{FakeCompletions, Reply};
use agentls_tests::fake_provider::{
    FakeProvider, Format, Script, ToolCall, FAKE_API_KEY, FAKE_API_KEY_ENV,
};
use agentls_tests::fix_this::{
    BUGGY, COMMAND, DIAGNOSTIC_MESSAGE, FINAL_ANSWER, FIXED, PATCH, REASON,
};
use serde_json::{json, Value};

const NODE_VERSION: &str = "24.21.0";
const CODE_SERVER_VERSION: &str = "4.139.1";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long the whole driver may run (packaging, installing, starting
/// code-server and the scenario) before it is killed; its own waits are shorter.
const TIME_LIMIT: Duration = Duration::from_secs(300);
/// The model's text before it asks to run the command.
const FIRST_MESSAGE: &str = "Let me set up a scratch directory first.";

/// Where `tests/vscode/setup.sh` put Node 24 and code-server, and the rest the
/// driver needs; panics naming whatever is missing and how to install it.
struct Tools {
    node_bin: PathBuf,
    code_server: PathBuf,
}

impl Tools {
    fn find() -> Tools {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ is in the repository")
            .to_path_buf();
        let cache = std::env::var_os("AGENTLS_E2E_CACHE")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/agentls-e2e"))
            })
            .expect("HOME or AGENTLS_E2E_CACHE is set");
        let node_bin = cache.join(format!("node-{NODE_VERSION}/node_modules/node/bin"));
        let code_server = cache.join(format!(
            "code-server-{CODE_SERVER_VERSION}/node_modules/.bin/code-server"
        ));
        let wanted = [
            (node_bin.join("node"), format!("Node {NODE_VERSION}")),
            (
                code_server.clone(),
                format!("code-server {CODE_SERVER_VERSION}"),
            ),
            (PathBuf::from(CHROMIUM), "Debian's chromium".to_string()),
            (
                repo.join("tests/vscode/node_modules/playwright-core/package.json"),
                "playwright-core (npm ci in tests/vscode)".to_string(),
            ),
            (
                repo.join("editors/vscode/node_modules/@vscode/vsce/package.json"),
                "@vscode/vsce (npm ci in editors/vscode)".to_string(),
            ),
        ];
        let missing: Vec<String> = wanted
            .iter()
            .filter(|(path, _)| !path.exists())
            .map(|(path, what)| format!("{what}: no {}", path.display()))
            .collect();
        assert!(
            missing.is_empty(),
            "the VS Code end-to-end test cannot run; missing:\n  {}\nrun `bash tests/vscode/setup.sh` \
             (.ci/run does): it installs chromium, libkrb5-dev and pkg-config with apt-get, \
             node@{NODE_VERSION} and code-server@{CODE_SERVER_VERSION} with npm into {}, and runs \
             npm ci in tests/vscode and editors/vscode",
            missing.join("\n  "),
            cache.display(),
        );
        Tools {
            node_bin,
            code_server,
        }
    }
}

// The harness captures stdout: the screenshots' folder and the report of a
// passing run are shown on failure or with `--nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vscode_fix_this_allow_save_then_undo_in_the_real_workbench() {
    fix_this_in_vscode(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vscode_review_mode_allow_then_accept_the_change_in_the_refactor_preview() {
    fix_this_in_vscode(true).await;
}

/// Inline completions as VS Code shows them: the user types `su` on an empty
/// line, the fake FIM model's `m(a, b)` shows as ghost text after it, Tab
/// accepts it, Ctrl+S saves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vscode_inline_completion_shows_ghost_text_and_tab_accepts_it() {
    let tools = Tools::find();
    let workspace = tempfile::tempdir().unwrap();
    let root = workspace.path().canonicalize().unwrap();
    let file = root.join("src/lib.rs");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let before = "pub fn add(a: i32, b: i32) -> i32 {\n    \n}\n";
    let after = "pub fn add(a: i32, b: i32) -> i32 {\n    sum(a, b)\n}\n";
    std::fs::write(&file, before).unwrap();
    let fake = FakeCompletions::start().await;
    // VS Code asks on every keystroke, and again after the accept.
    fake.always(Reply::AfterTyped {
        typed: "su".to_string(),
        text: "m(a, b)".to_string(),
    });
    let settings = json!({
        "agentls.provider.kind": "openai-chat",
        "agentls.provider.baseUrl": "http://127.0.0.1:9/v1",
        "agentls.trace.server": "verbose",
        "agentls.completion.enabled": true,
        "agentls.completion.provider.baseUrl": fake.base_url(),
        "agentls.completion.provider.model": "qwen2.5-coder:1.5b-base",
    });
    let run = drive(
        &tools,
        &root,
        &file,
        settings,
        &[
            ("AGENTLS_E2E_SCENARIO", "inline-completion".to_string()),
            ("AGENTLS_E2E_BEFORE", before.to_string()),
            ("AGENTLS_E2E_TYPED", "su".to_string()),
            ("AGENTLS_E2E_AFTER", after.to_string()),
        ],
    )
    .await;
    let report = &run.report;
    run.check(
        report["ghost_text"]
            .as_str()
            .is_some_and(|text| text.contains("m(a, b)")),
        "VS Code showed the completion as ghost text after what the user typed",
    );
    run.check(
        report["editor_after_tab"] == after,
        "Tab accepted it into the editor",
    );
    run.check(report["disk_after_save"] == after, "Ctrl+S saved it");
    let requests = fake.requests();
    run.check(
        requests.first().is_some_and(|request| {
            request.path == "/v1/completions"
                && request.body["prompt"]
                    .as_str()
                    .is_some_and(|prompt| prompt.starts_with("<|fim_prefix|>pub fn add"))
        }),
        "the FIM model got the buffer around the cursor",
    );
    run.passed();
}

/// The scenario, with `review`: `approvals.edits = "review"`, the change applied
/// from the Refactor Preview.
async fn fix_this_in_vscode(review: bool) {
    let tools = Tools::find();

    let workspace = tempfile::tempdir().unwrap();
    let root = workspace.path().canonicalize().unwrap();
    let file = root.join("src/lib.rs");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, BUGGY).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"adder\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();

    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    fake.push(Script::text_and_tool_calls(
        FIRST_MESSAGE,
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

    let settings = json!({
        "agentls.provider.kind": "openai-responses",
        "agentls.provider.baseUrl": fake.base_url(),
        "agentls.provider.model": "gpt-fake",
        "agentls.provider.apiKeyEnv": FAKE_API_KEY_ENV,
        "agentls.approvals.policy": "untrusted",
        "agentls.approvals.edits": if review { "review" } else { "apply" },
    });
    let diagnostic = json!({
        "file": file.display().to_string(),
        "line": 1, "start": 4, "end": 9,
        "message": DIAGNOSTIC_MESSAGE,
        "source": "cargo test",
    });
    let run = drive(
        &tools,
        &root,
        &file,
        settings,
        &[
            ("AGENTLS_E2E_BUGGY", BUGGY.to_string()),
            ("AGENTLS_E2E_FIXED", FIXED.to_string()),
            ("AGENTLS_E2E_COMMAND", COMMAND.join(" ")),
            ("AGENTLS_E2E_DIAGNOSTIC", diagnostic.to_string()),
            (
                "AGENTLS_E2E_REVIEW",
                (if review { "1" } else { "0" }).to_string(),
            ),
        ],
    )
    .await;
    let report = &run.report;
    let check = |condition: bool, what: &str| run.check(condition, what);

    // What the user saw in the workbench.
    let menus = report["code_actions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let listed = |menu: usize, title: &str| {
        menus
            .get(menu)
            .and_then(Value::as_array)
            .is_some_and(|titles| titles.iter().any(|listed| listed == title))
    };
    check(
        listed(0, "Agent: Fix this"),
        "Ctrl+. on the diagnostic listed \"Agent: Fix this\"",
    );
    let approval = &report["approval"];
    let message = approval["message"].as_str().unwrap_or_default();
    check(
        message.contains(&COMMAND.join(" ")) && message.contains(REASON),
        "the approval toast names the command and the model's reason",
    );
    check(
        approval["buttons"] == json!(["Allow", "Allow for this thread", "Deny"]),
        "the approval toast offers Allow / Allow for this thread / Deny",
    );
    if review {
        let preview: Vec<&str> = report["preview"]
            .as_array()
            .map(|rows| rows.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        check(
            preview.first().is_some_and(|row| row.starts_with("lib.rs"))
                && preview.iter().any(|row| row.contains("a -+ b")),
            "the Refactor Preview showed lib.rs and its hunk (`a -+ b`)",
        );
        check(
            report["ticked_before"] == "false",
            "VS Code started the edit needing confirmation unticked; the user ticked it",
        );
        check(
            report["disk_during_review"] == BUGGY,
            "nothing was written while the change waited in the preview",
        );
    }
    check(
        report["editor_after"] == FIXED,
        "the editor showed exactly the fixed text",
    );
    check(
        report["disk_after_save"] == FIXED,
        "Ctrl+S saved the fixed text to disk",
    );
    check(
        listed(1, "Agent: Undo last agent change"),
        "Ctrl+. after the fix listed \"Agent: Undo last agent change\"",
    );
    check(
        report["editor_after_undo"] == BUGGY,
        "after the undo the editor showed exactly the text from before the fix",
    );
    check(
        report["disk_after_undo"] == BUGGY,
        "Ctrl+S saved the reverted text to disk",
    );
    check(
        root.join("scratch").is_dir(),
        "the allowed command ran in the workspace",
    );

    // The turn view, as drawn.
    let rows = |key: &str| -> Vec<(String, String)> {
        report["turn_view"][key]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        let text =
                            |field: &str| row[field].as_str().unwrap_or_default().to_string();
                        (text("label"), text("description"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let command = COMMAND.join(" ");
    let approval = format!("Approval 1: run `{command}`");
    let waiting = rows("while_waiting");
    check(
        waiting
            .iter()
            .any(|(label, description)| *label == approval && description == "waiting for you")
            && waiting.iter().any(|(label, _)| label == FIRST_MESSAGE)
            && waiting
                .iter()
                .any(|(label, description)| label == "Fix this" && description == "running"),
        "while the approval waited, the turn view (opened by itself) showed the running turn, \
         the model's first message and the approval waiting",
    );
    let expected: Vec<(String, &str)> = vec![
        ("Fix this".into(), "done · changed src/lib.rs"),
        ("Task".into(), ""),
        (FIRST_MESSAGE.into(), ""),
        (approval.clone(), "approved"),
        (format!("$ {command}"), "exit 0"),
        ("mkdir: created directory 'scratch'".into(), ""),
        ("Edit src/lib.rs".into(), "+1 −1 · applied"),
        (FINAL_ANSWER.into(), ""),
        ("Turn diff".into(), "1 file"),
    ];
    for key in ["after_turn", "after_show_turn"] {
        let shown = rows(key);
        let found: Vec<Option<usize>> = expected
            .iter()
            .map(|(label, description)| {
                shown.iter().position(|(shown_label, shown_description)| {
                    shown_label == label && shown_description.starts_with(description)
                })
            })
            .collect();
        check(
            found.iter().all(Option::is_some) && found.windows(2).all(|pair| pair[0] < pair[1]),
            &format!("the turn view ({key}) showed, in order, {expected:#?}; found at {found:?}"),
        );
    }
    let diff = &report["turn_view"]["diff"];
    check(
        diff["title"]
            .as_str()
            .is_some_and(|title| title.contains("lib.rs"))
            && diff["original"]
                .as_str()
                .is_some_and(|text| text.contains("a - b"))
            && diff["modified"]
                .as_str()
                .is_some_and(|text| text.contains("a + b")),
        "a click on the edit opened a diff editor: the text before the fix beside the file now",
    );

    // What the model was sent.
    let requests = fake.requests();
    check(
        requests.len() == 3 && fake.remaining() == 0,
        "the model was asked three times, one per scripted answer, and undo asked nothing",
    );
    check(
        requests[0].body["input"]
            .to_string()
            .contains(DIAGNOSTIC_MESSAGE),
        "the diagnostic VS Code sent with the code action reached the model",
    );
    let outputs: Vec<String> = requests[1]
        .tool_outputs()
        .into_iter()
        .map(|(_, output)| output)
        .collect();
    check(
        outputs.len() == 1
            && outputs[0].contains("exit code: 0")
            && outputs[0].contains("created directory"),
        "the allowed command's output reached the model",
    );
    // The last request holds every tool output so far: the command's, then the patch's.
    let patched = requests[2].tool_outputs();
    check(
        patched.len() == 2 && patched[1].1.starts_with("Success."),
        "the model heard that the patch landed (in review mode: was accepted in full)",
    );
    run.passed();
}

/// One run of `driver.mjs` and what it left behind.
struct DriverRun {
    /// Kept after a failure, for its screenshots and logs; removed after a pass.
    scratch: PathBuf,
    report: Value,
    stdout: String,
    stderr: String,
    code_server_log: String,
    agentls_log: String,
}

impl DriverRun {
    fn explain(&self) -> String {
        format!(
            "--- scratch (kept): {}\n--- report\n{}\n--- driver stderr\n{}\n--- driver stdout\n{}\n--- code-server log (tail)\n{}\n--- agentls log (tail)\n{}",
            self.scratch.display(),
            serde_json::to_string_pretty(&self.report).unwrap_or_default(),
            self.stderr,
            self.stdout,
            tail(&self.code_server_log, 60),
            tail(&self.agentls_log, 80),
        )
    }

    fn check(&self, condition: bool, what: &str) {
        assert!(condition, "{what}\n{}", self.explain());
    }

    #[allow(clippy::print_stdout)]
    fn passed(self) {
        println!(
            "VS Code e2e: what the workbench showed\n{}",
            serde_json::to_string_pretty(&self.report).unwrap_or_default()
        );
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Runs `driver.mjs` on the workspace `root` with the extension's `settings`
/// (`agentls.path` is added) and the scenario's own variables; fails, showing
/// everything, unless the driver ends without error.
#[allow(clippy::print_stdout)]
async fn drive(
    tools: &Tools,
    root: &Path,
    file: &Path,
    mut settings: Value,
    scenario: &[(&str, String)],
) -> DriverRun {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    settings["agentls.path"] = json!(agentls_binary().display().to_string());
    // Kept after a failure, for its screenshots and logs; removed after a pass.
    let scratch = tempfile::Builder::new()
        .prefix("agentls-vscode-e2e-")
        .tempdir()
        .unwrap()
        .keep();
    let dir = |name: &str| {
        let path = scratch.join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    };
    let screenshots = scratch.join("screenshots");
    let report_path = scratch.join("report.json");
    let agentls_log = scratch.join("agentls.log");
    let config = dir("config");
    std::fs::create_dir_all(config.join("agentls")).unwrap();
    std::fs::write(
        config.join("agentls/config.toml"),
        format!(
            "[log]\nlevel = \"debug\"\nfile = {}\n",
            Value::from(agentls_log.display().to_string())
        ),
    )
    .unwrap();
    println!(
        "VS Code e2e: screenshots on failure go to {}",
        screenshots.display()
    );

    let path = std::env::join_paths(
        std::iter::once(tools.node_bin.clone()).chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths),
        ),
    )
    .unwrap();
    let stdout = scratch.join("driver.stdout");
    let stderr = scratch.join("driver.stderr");
    let create = |path: &Path| std::fs::File::create(path).unwrap();

    let mut command = tokio::process::Command::new(tools.node_bin.join("node"));
    command
        .arg(repo.join("tests/vscode/driver.mjs"))
        .current_dir(repo.join("tests/vscode"))
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir("home"))
        .env("XDG_CONFIG_HOME", &config)
        .env("XDG_DATA_HOME", dir("data"))
        .env("XDG_STATE_HOME", dir("state"))
        .env("XDG_CACHE_HOME", dir("cache"))
        .env(FAKE_API_KEY_ENV, FAKE_API_KEY)
        .env("AGENTLS_E2E_CODE_SERVER", &tools.code_server)
        .env("AGENTLS_E2E_CHROMIUM", CHROMIUM)
        .env("AGENTLS_E2E_EXTENSION", repo.join("editors/vscode"))
        .env("AGENTLS_E2E_SCRATCH", dir("driver"))
        .env("AGENTLS_E2E_SCREENSHOTS", &screenshots)
        .env("AGENTLS_E2E_REPORT", &report_path)
        .env("AGENTLS_E2E_WORKSPACE", root)
        .env("AGENTLS_E2E_FILE", file)
        .env("AGENTLS_E2E_SETTINGS", settings.to_string())
        .envs(scenario.iter().map(|(name, value)| (*name, value.as_str())))
        .stdin(Stdio::null())
        .stdout(create(&stdout))
        .stderr(create(&stderr))
        // Its own process group: code-server, its extension host, agentls and
        // Chromium all go with it if it has to be killed.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start node with the driver");
    let group = child.id().expect("the driver's pid");
    let status = tokio::time::timeout(TIME_LIMIT, child.wait()).await;
    // Whatever it left behind, or all of it when it hangs.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();

    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let run = DriverRun {
        report: serde_json::from_str(&read(&report_path)).unwrap_or(Value::Null),
        stdout: read(&stdout),
        stderr: read(&stderr),
        code_server_log: read(&scratch.join("driver/code-server.log")),
        agentls_log: read(&agentls_log),
        scratch,
    };
    match &status {
        Err(_) => run.check(
            false,
            &format!("the driver was killed after {} s", TIME_LIMIT.as_secs()),
        ),
        Ok(Err(error)) => run.check(false, &format!("waiting for the driver: {error}")),
        Ok(Ok(status)) => run.check(
            status.success() && run.report["error"].is_null(),
            &format!(
                "the driver failed ({status}) at: {}",
                run.report["error"].as_str().unwrap_or("(no report)")
            ),
        ),
    }
    run
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
