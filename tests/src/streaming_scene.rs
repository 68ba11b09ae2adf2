//! The scene of the benches that time requests while a turn streams
//! (`agent_relay`, `stdio_streaming`): a workspace holding one 20,000-line
//! Rust file, and the fake provider on 127.0.0.1 holding one answer that it
//! streams one SSE event per permit of a gate, long enough for minutes.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::client::{file_uri, TestEnv};
use crate::fake_provider::{
    Answer, FakeProvider, Format, Gate, Script, FAKE_API_KEY, FAKE_API_KEY_ENV,
};

pub struct StreamingScene {
    pub workspace: TempDir,
    pub root: PathBuf,
    /// The Rust file's URI and text.
    pub uri: String,
    pub text: String,
    /// One permit lets one SSE event (8 bytes of text) out.
    pub gate: Gate,
    pub fake: FakeProvider,
}

impl StreamingScene {
    pub async fn start() -> StreamingScene {
        let workspace = tempfile::tempdir().expect("temp dir");
        let root = workspace.path().canonicalize().expect("root");
        let path = root.join("big.rs");
        let mut text = String::with_capacity(20_000 * 40);
        for index in 0..5_000 {
            text.push_str(&format!(
                "fn function_{index}(x: u32) -> u32 {{\n    let y = x + {index};\n    y * 2\n}}\n"
            ));
        }
        std::fs::write(&path, &text).expect("write the file");
        let gate = Gate::new();
        let fake = FakeProvider::start(Format::OpenAiResponses).await;
        fake.push(Script::Gated {
            answer: Answer {
                text: Some("streaming".repeat(2_000_000)),
                ..Answer::default()
            },
            gate: gate.clone(),
        });
        StreamingScene {
            uri: file_uri(&path),
            workspace,
            root,
            text,
            gate,
            fake,
        }
    }

    /// The server's environment: its data and home in the workspace's temp
    /// dir, the fake's key, the sandbox helper given.
    pub fn env(&self, sandbox_helper: &str) -> TestEnv {
        let dir = self.workspace.path();
        TestEnv::new()
            .var("XDG_DATA_HOME", dir.join("data").display().to_string())
            .var("HOME", dir.display().to_string())
            .var(FAKE_API_KEY_ENV, FAKE_API_KEY)
            .var("AGENTLS_SANDBOX_HELPER", sandbox_helper)
    }

    /// `initialize` params: the workspace as root, a client that takes the
    /// turn's deltas (`experimental.agentls`), the fake as provider.
    pub fn initialize_params(&self) -> Value {
        json!({
            "processId": null,
            "rootUri": file_uri(&self.root),
            "capabilities": {"experimental": {"agentls": true}},
            "initializationOptions": {"provider": {
                "kind": "openai-responses", "base_url": self.fake.base_url(),
                "model": "bench", "api_key_env": FAKE_API_KEY_ENV,
            }},
        })
    }

    /// codeAction params at the middle of the file.
    pub fn code_action(&self) -> Value {
        json!({
            "textDocument": {"uri": self.uri},
            "range": {"start": {"line": 10_000, "character": 4}, "end": {"line": 10_000, "character": 4}},
            "context": {"diagnostics": []}
        })
    }

    /// Opens the gate 5,000 times a second (a fast model sends ~100 tokens a
    /// second) until the task is aborted. Call within a runtime.
    pub fn drip(&self) -> tokio::task::JoinHandle<()> {
        let gate = self.gate.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_micros(200));
            loop {
                ticker.tick().await;
                gate.open(1);
            }
        })
    }
}
