//! Malformed input of every kind the issue names. Each gets the error code the
//! JSON-RPC and LSP specs give, and the server keeps serving the next message: the
//! final request of each test must still be answered.

use agentls_tests::client::{TestClient, TestEnv};
use expect_test::expect;
use serde_json::{json, Value};

async fn answered_after(client: &mut TestClient) {
    let response = client.request("agent/noSuchMethod", json!({})).await;
    assert_eq!(
        response["error"]["code"], -32601,
        "server stopped answering: {response}"
    );
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body);
    framed
}

/// Sends every kind of bad input in one session, against `client`, and checks
/// what comes back for each.
async fn every_kind_of_bad_input(mut client: TestClient) {
    client.initialize(json!({}), None).await;
    let mut seen = Vec::new();

    // A Content-Length that is not a number.
    client
        .send_raw(b"Content-Length: twelve\r\n\r\n{\"x\":1}")
        .await;
    seen.push(client.recv().await);
    answered_after(&mut client).await;

    // A frame with no Content-Length at all.
    client
        .send_raw(b"Content-Type: application/vscode-jsonrpc\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"shutdown\"}")
        .await;
    seen.push(client.recv().await);
    answered_after(&mut client).await;

    // An absurd Content-Length: refused without trying to buffer it.
    client
        .send_raw(b"Content-Length: 99999999999999999\r\n\r\n{\"jsonrpc\":\"2.0\"}")
        .await;
    seen.push(client.recv().await);
    answered_after(&mut client).await;

    // Not JSON.
    client.send_raw(&frame(b"{this is not json")).await;
    seen.push(client.recv().await);
    answered_after(&mut client).await;

    // Invalid UTF-8 inside a body.
    client
        .send_raw(&frame(
            b"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"\xff\xfe\"}",
        ))
        .await;
    seen.push(client.recv().await);
    answered_after(&mut client).await;

    // Deeply nested JSON.
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    client.send_raw(&frame(nested.as_bytes())).await;
    seen.push(client.recv().await);
    answered_after(&mut client).await;

    // JSON that is not a JSON-RPC message: no method, a batch, a wrong version,
    // a method that is not a string.
    for body in [
        json!({"jsonrpc": "2.0", "id": 7}),
        json!([1, 2]),
        json!({"jsonrpc": "1.0", "id": 8, "method": "shutdown"}),
        json!({"jsonrpc": "2.0", "id": 9, "method": 42}),
    ] {
        client.send(&body).await;
        seen.push(client.recv().await);
    }
    answered_after(&mut client).await;

    // Wrong parameter types for a known method.
    let wrong = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": 5}}),
        )
        .await;
    assert_eq!(wrong["error"]["code"], -32602, "{wrong}");
    let errors: Vec<(Value, String)> = seen
        .iter()
        .map(|message| {
            (
                message["id"].clone(),
                format!(
                    "{} {}",
                    message["error"]["code"],
                    message["error"]["message"].as_str().unwrap_or_default()
                ),
            )
        })
        .collect();
    expect![[r#"
        [
            (
                Null,
                "-32700 invalid Content-Length header: \"twelve\"",
            ),
            (
                Null,
                "-32700 missing Content-Length header",
            ),
            (
                Null,
                "-32700 Content-Length 99999999999999999 is larger than the limit of 268435456 bytes",
            ),
            (
                Null,
                "-32700 parse error: key must be a string at line 1 column 2",
            ),
            (
                Null,
                "-32700 parse error: invalid unicode code point at line 1 column 41",
            ),
            (
                Null,
                "-32700 parse error: recursion limit exceeded at line 1 column 128",
            ),
            (
                Number(7),
                "-32600 invalid request: a message needs \"method\" (request) or \"result\"/\"error\" (response)",
            ),
            (
                Null,
                "-32600 invalid request: batches are not supported by LSP",
            ),
            (
                Number(8),
                "-32600 invalid request: \"jsonrpc\" must be \"2.0\"",
            ),
            (
                Number(9),
                "-32600 invalid request: \"method\" must be a string",
            ),
        ]
    "#]]
    .assert_debug_eq(&errors);

    // A 20 MB document opens, takes an edit, and is reported back whole.
    let line = "x".repeat(99) + "\n";
    let text = line.repeat(200_000);
    assert_eq!(text.len(), 20_000_000);
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": "file:///big.txt", "languageId": "plaintext", "version": 1, "text": text}}),
        )
        .await;
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": "file:///big.txt", "version": 2}, "contentChanges": [
                {"range": {"start": {"line": 199_999, "character": 0}, "end": {"line": 199_999, "character": 99}}, "text": "end"}
            ]}),
        )
        .await;
    let state = client
        .request("agent/documentState", json!({"uri": "file:///big.txt"}))
        .await;
    assert_eq!(
        state["result"]["version"],
        2,
        "{}",
        &state.to_string()[..200.min(state.to_string().len())]
    );
    let served = state["result"]["text"].as_str().unwrap();
    assert_eq!(served.len(), 20_000_000 - 96);
    assert!(served.ends_with("xxx\nend\n"));

    // stdin closing without `exit` ends the session with exit code 1.
    assert_eq!(client.close_input().await, 1);
}

#[tokio::test]
async fn every_kind_of_bad_input_in_process() {
    every_kind_of_bad_input(TestClient::in_process()).await;
}

#[tokio::test]
async fn every_kind_of_bad_input_against_the_binary() {
    every_kind_of_bad_input(TestClient::spawn_binary(
        TestEnv::new().provider_configured(),
        &[],
    ))
    .await;
}

#[tokio::test]
async fn document_faults_are_reported_not_fatal() {
    let mut client = TestClient::in_process();
    client.initialize(json!({}), None).await;
    // A change to a document that was never opened.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": "file:///nowhere.rs", "version": 2}, "contentChanges": [{"text": "x"}]}),
        )
        .await;
    let shown = client.recv_method("window/showMessage").await;
    assert_eq!(shown["params"]["type"], 2, "{shown}");
    assert!(
        shown["params"]["message"]
            .as_str()
            .unwrap()
            .contains("file:///nowhere.rs"),
        "{shown}"
    );

    // A version that goes backwards is applied (the editor's text is the truth)
    // and reported.
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": "file:///a.rs", "languageId": "rust", "version": 5, "text": "fn a() {}\n"}}),
        )
        .await;
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": "file:///a.rs", "version": 3}, "contentChanges": [{"text": "fn b() {}\n"}]}),
        )
        .await;
    let shown = client.recv_method("window/showMessage").await;
    assert!(
        shown["params"]["message"]
            .as_str()
            .unwrap()
            .contains("file:///a.rs"),
        "{shown}"
    );
    let state = client
        .request("agent/documentState", json!({"uri": "file:///a.rs"}))
        .await;
    assert_eq!(state["result"]["text"], "fn b() {}\n");

    // Requests about an unknown document or a range past the end say so.
    let unknown = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": "file:///nowhere.rs"}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}),
        )
        .await;
    expect![[r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"unknown document file:///nowhere.rs"},"id":3}"#]]
        .assert_eq(&unknown.to_string().replace(r#""id":2"#, r#""id":1"#));
    let past_end = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": "file:///a.rs"}, "range": {"start": {"line": 40, "character": 0}, "end": {"line": 41, "character": 0}}, "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(past_end["error"]["code"], -32602, "{past_end}");
    assert!(
        past_end["error"]["message"]
            .as_str()
            .unwrap()
            .contains("40:0"),
        "{past_end}"
    );
}

/// Issue 13's bad input: a 100 MB source document, then 10,000 open documents
/// with a tree budget of 0. The server answers throughout (the big document
/// without a tree, as its log says), and a task's context is still picked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_document_and_10000_open_documents_with_no_tree_budget() {
    let mut client = TestClient::in_process();
    let init = client
        .initialize_with(json!({
            "processId": null,
            "rootUri": null,
            "capabilities": {},
            "initializationOptions": { "documents": { "tree_budget_mib": 0 } },
        }))
        .await;
    assert!(init.get("result").is_some(), "{init}");

    let function = "pub fn step(state: &mut u64) -> u64 {\n    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1);\n    *state >> 33\n}\n\n";
    let big: String = function.repeat((100 << 20) / function.len() + 1);
    let big_lines = big.lines().count() as u32;
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": "file:///big.rs", "languageId": "rust", "version": 1, "text": big}}),
        )
        .await;
    let range = |line: u32| json!({"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}});
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": "file:///big.rs"}, "range": range(big_lines - 2), "context": {"diagnostics": []}}),
        )
        .await;
    assert!(
        actions["result"].as_array().is_some_and(|actions| actions
            .iter()
            .any(|action| action["title"] == "Agent: Explain this")),
        "{}",
        &actions.to_string()[..actions.to_string().len().min(2000)]
    );
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": "file:///big.rs", "version": 2}, "contentChanges": [
                {"range": range(big_lines - 3), "text": "// typed\n"}]}),
        )
        .await;

    for index in 0..10_000 {
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": format!("file:///many/m{index}.rs"), "languageId": "rust", "version": 1,
                       "text": format!("pub fn f{index}(x: u32) -> u32 {{\n    x + {index}\n}}\n")}}),
            )
            .await;
    }
    for index in [0, 4_999, 9_999] {
        let uri = format!("file:///many/m{index}.rs");
        let actions = client
            .request(
                "textDocument/codeAction",
                json!({"textDocument": {"uri": uri}, "range": range(1), "context": {"diagnostics": []}}),
            )
            .await;
        assert!(actions["result"].is_array(), "{actions}");
        let state = client
            .request("agent/documentState", json!({ "uri": uri }))
            .await;
        assert_eq!(state["result"]["version"], 1, "{state}");
        // The context of a task here is picked from a tree parsed on request
        // (none is kept with a budget of 0, but the one in use).
        let context = client
            .request("agent/context", json!({ "uri": uri, "range": range(1) }))
            .await;
        assert!(
            context["result"].to_string().contains(&format!("f{index}")),
            "{context}"
        );
    }
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": "file:///big.rs"}, "range": range(big_lines - 3), "context": {"diagnostics": []}}),
        )
        .await;
    assert!(actions["result"].is_array());
    assert_eq!(client.shutdown_and_exit().await, 0);
}
