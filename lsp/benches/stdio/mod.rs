//! A plain LSP client over the stdio of the release `agentls` binary, as an
//! editor runs it, shared by the benches that measure the process from
//! outside (memory, exit, round trip).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

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
    pub fn start(mut command: Command, options: Value) -> (Child, Client) {
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
        client.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}, "initializationOptions": options}),
        );
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
