//! A real Helix 25.07.1 in tmux plays the user of issue 14 and issue 18: it opens
//! the buggy crate with a languages.toml written by `agentls setup helix`, asks
//! `space a` at the start of the line whose diagnostic another server published,
//! picks `Agent: Fix this`, reads the approval in its status line (100 columns),
//! approves with the `Agent: Approve: …` code action, sees the fix in the buffer,
//! saves it with `:w`, undoes it with `u` and saves again, and reads an Explain
//! answer opened as a buffer. The screen is read with `tmux capture-pane`.
//!
//! Helix 25.07 is the released behaviour: no `window/showMessageRequest`, a 20 s
//! `workspace/executeCommand` timeout. Without `hx` (tests/helix/build.sh builds
//! it) the test says it was skipped.

use std::path::Path;
use std::time::{Duration, SystemTime};

use agentls_tests::client::agentls_binary;
use agentls_tests::fake_provider::{
    FakeProvider, Format, Script, ToolCall, FAKE_API_KEY, FAKE_API_KEY_ENV,
};
use agentls_tests::fix_this::{BUGGY, COMMAND, DIAGNOSTIC_MESSAGE, FIXED, PATCH, REASON};
use agentls_tests::helix::{Helix, Terminal};
use serde_json::json;

const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;
const EXPLANATION: &str = "## What `add` does\n\n\
     `add` subtracts: it returns `a - b` where its name and its test\n\
     promise `a + b`.\n\n\
     The test `tests::adds` calls `add(2, 3)` and expects 5, but gets -1.\n\n\
     Change the operator to fix it.";

/// A workspace with the buggy crate, saved an hour ago as a user's file is.
fn workspace() -> tempfile::TempDir {
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
    std::fs::write(
        workspace.path().join("Cargo.toml"),
        "[package]\nname = \"adder\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    workspace
}

/// Helix's configuration directory as a new user has it after following
/// docs/editors/helix.md: `agentls setup helix`, the suggested config.toml, and a
/// stand-in for rust-analyzer that publishes the failing test's diagnostic.
fn configure(config_home: &Path, fake: &FakeProvider, approvals: &str) {
    let helix_dir = config_home.join("helix");
    std::fs::create_dir_all(&helix_dir).unwrap();
    let setup = std::process::Command::new(agentls_binary())
        .args(["setup", "helix"])
        .env("XDG_CONFIG_HOME", config_home)
        .output()
        .unwrap();
    assert!(setup.status.success(), "agentls setup helix: {setup:?}");
    let languages = std::fs::read_to_string(helix_dir.join("languages.toml")).unwrap();
    let diagnostics_server =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("helix/diagnostics_server.py");
    std::fs::write(
        helix_dir.join("languages.toml"),
        format!(
            "{languages}\n# The test's stand-in for rust-analyzer: it publishes one diagnostic.\n\
             [language-server.rust-analyzer]\ncommand = \"python3\"\nargs = [{:?}]\n",
            diagnostics_server.display().to_string()
        ),
    )
    .unwrap();
    let suggested = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/helix/config.toml"),
    )
    .unwrap();
    std::fs::write(
        helix_dir.join("config.toml"),
        format!("[editor]\nend-of-line-diagnostics = \"hint\"\n\n{suggested}"),
    )
    .unwrap();
    let agentls_dir = config_home.join("agentls");
    std::fs::create_dir_all(&agentls_dir).unwrap();
    std::fs::write(
        agentls_dir.join("config.toml"),
        format!(
            "[provider]\nkind = \"openai-responses\"\nbase_url = {:?}\nmodel = \"gpt-fake\"\n\
             api_key_env = {FAKE_API_KEY_ENV:?}\n\n[approvals]\n{approvals}",
            fake.base_url()
        ),
    )
    .unwrap();
}

struct Run {
    terminal: Terminal,
    workspace: tempfile::TempDir,
    _home: tempfile::TempDir,
    log: std::path::PathBuf,
}

impl Run {
    fn fail(&self, what: &str, screen: &str) -> ! {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<String> = log
            .lines()
            .rev()
            .take(40)
            .map(|line| line.chars().take(400).collect())
            .collect();
        let tail: Vec<String> = tail.into_iter().rev().collect();
        panic!(
            "{what}\n--- screen ---\n{screen}\n--- helix log (tail) ---\n{}",
            tail.join("\n")
        );
    }

    fn wait_for(&self, what: &str, done: impl FnMut(&str) -> bool) -> String {
        match self.terminal.wait_for(done) {
            Ok(screen) => screen,
            Err(screen) => self.fail(&format!("waited for {what}"), &screen),
        }
    }

    /// With `AGENTLS_HELIX_CAPTURE=FILE`, appends the screen under a heading
    /// (the capture in docs/editors/helix.md comes from there).
    fn capture(&self, heading: &str, screen: &str) {
        if let Some(file) = std::env::var_os("AGENTLS_HELIX_CAPTURE") {
            use std::io::Write;
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .unwrap();
            writeln!(out, "--- {heading}\n{}", screen.trim_end()).unwrap();
        }
    }

    fn disk(&self) -> String {
        std::fs::read_to_string(self.workspace.path().join("src/lib.rs")).unwrap()
    }
}

fn start(helix: &Helix, fake: &FakeProvider, approvals: &str) -> Run {
    let workspace = workspace();
    let home = tempfile::tempdir().unwrap();
    let config_home = home.path().join("config");
    configure(&config_home, fake, approvals);
    let log = home.path().join("helix.log");
    let diagnostic = json!({
        "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 9}},
        "severity": 1, "source": "cargo test", "message": DIAGNOSTIC_MESSAGE,
    });
    let bin_dir = agentls_binary().parent().unwrap().to_path_buf();
    let mut env = vec![
        ("HOME".to_string(), home.path().display().to_string()),
        (
            "XDG_CONFIG_HOME".to_string(),
            config_home.display().to_string(),
        ),
        (
            "XDG_DATA_HOME".to_string(),
            home.path().join("data").display().to_string(),
        ),
        (
            "XDG_CACHE_HOME".to_string(),
            home.path().join("cache").display().to_string(),
        ),
        (
            "PATH".to_string(),
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        ),
        ("TERM".to_string(), "tmux-256color".to_string()),
        (FAKE_API_KEY_ENV.to_string(), FAKE_API_KEY.to_string()),
        (
            "AGENTLS_TEST_DIAGNOSTIC".to_string(),
            diagnostic.to_string(),
        ),
        ("AGENTLS_LOG".to_string(), "debug".to_string()),
    ];
    if let Some(runtime) = helix.runtime() {
        env.push(("HELIX_RUNTIME".to_string(), runtime.display().to_string()));
    }
    let log_arg = log.display().to_string();
    let terminal = Terminal::start(
        &helix.program,
        &["-v", "--log", &log_arg, "src/lib.rs"],
        workspace.path(),
        &env,
        WIDTH,
        HEIGHT,
    );
    Run {
        terminal,
        workspace,
        _home: home,
        log,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helix_fix_this_approve_save_undo_and_explain() {
    let Some(helix) = Helix::find() else {
        return;
    };
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
    .push(Script::text(
        "Fixed: `add` returned `a - b`; it now returns `a + b`.",
    ))
    .push(Script::text(EXPLANATION));
    let run = start(&helix, &fake, "policy = \"untrusted\"\n");
    run.wait_for("the file and its diagnostic", |screen| {
        screen.contains("a - b") && screen.contains("test tests::adds failed")
    });

    // Point 5: the cursor at the start of line 2, left of the diagnostic's
    // columns (Helix then sends no diagnostic): Fix this is offered all the same.
    run.terminal.keys(&["j", "Space", "a"]);
    let screen = run.wait_for("the code action menu", |screen| {
        screen.contains("Agent: Explain this")
    });
    run.capture("space a at the start of line 2", &screen);
    pick(&run, &screen, "Agent: Fix this");

    // Point 4: the approval's status line says what to do, within 100 columns.
    let screen = run.wait_for("the approval", |screen| screen.contains("approve `mkdir"));
    run.capture("the approval on the status line", &screen);
    let status = screen
        .lines()
        .find(|line| line.contains("approve `mkdir"))
        .unwrap_or_default();
    if !status.contains("space a") || status.trim_end().chars().count() > usize::from(WIDTH) {
        run.fail(
            "the approval's instruction is not on the status line",
            &screen,
        );
    }

    // Approve with the code action, as Helix users do.
    run.terminal.keys(&["Space", "a"]);
    let screen = run.wait_for("the approve action", |screen| {
        screen.contains("Agent: Approve: run")
    });
    run.capture("space a: approve", &screen);
    pick(&run, &screen, "Agent: Approve: run");
    let screen = run.wait_for("the fix in the buffer and the answer", |screen| {
        screen.contains("a + b") && screen.contains("Fixed:")
    });
    run.capture("the fix in the buffer", &screen);
    if !screen.contains("[+]") || run.disk() != BUGGY {
        run.fail(
            &format!(
                "the fix must wait in the modified buffer, the disk untouched; disk:\n{}",
                run.disk()
            ),
            &screen,
        );
    }
    if !run.workspace.path().join("scratch").is_dir() {
        run.fail("the approved command did not run", &screen);
    }

    // Point 1: `:w` saves it, no "modified by an external process".
    run.terminal.type_text(":w");
    run.terminal.keys(&["Enter"]);
    let screen = run.wait_for("the save", |screen| {
        screen.contains("written") || screen.contains("external process")
    });
    run.capture(":w", &screen);
    if screen.contains("external process") || run.disk() != FIXED {
        run.fail("`:w` did not save the fix", &screen);
    }

    // Point 2: `u` takes the fix back in the buffer; the disk keeps what was
    // saved until `:w`, which then saves the reverted text.
    run.terminal.keys(&["u"]);
    let screen = run.wait_for("the undo", |screen| screen.contains("a - b"));
    if !screen.contains("[+]") || run.disk() != FIXED {
        run.fail(
            "`u` must leave a modified buffer and the saved disk",
            &screen,
        );
    }
    run.terminal.type_text(":w");
    run.terminal.keys(&["Enter"]);
    let screen = run.wait_for("the second save", |screen| {
        !screen.contains("[+]") || screen.contains("external process")
    });
    if run.disk() != BUGGY {
        run.fail("`:w` after `u` did not save the reverted text", &screen);
    }
    // The agent's undo knows the editor already undid its change.
    run.terminal.keys(&["Space", "a"]);
    let screen = run.wait_for("the menu after the undo", |screen| {
        screen.contains("Agent: Explain this")
    });
    if screen.contains("Agent: Undo last agent change") {
        pick(&run, &screen, "Agent: Undo last agent change");
        let screen = run.wait_for("the agent's undo to answer", |screen| {
            screen.contains("agentls: Fix this is already undone in the editor")
        });
        run.capture("u, :w, then Agent: Undo last agent change", &screen);
        if run.disk() != BUGGY || !screen.contains("a - b") || screen.contains("[+]") {
            run.fail("the agent's undo after `u` changed something", &screen);
        }
    } else {
        run.terminal.keys(&["Escape"]);
    }

    // Point 3: a long answer opens as a buffer.
    run.terminal.keys(&["Space", "a"]);
    let screen = run.wait_for("the menu", |screen| screen.contains("Agent: Explain this"));
    pick(&run, &screen, "Agent: Explain this");
    let screen = run.wait_for("the answer in a buffer", |screen| {
        screen.contains("promise `a + b`")
    });
    run.capture("Agent: Explain this", &screen);
    if !screen.contains(".md") {
        run.fail("the answer is not shown as a Markdown buffer", &screen);
    }
}

/// Issue 14's review before apply in Helix, which applies annotated edits
/// without asking (it announces no `changeAnnotationSupport`): with
/// `[approvals] edits = "review"` the change waits in agentls; `space a` offers
/// `Agent: Review change` (the diff opens as a buffer) and `Agent: Apply change`,
/// which lands it in the buffer for `:w`. A second task's change is discarded
/// with `space A d` and the model is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helix_review_mode_shows_the_diff_then_applies_or_discards() {
    let Some(helix) = Helix::find() else {
        return;
    };
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    fake.push(Script::tool_calls([ToolCall::new(
        "apply_patch",
        json!({ "input": PATCH }),
    )]))
    .push(Script::text("Fixed: `add` now returns `a + b`."))
    .push(Script::tool_calls([ToolCall::new(
        "apply_patch",
        json!({ "input": "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n pub fn add(a: i32, b: i32) -> i32 {\n-    a + b\n+    b + a\n }\n*** End Patch\n" }),
    )]))
    .push(Script::text("Understood, I left the file as it was."));
    let run = start(&helix, &fake, "policy = \"never\"\nedits = \"review\"\n");
    run.wait_for("the file and its diagnostic", |screen| {
        screen.contains("a - b") && screen.contains("test tests::adds failed")
    });
    run.terminal.keys(&["j", "Space", "a"]);
    let screen = run.wait_for("the code action menu", |screen| {
        screen.contains("Agent: Explain this")
    });
    pick(&run, &screen, "Agent: Fix this");
    // The announcement, or the progress that may replace it on the same line:
    // either says what to do.
    let waits = |screen: &str| {
        screen.contains("review the change to") || screen.contains("waiting for your review")
    };
    let screen = run.wait_for("the review announcement", waits);
    run.capture("the change waits for review", &screen);
    if !screen.contains("a - b") || screen.contains("[+]") || run.disk() != BUGGY {
        run.fail("the change must wait, buffer and disk untouched", &screen);
    }

    // Agent: Review change opens the diff as a buffer.
    run.terminal.keys(&["Space", "a"]);
    let screen = run.wait_for("the review actions", |screen| {
        screen.contains("Agent: Review change to")
    });
    run.capture("space a while a change waits", &screen);
    pick(&run, &screen, "Agent: Review change to");
    let screen = run.wait_for("the diff in a buffer", |screen| {
        screen.contains("+    a + b") && screen.contains("-    a - b")
    });
    run.capture("Agent: Review change", &screen);

    // Back in src/lib.rs, Agent: Apply change lands it in the buffer.
    run.terminal.type_text(":buffer-previous");
    run.terminal.keys(&["Enter"]);
    run.wait_for("src/lib.rs again", |screen| {
        screen.contains("a - b") && !screen.contains("+    a + b")
    });
    run.terminal.keys(&["Space", "a"]);
    let screen = run.wait_for("the apply action", |screen| {
        screen.contains("Agent: Apply change to")
    });
    pick(&run, &screen, "Agent: Apply change to");
    let screen = run.wait_for("the fix in the buffer and the answer", |screen| {
        screen.contains("a + b") && screen.contains("Fixed:")
    });
    run.capture("Agent: Apply change", &screen);
    if !screen.contains("[+]") || run.disk() != BUGGY {
        run.fail(
            "the applied change must wait in the modified buffer",
            &screen,
        );
    }
    run.terminal.type_text(":w");
    run.terminal.keys(&["Enter"]);
    let screen = run.wait_for("the save", |screen| {
        screen.contains("written") || screen.contains("external process")
    });
    if screen.contains("external process") || run.disk() != FIXED {
        run.fail("`:w` did not save the reviewed fix", &screen);
    }

    // A second task's change, discarded with `space A d`: nothing changes and
    // the model reads that the user refused it.
    run.terminal.keys(&["Space", "a"]);
    let screen = run.wait_for("the menu", |screen| screen.contains("Agent: Explain this"));
    pick(&run, &screen, "Agent: Fix this");
    run.wait_for("the second announcement", waits);
    run.terminal.keys(&["Space", "A", "d"]);
    let screen = run.wait_for("the model's reply to the discard", |screen| {
        screen.contains("Understood")
    });
    run.capture("space A d", &screen);
    if run.disk() != FIXED || screen.contains("[+]") {
        run.fail("the discarded change touched buffer or disk", &screen);
    }
    let told = fake
        .requests()
        .last()
        .map(|request| request.body.to_string())
        .unwrap_or_default();
    if !told.contains("discard") {
        run.fail(
            &format!("the model was not told of the discard: {told}"),
            &screen,
        );
    }
}

/// Picks the menu row that starts with `title` on `screen`: Helix's code action
/// menu opens with its first row selected, and has no filter.
fn pick(run: &Run, screen: &str, title: &str) {
    let rows: Vec<&str> = screen
        .lines()
        // Not the status line ("agentls: Agent: indexing …").
        .filter(|line| !line.contains("agentls: "))
        .filter_map(|line| line.find("Agent: ").map(|at| &line[at..]))
        .collect();
    let Some(index) = rows.iter().position(|row| row.starts_with(title)) else {
        run.fail(&format!("no {title:?} in the menu"), screen);
    };
    for _ in 0..index {
        run.terminal.keys(&["Down"]);
    }
    run.terminal.keys(&["Enter"]);
}
