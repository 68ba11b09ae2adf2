//! Inline completions end to end: `textDocument/inlineCompletion` and the
//! `textDocument/completion` fallback against a fake `/v1/completions` server
//! on 127.0.0.1 (and the fake chat provider for `kind = "chat"`), with the
//! request body sent, the cache, every way a completion is dropped (typing, a
//! newer request, `$/cancelRequest`, a provider down, stalled or answering
//! 1 MB), and the capabilities absent unless `[completion] enabled`.

use std::path::PathBuf;
use std::time::Duration;

use agentls_tests::client::{file_uri, TestClient, TestEnv};
use agentls_tests::editor::Editor;
use agentls_tests::fake_completions::{FakeCompletions, Reply};
use agentls_tests::fake_provider::{FakeProvider, Format, Script, FAKE_API_KEY, FAKE_API_KEY_ENV};
use expect_test::expect;
use serde_json::{json, Value};

/// The file the user types in; completions are asked at the end of line 1 (its indent).
const LIB: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    \n}\n";

/// A safety net against a hung server, not a synchronisation device.
const WAIT: Duration = Duration::from_secs(20);

struct Session {
    workspace: tempfile::TempDir,
    _data: tempfile::TempDir,
    fake: FakeCompletions,
    editor: Editor,
    capabilities: Value,
}

struct Setup {
    /// `[completion]` as `initializationOptions` carry it; `Null`: none.
    completion: Value,
    binary: bool,
    /// The `[provider]` section (for `kind = "chat"`).
    provider: Value,
    files: Vec<(&'static str, &'static str)>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            completion: json!({}),
            binary: false,
            provider: json!({ "kind": "openai-chat", "base_url": "http://127.0.0.1:9/v1" }),
            files: Vec::new(),
        }
    }
}

/// `[completion]` on, at the fake, with `extra` over it.
fn enabled(fake: &FakeCompletions, extra: Value) -> Value {
    let mut completion = json!({
        "enabled": true,
        "provider": { "base_url": fake.base_url(), "model": "qwen2.5-coder:1.5b-base" },
    });
    if let (Some(base), Some(extra)) = (completion.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            if key == "provider" {
                for (name, setting) in value.as_object().into_iter().flatten() {
                    base["provider"][name] = setting.clone();
                }
            } else {
                base.insert(key.clone(), value.clone());
            }
        }
    }
    completion
}

impl Session {
    async fn start(fake: FakeCompletions, setup: Setup) -> Session {
        let workspace = tempfile::tempdir().unwrap();
        let root = workspace.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/lib.rs"), LIB).unwrap();
        for (path, text) in &setup.files {
            std::fs::write(root.join(path), text).unwrap();
        }
        let data = tempfile::tempdir().unwrap();
        let env = TestEnv::new()
            .var("XDG_DATA_HOME", data.path().display().to_string())
            .var(
                "XDG_CONFIG_HOME",
                data.path().join("config").display().to_string(),
            )
            .var("HOME", data.path().display().to_string())
            .var(FAKE_API_KEY_ENV, FAKE_API_KEY);
        let client = if setup.binary {
            TestClient::spawn_binary(env, &[])
        } else {
            TestClient::in_process_with_env(env)
        };
        let mut editor = Editor::new(client);
        let mut options = json!({ "provider": setup.provider });
        if !setup.completion.is_null() {
            options["completion"] = setup.completion;
        }
        let init = editor
            .client
            .initialize_with(json!({
                "processId": null,
                "rootUri": file_uri(&root),
                "capabilities": {
                    "window": { "workDoneProgress": true },
                    "textDocument": { "inlineCompletion": {}, "completion": {} },
                },
                "initializationOptions": options,
            }))
            .await;
        Session {
            workspace,
            _data: data,
            fake,
            editor,
            capabilities: init["result"]["capabilities"].clone(),
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.workspace.path().canonicalize().unwrap().join(relative)
    }

    async fn open_lib(&mut self) -> String {
        let path = self.path("src/lib.rs");
        self.editor.open(&path, "rust", LIB).await
    }

    async fn send_inline(&mut self, uri: &str, line: u32, character: u32) -> i64 {
        self.editor
            .client
            .send_request(
                "textDocument/inlineCompletion",
                json!({
                    "textDocument": {"uri": uri},
                    "position": {"line": line, "character": character},
                    "context": {"triggerKind": 2},
                }),
            )
            .await
    }

    async fn inline(&mut self, uri: &str, line: u32, character: u32) -> Value {
        let id = self.send_inline(uri, line, character).await;
        self.response(id).await
    }

    async fn response(&mut self, id: i64) -> Value {
        self.editor
            .serve_until(|message| message.get("method").is_none() && message["id"] == json!(id))
            .await
    }

    /// Waits until the fake has `count` requests.
    async fn provider_requests(&self, count: usize) -> Vec<Value> {
        tokio::time::timeout(WAIT, self.fake.wait_for_requests(count))
            .await
            .expect("the provider request arrives")
            .into_iter()
            .map(|request| request.body)
            .collect()
    }

    async fn hang_ups(&self, count: u64) {
        tokio::time::timeout(WAIT, self.fake.wait_for_hang_ups(count))
            .await
            .expect("agentls closes the provider's connection");
    }
}

async fn session(setup: impl FnOnce(&FakeCompletions) -> Setup) -> Session {
    let fake = FakeCompletions::start().await;
    let setup = setup(&fake);
    Session::start(fake, setup).await
}

fn inline_items(response: &Value) -> &Value {
    &response["result"]["items"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_completion_returns_the_fim_text_and_sends_the_model_its_tokens() {
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({})),
        binary: true,
        ..Setup::default()
    })
    .await;
    assert_eq!(
        session.capabilities["inlineCompletionProvider"],
        json!(true)
    );
    session.fake.push(Reply::Text("a + b".to_string()));
    let uri = session.open_lib().await;
    let response = session.inline(&uri, 1, 4).await;
    expect![[r#"
        {
          "items": [
            {
              "insertText": "a + b",
              "range": {
                "start": {
                  "line": 1,
                  "character": 4
                },
                "end": {
                  "line": 1,
                  "character": 4
                }
              }
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&response["result"]).unwrap());
    let sent = session.fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/v1/completions");
    expect![[r#"
        {
          "model": "qwen2.5-coder:1.5b-base",
          "prompt": "<|fim_prefix|>pub fn add(a: i32, b: i32) -> i32 {\n    <|fim_suffix|>\n}\n<|fim_middle|>",
          "max_tokens": 128,
          "temperature": 0.2,
          "stream": false,
          "stop": [
            "<|endoftext|>",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            "<|fim_pad|>",
            "<|file_sep|>",
            "<|repo_name|>"
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&sent[0].body).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suffix_template_sends_prompt_and_suffix_fields() {
    let mut session = session(|fake| Setup {
        completion: enabled(
            fake,
            json!({ "max_tokens": 32, "provider": { "template": "suffix" } }),
        ),
        ..Setup::default()
    })
    .await;
    session.fake.push(Reply::Text("a + b".to_string()));
    let uri = session.open_lib().await;
    let response = session.inline(&uri, 1, 4).await;
    assert_eq!(
        inline_items(&response)[0]["insertText"],
        "a + b",
        "{response}"
    );
    expect![[r#"
        {
          "model": "qwen2.5-coder:1.5b-base",
          "prompt": "pub fn add(a: i32, b: i32) -> i32 {\n    ",
          "suffix": "\n}\n",
          "max_tokens": 32,
          "temperature": 0.2,
          "stream": false
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&session.fake.requests()[0].body).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_from_the_index_go_before_the_prefix_as_comments() {
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({ "provider": { "template": "codellama" } })),
        files: vec![(
            "src/num.rs",
            "/// A number.\npub struct Num(pub i32);\n\nimpl Num {\n    pub fn double(&self) -> i32 {\n        self.0 * 2\n    }\n}\n",
        )],
        ..Setup::default()
    })
    .await;
    session
        .editor
        .serve_until(|message| {
            message["method"] == "$/progress"
                && message["params"]["token"] == "agentls/index"
                && message["params"]["value"]["kind"] == "end"
        })
        .await;
    session.fake.push(Reply::Text("n.double()".to_string()));
    let path = session.path("src/lib.rs");
    let text = "use crate::num::Num;\n\npub fn twice(n: Num) -> i32 {\n    \n}\n";
    let uri = session.editor.open(&path, "rust", text).await;
    let response = session.inline(&uri, 3, 4).await;
    assert_eq!(
        inline_items(&response)[0]["insertText"],
        "n.double()",
        "{response}"
    );
    expect![[r#"
        String("<PRE> // src/num.rs\n// /// A number.\n// pub struct Num(pub i32);\nuse crate::num::Num;\n\npub fn twice(n: Num) -> i32 {\n     <SUF>\n}\n <MID>")
    "#]]
    .assert_debug_eq(&session.fake.requests()[0].body["prompt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_inline_completion_get_a_completion_item() {
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({})),
        ..Setup::default()
    })
    .await;
    assert_eq!(session.capabilities["completionProvider"], json!({}));
    session
        .fake
        .push(Reply::Text("m(a, b)\n    // done".to_string()));
    let path = session.path("src/lib.rs");
    let uri = session
        .editor
        .open(
            &path,
            "rust",
            "pub fn add(a: i32, b: i32) -> i32 {\n    su\n}\n",
        )
        .await;
    let response = session
        .editor
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 6}}),
        )
        .await;
    expect![[r#"
        {
          "isIncomplete": true,
          "items": [
            {
              "label": "sum(a, b)…",
              "kind": 1,
              "detail": "agentls",
              "documentation": "sum(a, b)\n    // done",
              "filterText": "sum(a, b)\n    // done",
              "textEdit": {
                "range": {
                  "start": {
                    "line": 1,
                    "character": 4
                  },
                  "end": {
                    "line": 1,
                    "character": 6
                  }
                },
                "newText": "sum(a, b)\n    // done"
              }
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&response["result"]).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_are_off_by_default() {
    let mut session = session(|_| Setup {
        completion: Value::Null,
        ..Setup::default()
    })
    .await;
    assert_eq!(session.capabilities.get("inlineCompletionProvider"), None);
    assert_eq!(session.capabilities.get("completionProvider"), None);
    let uri = session.open_lib().await;
    let response = session.inline(&uri, 1, 4).await;
    assert_eq!(response["result"], json!({"items": []}), "{response}");
    assert!(session.fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_drops_a_slow_completion_and_closes_the_provider_connection() {
    // The provider would take 10 s (it holds its answer until agentls hangs up).
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({ "timeout_ms": 10_000 })),
        ..Setup::default()
    })
    .await;
    session.fake.push(Reply::Stall);
    let uri = session.open_lib().await;
    let id = session.send_inline(&uri, 1, 4).await;
    session.provider_requests(1).await;
    session
        .editor
        .type_change(
            &uri,
            json!({"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}}, "text": "a"}),
        )
        .await;
    let response = session.response(id).await;
    assert_eq!(response["result"], json!({"items": []}), "{response}");
    session.hang_ups(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_request_for_the_document_drops_the_one_in_flight() {
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({ "debounce_ms": 0 })),
        ..Setup::default()
    })
    .await;
    session
        .fake
        .push(Reply::Stall)
        .push(Reply::Text("a + b".to_string()));
    let uri = session.open_lib().await;
    let first = session.send_inline(&uri, 1, 4).await;
    session.provider_requests(1).await;
    let second = session.send_inline(&uri, 1, 4).await;
    let first = session.response(first).await;
    assert_eq!(first["result"], json!({"items": []}), "{first}");
    let second = session.response(second).await;
    assert_eq!(inline_items(&second)[0]["insertText"], "a + b", "{second}");
    session.hang_ups(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_drops_the_provider_call() {
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({})),
        ..Setup::default()
    })
    .await;
    session.fake.push(Reply::Stall);
    let uri = session.open_lib().await;
    let id = session.send_inline(&uri, 1, 4).await;
    session.provider_requests(1).await;
    session
        .editor
        .client
        .notify("$/cancelRequest", json!({ "id": id }))
        .await;
    let response = session.response(id).await;
    assert_eq!(response["error"]["code"], -32800, "{response}");
    session.hang_ups(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_spot_asked_twice_makes_one_provider_request() {
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({})),
        ..Setup::default()
    })
    .await;
    session.fake.push(Reply::Text("a + b".to_string()));
    let uri = session.open_lib().await;
    let first = session.inline(&uri, 1, 4).await;
    let second = session.inline(&uri, 1, 4).await;
    assert_eq!(first["result"], second["result"]);
    assert_eq!(inline_items(&second)[0]["insertText"], "a + b", "{second}");
    assert_eq!(session.fake.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_gives_no_completion_and_no_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut session = session(|fake| Setup {
        completion: enabled(
            fake,
            json!({ "provider": { "base_url": format!("http://127.0.0.1:{port}/v1") } }),
        ),
        ..Setup::default()
    })
    .await;
    let uri = session.open_lib().await;
    let response = session.inline(&uri, 1, 4).await;
    assert_eq!(response["result"], json!({"items": []}), "{response}");
    let response = session
        .editor
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4}}),
        )
        .await;
    assert_eq!(
        response["result"],
        json!({"isIncomplete": true, "items": []}),
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_error_gives_no_completion() {
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({})),
        ..Setup::default()
    })
    .await;
    session
        .fake
        .push(Reply::Status(500, "model crashed".to_string()));
    let uri = session.open_lib().await;
    let response = session.inline(&uri, 1, 4).await;
    assert_eq!(response["result"], json!({"items": []}), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_mb_answer_is_dropped_and_the_next_one_shows() {
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({})),
        ..Setup::default()
    })
    .await;
    session
        .fake
        .push(Reply::Huge(1 << 20))
        .push(Reply::Text("a + b".to_string()));
    let uri = session.open_lib().await;
    let response = session.inline(&uri, 1, 4).await;
    assert_eq!(response["result"], json!({"items": []}), "{response}");
    // Not cached: the same spot asks again.
    let response = session.inline(&uri, 1, 4).await;
    assert_eq!(
        inline_items(&response)[0]["insertText"],
        "a + b",
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_completion_never_delays_a_didchange() {
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({ "debounce_ms": 0, "timeout_ms": 10_000 })),
        ..Setup::default()
    })
    .await;
    session.fake.push(Reply::Stall);
    let uri = session.open_lib().await;
    let other_path = session.path("src/other.rs");
    let other = session
        .editor
        .open(&other_path, "rust", "fn other() {}\n")
        .await;
    let id = session.send_inline(&uri, 1, 4).await;
    session.provider_requests(1).await;
    session
        .editor
        .type_change(
            &other,
            json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "// "}),
        )
        .await;
    let state = session
        .editor
        .request("agent/documentState", json!({ "uri": other }))
        .await;
    assert_eq!(state["result"]["version"], 2, "{state}");
    // The completion on the other document is still held, not dropped.
    assert_eq!(session.fake.hang_ups(), 0);
    session
        .editor
        .client
        .notify("$/cancelRequest", json!({ "id": id }))
        .await;
    session.response(id).await;
    session.hang_ups(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_model_completes_when_kind_is_chat() {
    let chat = FakeProvider::start(Format::OpenAiChat).await;
    chat.push(Script::text("```rust\na + b\n```"));
    let mut session = session(|fake| Setup {
        completion: enabled(fake, json!({ "provider": { "kind": "chat" } })),
        provider: json!({
            "kind": "openai-chat",
            "base_url": chat.base_url(),
            "model": "chat-model",
            "api_key_env": FAKE_API_KEY_ENV,
        }),
        ..Setup::default()
    })
    .await;
    let uri = session.open_lib().await;
    let response = session.inline(&uri, 1, 4).await;
    assert_eq!(
        inline_items(&response)[0]["insertText"],
        "a + b",
        "{response}"
    );
    let sent = chat.requests();
    assert_eq!(sent.len(), 1);
    assert!(session.fake.requests().is_empty());
    expect![[r#"
        [
            String("You complete code in an editor. The user's message is a source file with the mark <CURSOR> where the cursor is. Answer with exactly the text to insert at <CURSOR>: no explanation, no Markdown fence, nothing repeated from before or after the mark. Answer with nothing when nothing fits."),
            String("pub fn add(a: i32, b: i32) -> i32 {\n    <CURSOR>\n}\n"),
        ]
    "#]]
    .assert_debug_eq(
        &sent[0].body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|message| message["content"].clone())
            .collect::<Vec<_>>(),
    );
}
