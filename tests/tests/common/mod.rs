//! What the end-to-end editor tests share: a workspace on disk with a buggy
//! `src/lib.rs`, a data directory, the fake provider and a scripted editor
//! attached to the server (in process or the spawned binary).

#![allow(dead_code, unused_imports)] // Each test binary uses its own part of this.

pub use std::path::PathBuf;

pub use agentls_tests::client::{TestClient, TestEnv};
pub use agentls_tests::editor::{Answer, ApplyMode, Editor};
pub use agentls_tests::fake_provider::{
    FakeProvider, Format, Script, ToolCall, FAKE_API_KEY, FAKE_API_KEY_ENV,
};
pub use serde_json::{json, Value};

pub const HELPER: &str = env!("CARGO_BIN_EXE_sandbox-helper");

pub const BUGGY: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n";
pub const FIXED: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";
pub const FIX_PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n pub fn add(a: i32, b: i32) -> i32 {\n-    a - b\n+    a + b\n }\n*** End Patch\n";

/// A workspace on disk, a data directory, the fake model and an editor attached
/// to the server.
pub struct Session {
    pub workspace: tempfile::TempDir,
    pub data: tempfile::TempDir,
    pub fake: FakeProvider,
    pub editor: Editor,
}

pub struct Options {
    pub capabilities: Value,
    pub approvals: Value,
    pub binary: bool,
    /// Files written before the server starts (and indexes the workspace).
    pub files: Vec<(&'static str, &'static str)>,
    /// `clientInfo.name` in `initialize` (`helix`, `Neovim`…).
    pub client_name: Option<&'static str>,
    /// More variables in the server's environment.
    pub env: Vec<(&'static str, &'static str)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            capabilities: editor_capabilities(true),
            approvals: json!({ "policy": "untrusted", "timeout_secs": 30 }),
            binary: false,
            files: Vec::new(),
            client_name: None,
            env: Vec::new(),
        }
    }
}

/// What a full editor advertises; `prompts` says whether it takes
/// showMessageRequest (Helix 25.07 does not).
pub fn editor_capabilities(prompts: bool) -> Value {
    let mut window = json!({ "workDoneProgress": true, "showDocument": { "support": true } });
    if prompts {
        window["showMessage"] =
            json!({ "messageActionItem": { "additionalPropertiesSupport": false } });
    }
    json!({
        "window": window,
        "workspace": { "applyEdit": true, "workspaceEdit": {
            "documentChanges": true, "resourceOperations": ["create", "rename", "delete"] } },
    })
}

impl Session {
    pub async fn start(options: Options) -> Session {
        let workspace = tempfile::tempdir().unwrap();
        let root = workspace.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/lib.rs"), BUGGY).unwrap();
        for (path, text) in &options.files {
            std::fs::write(root.join(path), text).unwrap();
        }
        let data = tempfile::tempdir().unwrap();
        let fake = FakeProvider::start(Format::OpenAiResponses).await;
        let env = TestEnv::new()
            .var("XDG_DATA_HOME", data.path().display().to_string())
            .var(
                "XDG_CONFIG_HOME",
                data.path().join("config").display().to_string(),
            )
            .var("HOME", data.path().display().to_string())
            .var(FAKE_API_KEY_ENV, FAKE_API_KEY)
            .var("AGENTLS_SANDBOX_HELPER", HELPER);
        let env = options
            .env
            .iter()
            .fold(env, |env, (name, value)| env.var(name, *value));
        let client = if options.binary {
            TestClient::spawn_binary(env, &[])
        } else {
            TestClient::in_process_with_env(env)
        };
        let mut editor = Editor::new(client);
        let mut params = json!({
            "processId": null,
            "rootUri": agentls_tests::client::file_uri(&root),
            "capabilities": options.capabilities,
            "initializationOptions": {
                "provider": {
                    "kind": "openai-responses",
                    "base_url": fake.base_url(),
                    "model": "test-model",
                    "api_key_env": FAKE_API_KEY_ENV,
                    "retry_base_ms": 10,
                },
                "approvals": options.approvals,
            },
        });
        if let Some(name) = options.client_name {
            params["clientInfo"] = json!({ "name": name, "version": "25.07.1" });
        }
        let init = editor.client.initialize_with(params).await;
        assert!(
            init["result"]["capabilities"]["executeCommandProvider"]["commands"]
                .as_array()
                .is_some_and(|commands| commands.contains(&json!("agentls.fix"))),
            "{init}"
        );
        Session {
            workspace,
            data,
            fake,
            editor,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.workspace.path().canonicalize().unwrap()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    pub async fn open_lib(&mut self) -> String {
        self.open_rust("src/lib.rs", BUGGY).await
    }

    /// Opens `text` in the editor as the Rust file at `relative`; its URI.
    pub async fn open_rust(&mut self, relative: &str, text: &str) -> String {
        let path = self.path(relative);
        self.editor.open(&path, "rust", text).await
    }

    /// The code actions offered at `line` (zero-width range, as Neovim asks).
    pub async fn code_actions(&mut self, uri: &str, line: u32, diagnostics: Value) -> Vec<Value> {
        let response = self
            .editor
            .request(
                "textDocument/codeAction",
                json!({
                    "textDocument": {"uri": uri},
                    "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}},
                    "context": {"diagnostics": diagnostics},
                }),
            )
            .await;
        response["result"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("{response}"))
    }

    /// Picks the action titled `title` and runs its command as the editor does.
    pub async fn run_action(
        &mut self,
        uri: &str,
        line: u32,
        diagnostics: Value,
        title: &str,
    ) -> Value {
        let actions = self.code_actions(uri, line, diagnostics).await;
        let action = actions
            .iter()
            .find(|action| action["title"] == title)
            .unwrap_or_else(|| panic!("no {title:?} among {actions:#?}"))
            .clone();
        self.editor
            .request("workspace/executeCommand", action["command"].clone())
            .await
    }
}

pub fn diagnostic(line: u32, message: &str) -> Value {
    json!([{
        "range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 9}},
        "severity": 1, "source": "rustc", "code": "E0000", "message": message,
    }])
}

pub fn titles(actions: &[Value]) -> Vec<String> {
    actions
        .iter()
        .map(|action| {
            format!(
                "{} [{}] -> {}",
                action["title"].as_str().unwrap(),
                action["kind"].as_str().unwrap(),
                action["command"]["command"].as_str().unwrap()
            )
        })
        .collect()
}

/// The tool outputs the model was sent in its latest request.
pub fn tool_outputs(fake: &FakeProvider) -> Vec<String> {
    let requests = fake.requests();
    let last = requests.last().expect("a request");
    last.tool_outputs()
        .into_iter()
        .map(|(_, output)| output)
        .collect()
}
