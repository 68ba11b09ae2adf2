//! Resident memory of the `agentls` binary: after `initialize` with no documents,
//! and after opening 1,000 files of 1,000 lines each. Not a timing benchmark: it
//! prints the figures (read from /proc/<pid>/status) and the ratio of resident
//! memory to the text's size. Linux only.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

struct Client {
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    next_id: i64,
}

impl Client {
    fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).expect("serialise");
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write");
        self.stdin.write_all(&body).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn recv(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stdout.read_line(&mut line).expect("read header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        self.stdout.read_exact(&mut body).expect("read body");
        serde_json::from_slice(&body).expect("json")
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.recv();
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
        }
    }
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn file_text(index: usize) -> String {
    (0..1000)
        .map(|line| format!("let value_{index}_{line} = compute({line}); // some text\n"))
        .collect()
}

#[allow(clippy::print_stdout)] // a benchmark's report goes to stdout
fn main() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentls"))
        .env_remove("AGENTLS_LOG")
        .env("AGENTLS_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn agentls");
    let pid = child.id();
    let mut client = Client {
        stdin: child.stdin.take().expect("stdin"),
        stdout: BufReader::new(child.stdout.take().expect("stdout")),
        next_id: 1,
    };
    client.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    client.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let idle = resident_kib(pid);

    let mut text_bytes = 0usize;
    for index in 0..1000 {
        let text = file_text(index);
        text_bytes += text.len();
        // Plain text, so the figure is the store's; `.rs` files also keep a tree.
        client.send(&json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": format!("file:///bench/file_{index}.txt"), "languageId": "plaintext", "version": 1, "text": text}
        }}));
    }
    // A request after the notifications returns only once they are all applied.
    client.request(
        "agent/documentState",
        json!({"uri": "file:///bench/file_999.txt"}),
    );
    let loaded = resident_kib(pid);
    let text_kib = text_bytes as u64 / 1024;
    println!(
        "resident after initialize, no documents: {:.1} MiB",
        idle as f64 / 1024.0
    );
    println!(
        "resident with 1,000 open 1,000-line files: {:.1} MiB for {:.1} MiB of text: {:.2}x the text (growth over idle: {:.2}x)",
        loaded as f64 / 1024.0,
        text_kib as f64 / 1024.0,
        loaded as f64 / text_kib as f64,
        (loaded - idle) as f64 / text_kib as f64,
    );
    client.request("shutdown", Value::Null);
    client.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
    let _ = child.wait();
}
