//! A real Emacs (Debian's 28.2) with its own LSP client, eglot (Debian's
//! `elpa-eglot` 1.9), configured as docs/editors/other.md says: agentls starts,
//! eglot's `eglot-code-actions` lists the agent's actions, and "Agent: Explain
//! this" run with `eglot-execute-command` answers through `window/showMessage`.
//! `tests/emacs/code_actions.el` plays the user in `emacs --batch`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use agentls_tests::client::agentls_binary;
use agentls_tests::fake_provider::{
    Answer, FakeProvider, Format, Gate, Script, FAKE_API_KEY, FAKE_API_KEY_ENV,
};
use agentls_tests::fix_this::BUGGY;
use serde_json::Value;

const TIME_LIMIT: Duration = Duration::from_secs(90);

/// How long the fake model takes to start answering.
const PROVIDER_LATENCY: Duration = Duration::from_millis(300);

/// Emacs and eglot, or a failure saying how to install them (`tests/install.sh`
/// does): these tests fail rather than skip.
fn emacs() -> String {
    let version = Command::new("emacs")
        .args([
            "--batch",
            "--eval",
            "(progn (require 'eglot) (princ emacs-version))",
        ])
        .output()
        .unwrap_or_else(|error| {
            panic!("no emacs ({error}): `apt-get install emacs-nox elpa-eglot` (tests/install.sh)")
        });
    assert!(
        version.status.success(),
        "emacs has no eglot: `apt-get install elpa-eglot` (tests/install.sh)\n{}",
        String::from_utf8_lossy(&version.stderr)
    );
    String::from_utf8_lossy(&version.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emacs_eglot_starts_agentls_lists_its_actions_and_runs_one() {
    let version = emacs();
    let fake = FakeProvider::start(Format::OpenAiResponses).await;
    // The answer comes as a real model's does, a while after the request, not
    // within the same few milliseconds as the command's reply. Emacs 28's
    // jsonrpc (1.0.14) leaves messages that reach it in the same read as the
    // reply to a synchronous request (`eglot-execute-command`) unparsed until
    // more output arrives (docs/editors/other.md): an answer that followed the
    // reply at once would never show.
    let gate = Gate::new();
    fake.push(Script::Gated {
        answer: Answer {
            text: Some("`add` subtracts where it should add.".to_string()),
            ..Answer::default()
        },
        gate: gate.clone(),
    });

    let workspace = tempfile::tempdir().unwrap();
    let file = workspace.path().join("src/lib.rs");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, BUGGY).unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config/agentls");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[provider]\nkind = \"openai-responses\"\nbase_url = {:?}\nmodel = \"gpt-fake\"\n\
             api_key_env = {FAKE_API_KEY_ENV:?}\n\n[log]\nlevel = \"debug\"\nfile = {:?}\n",
            fake.base_url(),
            home.path().join("agentls.log")
        ),
    )
    .unwrap();
    let report_path = home.path().join("report.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("emacs/code_actions.el");
    let bin_dir = agentls_binary().parent().unwrap().to_path_buf();

    let mut command = tokio::process::Command::new("emacs");
    command
        .args(["--batch", "--no-init-file", "-l"])
        .arg(&script)
        .current_dir(workspace.path())
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env(FAKE_API_KEY_ENV, FAKE_API_KEY)
        .env("AGENTLS_TEST_FILE", &file)
        .env("AGENTLS_TEST_REPORT", &report_path)
        .kill_on_drop(true);
    let answer_later = async {
        fake.wait_for_requests(1).await;
        tokio::time::sleep(PROVIDER_LATENCY).await;
        gate.open(1024);
        std::future::pending::<std::convert::Infallible>().await
    };
    let run = async {
        tokio::select! {
            output = command.output() => output,
            never = answer_later => match never {},
        }
    };
    let output = tokio::time::timeout(TIME_LIMIT, run)
        .await
        .expect("emacs within the time limit")
        .expect("run emacs");
    let report: Value = std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let log = std::fs::read_to_string(home.path().join("agentls.log")).unwrap_or_default();
    let context = format!(
        "Emacs {version}: exit {:?}\n--- report\n{report:#}\n--- stderr\n{}\n--- agentls log\n{log}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{context}");
    assert_eq!(report["server_name"], "agentls", "{context}");
    assert!(
        report["commands"]
            .as_array()
            .is_some_and(|commands| commands.iter().any(|command| command == "agentls.explain")),
        "{context}"
    );
    let titles: Vec<&str> = report["titles"]
        .as_array()
        .map(|titles| titles.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(titles.contains(&"Agent: Explain this"), "{context}");
    assert!(titles.contains(&"Agent: Write tests for this"), "{context}");
    let messages: Vec<&str> = report["messages"]
        .as_array()
        .map(|messages| messages.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        messages
            .iter()
            .any(|message| message.contains("Explain this on lib.rs started")),
        "{context}"
    );
    assert!(
        messages
            .iter()
            .any(|message| message.contains("Explain this: `add` subtracts where it should add.")),
        "{context}"
    );
    assert_eq!(fake.requests().len(), 1, "{context}");
}
