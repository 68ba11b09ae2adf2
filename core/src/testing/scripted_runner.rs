//! A `CommandRunner` that runs nothing: it records each command and ends it the way
//! the test scripted (output, a gate to wait on, or a hang until killed).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::process::{
    CommandOutcome, CommandRunner, CommandSpec, OutputChunk, OutputStream, SandboxError, ServerSpec,
};

/// What the scripted runner does with the next command.
pub enum Run {
    /// Output these chunks, then end with this outcome.
    Finish(Vec<OutputChunk>, CommandOutcome),
    /// Wait for the signal, then end with this outcome.
    Gated(oneshot::Receiver<()>, CommandOutcome),
    /// Never end; set the flag when dropped (the command was killed).
    Hang(Arc<AtomicBool>),
}

/// An outcome of `exit_code` that printed `stdout`, in 5 ms.
pub fn outcome(exit_code: i32, stdout: &str) -> CommandOutcome {
    CommandOutcome {
        exit_code: Some(exit_code),
        stdout: stdout.as_bytes().to_vec(),
        stderr: Vec::new(),
        timed_out: false,
        sandbox_denied: false,
        duration: Duration::from_millis(5),
        notes: Vec::new(),
    }
}

/// A run that prints `stdout` and exits 0.
pub fn ok_run(stdout: &str) -> Run {
    Run::Finish(
        vec![OutputChunk {
            stream: OutputStream::Stdout,
            bytes: stdout.as_bytes().to_vec(),
        }],
        outcome(0, stdout),
    )
}

/// A runner that records what it was asked and does what the test scripted
/// (by default: exit 0, printing `ok`).
#[derive(Default)]
pub struct ScriptedRunner {
    /// Every command asked for, in order.
    pub runs: Mutex<Vec<CommandSpec>>,
    /// The stdin of every command run with `run_with_input`, in order.
    pub inputs: Mutex<Vec<Vec<u8>>>,
    script: Mutex<VecDeque<Run>>,
}

impl ScriptedRunner {
    /// Queue `run` for the next command not yet scripted.
    pub fn push(&self, run: Run) {
        self.script.lock().unwrap().push_back(run);
    }

    /// The argv of every command asked for, in order.
    pub fn argvs(&self) -> Vec<Vec<String>> {
        self.runs
            .lock()
            .unwrap()
            .iter()
            .map(|spec| spec.argv.clone())
            .collect()
    }
}

/// Sets its flag when dropped, which is how a hanging run tells that it was killed.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl CommandRunner for ScriptedRunner {
    /// Servers run as they are, unconfined, with the test's environment.
    fn server_command(&self, server: &ServerSpec) -> Result<tokio::process::Command, SandboxError> {
        let (program, args) = server
            .argv
            .split_first()
            .ok_or(SandboxError::EmptyCommand)?;
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .current_dir(&server.cwd)
            .envs(server.env.iter().map(|(name, value)| (name, value)));
        Ok(command)
    }

    fn run(
        &self,
        command: CommandSpec,
        output: Option<mpsc::Sender<OutputChunk>>,
    ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>> {
        self.runs.lock().unwrap().push(command);
        let run = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| ok_run("ok\n"));
        Box::pin(async move {
            match run {
                Run::Finish(chunks, outcome) => {
                    if let Some(output) = output {
                        for chunk in chunks {
                            let _ = output.send(chunk).await;
                        }
                    }
                    Ok(outcome)
                }
                Run::Gated(gate, outcome) => {
                    let _ = gate.await;
                    Ok(outcome)
                }
                Run::Hang(flag) => {
                    let _guard = DropFlag(flag);
                    futures::future::pending::<()>().await;
                    unreachable!()
                }
            }
        })
    }

    fn run_with_input(
        &self,
        command: CommandSpec,
        input: Vec<u8>,
    ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>> {
        self.inputs.lock().unwrap().push(input);
        self.run(command, None)
    }
}
