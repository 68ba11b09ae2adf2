//! The seam to child processes: the loop asks a `CommandRunner` to run a command
//! under a sandbox policy and streams its output; the sandbox module implements it.

use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// How much a command may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxPolicy {
    /// Read anywhere, write nowhere but /dev/null, no network.
    ReadOnly,
    /// Write only the workspace roots and a private temp dir (`.git` read-only), no network.
    #[default]
    WorkspaceWrite,
    /// No sandbox at all.
    FullAccess,
}

/// One command to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSpec {
    /// The program and its arguments (a script runs as `["bash", "-lc", script]`).
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// The workspace roots the policy lets the command write (for `workspace-write`).
    pub writable_roots: Vec<PathBuf>,
    pub timeout: Duration,
    pub policy: SandboxPolicy,
    /// Files the editor holds with unsaved text: the command sees that text in
    /// their place, the disk is not written (`Overlay`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overlays: Vec<Overlay>,
}

/// A file the command must see with the text of the editor's buffer, which the
/// user has not saved (the agent's edits land in buffers, never behind the
/// editor's back on disk). Where the sandbox has a private mount namespace, the
/// text is bound over the path for the command alone; elsewhere the command sees
/// the disk, and the outcome's notes say so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlay {
    /// Absolute path of the file on disk.
    pub path: PathBuf,
    /// The buffer's text.
    pub text: String,
}

/// Which stream a chunk of output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// Output as it arrives, for streaming to the editor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputChunk {
    pub stream: OutputStream,
    pub bytes: Vec<u8>,
}

/// How a finished command ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutcome {
    /// The exit code, `None` when a signal ended it.
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
    /// The sandbox refused something the command tried (a write, a connection);
    /// the loop may offer to re-run it outside the sandbox with approval.
    pub sandbox_denied: bool,
    pub duration: Duration,
    /// What the model must know about how the command ran: files it saw from
    /// the editor's buffers, or could not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Why a command could not be started at all.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("could not start `{program}`: {message}")]
    Spawn { program: String, message: String },
    #[error("the sandbox could not be set up: {0}")]
    Setup(String),
    #[error("empty command")]
    EmptyCommand,
}

/// A long-lived process the agent talks to over its stdin and stdout: an MCP
/// server started from `[mcp_servers.NAME] command`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    /// The program and its arguments.
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// Variables set for the server on top of the scrubbed environment (the
    /// configuration's `env`); their names are passed even when they look secret.
    pub env: Vec<(String, String)>,
    /// Variables of agentls's own environment passed even when their names look
    /// secret (the configuration's `env_vars`).
    pub pass_env: Vec<String>,
    /// The workspace roots the policy lets the server write (for `workspace-write`).
    pub writable_roots: Vec<PathBuf>,
    pub policy: SandboxPolicy,
}

/// Runs commands. `output` receives chunks while the command runs (bounded: a slow
/// reader slows the command's output, it never grows memory).
pub trait CommandRunner: Send + Sync {
    fn run(
        &self,
        command: CommandSpec,
        output: Option<mpsc::Sender<OutputChunk>>,
    ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>>;

    /// Like `run`, with `input` written to the command's stdin, which is then
    /// closed (hooks read their event there). A runner that cannot pass input
    /// refuses instead of running the command without it.
    fn run_with_input(
        &self,
        command: CommandSpec,
        input: Vec<u8>,
    ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>> {
        let program = command.argv.first().cloned().unwrap_or_default();
        drop(input);
        Box::pin(async move {
            Err(SandboxError::Spawn {
                program,
                message: "this runner cannot pass input to a command".to_string(),
            })
        })
    }
    /// The command that starts a long-lived server the way this runner runs
    /// commands (in the sandbox, with the scrubbed environment), not yet spawned:
    /// the caller pipes its stdin, stdout and stderr and owns the process.
    fn server_command(&self, server: &ServerSpec) -> Result<tokio::process::Command, SandboxError>;
}
