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

use agentls_tests::client::{agentls_binary_if_built, TestClient};
use agentls_tests::streaming_scene::StreamingScene;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;

const HELPER: &str = env!("CARGO_BIN_EXE_sandbox-helper");

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
    let (mut client, scene) = runtime.block_on(async {
        let scene = StreamingScene::start().await;
        let env = scene.env(HELPER);
        let mut client = if over_stdio {
            TestClient::spawn_binary(env, &[])
        } else {
            TestClient::in_process_with_env(env)
        };
        client.initialize_with(scene.initialize_params()).await;
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": scene.uri, "languageId": "rust", "version": 1, "text": scene.text}}),
            )
            .await;
        (client, scene)
    });
    let code_action = scene.code_action();
    let (uri, gate, fake) = (&scene.uri, &scene.gate, &scene.fake);

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
        let _runtime = runtime.enter();
        scene.drip()
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
