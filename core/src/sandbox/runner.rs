//! `SandboxedRunner`: the server's side of running a command. It never confines
//! itself; it starts the helper (`<exe> sandbox …`), owns the process group, the
//! deadline, the output and the private temporary directory.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::time::Duration;
use tracing::Instrument;

use crate::config::SandboxConfig;
use crate::process::{
    CommandOutcome, CommandRunner, CommandSpec, OutputChunk, OutputStream, Overlay, SandboxError,
    SandboxPolicy, ServerSpec,
};

use super::capture::HeadTailCapture;
use super::denial::{looks_denied, writable_unconfined, DenialContext};
use super::env_scrub::scrub_env;
use super::helper::{
    SandboxArgs, EXEC_FAILED_PREFIX, NOT_EXECUTABLE_EXIT, NOT_FOUND_EXIT, SANDBOX_SUBCOMMAND,
    SETUP_FAILED_EXIT, SETUP_FAILED_PREFIX,
};
use super::support::{sandbox_support, ProcessContainment, SandboxSupport};

/// How much of each of stdout and stderr is kept for the model (head and tail).
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

/// How long the helper gets to stop the command's processes when told to, and,
/// after it exited, how long to wait for the pipes to close (at once, unless
/// something escaped the helper while holding them).
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// Size of one read from the command's pipes, and so of one streamed chunk at most.
const READ_SIZE: usize = 16 * 1024;

/// Runs every command through the sandbox helper. See the module docs and
/// docs/security.md.
#[derive(Clone, Debug)]
pub struct SandboxedRunner {
    helper: PathBuf,
    pass_env: Vec<String>,
    secret_env: Vec<String>,
    base_env: Option<Vec<(OsString, OsString)>>,
    output_cap: usize,
    support: SandboxSupport,
}

impl SandboxedRunner {
    /// `helper` is an executable whose `sandbox` subcommand is [`super::sandbox_main`]:
    /// the server passes `std::env::current_exe()`.
    pub fn new(helper: impl Into<PathBuf>) -> SandboxedRunner {
        SandboxedRunner {
            helper: helper.into(),
            pass_env: Vec::new(),
            secret_env: Vec::new(),
            base_env: None,
            output_cap: DEFAULT_OUTPUT_CAP,
            support: sandbox_support().clone(),
        }
    }

    /// A runner with the `[sandbox]` settings that concern it (`pass_env`; the policy
    /// and the timeout travel in each `CommandSpec`).
    pub fn from_config(helper: impl Into<PathBuf>, config: &SandboxConfig) -> SandboxedRunner {
        SandboxedRunner::new(helper).with_pass_env(config.pass_env.iter().cloned())
    }

    /// Variables passed to commands even though their names look secret.
    pub fn with_pass_env(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.pass_env.extend(names);
        self
    }

    /// Variables never passed, whatever their names (the provider's `api_key_env`).
    pub fn with_secret_env(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.secret_env.extend(names);
        self
    }

    /// The environment commands start from, instead of this process's (tests).
    pub fn with_base_env(mut self, vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        self.base_env = Some(vars.into_iter().collect());
        self
    }

    /// How many bytes of each stream the outcome keeps.
    pub fn with_output_cap(mut self, bytes: usize) -> Self {
        self.output_cap = bytes;
        self
    }

    /// Pretends the machine supports this much (tests of the fall-back).
    pub fn with_support(mut self, support: SandboxSupport) -> Self {
        self.support = support;
        self
    }

    /// What the sandbox enforces here.
    pub fn support(&self) -> &SandboxSupport {
        &self.support
    }

    /// True where the sandbox cannot confine commands (no Landlock, no seccomp, not
    /// Linux): the approval layer must then ask before every command, whatever the
    /// approval policy says.
    pub fn every_command_needs_approval(&self) -> bool {
        !self.support.confines_commands()
    }

    fn command_env(&self) -> Vec<(OsString, OsString)> {
        let base = match &self.base_env {
            Some(vars) => vars.clone(),
            None => std::env::vars_os().collect(),
        };
        scrub_env(base, &self.pass_env, &self.secret_env)
    }

    async fn run_command(
        &self,
        spec: CommandSpec,
        output: Option<mpsc::Sender<OutputChunk>>,
        input: Option<Vec<u8>>,
    ) -> Result<CommandOutcome, SandboxError> {
        let program = spec.argv.first().ok_or(SandboxError::EmptyCommand)?.clone();
        let started = Instant::now();

        let tmpdir = match spec.policy {
            SandboxPolicy::WorkspaceWrite => Some(PrivateTempDir::create()?),
            SandboxPolicy::ReadOnly | SandboxPolicy::FullAccess => None,
        };
        // The editor's unsaved buffers, shown to the command in its own mount
        // namespace where it gets one; elsewhere it sees the disk, and is told.
        let can_overlay = matches!(
            self.support.containment_for(spec.policy),
            ProcessContainment::PidNamespace { .. }
        );
        let mut notes = Vec::new();
        let overlay_dir = match (&spec.overlays[..], can_overlay) {
            ([], _) => None,
            (_, true) => Some(PrivateTempDir::create()?),
            (overlays, false) => {
                notes.push(unsaved_not_seen(&spec.cwd, overlays));
                None
            }
        };
        let overlay_files = match &overlay_dir {
            Some(dir) => write_overlays(&dir.path, &spec.overlays)?,
            None => Vec::new(),
        };
        let args = SandboxArgs {
            policy: spec.policy,
            writable_roots: spec.writable_roots.clone(),
            cwd: None,
            tmpdir: tmpdir.as_ref().map(|tmpdir| tmpdir.path.clone()),
            // The helper scrubs the environment again with the same lists, as it
            // does when a user runs `agentls sandbox`.
            pass_env: self.pass_env.clone(),
            secret_env: self.secret_env.clone(),
            explain: false,
            overlays: overlay_files
                .iter()
                .map(|(overlay, file)| (overlay.path.clone(), file.clone()))
                .collect(),
            subreaper: self.support.containment == ProcessContainment::Subreaper,
            command: spec.argv.iter().map(OsString::from).collect(),
        };

        let mut command = Command::new(&self.helper);
        command
            .arg(SANDBOX_SUBCOMMAND)
            .args(args.to_args())
            .current_dir(&spec.cwd)
            .env_clear()
            .envs(self.command_env())
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropped half-way, the helper is stopped by `Supervised`, gently
            // enough that it can take the command's processes with it.
            .kill_on_drop(false);
        // SAFETY: the closure runs in the forked child before exec and only calls
        // setsid(2), which is async-signal-safe. A new session makes the helper the
        // leader of a new process group (killed as a whole below) and detaches the
        // command from any controlling terminal, so it cannot prompt on or read from
        // the user's terminal.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|error| SandboxError::Spawn {
            program: self.helper.display().to_string(),
            message: if spec.cwd.is_dir() {
                error.to_string()
            } else {
                format!("{error} (working directory `{}`)", spec.cwd.display())
            },
        })?;
        let mut helper = Supervised::new(child);
        tracing::debug!(pgid = ?helper.pgid, "command started");
        if let (Some(input), Some(mut stdin)) = (input, helper.child().stdin.take()) {
            // Written on its own task, so a command that prints before it reads
            // cannot deadlock against us; one that never reads gets EPIPE, which
            // is its business. The pipe closes when the task ends.
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                if let Err(error) = stdin.write_all(&input).await {
                    tracing::debug!(%error, "the command did not read all of its input");
                }
            });
        }

        let (Some(stdout), Some(stderr)) =
            (helper.child().stdout.take(), helper.child().stderr.take())
        else {
            // Both are `Stdio::piped()` above, so tokio always hands them out.
            return Err(SandboxError::Setup("no pipes to the command".into()));
        };
        let mut stdout_capture = HeadTailCapture::new(self.output_cap);
        let mut stderr_capture = HeadTailCapture::new(self.output_cap);
        // A timeout too large to add (`Duration::MAX` as "never") means a year.
        let now = tokio::time::Instant::now();
        let deadline = now
            .checked_add(spec.timeout)
            .unwrap_or(now + Duration::from_secs(365 * 24 * 3600));

        let mut timed_out = false;
        let status = {
            let pumps = futures::future::join(
                pump(
                    stdout,
                    OutputStream::Stdout,
                    &mut stdout_capture,
                    output.clone(),
                ),
                pump(stderr, OutputStream::Stderr, &mut stderr_capture, output),
            );
            tokio::pin!(pumps);
            let mut pumps_done = false;
            let status = loop {
                tokio::select! {
                    _ = &mut pumps, if !pumps_done => pumps_done = true,
                    status = helper.child().wait() => break status,
                    () = tokio::time::sleep_until(deadline) => {
                        timed_out = true;
                        break helper.stop().await;
                    }
                }
            };
            // The helper killed everything the command started before it exited;
            // its group goes too, in case the helper itself was killed outright.
            helper.kill_group();
            if !pumps_done && tokio::time::timeout(DRAIN_GRACE, &mut pumps).await.is_err() {
                tracing::warn!("a process that escaped the helper still holds the command's output; not waiting for it");
            }
            status
        };
        helper.disarm();
        let tmpdir_path = tmpdir.as_ref().map(|tmpdir| tmpdir.path.clone());
        if let Some(tmpdir) = tmpdir {
            tmpdir.remove().await;
        }
        if !overlay_files.is_empty() {
            notes.extend(overlay_notes(&spec.cwd, &overlay_files));
        }
        if let Some(dir) = overlay_dir {
            dir.remove().await;
        }
        let status = status.map_err(|error| SandboxError::Spawn {
            program: program.clone(),
            message: format!("waiting for the command: {error}"),
        })?;

        let mut outcome = CommandOutcome {
            exit_code: status.code(),
            stdout: stdout_capture.finish(),
            stderr: stderr_capture.finish(),
            timed_out,
            sandbox_denied: false,
            duration: started.elapsed(),
            notes,
        };
        helper_failure(&program, &outcome)?;
        // As the helper resolves them: relative to the working directory, which is
        // the only root when none is given.
        let writable_roots: Vec<PathBuf> = if spec.writable_roots.is_empty() {
            vec![spec.cwd.clone()]
        } else {
            spec.writable_roots
                .iter()
                .map(|root| spec.cwd.join(root))
                .collect()
        };
        let context = DenialContext {
            policy: spec.policy,
            support: &self.support,
            cwd: &spec.cwd,
            writable_roots: &writable_roots,
            tmpdir: tmpdir_path.as_deref(),
        };
        outcome.sandbox_denied = looks_denied(&context, &outcome, &writable_unconfined);
        tracing::debug!(
            exit_code = ?outcome.exit_code,
            timed_out,
            sandbox_denied = outcome.sandbox_denied,
            duration_ms = outcome.duration.as_millis() as u64,
            "command finished"
        );
        Ok(outcome)
    }
}

impl CommandRunner for SandboxedRunner {
    /// `<helper> sandbox --policy … -- CMD…` like a command, but long-lived: the
    /// helper confines itself and supervises the server as it does a command
    /// (everything it starts dies with it). Unlike a command it gets no private
    /// `$TMPDIR` (nothing would remove it), and the variables the configuration
    /// sets for it are passed even when their names look secret.
    fn server_command(&self, server: &ServerSpec) -> Result<Command, SandboxError> {
        if server.argv.is_empty() {
            return Err(SandboxError::EmptyCommand);
        }
        let mut pass_env = self.pass_env.clone();
        pass_env.extend(server.pass_env.iter().cloned());
        pass_env.extend(server.env.iter().map(|(name, _)| name.clone()));
        let args = SandboxArgs {
            policy: server.policy,
            writable_roots: server.writable_roots.clone(),
            cwd: None,
            tmpdir: None,
            pass_env: pass_env.clone(),
            secret_env: self.secret_env.clone(),
            explain: false,
            subreaper: self.support.containment == ProcessContainment::Subreaper,
            overlays: Vec::new(),
            command: server.argv.iter().map(OsString::from).collect(),
        };
        let base = match &self.base_env {
            Some(vars) => vars.clone(),
            None => std::env::vars_os().collect(),
        };
        let mut env = scrub_env(base, &pass_env, &self.secret_env);
        env.extend(
            server
                .env
                .iter()
                .map(|(name, value)| (OsString::from(name), OsString::from(value))),
        );
        let mut command = Command::new(&self.helper);
        command
            .arg(SANDBOX_SUBCOMMAND)
            .args(args.to_args())
            .current_dir(&server.cwd)
            .env_clear()
            .envs(env);
        // SAFETY: as in `run_command`: setsid(2) only, async-signal-safe. The
        // server gets no controlling terminal and a process group of its own.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(command)
    }

    fn run(
        &self,
        command: CommandSpec,
        output: Option<mpsc::Sender<OutputChunk>>,
    ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>> {
        let program = command.argv.first().cloned().unwrap_or_default();
        let span = tracing::info_span!("command", program = %program, policy = %command.policy);
        Box::pin(self.run_command(command, output, None).instrument(span))
    }

    fn run_with_input(
        &self,
        command: CommandSpec,
        input: Vec<u8>,
    ) -> BoxFuture<'_, Result<CommandOutcome, SandboxError>> {
        let program = command.argv.first().cloned().unwrap_or_default();
        let span = tracing::info_span!("command", program = %program, policy = %command.policy);
        Box::pin(
            self.run_command(command, None, Some(input))
                .instrument(span),
        )
    }
}

/// Writes each overlay's text to a file of its own in `dir`, readable and
/// writable by the command only through its path.
fn write_overlays(
    dir: &Path,
    overlays: &[Overlay],
) -> Result<Vec<(Overlay, PathBuf)>, SandboxError> {
    overlays
        .iter()
        .enumerate()
        .map(|(index, overlay)| {
            let file = dir.join(format!("unsaved-{index}"));
            std::fs::write(&file, &overlay.text).map_err(|error| {
                SandboxError::Setup(format!(
                    "cannot write the editor's text of `{}` for the command: {error}",
                    overlay.path.display()
                ))
            })?;
            Ok((overlay.clone(), file))
        })
        .collect()
}

/// What the model hears about the buffers the command saw: which ones, and
/// which the command wrote (those writes stay out of the editor and the disk).
fn overlay_notes(cwd: &Path, overlay_files: &[(Overlay, PathBuf)]) -> Vec<String> {
    let shown = |overlay: &Overlay| {
        overlay
            .path
            .strip_prefix(cwd)
            .unwrap_or(&overlay.path)
            .display()
            .to_string()
    };
    let seen: Vec<String> = overlay_files
        .iter()
        .filter(|(overlay, _)| overlay.path.is_file())
        .map(|(overlay, _)| shown(overlay))
        .collect();
    let mut notes = Vec::new();
    if !seen.is_empty() {
        notes.push(format!(
            "the command saw the editor's unsaved text of {}",
            seen.join(", ")
        ));
    }
    let written: Vec<String> = overlay_files
        .iter()
        .filter(|(overlay, file)| {
            overlay.path.is_file()
                && std::fs::read(file).is_ok_and(|bytes| bytes != overlay.text.as_bytes())
        })
        .map(|(overlay, _)| shown(overlay))
        .collect();
    if !written.is_empty() {
        notes.push(format!(
            "the command changed {}, which the editor holds unsaved: that change was not \
             kept; make it with apply_patch",
            written.join(", ")
        ));
    }
    notes
}

/// Where the command cannot be shown the buffers (no mount namespace, or a
/// full-access command), the model learns that it saw the saved files.
fn unsaved_not_seen(cwd: &Path, overlays: &[Overlay]) -> String {
    let paths: Vec<String> = overlays
        .iter()
        .map(|overlay| {
            overlay
                .path
                .strip_prefix(cwd)
                .unwrap_or(&overlay.path)
                .display()
                .to_string()
        })
        .collect();
    format!(
        "the command saw the files as saved on disk: the editor holds unsaved changes to {} \
         that this sandbox cannot show it; the user can save them",
        paths.join(", ")
    )
}

/// The helper's own failures (it reports them before exec, so its stderr holds
/// nothing else) become errors instead of outcomes.
fn helper_failure(program: &str, outcome: &CommandOutcome) -> Result<(), SandboxError> {
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    match outcome.exit_code {
        Some(SETUP_FAILED_EXIT) => match stderr.strip_prefix(SETUP_FAILED_PREFIX) {
            Some(message) => Err(SandboxError::Setup(message.trim_end().to_owned())),
            None => Ok(()),
        },
        Some(NOT_FOUND_EXIT | NOT_EXECUTABLE_EXIT) if stderr.starts_with(EXEC_FAILED_PREFIX) => {
            let message = stderr
                .rsplit_once("`: ")
                .map_or(stderr.trim_end(), |(_, message)| message.trim_end());
            Err(SandboxError::Spawn {
                program: program.to_owned(),
                message: message.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

/// Reads one pipe to its end into `capture`, forwarding each chunk to `sender` while
/// someone listens. Awaiting the bounded sender is the back-pressure: a slow
/// listener slows the command down instead of growing memory.
async fn pump(
    mut reader: impl AsyncRead + Unpin,
    stream: OutputStream,
    capture: &mut HeadTailCapture,
    mut sender: Option<mpsc::Sender<OutputChunk>>,
) {
    let mut buffer = vec![0; READ_SIZE];
    loop {
        let read = match reader.read(&mut buffer).await {
            Ok(0) => return,
            Ok(read) => read,
            Err(error) => {
                tracing::debug!(%error, ?stream, "reading the command's output failed");
                return;
            }
        };
        capture.push(&buffer[..read]);
        if let Some(listener) = &sender {
            let chunk = OutputChunk {
                stream,
                bytes: buffer[..read].to_vec(),
            };
            if listener.send(chunk).await.is_err() {
                // Nobody listens any more; keep collecting for the outcome.
                sender = None;
            }
        }
    }
}

/// The helper process (and its process group), owned while the command runs.
/// The helper supervises the command (contain.rs): on `SIGTERM` it kills every
/// process the command started, then itself. The group is killed as well, as a
/// backstop, once the helper is gone or does not go.
struct Supervised {
    child: Option<tokio::process::Child>,
    pgid: Option<libc::pid_t>,
}

impl Supervised {
    fn new(child: tokio::process::Child) -> Supervised {
        Supervised {
            pgid: child.id().and_then(|pid| libc::pid_t::try_from(pid).ok()),
            child: Some(child),
        }
    }

    fn child(&mut self) -> &mut tokio::process::Child {
        // `child` is only taken by `disarm` (which consumes self) and `drop`.
        self.child
            .as_mut()
            .expect("the helper is owned until disarmed")
    }

    /// Timeout: asks the helper to stop the command, waits for it (bounded), and
    /// kills the group if it does not go.
    async fn stop(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.signal_helper(libc::SIGTERM);
        if let Ok(status) = tokio::time::timeout(DRAIN_GRACE, self.child().wait()).await {
            return status;
        }
        tracing::warn!(pgid = ?self.pgid, "the sandbox helper did not stop; killing its group");
        self.kill_group();
        self.child().wait().await
    }

    fn signal_helper(&self, signal: libc::c_int) {
        let Some(pid) = self.pgid else { return };
        // SAFETY: kill(2) takes integers. `pid` is our child, not yet reaped by
        // this value (tokio reaps it only through `wait`), so it names the helper.
        unsafe { libc::kill(pid, signal) };
    }

    fn kill_group(&self) {
        let Some(pgid) = self.pgid else { return };
        kill_group(pgid);
    }

    /// The run finished normally and cleaned up itself.
    fn disarm(mut self) {
        self.pgid = None;
        self.child = None;
    }
}

fn kill_group(pgid: libc::pid_t) {
    // SAFETY: killpg(2) takes integers only. `pgid` is the helper's pid, which
    // setsid made a group id; the group outlives its leader while any member
    // lives. Once all are gone the call fails with ESRCH, harmless; the id could
    // only name another group after the pid space wrapped around in between.
    let result = unsafe { libc::killpg(pgid, libc::SIGKILL) };
    if result != 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!(pgid, %error, "could not kill the command's process group");
        }
    }
}

/// Dropped half-way (an interrupted turn): stop the helper as on a timeout; the
/// wait and the backstop run on the runtime, since a drop cannot wait.
impl Drop for Supervised {
    fn drop(&mut self) {
        let (Some(pgid), Some(mut child)) = (self.pgid, self.child.take()) else {
            return;
        };
        self.signal_helper(libc::SIGTERM);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if tokio::time::timeout(DRAIN_GRACE, child.wait())
                        .await
                        .is_err()
                    {
                        tracing::warn!(pgid, "the sandbox helper did not stop; killing its group");
                    }
                    kill_group(pgid);
                    let _ = child.wait().await;
                });
            }
            Err(_) => kill_group(pgid),
        }
    }
}

/// The private `$TMPDIR` of one `workspace-write` command, removed afterwards.
struct PrivateTempDir {
    path: PathBuf,
    removed: bool,
}

impl PrivateTempDir {
    fn create() -> Result<PrivateTempDir, SandboxError> {
        use std::os::unix::fs::DirBuilderExt;

        let base = std::env::temp_dir();
        let mut last_error = None;
        for _ in 0..8 {
            let path = base.join(format!("agentls-cmd-{:016x}", fastrand::u64(..)));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    return Ok(PrivateTempDir {
                        path,
                        removed: false,
                    })
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    last_error = Some(error);
                }
                Err(error) => {
                    last_error = Some(error);
                    break;
                }
            }
        }
        Err(SandboxError::Setup(format!(
            "cannot create a private temporary directory in `{}`: {}",
            base.display(),
            last_error.map_or_else(|| "name collisions".to_owned(), |error| error.to_string())
        )))
    }

    async fn remove(mut self) {
        self.removed = true;
        let path = std::mem::take(&mut self.path);
        if let Err(error) = tokio::fs::remove_dir_all(&path).await {
            tracing::debug!(path = %path.display(), %error, "could not remove a command's temporary directory");
        }
    }
}

impl Drop for PrivateTempDir {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let path = std::mem::take(&mut self.path);
        // Dropped mid-run (an interrupted turn): remove it off the async threads
        // when there is a runtime, since the command may have filled it.
        let remove = move || {
            let _ = std::fs::remove_dir_all(&path);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(remove);
            }
            Err(_) => remove(),
        }
    }
}
