//! `textDocument/codeAction` round trip through the in-process client (real
//! framing over a duplex pipe) on a 20,000-line Rust file, next to a baseline
//! request that does no document work (`agent/noSuchMethod`, answered by the
//! router), so the handler's own share is visible, and the same code action on
//! a 40-line file, so what grows with the file would show.

use agentls_tests::client::TestClient;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;

fn rust_file(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 40);
    for index in 0..lines / 4 {
        text.push_str(&format!(
            "fn function_{index}(x: u32) -> u32 {{\n    let y = x + {index};\n    y * 2\n}}\n"
        ));
    }
    text
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut client = runtime.block_on(async {
        let mut client = TestClient::in_process();
        client.initialize(json!({}), None).await;
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": "file:///bench/big.rs", "languageId": "rust", "version": 1, "text": rust_file(20_000)}}),
            )
            .await;
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": "file:///bench/small.rs", "languageId": "rust", "version": 1, "text": rust_file(40)}}),
            )
            .await;
        client
    });
    let params = json!({
        "textDocument": {"uri": "file:///bench/big.rs"},
        "range": {"start": {"line": 10_000, "character": 4}, "end": {"line": 10_000, "character": 4}},
        "context": {"diagnostics": []}
    });
    let mut group = c.benchmark_group("code_action_20k_lines");
    group.bench_function("codeAction round trip", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = client
                    .request("textDocument/codeAction", params.clone())
                    .await;
                assert!(response["result"].is_array(), "{response}");
            })
        })
    });
    let small = json!({
        "textDocument": {"uri": "file:///bench/small.rs"},
        "range": {"start": {"line": 20, "character": 4}, "end": {"line": 20, "character": 4}},
        "context": {"diagnostics": []}
    });
    group.bench_function("codeAction round trip, 40-line file", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = client
                    .request("textDocument/codeAction", small.clone())
                    .await;
                assert!(response["result"].is_array(), "{response}");
            })
        })
    });
    group.bench_function("baseline: unknown method round trip", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = client.request("agent/noSuchMethod", json!({})).await;
                assert_eq!(response["error"]["code"], -32601);
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
