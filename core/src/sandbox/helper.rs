//! The helper mode, `agentls sandbox --policy … -- CMD…`: the process confines
//! itself and then starts the command under its supervision (contain.rs), so the
//! confinement is inherited by everything the command starts, everything it
//! starts dies with it, and the server that spawned it stays free.

use std::ffi::{OsStr, OsString};
#[cfg(not(target_os = "linux"))]
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::process::SandboxPolicy;

use super::env_scrub::{is_secret_env, scrub_env};
use super::support::{ProcessContainment, SandboxSupport};

#[cfg(target_os = "linux")]
use super::linux::WRITABLE_DEVICES;
/// Nothing is confined here, so no exception to list.
#[cfg(not(target_os = "linux"))]
const WRITABLE_DEVICES: &[&str] = &[];

/// The name of the subcommand (`agentls sandbox`).
pub const SANDBOX_SUBCOMMAND: &str = "sandbox";

use super::exit::{fail_setup, report};
pub(crate) use super::exit::{
    EXEC_FAILED_PREFIX, NOT_EXECUTABLE_EXIT, NOT_FOUND_EXIT, SETUP_FAILED_EXIT, SETUP_FAILED_PREFIX,
};

/// The command line of `agentls sandbox`, parsed with clap both where a user
/// types it and where the runner starts the helper:
///
/// ```text
/// agentls sandbox [--policy read-only|workspace-write|full-access]
///                 [--writable-root DIR]… [--cwd DIR] [--tmpdir DIR]
///                 [--pass-env NAME]… [--secret-env NAME]… [--explain] -- CMD [ARG]…
/// ```
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct SandboxArgs {
    /// What the command may do: read-only (read everything, write nothing),
    /// workspace-write (write the working directory, or each --writable-root, except
    /// their .git), full-access (no confinement). Both confining policies refuse the
    /// network.
    #[arg(long, value_name = "POLICY", default_value_t = SandboxPolicy::WorkspaceWrite)]
    pub policy: SandboxPolicy,
    /// A directory the command may write under workspace-write (repeatable; default:
    /// the working directory).
    #[arg(long = "writable-root", value_name = "DIR")]
    pub writable_roots: Vec<PathBuf>,
    /// The working directory to run the command in (default: the current one).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// A private temporary directory: writable, and the command's $TMPDIR.
    #[arg(long, value_name = "DIR")]
    pub tmpdir: Option<PathBuf>,
    /// Pass this variable to the command although its name looks secret
    /// (repeatable; added to the configuration's `[sandbox] pass_env`).
    #[arg(long = "pass-env", value_name = "NAME")]
    pub pass_env: Vec<String>,
    /// Never pass this variable to the command, whatever its name (repeatable; the
    /// provider's `api_key_env` is added from the configuration).
    #[arg(long = "secret-env", value_name = "NAME")]
    pub secret_env: Vec<String>,
    /// Print to stderr, before running the command, what it may write and read,
    /// whether it may reach the network, and which environment variables it does
    /// not get (names only).
    #[arg(long)]
    pub explain: bool,
    /// Show the command FILE's content at PATH instead of what is on disk, in
    /// the command's own mount namespace (repeatable): how agent commands see the
    /// editor's unsaved buffers. The disk is not touched; the command's writes
    /// to PATH go to FILE. Fails when no mount namespace can be had.
    #[arg(long = "overlay", value_name = "PATH=FILE", value_parser = parse_overlay)]
    pub overlays: Vec<(PathBuf, PathBuf)>,
    /// Supervise the command as a subreaper even where a PID namespace is
    /// available (tests of the fall-back).
    #[arg(long, hide = true)]
    pub subreaper: bool,
    /// The command and its arguments (after `--` when the first starts with `-`).
    #[arg(
        value_name = "CMD",
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    pub command: Vec<OsString>,
}

/// A command line `agentls sandbox` cannot make sense of, as clap words it (the
/// offending option or value, and the usage).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SandboxArgsError(pub String);

impl SandboxArgs {
    /// A command run under `policy` with the defaults for everything else.
    pub fn new(policy: SandboxPolicy, command: Vec<OsString>) -> SandboxArgs {
        SandboxArgs {
            policy,
            writable_roots: Vec::new(),
            cwd: None,
            tmpdir: None,
            pass_env: Vec::new(),
            secret_env: Vec::new(),
            explain: false,
            overlays: Vec::new(),
            subreaper: false,
            command,
        }
    }

    /// Parses the arguments that follow `sandbox` on the command line, as
    /// `agentls sandbox` does. Options end at `--` or at the first argument that
    /// is not an option.
    pub fn parse_from<I, S>(args: I) -> Result<SandboxArgs, SandboxArgsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        use clap::{Args, FromArgMatches};

        let command = SandboxArgs::augment_args(
            clap::Command::new(SANDBOX_SUBCOMMAND)
                .bin_name(format!("agentls {SANDBOX_SUBCOMMAND}"))
                .no_binary_name(true),
        );
        command
            .try_get_matches_from(args.into_iter().map(Into::into))
            .and_then(|matches| SandboxArgs::from_arg_matches(&matches))
            .map_err(|error| SandboxArgsError(error.render().to_string().trim_end().to_owned()))
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
        for name in &self.pass_env {
            args.push("--pass-env".into());
            args.push(name.into());
        }
        for name in &self.secret_env {
            args.push("--secret-env".into());
            args.push(name.into());
        }
        if self.explain {
            args.push("--explain".into());
        }
        for (path, file) in &self.overlays {
            let mut pair = OsString::from(path);
            pair.push("=");
            pair.push(file);
            args.push("--overlay".into());
            args.push(pair);
        }
        if self.subreaper {
            args.push("--subreaper".into());
        }
        args.push("--".into());
        args.extend(self.command.iter().cloned());
        args
    }
}

/// Runs the helper mode: confines this process according to `args`, runs the
/// command under its supervision and returns the exit status to exit with: the
/// command's, 125 when the sandbox could not be set up, 126/127 when the command
/// could not be executed (the reason is on stderr). When the command was ended by
/// a signal, or the helper was told to stop by one, the helper ends itself with
/// that signal instead of returning.
///
/// Call it before starting any thread (no async runtime, no non-blocking log
/// writer): entering namespaces and forking require a single-threaded process,
/// and Landlock and seccomp confine only the calling thread.
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

    // The same scrubbing as the runner's, here too so that a user's
    // `agentls sandbox` gives the command what the agent's commands get.
    let inherited: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let kept = scrub_env(inherited.iter().cloned(), &args.pass_env, &args.secret_env);
    if args.explain {
        let decisions = Decisions {
            policy: args.policy,
            cwd: &cwd,
            writable_roots: &writable_roots,
            tmpdir: tmpdir.as_deref(),
            removed: removed_names(&inherited, &kept),
            passed: passed_secret_names(&kept, &args.pass_env),
            support: super::support::sandbox_support(),
            containment: match super::support::sandbox_support().containment_for(args.policy) {
                ProcessContainment::PidNamespace { .. } if args.subreaper => {
                    ProcessContainment::Subreaper
                }
                containment => containment,
            },
        };
        report(&decisions);
    }

    let mut command = std::process::Command::new(program);
    command.args(&args.command[1..]).env_clear().envs(kept);
    if let Some(tmpdir) = &tmpdir {
        command.env("TMPDIR", tmpdir);
    }
    let overlays: Vec<(PathBuf, PathBuf)> = args
        .overlays
        .iter()
        .map(|(path, file)| (cwd.join(path), cwd.join(file)))
        .collect();
    run_confined(
        args.policy,
        &writable_roots,
        tmpdir.as_deref(),
        &overlays,
        args.subreaper,
        command,
    )
}

/// `PATH=FILE` of `--overlay`.
fn parse_overlay(value: &str) -> Result<(PathBuf, PathBuf), String> {
    match value.split_once('=') {
        Some((path, file)) if !path.is_empty() && !file.is_empty() => {
            Ok((PathBuf::from(path), PathBuf::from(file)))
        }
        _ => Err(format!("expected PATH=FILE, got {value:?}")),
    }
}

/// Confines this process and runs `command` under the process containment this
/// machine allows (contain.rs): every process the command starts dies with it.
#[cfg(target_os = "linux")]
fn run_confined(
    policy: SandboxPolicy,
    writable_roots: &[PathBuf],
    tmpdir: Option<&Path>,
    overlays: &[(PathBuf, PathBuf)],
    subreaper: bool,
    command: std::process::Command,
) -> i32 {
    use super::contain;

    // A full-access command sees the real system: no namespaces for it.
    let namespaces = if policy.is_enforcing() {
        match super::linux::enter_namespaces(!subreaper) {
            Ok(Ok(namespaces)) => Some(namespaces),
            Ok(Err(error)) => {
                tracing::debug!(%error, "no namespaces here; supervising as a subreaper");
                None
            }
            Err(error) => return fail_setup(&error),
        }
    } else {
        None
    };
    let containment = match namespaces {
        Some(namespaces) if namespaces.pid => ProcessContainment::PidNamespace {
            user_namespace: namespaces.user,
        },
        _ => ProcessContainment::Subreaper,
    };
    let in_mount_namespace = namespaces.is_some_and(|namespaces| namespaces.mount);
    if !overlays.is_empty() {
        if !in_mount_namespace {
            return fail_setup(&format_args!(
                "--overlay needs a private mount namespace, which {} here",
                if policy.is_enforcing() {
                    "this machine does not give"
                } else {
                    "a full-access command does not get"
                }
            ));
        }
        if let Err(error) = super::linux::bind_overlays(overlays) {
            return fail_setup(&error);
        }
    }
    if policy.is_enforcing() {
        if let Err(error) =
            super::linux::confine(policy, writable_roots, tmpdir, in_mount_namespace)
        {
            return fail_setup(&error);
        }
    }
    contain::run(containment, command)
}

/// Elsewhere nothing confines or contains: the command replaces the helper.
#[cfg(not(target_os = "linux"))]
fn run_confined(
    _policy: SandboxPolicy,
    _writable_roots: &[PathBuf],
    _tmpdir: Option<&Path>,
    overlays: &[(PathBuf, PathBuf)],
    _subreaper: bool,
    mut command: std::process::Command,
) -> i32 {
    if !overlays.is_empty() {
        return fail_setup(&"--overlay needs a Linux mount namespace");
    }
    // Nothing to enforce with here; the runner reports it (`SandboxSupport`) and the
    // approval layer asks for every command instead.
    tracing::debug!("no sandbox on this platform; running the command unconfined");
    let error = command.exec();
    let status = if error.kind() == io::ErrorKind::NotFound {
        NOT_FOUND_EXIT
    } else {
        NOT_EXECUTABLE_EXIT
    };
    report(&format_args!(
        "{EXEC_FAILED_PREFIX}`{}`: {error}",
        Path::new(command.get_program()).display()
    ));
    status
}

/// The names of the variables `inherited` has and `kept` lacks, sorted.
fn removed_names(inherited: &[(OsString, OsString)], kept: &[(OsString, OsString)]) -> Vec<String> {
    let mut removed: Vec<String> = inherited
        .iter()
        .filter(|(name, _)| !kept.iter().any(|(kept, _)| kept == name))
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .collect();
    removed.sort();
    removed.dedup();
    removed
}

/// The secret-looking variables kept because `pass_env` names them, sorted.
fn passed_secret_names(kept: &[(OsString, OsString)], pass_env: &[String]) -> Vec<String> {
    let mut passed: Vec<String> = kept
        .iter()
        .filter(|(name, value)| {
            is_secret_env(name, value) && pass_env.iter().any(|pass| OsStr::new(pass) == name)
        })
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .collect();
    passed.sort();
    passed
}

/// What `--explain` prints: the policy's decisions for this run. Variable names
/// only, never their values.
struct Decisions<'a> {
    policy: SandboxPolicy,
    cwd: &'a Path,
    writable_roots: &'a [PathBuf],
    tmpdir: Option<&'a Path>,
    removed: Vec<String>,
    passed: Vec<String>,
    support: &'a SandboxSupport,
    containment: ProcessContainment,
}

impl std::fmt::Display for Decisions<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |names: &[String]| {
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        writeln!(
            formatter,
            "agentls sandbox: policy {} in {}",
            self.policy,
            self.cwd.display()
        )?;
        match self.policy {
            SandboxPolicy::FullAccess => {
                writeln!(formatter, "  writable: everything this user can write")?;
            }
            SandboxPolicy::ReadOnly => {
                writeln!(
                    formatter,
                    "  writable: nothing but {}",
                    WRITABLE_DEVICES.join(", ")
                )?;
            }
            SandboxPolicy::WorkspaceWrite => {
                let roots: Vec<String> = self
                    .writable_roots
                    .iter()
                    .map(|root| match self.tmpdir {
                        Some(tmpdir) if tmpdir == root => format!("{} ($TMPDIR)", root.display()),
                        _ => root.display().to_string(),
                    })
                    .chain(WRITABLE_DEVICES.iter().map(|device| (*device).to_owned()))
                    .collect();
                writeln!(formatter, "  writable: {}", roots.join(", "))?;
                let git_dirs: Vec<String> = self
                    .writable_roots
                    .iter()
                    .filter(|root| Some(root.as_path()) != self.tmpdir)
                    .map(|root| root.join(".git"))
                    .filter(|git| git.symlink_metadata().is_ok())
                    .map(|git| git.display().to_string())
                    .collect();
                if !git_dirs.is_empty() {
                    writeln!(
                        formatter,
                        "  read-only inside them: {}",
                        git_dirs.join(", ")
                    )?;
                }
            }
        }
        writeln!(formatter, "  readable: everything this user can read")?;
        if self.policy.is_enforcing() {
            writeln!(
                formatter,
                "  network: refused (only unix sockets can be created, and connect, bind and listen fail on those too)"
            )?;
        } else {
            writeln!(formatter, "  network: allowed")?;
        }
        writeln!(formatter, "  processes: {}", self.containment.describe())?;
        writeln!(formatter, "  environment removed: {}", list(&self.removed))?;
        if !self.passed.is_empty() {
            writeln!(
                formatter,
                "  environment passed although secret-looking (pass_env): {}",
                list(&self.passed)
            )?;
        }
        if self.policy.is_enforcing() {
            match self.support.warning() {
                Some(warning) => write!(formatter, "  enforcement: {}", warning.message)?,
                None => write!(formatter, "  enforcement: Landlock and seccomp")?,
            }
        } else {
            write!(formatter, "  enforcement: none (full-access)")?;
        }
        Ok(())
    }
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
            pass_env: vec!["GH_TOKEN".into()],
            secret_env: vec!["MY_LLM".into()],
            explain: true,
            overlays: vec![("/w/a/src/lib.rs".into(), "/tmp/x/unsaved-0".into())],
            subreaper: true,
            command: vec!["bash".into(), "-c".into(), "--policy".into()],
        };
        assert_eq!(SandboxArgs::parse_from(args.to_args()), Ok(args));
    }

    fn parse_error(args: &[&str]) -> String {
        SandboxArgs::parse_from(args).expect_err("a usage error").0
    }

    #[test]
    fn sandbox_args_parse() {
        let parsed = SandboxArgs::parse_from(["--policy=full-access", "ls", "-l"]).unwrap();
        assert_eq!(parsed.policy, SandboxPolicy::FullAccess);
        assert_eq!(parsed.command, ["ls", "-l"]);
        let parsed = SandboxArgs::parse_from(["--", "true"]).unwrap();
        assert_eq!(parsed.policy, SandboxPolicy::WorkspaceWrite);
        assert!(!parsed.explain);
        let parsed = SandboxArgs::parse_from(["--explain", "--", "ls", "--help"]).unwrap();
        assert!(parsed.explain);
        assert_eq!(parsed.command, ["ls", "--help"]);

        let error = parse_error(&["--policy", "none", "--", "true"]);
        assert!(
            error.contains("invalid value 'none' for '--policy <POLICY>'")
                && error.contains("[possible values: read-only, workspace-write, full-access]"),
            "{error}"
        );
        let error = parse_error(&["--net", "--", "true"]);
        assert!(error.contains("unexpected argument '--net'"), "{error}");
        let error = parse_error(&["--policy"]);
        assert!(
            error.contains("a value is required for '--policy <POLICY>'"),
            "{error}"
        );
        let error = parse_error(&["--policy", "read-only", "--"]);
        assert!(error.contains("<CMD>..."), "{error}");
        assert!(error.contains("Usage: agentls sandbox"), "{error}");
    }

    #[test]
    fn sandbox_explain_names_removed_variables_never_values() {
        let inherited: Vec<(OsString, OsString)> = [
            ("PATH", "/bin"),
            ("OPENAI_API_KEY", "sk-value-1"),
            ("GH_TOKEN", "gh-value-2"),
            ("MY_LLM", "value-3"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)))
        .to_vec();
        let pass_env = ["GH_TOKEN".to_owned()];
        let kept = scrub_env(inherited.iter().cloned(), &pass_env, &["MY_LLM".to_owned()]);
        let roots = [PathBuf::from("/w"), PathBuf::from("/t")];
        let decisions = Decisions {
            policy: SandboxPolicy::WorkspaceWrite,
            cwd: Path::new("/w"),
            writable_roots: &roots,
            tmpdir: Some(Path::new("/t")),
            removed: removed_names(&inherited, &kept),
            passed: passed_secret_names(&kept, &pass_env),
            support: &SandboxSupport::unavailable("no Landlock in this test"),
            containment: ProcessContainment::Subreaper,
        }
        .to_string();
        assert!(
            decisions.contains("policy workspace-write in /w"),
            "{decisions}"
        );
        assert!(
            decisions.contains("writable: /w, /t ($TMPDIR)"),
            "{decisions}"
        );
        assert!(decisions.contains("network: refused"), "{decisions}");
        assert!(
            decisions.contains("environment removed: MY_LLM, OPENAI_API_KEY\n"),
            "{decisions}"
        );
        assert!(decisions.contains("(pass_env): GH_TOKEN"), "{decisions}");
        assert!(
            decisions.contains("no Landlock in this test"),
            "{decisions}"
        );
        assert!(!decisions.contains("value"), "{decisions}");
    }
}
