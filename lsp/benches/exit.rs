//! How long the `agentls` process takes to end after `shutdown` then `exit`,
//! with stdin left open (as editors leave it): 30 spawns of the release binary,
//! each initialized with a 12,000-line Rust document open (0.8 MB, under
//! `MAX_TREE_BYTES`; its parse and index entry under way in the background),
//! timed from writing `exit` to the process being reaped. Printed, not
//! asserted.
//!
//! `cargo bench -p agentls --bench exit`; the figures go in docs/benchmarks.md.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod stdio;
use stdio::Client;

/// One spawn: the time from `exit` written to the process reaped, stdin open.
fn one_exit(document: &str) -> Duration {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentls"));
    command.env("AGENTLS_LOG", "warn").stderr(Stdio::null());
    let (mut child, mut client) = Client::start(command, json!({}));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": "file:///bench/big.rs", "languageId": "rust", "version": 1, "text": document}}),
    );
    // Let the debounced index refresh start its parse.
    std::thread::sleep(Duration::from_millis(250));
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    let sent = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            let elapsed = sent.elapsed();
            drop(client);
            return elapsed;
        }
        if sent.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            return sent.elapsed();
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

#[allow(clippy::print_stdout)] // a benchmark's report goes to stdout
fn main() {
    let document =
        "fn item(value: u64) -> u64 { let doubled = value * 2; doubled + 1 }\n".repeat(12_000);
    let mut times: Vec<Duration> = (0..30).map(|_| one_exit(&document)).collect();
    times.sort();
    let within = times
        .iter()
        .filter(|time| **time <= Duration::from_millis(10))
        .count();
    println!(
        "exit with stdin open, 30 spawns: median {:.2} ms, max {:.2} ms, {within} of 30 within 10 ms",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0,
    );
}
