//! What a PreToolUse hook costs beyond its own process (issue 15), hand-timed
//! for medians and p95: the hook `exit 0` run by `hooks::run_hooks` as the loop
//! runs it (through the sandbox helper, the event's JSON on stdin, its verdict
//! read) against the same `bash -c` script spawned bare with tokio's `Command`
//! and the same stdin, alternating in one run.
//!
//! `cargo bench -p agentls-tests --bench hooks`

#![allow(clippy::print_stdout)] // a benchmark's report goes to stdout

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agentls_core::hooks::{run_hooks, HookDefinition, HookDetail, HookInput, HookPlace};
use agentls_core::process::SandboxPolicy;
use agentls_core::sandbox::SandboxedRunner;
use tokio::io::AsyncWriteExt;

const HELPER: &str = env!("CARGO_BIN_EXE_sandbox-helper");
const RUNS: usize = 300;
const WARMUP: usize = 30;

fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95))
}

fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

/// The script `run_hooks` gives `bash -c` for the command `exit 0`.
fn script(root: &Path) -> String {
    let root = root.display();
    format!("export CLAUDE_PROJECT_DIR='{root}' AGENTLS_PROJECT_DIR='{root}'\nexit 0")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let workspace = tempfile::tempdir().expect("a temp dir");
    let root = workspace.path().canonicalize().expect("the root");
    let runner = SandboxedRunner::new(HELPER);
    let sandboxed = !runner.every_command_needs_approval();
    let hooks = [HookDefinition {
        matcher: None,
        command: "exit 0".into(),
        timeout_secs: 60,
    }];
    let input = HookInput::new(
        "thread-1".into(),
        root.join("thread.jsonl"),
        root.clone(),
        HookDetail::PreToolUse {
            tool_name: "shell".into(),
            tool_input: serde_json::json!({ "command": ["bash", "-lc", "cargo test"] }),
            tool_use_id: "call_1".into(),
        },
    );
    let stdin = serde_json::to_vec(&input).expect("the event's JSON");
    let place = HookPlace {
        root: &root,
        policy: SandboxPolicy::WorkspaceWrite,
    };
    let script = script(&root);

    let through_agentls = || async {
        let started = Instant::now();
        let verdict = run_hooks(&runner, &hooks, &input, place).await;
        let elapsed = started.elapsed();
        assert!(
            verdict.decision.is_none() && verdict.messages.is_empty(),
            "{verdict:?}"
        );
        elapsed
    };
    let bare = || async {
        let started = Instant::now();
        let mut child = tokio::process::Command::new("bash")
            .args(["-c", &script])
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bash");
        let mut pipe = child.stdin.take().expect("its stdin");
        // `exit 0` reads nothing: a closed pipe is fine, as for the hook.
        let _ = pipe.write_all(&stdin).await;
        drop(pipe);
        let output = child.wait_with_output().await.expect("bash ran");
        let elapsed = started.elapsed();
        assert!(output.status.success());
        elapsed
    };
    runtime.block_on(async {
        for _ in 0..WARMUP {
            through_agentls().await;
            bare().await;
        }
        let mut hooked = Vec::with_capacity(RUNS);
        let mut direct = Vec::with_capacity(RUNS);
        for index in 0..RUNS {
            if index % 2 == 0 {
                hooked.push(through_agentls().await);
                direct.push(bare().await);
            } else {
                direct.push(bare().await);
                hooked.push(through_agentls().await);
            }
        }
        let (hook_median, hook_p95) = percentiles(&mut hooked);
        let (bare_median, bare_p95) = percentiles(&mut direct);
        println!(
            "PreToolUse hook `exit 0`, {RUNS} runs each, alternating (sandboxed: {sandboxed}):"
        );
        println!(
            "  run_hooks through the sandbox helper: median {}, p95 {}",
            ms(hook_median),
            ms(hook_p95)
        );
        println!(
            "  the same bash -c spawned bare:        median {}, p95 {}",
            ms(bare_median),
            ms(bare_p95)
        );
        println!(
            "  hook overhead: median {}, p95 {} (goal: at most 5 ms)",
            ms(hook_median.saturating_sub(bare_median)),
            ms(hook_p95.saturating_sub(bare_p95))
        );
    });
}
