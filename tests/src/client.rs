//! An LSP test client with real Content-Length framing, talking either to the
//! server in-process over a tokio duplex pipe or to the built `agentls` binary over
//! its stdio. Tests assert on the whole JSON a client would see.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a test waits for a message before it fails. A safety net against a
/// hung server, not a synchronisation device.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(20);

enum ServerHandle {
    InProcess(JoinHandle<agentls::SessionEnd>),
    Binary(tokio::process::Child),
}

/// One end of an LSP session, playing the editor.
pub struct TestClient {
    writer: Option<Box<dyn AsyncWrite + Unpin + Send>>,
    incoming: mpsc::Receiver<Value>,
    /// Messages received while waiting for something else.
    pending: VecDeque<Value>,
    next_id: i64,
    server: ServerHandle,
}

/// Environment for a server under test: only what is listed is visible to it
/// (for the in-process server), so the developer's own config and keys never leak
/// into a test.
#[derive(Clone, Debug, Default)]
pub struct TestEnv {
    pub vars: HashMap<String, String>,
}

impl TestEnv {
    pub fn new() -> Self {
        TestEnv::default()
    }

    pub fn var(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_string(), value.into());
        self
    }

    /// A model provider is configured (an OpenAI-compatible server at a port
    /// nothing listens on), so the server does not warn, at `initialized`, that
    /// none is: for tests about other things that check every message shown.
    pub fn provider_configured(self) -> Self {
        self.var("AGENTLS_PROVIDER", "openai-chat")
            .var("AGENTLS_BASE_URL", "http://127.0.0.1:9/v1")
    }
}

impl TestClient {
    /// The server in this process, over a duplex pipe, with an environment that
    /// holds only a configured provider (`TestEnv::provider_configured`).
    pub fn in_process() -> Self {
        Self::in_process_with_env(TestEnv::new().provider_configured())
    }

    pub fn in_process_with_env(env: TestEnv) -> Self {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let vars = Arc::new(env.vars);
        let lookup: agentls::EnvLookup = Arc::new(move |name: &str| vars.get(name).cloned());
        let server = tokio::spawn(agentls::serve_with_env(server_read, server_write, lookup));
        let (client_read, client_write) = tokio::io::split(client_side);
        Self::over(
            client_read,
            Box::new(client_write),
            ServerHandle::InProcess(server),
        )
    }

    /// The built binary over stdio. Its environment is cleared except for `PATH`
    /// and what `env` lists.
    pub fn spawn_binary(env: TestEnv, args: &[&str]) -> Self {
        let mut command = tokio::process::Command::new(agentls_binary());
        command
            .args(args)
            .env_clear()
            .envs(std::env::var("PATH").map(|path| ("PATH".to_string(), path)))
            .envs(env.vars)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn the agentls binary");
        let stdin = child.stdin.take().expect("child stdin");
        let stdout = child.stdout.take().expect("child stdout");
        Self::over(stdout, Box::new(stdin), ServerHandle::Binary(child))
    }

    fn over<R: AsyncRead + Unpin + Send + 'static>(
        reader: R,
        writer: Box<dyn AsyncWrite + Unpin + Send>,
        server: ServerHandle,
    ) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(read_frames(reader, tx));
        TestClient {
            writer: Some(writer),
            incoming: rx,
            pending: VecDeque::new(),
            next_id: 1,
            server,
        }
    }

    /// Writes bytes exactly as given (for malformed-input tests).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let writer = self.writer.as_mut().expect("stdin already closed");
        writer.write_all(bytes).await.expect("write to server");
        writer.flush().await.expect("flush to server");
    }

    /// Frames and sends one JSON message.
    pub async fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).expect("serialise");
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        self.send_raw(&frame).await;
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// Sends a request and returns the whole response message.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params).await;
        self.response(id).await
    }

    /// Waits for the response to request `id`, keeping other messages for later.
    pub async fn response(&mut self, id: i64) -> Value {
        self.recv_where(|message| is_response_to(message, id)).await
    }

    /// The next message from the server, in order.
    pub async fn recv(&mut self) -> Value {
        if let Some(message) = self.pending.pop_front() {
            return message;
        }
        self.recv_fresh().await
    }

    async fn recv_fresh(&mut self) -> Value {
        match tokio::time::timeout(RECV_TIMEOUT, self.incoming.recv()).await {
            Ok(Some(message)) => message,
            Ok(None) => panic!("the server closed its output"),
            Err(_) => panic!(
                "no message from the server within {RECV_TIMEOUT:?}; pending: {:#?}",
                self.pending
            ),
        }
    }

    /// The first message (pending or new) that matches; the others stay queued.
    pub async fn recv_where(&mut self, mut matches: impl FnMut(&Value) -> bool) -> Value {
        if let Some(index) = self.pending.iter().position(&mut matches) {
            return self.pending.remove(index).expect("index in range");
        }
        loop {
            let message = self.recv_fresh().await;
            if matches(&message) {
                return message;
            }
            self.pending.push_back(message);
        }
    }

    /// The next notification (or server request) with this method.
    pub async fn recv_method(&mut self, method: &str) -> Value {
        self.recv_where(|message| message["method"] == method).await
    }

    /// Answers a request the server sent.
    pub async fn respond(&mut self, id: &Value, result: Value) {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
            .await;
    }

    /// `initialize` with these client capabilities and `initialized`; returns the
    /// initialize response.
    pub async fn initialize(
        &mut self,
        capabilities: Value,
        root: Option<&std::path::Path>,
    ) -> Value {
        self.initialize_with(json!({
            "processId": null,
            "rootUri": root.map(file_uri),
            "capabilities": capabilities,
            "clientInfo": {"name": "agentls-test-client"}
        }))
        .await
    }

    /// `initialize` with full params of the test's choosing, then `initialized`.
    pub async fn initialize_with(&mut self, params: Value) -> Value {
        let response = self.request("initialize", params).await;
        self.notify("initialized", json!({})).await;
        response
    }

    /// Messages already received and not yet consumed.
    pub fn drain_pending(&mut self) -> Vec<Value> {
        self.pending.drain(..).collect()
    }

    /// Closes the server's input and returns its exit code (for the binary) or
    /// its session result (in-process) as an exit code.
    pub async fn close_input(mut self) -> i32 {
        if let Some(mut writer) = self.writer.take() {
            // A duplex pipe's write half only signals end-of-input when shut down.
            let _ = writer.shutdown().await;
        }
        self.wait().await
    }

    /// The server's process id, when it runs as a process of its own.
    pub fn pid(&self) -> Option<u32> {
        match &self.server {
            ServerHandle::Binary(child) => child.id(),
            ServerHandle::InProcess(_) => None,
        }
    }

    /// `shutdown`, then `exit`; returns the exit code.
    pub async fn shutdown_and_exit(mut self) -> i32 {
        let response = self.request("shutdown", Value::Null).await;
        assert_eq!(response["result"], Value::Null, "{response}");
        self.notify("exit", Value::Null).await;
        self.wait().await
    }

    /// Kills the spawned binary with SIGKILL, as `kill -9` does, and waits for it
    /// to be gone. Panics for the in-process server, which cannot be killed.
    pub async fn kill(&mut self) {
        match &mut self.server {
            ServerHandle::Binary(child) => child.kill().await.expect("kill agentls"),
            ServerHandle::InProcess(_) => panic!("only the spawned binary can be killed"),
        }
    }

    /// Every message that arrived and was not read yet, up to the end of the
    /// server's output (after `kill`, what the server sent before it died).
    pub async fn rest(&mut self) -> Vec<Value> {
        let mut messages: Vec<Value> = self.pending.drain(..).collect();
        loop {
            match tokio::time::timeout(RECV_TIMEOUT, self.incoming.recv()).await {
                Ok(Some(message)) => messages.push(message),
                Ok(None) => return messages,
                Err(_) => panic!("the server's output did not end"),
            }
        }
    }

    async fn wait(mut self) -> i32 {
        let waited = tokio::time::timeout(RECV_TIMEOUT, async {
            match &mut self.server {
                ServerHandle::InProcess(handle) => handle.await.expect("server task").exit_code(),
                ServerHandle::Binary(child) => child
                    .wait()
                    .await
                    .expect("wait for agentls")
                    .code()
                    .unwrap_or(-1),
            }
        })
        .await;
        waited.expect("the server did not stop")
    }
}

fn is_response_to(message: &Value, id: i64) -> bool {
    message.get("method").is_none() && message["id"] == json!(id)
}

async fn read_frames<R: AsyncRead + Unpin>(reader: R, tx: mpsc::Sender<Value>) {
    let mut reader = BufReader::new(reader);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match tokio::io::AsyncBufReadExt::read_line(&mut reader, &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = Some(
                    value
                        .parse::<usize>()
                        .expect("server sent a bad Content-Length"),
                );
            }
        }
        let length = length.expect("server sent a frame without Content-Length");
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let message: Value = serde_json::from_slice(&body).expect("server sent invalid JSON");
        if tx.send(message).await.is_err() {
            return;
        }
    }
}

/// `file://` URI of a path.
pub fn file_uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

/// The built `agentls` binary: `AGENTLS_BIN` if set, else next to the test
/// executable's directory (`target/debug/agentls`).
pub fn agentls_binary() -> PathBuf {
    agentls_binary_if_built().unwrap_or_else(|| {
        panic!(
            "{} is missing: run the tests with `cargo test --workspace`, which builds it",
            beside_executable().display()
        )
    })
}

/// `agentls_binary`, or `None` when it is not built (benches: `cargo bench`
/// builds no binary of another package; `cargo build --release -p agentls`
/// puts one next to them).
pub fn agentls_binary_if_built() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("AGENTLS_BIN") {
        return Some(PathBuf::from(path));
    }
    Some(beside_executable()).filter(|binary| binary.exists())
}

fn beside_executable() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("agentls")
}
