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
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod stdio;
use stdio::Client;

const PAIRS: usize = 3_000;
const WARM_UP: usize = 300;

/// Writes the request with a fresh id and reads frames until its answer,
/// which must contain `expect`; answers the server's own requests.
fn round_trip(client: &mut Client, method: &str, params: &str, expect: &str) -> Duration {
    let id = client.take_id();
    let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#);
    let id_field = format!(r#""id":{id}"#);
    let started = Instant::now();
    client.write_frame(body.as_bytes());
    loop {
        let frame = client.read_frame();
        let text = std::str::from_utf8(&frame).expect("utf-8");
        if text.contains("\"method\"") {
            if text.contains("\"id\"") {
                let request: Value = serde_json::from_slice(&frame).expect("json");
                client.send(&json!({"jsonrpc": "2.0", "id": request["id"], "result": null}));
            }
            continue;
        }
        let elapsed = started.elapsed();
        assert!(text.contains(&id_field) && text.contains(expect), "{text}");
        return elapsed;
    }
}

fn median(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e6
}

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
    let mut answers = Vec::with_capacity(PAIRS);
    let mut floors = Vec::with_capacity(PAIRS);
    for pair in 0..WARM_UP + PAIRS {
        let answer = round_trip(
            &mut client,
            "textDocument/codeAction",
            code_action,
            "\"result\":[",
        );
        let floor = round_trip(&mut client, "agent/noSuchMethod", "{}", "-32601");
        if pair >= WARM_UP {
            answers.push(answer);
            floors.push(floor);
        }
    }
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    let _ = child.wait();
    (median(&mut answers), median(&mut floors))
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
