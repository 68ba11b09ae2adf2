//! A plain LSP client over the stdio of the release `agentls` binary, as an
//! editor runs it, shared by the benches that measure the process from
//! outside (memory, exit, round trip here; the streaming round trip of
//! tests/benches includes this file by path, a bench having no library).

// Each bench that includes this module uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Client {
    pub stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl Client {
    /// Spawns the binary the bench was built with, as `command` sets it up
    /// (its stdio is taken over here), and says `initialize` with these
    /// options, then `initialized`.
    pub fn start(command: Command, options: Value) -> (Child, Client) {
        Client::start_with(
            command,
            json!({"processId": null, "rootUri": null, "capabilities": {}, "initializationOptions": options}),
        )
    }

    /// `start` with the whole `initialize` params given.
    pub fn start_with(mut command: Command, initialize: Value) -> (Child, Client) {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn agentls");
        let mut client = Client {
            stdin: child.stdin.take().expect("stdin"),
            stdout: BufReader::new(child.stdout.take().expect("stdout")),
            next_id: 1,
        };
        client.request("initialize", initialize);
        client.notify("initialized", json!({}));
        (child, client)
    }

    pub fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).expect("serialise");
        self.write_frame(&body);
    }

    pub fn write_frame(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write");
        self.stdin.write_all(body).expect("write");
        self.stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next message's body, as bytes.
    pub fn read_frame(&mut self) -> Vec<u8> {
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
        body
    }

    /// A request's id, for a caller that frames the request itself.
    pub fn take_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id - 1
    }

    /// Sends a request and waits for its answer, answering the server's own
    /// requests (progress tokens) with `null` meanwhile.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.take_id();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.answer(id)
    }

    /// Reads messages until the answer to request `id`.
    pub fn answer(&mut self, id: i64) -> Value {
        loop {
            let message: Value = serde_json::from_slice(&self.read_frame()).expect("json");
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
            if message.get("method").is_some() && message.get("id").is_some() {
                self.send(&json!({"jsonrpc": "2.0", "id": message["id"], "result": null}));
            }
        }
    }
}

/// Writes the request with a fresh id and reads frames until its answer,
/// which must contain `expect`, without parsing it: the time a plain client
/// waits. Notifications are skipped unparsed; the server's own requests are
/// answered.
pub fn round_trip(client: &mut Client, method: &str, params: &str, expect: &str) -> Duration {
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

/// The medians, in µs, of codeAction and of the unknown-method floor over
/// `pairs` alternating round trips after `warm_up` more.
pub fn code_action_and_floor(
    client: &mut Client,
    code_action: &str,
    warm_up: usize,
    pairs: usize,
) -> (f64, f64) {
    let mut answers = Vec::with_capacity(pairs);
    let mut floors = Vec::with_capacity(pairs);
    for pair in 0..warm_up + pairs {
        let answer = round_trip(
            client,
            "textDocument/codeAction",
            code_action,
            "\"result\":[",
        );
        let floor = round_trip(client, "agent/noSuchMethod", "{}", "-32601");
        if pair >= warm_up {
            answers.push(answer);
            floors.push(floor);
        }
    }
    (median(&mut answers), median(&mut floors))
}

fn median(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e6
}
