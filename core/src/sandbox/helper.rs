//! The helper mode, `agentls sandbox --policy … -- CMD…`: the process confines
//! itself and then becomes the command (exec), so the confinement is inherited by
//! everything the command starts and the server that spawned it stays free.

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::process::SandboxPolicy;

/// The name of the subcommand (`agentls sandbox`).
pub const SANDBOX_SUBCOMMAND: &str = "sandbox";

/// Exit status when the sandbox could not be set up (the command never ran).
pub(crate) const SETUP_FAILED_EXIT: i32 = 125;
/// Exit status when the command could not be executed (not found: 127, other: 126).
pub(crate) const NOT_FOUND_EXIT: i32 = 127;
pub(crate) const NOT_EXECUTABLE_EXIT: i32 = 126;
/// How the helper's own failures start on stderr, so the runner can tell them from
/// the command's.
pub(crate) const SETUP_FAILED_PREFIX: &str = "agentls sandbox: setup failed: ";
pub(crate) const EXEC_FAILED_PREFIX: &str = "agentls sandbox: could not run ";

/// The command line of `agentls sandbox`:
///
/// ```text
/// agentls sandbox [--policy read-only|workspace-write|full-access]
///                 [--writable-root DIR]… [--cwd DIR] [--tmpdir DIR] -- CMD [ARG]…
/// ```
///
/// `--policy` defaults to `workspace-write`; without `--writable-root` the working
/// directory is the one writable root; `--tmpdir` names a private temporary
/// directory that is writable and becomes `$TMPDIR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxArgs {
    pub policy: SandboxPolicy,
    pub writable_roots: Vec<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub tmpdir: Option<PathBuf>,
    pub command: Vec<OsString>,
}

/// A command line `agentls sandbox` cannot make sense of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxArgsError {
    #[error("unknown option `{0}` (usage: agentls sandbox --policy POLICY [--writable-root DIR]… [--cwd DIR] [--tmpdir DIR] -- CMD…)")]
    UnknownOption(String),
    #[error("option `{0}` needs a value")]
    MissingValue(String),
    #[error(transparent)]
    Policy(#[from] super::UnknownPolicy),
    #[error("no command given after `--`")]
    NoCommand,
}

impl SandboxArgs {
    /// A command run under `policy` with the defaults for everything else.
    pub fn new(policy: SandboxPolicy, command: Vec<OsString>) -> SandboxArgs {
        SandboxArgs {
            policy,
            writable_roots: Vec::new(),
            cwd: None,
            tmpdir: None,
            command,
        }
    }

    /// Parses the arguments that follow `sandbox` on the command line. Options end
    /// at `--` or at the first argument that is not an option.
    pub fn parse_from<I, S>(args: I) -> Result<SandboxArgs, SandboxArgsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut parsed = SandboxArgs::new(SandboxPolicy::WorkspaceWrite, Vec::new());
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let text = arg.to_string_lossy();
            if text == "--" {
                break;
            }
            if !text.starts_with("--") {
                parsed.command.push(arg);
                break;
            }
            let (option, inline) = match text.split_once('=') {
                Some((option, value)) => (option.to_owned(), Some(OsString::from(value))),
                None => (text.into_owned(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| SandboxArgsError::MissingValue(option.clone()))
            };
            match option.as_str() {
                "--policy" => parsed.policy = value()?.to_string_lossy().parse()?,
                "--writable-root" => parsed.writable_roots.push(value()?.into()),
                "--cwd" => parsed.cwd = Some(value()?.into()),
                "--tmpdir" => parsed.tmpdir = Some(value()?.into()),
                _ => return Err(SandboxArgsError::UnknownOption(option)),
            }
        }
        parsed.command.extend(args);
        if parsed.command.is_empty() {
            return Err(SandboxArgsError::NoCommand);
        }
        Ok(parsed)
    }

    /// The arguments that [`SandboxArgs::parse_from`] turns back into `self`
    /// (without the leading `sandbox`).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--policy".into(), self.policy.as_str().into()];
        for root in &self.writable_roots {
            args.push("--writable-root".into());
            args.push(root.into());
        }
        if let Some(cwd) = &self.cwd {
            args.push("--cwd".into());
            args.push(cwd.into());
        }
        if let Some(tmpdir) = &self.tmpdir {
            args.push("--tmpdir".into());
            args.push(tmpdir.into());
        }
        args.push("--".into());
        args.extend(self.command.iter().cloned());
        args
    }
}

/// Runs the helper mode: confines this process according to `args` and execs the
/// command. Returns only when that fails, with the exit status to exit with (125:
/// the sandbox could not be set up, 126/127: the command could not be executed);
/// the reason is on stderr.
///
/// Call it before starting any thread (no async runtime, no non-blocking log
/// writer): entering a mount namespace requires a single-threaded process, and
/// Landlock and seccomp confine only the calling thread until the exec.
pub fn sandbox_main(args: SandboxArgs) -> i32 {
    let Some(program) = args.command.first() else {
        return fail_setup(&"no command given after `--`");
    };
    if let Some(cwd) = &args.cwd {
        if let Err(error) = std::env::set_current_dir(cwd) {
            return fail_setup(&format_args!("cannot enter `{}`: {error}", cwd.display()));
        }
    }
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(error) => return fail_setup(&format_args!("no working directory: {error}")),
    };
    let mut writable_roots: Vec<PathBuf> = if args.writable_roots.is_empty() {
        vec![cwd.clone()]
    } else {
        args.writable_roots
            .iter()
            .map(|root| cwd.join(root))
            .collect()
    };
    let tmpdir = args.tmpdir.as_ref().map(|tmpdir| cwd.join(tmpdir));
    writable_roots.extend(tmpdir.clone());

    if args.policy.is_enforcing() {
        if let Err(error) = confine(args.policy, &writable_roots, tmpdir.as_deref()) {
            return fail_setup(&error);
        }
    }

    let mut command = std::process::Command::new(program);
    command.args(&args.command[1..]);
    if let Some(tmpdir) = &tmpdir {
        command.env("TMPDIR", tmpdir);
    }
    // `exec` only returns on failure.
    let error = command.exec();
    let status = if error.kind() == io::ErrorKind::NotFound {
        NOT_FOUND_EXIT
    } else {
        NOT_EXECUTABLE_EXIT
    };
    report(&format_args!(
        "{EXEC_FAILED_PREFIX}`{}`: {error}",
        Path::new(program).display()
    ));
    status
}

#[cfg(target_os = "linux")]
fn confine(
    policy: SandboxPolicy,
    writable_roots: &[PathBuf],
    tmpdir: Option<&Path>,
) -> Result<(), crate::process::SandboxError> {
    super::linux::confine(policy, writable_roots, tmpdir)
}

#[cfg(not(target_os = "linux"))]
fn confine(
    _policy: SandboxPolicy,
    _writable_roots: &[PathBuf],
    _tmpdir: Option<&Path>,
) -> Result<(), crate::process::SandboxError> {
    // Nothing to enforce with here; the runner reports it (`SandboxSupport`) and the
    // approval layer asks for every command instead.
    tracing::debug!("no sandbox on this platform; running the command unconfined");
    Ok(())
}

fn fail_setup(error: &dyn std::fmt::Display) -> i32 {
    report(&format_args!("{SETUP_FAILED_PREFIX}{error}"));
    SETUP_FAILED_EXIT
}

/// stderr is the command's stderr, which the runner reads: say what went wrong there
/// (there may be no log subscriber in the helper).
fn report(message: &dyn std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_args_round_trip() {
        let args = SandboxArgs {
            policy: SandboxPolicy::ReadOnly,
            writable_roots: vec!["/w/a".into(), "/w/b".into()],
            cwd: Some("/w/a".into()),
            tmpdir: Some("/tmp/x".into()),
            command: vec!["bash".into(), "-c".into(), "--policy".into()],
        };
        assert_eq!(SandboxArgs::parse_from(args.to_args()), Ok(args));
    }

    #[test]
    fn sandbox_args_parse() {
        let parsed = SandboxArgs::parse_from(["--policy=full-access", "ls", "-l"]).unwrap();
        assert_eq!(parsed.policy, SandboxPolicy::FullAccess);
        assert_eq!(parsed.command, ["ls", "-l"]);
        let parsed = SandboxArgs::parse_from(["--", "true"]).unwrap();
        assert_eq!(parsed.policy, SandboxPolicy::WorkspaceWrite);
        assert_eq!(
            SandboxArgs::parse_from(["--policy", "none", "--", "true"]),
            Err(SandboxArgsError::Policy(super::super::UnknownPolicy(
                "none".into()
            )))
        );
        assert_eq!(
            SandboxArgs::parse_from(["--net", "--", "true"]),
            Err(SandboxArgsError::UnknownOption("--net".into()))
        );
        assert_eq!(
            SandboxArgs::parse_from(["--policy"]),
            Err(SandboxArgsError::MissingValue("--policy".into()))
        );
        assert_eq!(
            SandboxArgs::parse_from(["--policy", "read-only", "--"]),
            Err(SandboxArgsError::NoCommand)
        );
    }
}
