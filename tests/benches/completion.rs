//! Inline completion overhead: what agentls itself adds between the editor and
//! the model, measured around a fake `/v1/completions` server on 127.0.0.1
//! that notes when each request arrives and when it answers. Two figures per
//! document, median and p95 over distinct cursor positions (every one a cache
//! miss), debounce 0:
//!
//! - request → provider request: the client writes `textDocument/inlineCompletion`
//!   until the fake has read the whole HTTP request (framing, routing, the
//!   snapshot, the tree, the prefix/suffix cut, context selection over the
//!   workspace index, the FIM body, the HTTP request on a kept-alive connection);
//! - provider response → reply: the fake starts writing its answer until the
//!   client has read agentls's reply.
//!
//! Input: tokio's `src/sync` from the cargo registry as the workspace (indexed
//! first), the completion asked in `mutex.rs` (real code); and a generated
//! 20,000-line file beside it (the worst case for anything that grows with the
//! file). Not a criterion bench: the figures are two intervals per request.
//! Run: `cargo bench -p agentls-tests --bench completion`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agentls_tests::client::{file_uri, TestClient, TestEnv};
use agentls_tests::editor::Editor;
use agentls_tests::fake_completions::{FakeCompletions, Reply};
use serde_json::json;

const WARM_UP: usize = 20;
const MEASURED: usize = 300;

/// The first tokio's `src/sync` in the cargo registry.
fn tokio_sync() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cargo_home.join("registry/src"))
        .ok()?
        .flatten()
        .flat_map(|registry| {
            std::fs::read_dir(registry.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_prefix("tokio-"))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    dirs.sort();
    let sync = dirs.first()?.join("src/sync");
    sync.join("mutex.rs").is_file().then_some(sync)
}

fn copy_rust_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the workspace");
    for entry in std::fs::read_dir(from)
        .expect("read tokio's src/sync")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            copy_rust_files(&path, &to.join(entry.file_name()));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy a source file");
        }
    }
}

fn generated(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 40);
    for index in 0..lines / 4 {
        text.push_str(&format!(
            "fn function_{index}(x: u32) -> u32 {{\n    let y = x + {index};\n    y * 2\n}}\n"
        ));
    }
    text
}

/// Median and p95 of `samples`.
fn summary(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() as f64 - 1.0) * fraction).round() as usize];
    (at(0.5), at(0.95))
}

/// Times `MEASURED` completions at distinct line ends of `text` (after
/// `WARM_UP` more), returning the two intervals of each.
async fn measure(
    editor: &mut Editor,
    fake: &FakeCompletions,
    uri: &str,
    text: &str,
) -> (Vec<Duration>, Vec<Duration>) {
    let lines: Vec<(usize, usize)> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| (number, line.encode_utf16().count()))
        .collect();
    let total = WARM_UP + MEASURED;
    assert!(
        lines.len() >= total,
        "too few lines to keep every request a cache miss"
    );
    let step = lines.len() / total;
    let (mut to_provider, mut to_reply) = (Vec::new(), Vec::new());
    for round in 0..total {
        let (line, character) = lines[round * step];
        fake.push(Reply::Text("let guard = self.lock().await;".to_string()));
        let before = fake.arrivals().len();
        let sent = Instant::now();
        let id = editor
            .client
            .send_request(
                "textDocument/inlineCompletion",
                json!({
                    "textDocument": {"uri": uri},
                    "position": {"line": line, "character": character},
                    "context": {"triggerKind": 2},
                }),
            )
            .await;
        let response = editor.client.response(id).await;
        let replied = Instant::now();
        assert_eq!(
            response["result"]["items"][0]["insertText"], "let guard = self.lock().await;",
            "{response}"
        );
        let arrivals = fake.arrivals();
        let answers = fake.answers();
        assert_eq!(
            arrivals.len(),
            before + 1,
            "one provider request per completion"
        );
        if round >= WARM_UP {
            to_provider.push(arrivals[before] - sent);
            to_reply.push(replied - answers[before]);
        }
    }
    (to_provider, to_reply)
}

#[allow(clippy::print_stdout)] // a benchmark's report goes to stdout
fn main() {
    let Some(sync) = tokio_sync() else {
        println!("completion bench: no tokio in the cargo registry (run `cargo fetch`); skipped");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let workspace = tempfile::tempdir().expect("a workspace");
        let root = workspace.path().canonicalize().expect("the workspace's path");
        copy_rust_files(&sync, &root.join("src/sync"));
        let data = tempfile::tempdir().expect("a data directory");
        let fake = FakeCompletions::start().await;
        let env = TestEnv::new()
            .var("XDG_DATA_HOME", data.path().display().to_string())
            .var("XDG_CONFIG_HOME", data.path().join("config").display().to_string())
            .var("HOME", data.path().display().to_string())
            .provider_configured();
        let mut editor = Editor::new(TestClient::in_process_with_env(env));
        editor
            .client
            .initialize_with(json!({
                "processId": null,
                "rootUri": file_uri(&root),
                "capabilities": { "window": { "workDoneProgress": true } },
                "initializationOptions": {
                    "completion": {
                        "enabled": true,
                        "debounce_ms": 0,
                        "provider": { "base_url": fake.base_url(), "model": "qwen2.5-coder:1.5b-base" },
                    },
                },
            }))
            .await;
        editor
            .serve_until(|message| {
                message["method"] == "$/progress"
                    && message["params"]["token"] == "agentls/index"
                    && message["params"]["value"]["kind"] == "end"
            })
            .await;
        let mutex_path = root.join("src/sync/mutex.rs");
        let mutex = std::fs::read_to_string(&mutex_path).expect("read mutex.rs");
        let big = generated(20_000);
        let documents = [
            (format!("tokio src/sync/mutex.rs ({} lines)", mutex.lines().count()), mutex_path, mutex),
            ("generated, 20,000 lines".to_string(), root.join("src/big.rs"), big),
        ];
        println!("| document | request → provider request, median / p95 | provider response → reply, median / p95 |");
        println!("|---|---|---|");
        for (name, path, text) in documents {
            let uri = editor.open(&path, "rust", &text).await;
            let (mut to_provider, mut to_reply) = measure(&mut editor, &fake, &uri, &text).await;
            let (provider_median, provider_p95) = summary(&mut to_provider);
            let (reply_median, reply_p95) = summary(&mut to_reply);
            println!(
                "| {name} | {:.2} ms / {:.2} ms | {:.2} ms / {:.2} ms |",
                provider_median.as_secs_f64() * 1e3,
                provider_p95.as_secs_f64() * 1e3,
                reply_median.as_secs_f64() * 1e3,
                reply_p95.as_secs_f64() * 1e3,
            );
        }
    });
}
