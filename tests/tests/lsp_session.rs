//! The life of a session as an editor sees it: initialize (encoding negotiation,
//! capabilities), the lifecycle errors the spec names, configuration problems, and
//! the exit codes. Each runs in-process; a few also against the binary.

use agentls_tests::client::{file_uri, TestClient, TestEnv};
use expect_test::expect;
use serde_json::{json, Value};

fn utf8_capable() -> Value {
    json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}})
}

#[tokio::test]
async fn initialize_answers_capabilities_and_picks_utf8_when_offered() {
    let mut client = TestClient::in_process();
    let response = client.initialize(utf8_capable(), None).await;
    let mut result = response["result"].clone();
    result["serverInfo"]["version"] = json!("<version>");
    expect![[r#"
        {
          "capabilities": {
            "positionEncoding": "utf-8",
            "textDocumentSync": {
              "openClose": true,
              "change": 2,
              "save": {
                "includeText": false
              }
            },
            "codeActionProvider": {
              "codeActionKinds": [
                "quickfix",
                "refactor.rewrite"
              ],
              "resolveProvider": false
            },
            "executeCommandProvider": {
              "commands": [
                "agentls.fix",
                "agentls.explain",
                "agentls.implement",
                "agentls.writeTests",
                "agentls.doComment",
                "agentls.undo",
                "agentls.stop",
                "agentls.approve",
                "agentls.approveForThread",
                "agentls.deny",
                "agentls.showContext",
                "agentls.showLastAnswer",
                "agentls.userTask",
                "agentls.reviewPending",
                "agentls.applyPending",
                "agentls.discardPending"
              ]
            },
            "experimental": {
              "agentls": {
                "version": 1
              }
            }
          },
          "serverInfo": {
            "name": "agentls",
            "version": "<version>"
          }
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&result).unwrap());
    assert_eq!(client.shutdown_and_exit().await, 0);
}

#[tokio::test]
async fn utf16_is_chosen_when_the_client_offers_nothing_else() {
    for offered in [
        json!({}),
        json!({"general": {"positionEncodings": ["utf-16"]}}),
        json!({"general": {"positionEncodings": ["utf-32", "utf-16"]}}),
    ] {
        let mut client = TestClient::in_process();
        let response = client.initialize(offered.clone(), None).await;
        assert_eq!(
            response["result"]["capabilities"]["positionEncoding"], "utf-16",
            "offered {offered}"
        );
    }
}

#[tokio::test]
async fn requests_before_initialize_are_refused_with_server_not_initialized() {
    let mut client = TestClient::in_process();
    let response = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": "file:///a.rs"}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}),
        )
        .await;
    expect![[
        r#"{"jsonrpc":"2.0","error":{"code":-32002,"message":"Server not initialized"},"id":1}"#
    ]]
    .assert_eq(&response.to_string());
    // The session still works afterwards.
    let response = client.initialize(json!({}), None).await;
    assert!(response["result"]["capabilities"].is_object());
}

#[tokio::test]
async fn requests_after_shutdown_are_invalid_and_exit_then_ends_with_zero() {
    let mut client = TestClient::in_process();
    client.initialize(json!({}), None).await;
    let shutdown = client.request("shutdown", Value::Null).await;
    assert_eq!(shutdown["result"], Value::Null);
    let after = client.request("textDocument/codeAction", json!({})).await;
    assert_eq!(after["error"]["code"], -32600, "{after}");
    client.notify("exit", Value::Null).await;
    assert_eq!(client.close_input().await, 0);
}

#[tokio::test]
async fn exit_without_shutdown_ends_with_one() {
    let mut client = TestClient::in_process();
    client.initialize(json!({}), None).await;
    client.notify("exit", Value::Null).await;
    assert_eq!(client.close_input().await, 1);
}

#[tokio::test]
async fn unknown_methods_and_wrong_param_types_get_their_codes() {
    let mut client = TestClient::in_process();
    client.initialize(json!({}), None).await;
    let unknown = client.request("agent/noSuchThing", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let wrong = client
        .request("textDocument/codeAction", json!({"textDocument": 5}))
        .await;
    assert_eq!(wrong["error"]["code"], -32602, "{wrong}");
    // Unknown notifications are ignored without an answer; the next request works.
    client.notify("$/unknownNotification", json!({})).await;
    let again = client.request("agent/noSuchThing", json!({})).await;
    assert_eq!(again["id"], 4);
}

#[tokio::test]
async fn invalid_configuration_is_shown_by_key_and_defaults_are_kept() {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join(".agentls.toml"),
        "[approvals]\npolicy = \"sometimes\"\n[sandbox]\npolicy = \"read-only\"\n",
    )
    .unwrap();
    let config_home = tempfile::tempdir().unwrap();
    let mut client = TestClient::in_process_with_env(
        TestEnv::new()
            .provider_configured()
            .var("XDG_CONFIG_HOME", config_home.path().to_str().unwrap()),
    );
    client
        .initialize_with(json!({
            "processId": null,
            "rootUri": file_uri(workspace.path()),
            "capabilities": {},
            "initializationOptions": {"agentls": {"context": {"budget_tokens": "lots"}}}
        }))
        .await;
    let first = client.recv_method("window/showMessage").await;
    let second = client.recv_method("window/showMessage").await;
    let shown = [first, second].map(|message| {
        message["params"]["message"]
            .as_str()
            .unwrap()
            .replace(workspace.path().to_str().unwrap(), "<root>")
    });
    expect![[r#"
        [
            "agentls: invalid configuration: <root>/.agentls.toml: `approvals.policy`: unknown variant `sometimes`, expected one of `untrusted`, `on-request`, `never` (using the default instead)",
            "agentls: invalid configuration: initializationOptions: `context.budget_tokens`: invalid type: string \"lots\", expected u32 (using the default instead)",
        ]
    "#]]
    .assert_debug_eq(&shown);

    // didChangeConfiguration is checked the same way.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"agentls": {"approvals": {"timeout_secs": -1}}}}),
        )
        .await;
    let third = client.recv_method("window/showMessage").await;
    assert!(
        third["params"]["message"]
            .as_str()
            .unwrap()
            .contains("editor settings: `approvals.timeout_secs`"),
        "{third}"
    );
}

#[tokio::test]
async fn the_binary_serves_a_session_over_stdio_and_exits_zero() {
    let mut client = TestClient::spawn_binary(TestEnv::new().provider_configured(), &["--stdio"]);
    let response = client.initialize(utf8_capable(), None).await;
    assert_eq!(response["result"]["serverInfo"]["name"], "agentls");
    assert_eq!(client.shutdown_and_exit().await, 0);
}

#[tokio::test]
async fn the_binary_exits_one_when_stdin_closes_without_exit() {
    let mut client = TestClient::spawn_binary(TestEnv::new().provider_configured(), &[]);
    client.initialize(json!({}), None).await;
    assert_eq!(client.close_input().await, 1);
}

/// Editors keep the server's stdin open after `exit` (the issue 13 report: some
/// processes lingered until stdin closed). `shutdown_and_exit` keeps the client's
/// end of stdin open while it waits for the process to end, here with a Rust
/// document open whose tree and index entry are being built in the background.
#[tokio::test]
async fn the_binary_exits_after_exit_while_stdin_stays_open_and_work_is_pending() {
    let mut client = TestClient::spawn_binary(TestEnv::new(), &[]);
    client.initialize(json!({}), None).await;
    let text = "fn item() { let value = 1; }\n".repeat(20_000);
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": "file:///w/big.rs", "languageId": "rust", "version": 1, "text": text}}),
        )
        .await;
    assert_eq!(client.shutdown_and_exit().await, 0);
}

/// The server runs without glibc's per-thread malloc caches, whose blocks
/// pin freed pages: it executes itself again, as the same process, with
/// `glibc.malloc.tcache_count=0` added to `GLIBC_TUNABLES` (the environment
/// the process was started with shows it), unless the user's own
/// `GLIBC_TUNABLES` sets that count, which is then left alone.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test]
async fn the_binary_runs_without_malloc_thread_caches_unless_the_user_set_them() {
    for (given, started_with, executed_again) in [
        (None, "glibc.malloc.tcache_count=0", true),
        (
            Some("glibc.malloc.tcache_count=3"),
            "glibc.malloc.tcache_count=3",
            false,
        ),
    ] {
        let mut env = TestEnv::new();
        if let Some(given) = given {
            env.vars
                .insert("GLIBC_TUNABLES".to_string(), given.to_string());
        }
        let mut client = TestClient::spawn_binary(env, &[]);
        client.initialize(json!({}), None).await;
        let pid = client.pid().expect("the server's process");
        let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("its environment");
        let vars: Vec<String> = environ
            .split(|byte| *byte == 0)
            .map(|var| String::from_utf8_lossy(var).into_owned())
            .collect();
        assert!(
            vars.contains(&format!("GLIBC_TUNABLES={started_with}")),
            "{given:?}: {vars:?}"
        );
        assert_eq!(
            vars.iter()
                .any(|var| var.starts_with("AGENTLS_GLIBC_TUNABLES_BEFORE=")),
            executed_again,
            "{given:?}: {vars:?}"
        );
        assert_eq!(client.shutdown_and_exit().await, 0);
    }
}

/// Waits until the server holds `uri`'s text packed (the index read it a
/// debounce after didOpen), asking in the way that does not use it.
async fn wait_until_packed(client: &mut TestClient, uri: &str) -> Value {
    for _ in 0..400 {
        let state = client
            .request("agent/documentState", json!({ "uri": uri }))
            .await;
        if state["result"]["textPacked"] == true {
            return state;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{uri} was never packed");
}

#[tokio::test]
async fn documents_only_opened_are_packed_and_requests_and_edits_see_their_text() {
    let mut client = TestClient::in_process();
    client.initialize(json!({}), None).await;
    let text: String = (0..300)
        .map(|n| format!("pub fn item_{n}(value: u32) -> u32 {{\n    value + {n} // é🦀\n}}\n"))
        .collect();
    let read = "file:///w/read.rs";
    let edited = "file:///w/edited.rs";
    for uri in [read, edited] {
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
            )
            .await;
    }
    let state = wait_until_packed(&mut client, read).await;
    assert_eq!(state["result"]["text"].as_str(), Some(text.as_str()));
    assert_eq!(state["result"]["hasSyntaxTree"], true);
    assert_eq!(state["result"]["lineCount"], 901);
    // A request reads the packed document: it answers from the same text
    // (an action at the `todo!()`-free line 1) and the document is in use.
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": read}, "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 9}}, "context": {"diagnostics": []}}),
        )
        .await;
    assert!(
        actions["result"]
            .as_array()
            .is_some_and(|actions| !actions.is_empty()),
        "{actions}"
    );
    let state = client
        .request("agent/documentState", json!({ "uri": read }))
        .await;
    assert_eq!(state["result"]["textPacked"], false);
    assert_eq!(state["result"]["text"].as_str(), Some(text.as_str()));
    // An edit to a packed document applies to its text.
    wait_until_packed(&mut client, edited).await;
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": edited, "version": 2}, "contentChanges": [
                {"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 9}}, "text": "input"}
            ]}),
        )
        .await;
    let state = client
        .request("agent/documentState", json!({ "uri": edited }))
        .await;
    assert_eq!(state["result"]["version"], 2);
    assert_eq!(state["result"]["textPacked"], false);
    assert_eq!(
        state["result"]["text"].as_str(),
        Some(text.replacen("    value + 0", "    input + 0", 1).as_str())
    );
    // Edited, it is in use and stays unpacked once the index has read it
    // again.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let state = client
        .request("agent/documentState", json!({ "uri": edited }))
        .await;
    assert_eq!(state["result"]["textPacked"], false);
}

/// `initialize` with `initializationOptions` setting `[documents]`.
async fn initialize_with_documents(client: &mut TestClient, documents: Value) {
    client
        .initialize_with(json!({
            "processId": null,
            "rootUri": null,
            "capabilities": {},
            "initializationOptions": {"documents": documents}
        }))
        .await;
}

/// 300 short Rust functions: long enough to pack.
fn items_source() -> String {
    (0..300)
        .map(|n| format!("pub fn item_{n}(value: u32) -> u32 {{\n    value + {n}\n}}\n"))
        .collect()
}

async fn open_rust(client: &mut TestClient, uri: &str, text: &str) {
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        )
        .await;
}

/// didChange replacing characters `start..end` of the first line with `text`.
async fn edit_first_line(
    client: &mut TestClient,
    uri: &str,
    version: i32,
    (start, end): (u32, u32),
    text: &str,
) {
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [
                {"range": {"start": {"line": 0, "character": start}, "end": {"line": 0, "character": end}}, "text": text}
            ]}),
        )
        .await;
}

/// `agent/documentState` says `uri` is held unpacked, with `text`.
async fn assert_unpacked(client: &mut TestClient, uri: &str, text: &str) {
    let state = client
        .request("agent/documentState", json!({ "uri": uri }))
        .await;
    assert_eq!(state["result"]["textPacked"], false, "{uri}");
    assert_eq!(state["result"]["text"].as_str(), Some(text), "{uri}");
}

#[tokio::test]
async fn texts_beyond_the_text_budget_are_packed_soon_after_the_next_one_is_edited() {
    let mut client = TestClient::in_process();
    // Never packed for being idle: only the budget packs, and it keeps
    // nothing beyond the text used last.
    initialize_with_documents(
        &mut client,
        json!({"pack_idle_secs": 0, "text_budget_mib": 0}),
    )
    .await;
    let text = items_source();
    let first = "file:///w/first.rs";
    let second = "file:///w/second.rs";
    for uri in [first, second] {
        open_rust(&mut client, uri, &text).await;
    }
    for uri in [first, second] {
        edit_first_line(&mut client, uri, 2, (0, 0), "// edited\n").await;
    }
    // The first, no longer the one used last, is packed with its edit.
    let state = wait_until_packed(&mut client, first).await;
    let edited = format!("// edited\n{text}");
    assert_eq!(state["result"]["text"].as_str(), Some(edited.as_str()));
    assert_eq!(state["result"]["version"], 2);
    assert_unpacked(&mut client, second, &edited).await;
    // Editing the first again swaps them.
    edit_first_line(&mut client, first, 3, (3, 9), "again").await;
    wait_until_packed(&mut client, second).await;
    assert_unpacked(&mut client, first, &format!("// again\n{text}")).await;
}

#[tokio::test]
async fn the_text_budget_set_from_the_editors_settings_applies_at_once() {
    let mut client = TestClient::in_process();
    initialize_with_documents(&mut client, json!({"pack_idle_secs": 0})).await;
    let text = items_source();
    let first = "file:///w/first.rs";
    let second = "file:///w/second.rs";
    for uri in [first, second] {
        open_rust(&mut client, uri, &text).await;
        edit_first_line(&mut client, uri, 2, (0, 0), "// edited\n").await;
    }
    // Both within the default budget: nothing packs them.
    let edited = format!("// edited\n{text}");
    assert_unpacked(&mut client, first, &edited).await;
    // The user lowers the budget to nothing: the one not used last goes.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"agentls": {"documents": {"text_budget_mib": 0}}}}),
        )
        .await;
    let state = wait_until_packed(&mut client, first).await;
    assert_eq!(state["result"]["text"].as_str(), Some(edited.as_str()));
    assert_unpacked(&mut client, second, &edited).await;
}

#[tokio::test]
async fn documents_left_unused_are_packed_again_and_edits_still_apply() {
    let mut client = TestClient::in_process();
    initialize_with_documents(&mut client, json!({"pack_idle_secs": 1})).await;
    let text = items_source();
    let uri = "file:///w/left.rs";
    open_rust(&mut client, uri, &text).await;
    edit_first_line(&mut client, uri, 2, (0, 0), "// edited\n").await;
    // Edited, then left for the configured second: packed by the next sweep.
    let state = wait_until_packed(&mut client, uri).await;
    let edited = format!("// edited\n{text}");
    assert_eq!(state["result"]["text"].as_str(), Some(edited.as_str()));
    assert_eq!(state["result"]["version"], 2);
    edit_first_line(&mut client, uri, 3, (3, 9), "again").await;
    assert_unpacked(&mut client, uri, &format!("// again\n{text}")).await;
}
