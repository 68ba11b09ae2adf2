//! How long the `agentls` process takes to end after `shutdown` then `exit`,
//! with stdin left open (as editors leave it): 30 spawns of the release binary,
//! each initialized with a 12,000-line Rust document open (0.8 MB, under
//! `MAX_TREE_BYTES`; its parse and index entry under way in the background),
//! timed from writing `exit` to the process being reaped. Printed, not
//! asserted.
//!
//! `cargo bench -p agentls --bench exit`; the figures go in docs/benchmarks.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn send(stdin: &mut std::process::ChildStdin, message: &Value) {
    let body = serde_json::to_vec(message).expect("serialise");
    write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write");
    stdin.write_all(&body).expect("write");
    stdin.flush().expect("flush");
}

/// Reads messages until the answer to request `id`.
fn answer(stdout: &mut BufReader<std::process::ChildStdout>, id: i64) -> Value {
    loop {
        let mut length = 0;
        loop {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("read header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        stdout.read_exact(&mut body).expect("read body");
        let message: Value = serde_json::from_slice(&body).expect("json");
        if message["id"] == id && message.get("method").is_none() {
            return message;
        }
    }
}

/// One spawn: the time from `exit` written to the process reaped, stdin open.
fn one_exit(document: &str) -> Duration {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentls"))
        .env("AGENTLS_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn agentls");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": null, "rootUri": null, "capabilities": {}}}),
    );
    answer(&mut stdout, 1);
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": "file:///bench/big.rs", "languageId": "rust", "version": 1, "text": document}
        }}),
    );
    // Let the debounced index refresh start its parse.
    std::thread::sleep(Duration::from_millis(250));
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": null}),
    );
    answer(&mut stdout, 2);
    send(&mut stdin, &json!({"jsonrpc": "2.0", "method": "exit"}));
    let sent = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            let elapsed = sent.elapsed();
            drop(stdin);
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
