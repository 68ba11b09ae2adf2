//! Running the hooks of one event: each through the agent's `CommandRunner`
//! (so sandboxed with the workspace's policy, its environment scrubbed of
//! secrets, killed with everything it started at its timeout), all at once,
//! the event's JSON on each one's stdin.

use std::path::Path;

use futures::future::join_all;
use tracing::Instrument;

use super::definition::HookDefinition;
use super::event::HookInput;
use super::verdict::{verdict, HookVerdict};
use crate::process::{CommandRunner, CommandSpec, SandboxPolicy};

/// Where hooks run: in the workspace root, which the policy lets them write.
#[derive(Clone, Copy, Debug)]
pub struct HookPlace<'a> {
    pub root: &'a Path,
    pub policy: SandboxPolicy,
}

/// Runs `hooks` (already matched to the event) on `input` and combines their
/// verdicts in the hooks' order.
pub async fn run_hooks(
    runner: &dyn CommandRunner,
    hooks: &[HookDefinition],
    input: &HookInput,
    place: HookPlace<'_>,
) -> HookVerdict {
    let event = input.hook_event_name;
    let stdin = match serde_json::to_vec(input) {
        Ok(bytes) => bytes,
        Err(error) => {
            // Plain strings, paths and JSON values: this cannot fail.
            tracing::error!(%error, "could not serialise a hook's input");
            return HookVerdict::default();
        }
    };
    let runs = hooks.iter().map(|hook| {
        let spec = CommandSpec {
            argv: vec![
                "bash".into(),
                "-c".into(),
                script(&hook.command, place.root),
            ],
            cwd: place.root.to_path_buf(),
            writable_roots: vec![place.root.to_path_buf()],
            timeout: hook.timeout(),
            policy: place.policy,
            // Hooks see the files as saved: they are the user's own scripts
            // (a formatter run by one rewrites the disk, as it would by hand).
            overlays: Vec::new(),
        };
        let span = tracing::info_span!("hook", %event, command = %hook.command);
        let stdin = stdin.clone();
        async move {
            let run = runner.run_with_input(spec, stdin).await;
            match &run {
                Ok(outcome) if outcome.timed_out => tracing::warn!(
                    timeout_secs = hook.timeout_secs,
                    "hook timed out and was killed"
                ),
                Ok(outcome) => tracing::debug!(exit_code = ?outcome.exit_code, "hook finished"),
                Err(error) => tracing::warn!(%error, "hook could not run"),
            }
            verdict(event, &hook.command, hook.timeout_secs, &run)
        }
        .instrument(span)
    });
    let mut combined = HookVerdict::default();
    for one in join_all(runs).await {
        combined.merge(one);
    }
    combined
}

/// The hook's command for `bash -c`, with `CLAUDE_PROJECT_DIR` (which Claude
/// Code's hooks use to find their scripts) and `AGENTLS_PROJECT_DIR` set to the
/// workspace root.
fn script(command: &str, root: &Path) -> String {
    let root = root.display().to_string().replace('\'', r"'\''");
    format!("export CLAUDE_PROJECT_DIR='{root}' AGENTLS_PROJECT_DIR='{root}'\n{command}")
}

#[cfg(test)]
mod tests {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use futures::future::BoxFuture;
    use tokio::io::AsyncWriteExt;
    use tokio::sync::mpsc;

    use super::*;
    use crate::hooks::{HookDecision, HookDetail};
    use crate::process::{CommandOutcome, OutputChunk, SandboxError, ServerSpec};

    /// Runs commands as they are, unsandboxed (the sandbox helper is another
    /// binary; the end-to-end tests run hooks through it), with stdin and the
    /// timeout kill that `SandboxedRunner` has.
    struct DirectRunner;

    impl CommandRunner for DirectRunner {
        fn run(
            &self,
            command: CommandSpec,
            _output: Option<mpsc::Sender<OutputChunk>>,
        ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>> {
            self.run_with_input(command, Vec::new())
        }

        /// Hooks start no servers.
        fn server_command(
            &self,
            server: &ServerSpec,
        ) -> Result<tokio::process::Command, SandboxError> {
            Err(SandboxError::Spawn {
                program: server.argv.first().cloned().unwrap_or_default(),
                message: "the hooks' test runner starts no servers".to_string(),
            })
        }

        fn run_with_input(
            &self,
            command: CommandSpec,
            input: Vec<u8>,
        ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>> {
            Box::pin(async move {
                let started = Instant::now();
                let mut child = tokio::process::Command::new(&command.argv[0])
                    .args(&command.argv[1..])
                    .current_dir(&command.cwd)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|error| SandboxError::Spawn {
                        program: command.argv[0].clone(),
                        message: error.to_string(),
                    })?;
                let mut stdin = child.stdin.take().unwrap();
                let _ = stdin.write_all(&input).await;
                drop(stdin);
                match tokio::time::timeout(command.timeout, child.wait_with_output()).await {
                    Ok(output) => {
                        let output = output.unwrap();
                        Ok(CommandOutcome {
                            exit_code: output.status.code(),
                            stdout: output.stdout,
                            stderr: output.stderr,
                            timed_out: false,
                            sandbox_denied: false,
                            duration: started.elapsed(),
                            notes: Vec::new(),
                        })
                    }
                    // Dropping the child kills it.
                    Err(_) => Ok(CommandOutcome {
                        exit_code: None,
                        stdout: Vec::new(),
                        stderr: Vec::new(),
                        timed_out: true,
                        sandbox_denied: false,
                        duration: started.elapsed(),
                        notes: Vec::new(),
                    }),
                }
            })
        }
    }

    fn hook(command: &str, timeout_secs: u64) -> HookDefinition {
        HookDefinition {
            matcher: None,
            command: command.into(),
            timeout_secs,
        }
    }

    fn pre_tool_use(root: &Path) -> HookInput {
        HookInput::new(
            "thread-1".into(),
            root.join("t.jsonl"),
            root.to_path_buf(),
            HookDetail::PreToolUse {
                tool_name: "apply_patch".into(),
                tool_input: serde_json::json!({"file_paths": [root.join("Cargo.lock")]}),
                tool_use_id: "call_1".into(),
            },
        )
    }

    async fn run(root: &Path, hooks: &[HookDefinition]) -> HookVerdict {
        let place = HookPlace {
            root,
            policy: SandboxPolicy::WorkspaceWrite,
        };
        run_hooks(&DirectRunner, hooks, &pre_tool_use(root), place).await
    }

    #[tokio::test]
    async fn the_event_arrives_on_stdin_and_exit_2_blocks_with_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let verdict = run(
            dir.path(),
            &[hook(
                r#"input=$(cat); case "$input" in *'"tool_name":"apply_patch"'*Cargo.lock*) echo "lock files are generated: $CLAUDE_PROJECT_DIR" >&2; exit 2;; esac"#,
                10,
            )],
        )
        .await;
        assert_eq!(
            verdict.decision,
            Some(HookDecision::Block {
                reason: format!("lock files are generated: {}", dir.path().display())
            })
        );
    }

    #[tokio::test]
    async fn json_answers_and_failures_of_several_hooks_combine() {
        let dir = tempfile::tempdir().unwrap();
        let verdict = run(
            dir.path(),
            &[
                hook(
                    r#"echo '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"ask","permissionDecisionReason":"big change"}}'"#,
                    10,
                ),
                hook("echo oops >&2; exit 3", 10),
                hook("exit 0", 10),
            ],
        )
        .await;
        assert_eq!(
            verdict.decision,
            Some(HookDecision::Ask {
                reason: Some("big change".into())
            })
        );
        assert_eq!(
            verdict.messages,
            ["the PreToolUse hook `echo oops >&2; exit 3` failed with exit status 3: oops"]
        );
    }

    #[tokio::test]
    async fn a_hook_that_hangs_is_killed_at_its_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let verdict = run(dir.path(), &[hook("sleep 600", 1)]).await;
        assert!(started.elapsed() < Duration::from_secs(30));
        assert_eq!(verdict.decision, None);
        assert_eq!(
            verdict.messages,
            ["the PreToolUse hook `sleep 600` did not finish within 1 s and was killed"]
        );
    }

    #[test]
    fn the_script_exports_the_project_dir_quoted() {
        assert_eq!(
            script("./x.sh", Path::new("/w/it's")),
            "export CLAUDE_PROJECT_DIR='/w/it'\\''s' AGENTLS_PROJECT_DIR='/w/it'\\''s'\n./x.sh"
        );
    }
}
