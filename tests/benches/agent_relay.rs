//! The editor's view of a running turn (issue 4), with the fake provider on
//! 127.0.0.1, through the in-process client with real framing, and then again
//! over the stdio of the release binary as editors run it (issue 13), when one
//! is built (`cargo build --release -p agentls`, or `AGENTLS_BIN`):
//! - `codeAction` on a 20,000-line file while a turn streams, next to the same
//!   request on the idle server measured in the same run, each next to an
//!   unknown-method round trip (the transport floor) in the same state;
//! - how long a streamed delta takes from the provider's socket to the client as
//!   `agent/itemDelta`: the fake releases one SSE event, the clock runs until
//!   the notification is read.

use std::time::{Duration, Instant};

use agentls_tests::client::{agentls_binary_if_built, file_uri, TestClient, TestEnv};
use agentls_tests::fake_provider::{
    Answer, FakeProvider, Format, Gate, Script, FAKE_API_KEY, FAKE_API_KEY_ENV,
};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;

const HELPER: &str = env!("CARGO_BIN_EXE_sandbox-helper");

fn rust_file(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 40);
    for index in 0..lines / 4 {
        text.push_str(&format!(
            "fn function_{index}(x: u32) -> u32 {{\n    let y = x + {index};\n    y * 2\n}}\n"
        ));
    }
    text
}

#[allow(clippy::print_stderr)] // a benchmark says what it could not measure
fn bench(c: &mut Criterion) {
    scenario(c, "agent_in_the_editor", false);
    if agentls_binary_if_built().is_some() {
        scenario(c, "agent_in_the_editor_over_stdio", true);
    } else {
        eprintln!(
            "no release binary next to the bench (cargo build --release -p agentls): \
             the stdio rows are not measured"
        );
    }
}

/// The whole scenario in one session: in this process, or the binary over stdio.
fn scenario(c: &mut Criterion, group: &str, over_stdio: bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let workspace = tempfile::tempdir().expect("temp dir");
    let root = workspace.path().canonicalize().expect("root");
    let path = root.join("big.rs");
    let text = rust_file(20_000);
    std::fs::write(&path, &text).expect("write the file");
    let uri = file_uri(&path);
    let gate = Gate::new();

    let (mut client, fake) = runtime.block_on(async {
        let fake = FakeProvider::start(Format::OpenAiResponses).await;
        // Enough streamed text for every measured delta: 8 bytes per event.
        fake.push(Script::Gated {
            answer: Answer {
                text: Some("streaming".repeat(600_000)),
                ..Answer::default()
            },
            gate: gate.clone(),
        });
        let env = TestEnv::new()
            .var("XDG_DATA_HOME", workspace.path().join("data").display().to_string())
            .var("HOME", workspace.path().display().to_string())
            .var(FAKE_API_KEY_ENV, FAKE_API_KEY)
            .var("AGENTLS_SANDBOX_HELPER", HELPER);
        let mut client = if over_stdio {
            TestClient::spawn_binary(env, &[])
        } else {
            TestClient::in_process_with_env(env)
        };
        client
            .initialize_with(json!({
                "processId": null,
                "rootUri": file_uri(&root),
                "capabilities": {"experimental": {"agentls": true}},
                "initializationOptions": {"provider": {
                    "kind": "openai-responses", "base_url": fake.base_url(),
                    "model": "bench", "api_key_env": FAKE_API_KEY_ENV,
                }},
            }))
            .await;
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
            )
            .await;
        (client, fake)
    });
    let code_action = json!({
        "textDocument": {"uri": uri},
        "range": {"start": {"line": 10_000, "character": 4}, "end": {"line": 10_000, "character": 4}},
        "context": {"diagnostics": []}
    });

    let mut group = c.benchmark_group(group);
    group.bench_function("codeAction 20k lines, idle server (baseline)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = client
                    .request("textDocument/codeAction", code_action.clone())
                    .await;
                assert!(response["result"].is_array(), "{response}");
            })
        })
    });

    group.bench_function("unknown method, idle server (the floor)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = client.request("agent/noSuchMethod", json!({})).await;
                assert_eq!(response["error"]["code"], -32601, "{response}");
            })
        })
    });

    // Start the turn and let it stream up to its first text delta.
    runtime.block_on(async {
        let started = client
            .request("agent/turnStart", json!({"text": "stream", "uri": uri}))
            .await;
        assert!(started["result"]["threadId"].is_string(), "{started}");
        fake.wait_for_requests(1).await;
        loop {
            gate.open(1);
            let delta = tokio::time::timeout(
                Duration::from_millis(200),
                client.recv_method("agent/itemDelta"),
            )
            .await;
            if delta.is_ok() {
                break;
            }
        }
        client.drain_pending();
    });

    group.bench_function("streamed delta: provider socket to client", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let start = Instant::now();
                    gate.open(1);
                    let delta = client.recv_method("agent/itemDelta").await;
                    total += start.elapsed();
                    debug_assert_eq!(
                        delta["params"]["delta"]["text"].as_str().map(str::len),
                        Some(8)
                    );
                }
                client.drain_pending();
                total
            })
        })
    });

    // Now stream steadily, 5,000 events a second (a fast model sends ~100
    // tokens a second), and ask for code actions meanwhile.
    let drip = {
        let gate = gate.clone();
        runtime.spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_micros(200));
            loop {
                ticker.tick().await;
                gate.open(1);
            }
        })
    };
    group.bench_function("codeAction 20k lines while a turn streams", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = client
                    .request("textDocument/codeAction", code_action.clone())
                    .await;
                assert!(response["result"].is_array(), "{response}");
                client.drain_pending();
            })
        })
    });
    group.bench_function("unknown method while a turn streams (the floor)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = client.request("agent/noSuchMethod", json!({})).await;
                assert_eq!(response["error"]["code"], -32601, "{response}");
                client.drain_pending();
            })
        })
    });
    group.finish();
    drip.abort();
}

criterion_group!(benches, bench);
criterion_main!(benches);
