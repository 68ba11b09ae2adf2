//! Inline completions in real Neovim, as completion items (Neovim before 0.12
//! has no `textDocument/inlineCompletion`): 0.7.2 and 0.11.4, headless, start
//! agentls with `[completion] enabled`, ask `textDocument/completion` through
//! the LSP client (`tests/nvim/completion.lua`) and accept the item; the fake
//! `/v1/completions` server plays the model.

use agentls_tests::fake_completions::{FakeCompletions, Reply};
use agentls_tests::neovim::{list, Neovim, Release};
use serde_json::json;

const BEFORE: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    su\n}\n";

async fn complete_in(release: Release) {
    let nvim = Neovim::release(release);
    let workspace = tempfile::tempdir().unwrap();
    let file = workspace.path().join("src/lib.rs");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, BEFORE).unwrap();
    let fake = FakeCompletions::start().await;
    fake.push(Reply::Text("m(a, b)".to_string()));
    let init_options = json!({
        "provider": { "kind": "openai-chat", "base_url": "http://127.0.0.1:9/v1" },
        "completion": {
            "enabled": true,
            "provider": { "base_url": fake.base_url(), "model": "qwen2.5-coder:1.5b-base" },
        },
    });
    let run = nvim
        .scenario("completion.lua")
        .env(
            "AGENTLS_TEST_WORKSPACE",
            workspace.path().display().to_string(),
        )
        .env("AGENTLS_TEST_FILE", file.display().to_string())
        .env("AGENTLS_TEST_INIT_OPTIONS", init_options.to_string())
        .run()
        .await;
    let report = run.report();
    run.check(
        report["completion_provider"] == true,
        "agentls announced completionProvider",
    );
    let items = list(report, "items");
    run.check(
        items.len() == 1 && items[0]["label"] == "sum(a, b)" && items[0]["detail"] == "agentls",
        "one item, `sum(a, b)`, from agentls",
    );
    run.check(
        report["buffer_after"] == "pub fn add(a: i32, b: i32) -> i32 {\n    sum(a, b)\n}\n",
        "accepting the item completes the line",
    );
    let sent = fake.requests();
    run.check(
        sent.len() == 1
            && sent[0].body["prompt"]
                == "<|fim_prefix|>pub fn add(a: i32, b: i32) -> i32 {\n    su<|fim_suffix|>\n}\n<|fim_middle|>",
        "the model got the buffer around the cursor in Qwen's FIM tokens",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_0_7_gets_the_inline_completion_as_a_completion_item() {
    complete_in(Release::Debian).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_0_11_gets_the_inline_completion_as_a_completion_item() {
    complete_in(Release::Current).await;
}
