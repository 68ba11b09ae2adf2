//! codeAction on a 20,000-line Rust file against the unknown-method floor, as
//! the `round_trip` bench of lsp/benches measures it (the release binary over
//! stdio, a plain client that reads answers without parsing them, the two
//! requests alternating), idle and then while a turn streams 5,000 SSE
//! events a second from the fake provider on 127.0.0.1 to a client that
//! declared `experimental.agentls` (so every delta also crosses the pipe).
//! One spawn, 3,000 pairs in each state after 300 to warm up; medians
//! printed, not asserted.
//!
//! Needs the release binary (`cargo build --release -p agentls`, or
//! `AGENTLS_BIN`): `cargo bench -p agentls-tests --bench stdio_streaming`.

use std::process::{Command, Stdio};
use std::time::Duration;

use agentls_tests::client::{agentls_binary_if_built, file_uri};
use agentls_tests::fake_provider::{
    Answer, FakeProvider, Format, Gate, Script, FAKE_API_KEY, FAKE_API_KEY_ENV,
};
use serde_json::json;

#[path = "../../lsp/benches/stdio/mod.rs"]
mod stdio;
use stdio::{code_action_and_floor, Client};

const HELPER: &str = env!("CARGO_BIN_EXE_sandbox-helper");
const PAIRS: usize = 3_000;
const WARM_UP: usize = 300;

#[allow(clippy::print_stdout)] // a benchmark's report goes to stdout
fn main() {
    let Some(binary) = agentls_binary_if_built() else {
        println!("stdio_streaming: no release binary (cargo build --release -p agentls); nothing measured");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let workspace = tempfile::tempdir().expect("temp dir");
    let root = workspace.path().canonicalize().expect("root");
    let path = root.join("big.rs");
    // 20,000 lines of Rust, one small function each.
    let text =
        "fn item(value: u64) -> u64 { let doubled = value * 2; doubled + 1 }\n".repeat(20_000);
    std::fs::write(&path, &text).expect("write the file");
    let uri = file_uri(&path);
    let gate = Gate::new();
    let fake = runtime.block_on(async {
        let fake = FakeProvider::start(Format::OpenAiResponses).await;
        // 8 bytes an event, for minutes of streaming.
        fake.push(Script::Gated {
            answer: Answer {
                text: Some("streaming".repeat(2_000_000)),
                ..Answer::default()
            },
            gate: gate.clone(),
        });
        fake
    });

    let mut command = Command::new(&binary);
    command
        .env_clear()
        .envs(std::env::var("PATH").map(|path| ("PATH".to_string(), path)))
        .env("AGENTLS_LOG", "warn")
        .env("XDG_DATA_HOME", workspace.path().join("data"))
        .env("XDG_CONFIG_HOME", workspace.path().join("config"))
        .env("HOME", workspace.path())
        .env(FAKE_API_KEY_ENV, FAKE_API_KEY)
        .env("AGENTLS_SANDBOX_HELPER", HELPER)
        .stderr(Stdio::null());
    let (mut child, mut client) = Client::start_with(
        command,
        json!({
            "processId": null,
            "rootUri": file_uri(&root),
            "capabilities": {"experimental": {"agentls": true}},
            "initializationOptions": {"provider": {
                "kind": "openai-responses", "base_url": fake.base_url(),
                "model": "bench", "api_key_env": FAKE_API_KEY_ENV,
            }},
        }),
    );
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
    );
    client.request("agentls/barrier", json!({}));
    std::thread::sleep(Duration::from_secs(1));
    let code_action = json!({
        "textDocument": {"uri": uri},
        "range": {"start": {"line": 10_000, "character": 4}, "end": {"line": 10_000, "character": 4}},
        "context": {"diagnostics": []}
    })
    .to_string();

    let (answer, floor) = code_action_and_floor(&mut client, &code_action, WARM_UP, PAIRS);
    println!(
        "idle: codeAction {answer:.1} µs, unknown method {floor:.1} µs: {:.2}x the floor",
        answer / floor
    );

    let started = client.request("agent/turnStart", json!({"text": "stream", "uri": uri}));
    assert!(started["result"]["threadId"].is_string(), "{started}");
    let drip = {
        let gate = gate.clone();
        runtime.spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_micros(200));
            loop {
                ticker.tick().await;
                gate.open(1);
            }
        })
    };
    runtime.block_on(fake.wait_for_requests(1));
    std::thread::sleep(Duration::from_secs(1));
    let (answer, floor) = code_action_and_floor(&mut client, &code_action, WARM_UP, PAIRS);
    println!(
        "while a turn streams: codeAction {answer:.1} µs, unknown method {floor:.1} µs: {:.2}x the floor",
        answer / floor
    );
    drip.abort();
    let _ = child.kill();
    let _ = child.wait();
}
