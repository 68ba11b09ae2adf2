//! `textDocument/codeAction` on a 20,000-line Rust file, timed from outside as
//! the issue measured it: the release binary over stdio, a plain client that
//! writes a frame and reads the answer's bytes (no JSON parsing on its side),
//! next to an unknown-method request (`agent/noSuchMethod`, answered by the
//! router: the transport floor) on the same pipe. The two alternate, so both
//! see the same machine. Three spawns of 3,000 pairs each; medians printed,
//! not asserted. `AGENTLS_BENCH_BASELINE=PATH` measures another agentls
//! binary (an earlier build) in the same runs, each spawn right after this
//! build's.
//!
//! `cargo bench -p agentls --bench round_trip`; the figures go in
//! docs/benchmarks.md.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

mod stdio;
use stdio::{code_action_and_floor, Client};

const PAIRS: usize = 3_000;
const WARM_UP: usize = 300;

/// One spawn: the medians of codeAction and of the floor, in µs.
fn measure(binary: &str, document: &str, code_action: &str) -> (f64, f64) {
    let mut command = Command::new(binary);
    command
        .env("AGENTLS_LOG", "warn")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stderr(Stdio::null());
    let (mut child, mut client) = Client::start(command, json!({}));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": "file:///bench/big.rs", "languageId": "rust", "version": 1, "text": document}}),
    );
    client.request("agentls/barrier", json!({}));
    // Let the index read the file before timing.
    std::thread::sleep(Duration::from_secs(1));
    let (answer, floor) = code_action_and_floor(&mut client, code_action, WARM_UP, PAIRS);
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    let _ = child.wait();
    (answer, floor)
}

#[allow(clippy::print_stdout)] // a benchmark's report goes to stdout
fn main() {
    // 20,000 lines of Rust, one small function each.
    let document =
        "fn item(value: u64) -> u64 { let doubled = value * 2; doubled + 1 }\n".repeat(20_000);
    let code_action = json!({
        "textDocument": {"uri": "file:///bench/big.rs"},
        "range": {"start": {"line": 10_000, "character": 4}, "end": {"line": 10_000, "character": 4}},
        "context": {"diagnostics": []}
    })
    .to_string();
    let mut binaries = vec![("this build", env!("CARGO_BIN_EXE_agentls").to_string())];
    if let Ok(baseline) = std::env::var("AGENTLS_BENCH_BASELINE") {
        binaries.push(("baseline", baseline));
    }
    let mut ratios = Vec::new();
    for run in 1..=3 {
        for (name, binary) in &binaries {
            let (answer, floor) = measure(binary, &document, &code_action);
            if *name == "this build" {
                ratios.push(answer / floor);
            }
            println!(
                "run {run}, {name}: codeAction {answer:.1} µs, unknown method {floor:.1} µs: {:.2}x the floor",
                answer / floor
            );
        }
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "codeAction / floor, median of the three runs: {:.2}x",
        ratios[1]
    );
}
