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

use agentls_tests::client::agentls_binary_if_built;
use agentls_tests::streaming_scene::StreamingScene;
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
    let scene = runtime.block_on(StreamingScene::start());
    let mut command = Command::new(&binary);
    command
        .env_clear()
        .envs(std::env::var("PATH").map(|path| ("PATH".to_string(), path)))
        .envs(scene.env(HELPER).vars)
        .env("AGENTLS_LOG", "warn")
        .stderr(Stdio::null());
    let (mut child, mut client) = Client::start_with(command, scene.initialize_params());
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": scene.uri, "languageId": "rust", "version": 1, "text": scene.text}}),
    );
    client.request("agentls/barrier", json!({}));
    std::thread::sleep(Duration::from_secs(1));
    let code_action = scene.code_action().to_string();

    let (answer, floor) = code_action_and_floor(&mut client, &code_action, WARM_UP, PAIRS);
    println!(
        "idle: codeAction {answer:.1} µs, unknown method {floor:.1} µs: {:.2}x the floor",
        answer / floor
    );

    let started = client.request(
        "agent/turnStart",
        json!({"text": "stream", "uri": scene.uri}),
    );
    assert!(started["result"]["threadId"].is_string(), "{started}");
    let drip = {
        let _runtime = runtime.enter();
        scene.drip()
    };
    runtime.block_on(scene.fake.wait_for_requests(1));
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
