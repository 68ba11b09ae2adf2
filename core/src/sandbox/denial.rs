//! Deciding whether a failed command failed because of the sandbox, on evidence:
//! only then does the loop offer to run it again outside the sandbox. Asking to
//! drop the sandbox when it did nothing (a failing test, a compiler error, a file
//! the user made unreadable) teaches users to click Allow.
//!
//! The helper does not see the command's system calls, so the evidence is read
//! from the output and checked against the policy and the file system:
//!
//! - **A file refusal** needs a line with the error the sandbox causes — Landlock's
//!   `EACCES` ("Permission denied", `os error 13`), the read-only `.git` mount's
//!   `EROFS` ("Read-only file system", `os error 30`) or `EBUSY` ("Device or
//!   resource busy", moving `.git` itself) — naming a path (on that line or the two
//!   before it, where Rust and Python tools put it) that the policy does not let
//!   the command write *and* that this user could write without the sandbox
//!   (access(2) from the unconfined runner, on the path or its nearest existing
//!   parent). A path inside the workspace (a `chmod 000` file, a script without
//!   its execute bit), or one the user cannot write anyway (`/etc` as a normal
//!   user, a read-only file system), is not the sandbox's doing.
//! - **A network refusal** needs a message about the network itself (a name that
//!   cannot be resolved, a connection that cannot be made, "Network is
//!   unreachable"), or "Operation not permitted" / `EPERM` next to a socket word
//!   (`socket`, `connect`, `bind`, `/dev/tcp`…). Under an enforcing policy every
//!   socket but a unix socket pair fails, so such a failure is always seccomp's.
//!
//! Nothing counts unless the policy enforces something, this machine's sandbox can
//! produce the error (files: Landlock; network: seccomp), the command did not
//! time out and it did not exit 0.

use std::path::{Path, PathBuf};

use crate::process::{CommandOutcome, SandboxPolicy};

use super::support::SandboxSupport;

#[cfg(target_os = "linux")]
use super::linux::WRITABLE_DEVICES;
#[cfg(not(target_os = "linux"))]
const WRITABLE_DEVICES: &[&str] = &[];

/// Lower-case fragments of the errors Landlock's `EACCES` and the `.git` mount's
/// `EROFS` and `EBUSY` produce.
const FILE_DENIALS: &[&str] = &[
    "permission denied",
    "read-only file system",
    "device or resource busy",
    "os error 13)",
    "os error 16)",
    "os error 30)",
    "[errno 13]",
    "[errno 30]",
    "eacces",
    "erofs",
    "ebusy",
];

/// Lower-case messages that are about the network whatever else is on the line.
const NETWORK_DENIALS: &[&str] = &[
    "could not resolve host",
    "couldn't resolve host",
    "temporary failure in name resolution",
    "failed to resolve",
    "name or service not known",
    "eai_again",
    "couldn't connect to server",
    "immediate connect fail",
    "network is unreachable",
];

/// seccomp's errno, which counts only next to one of [`SOCKET_WORDS`].
const EPERM_MESSAGES: &[&str] = &[
    "operation not permitted",
    "os error 1)",
    "[errno 1]",
    "eperm",
];

/// Words that put an `EPERM` on a socket.
const SOCKET_WORDS: &[&str] = &[
    "socket", "connect", "bind", "listen", "accept", "/dev/tcp", "/dev/udp", "network",
];

/// How many lines before a denial line may name its path or its socket call.
const CONTEXT_LINES: usize = 2;

/// How many lines [`describe_denial`] quotes.
const QUOTED_LINES: usize = 5;
/// How long a quoted line may be.
const QUOTED_LINE_CHARS: usize = 240;

/// What a command was allowed to do, to judge its failure against.
pub(crate) struct DenialContext<'a> {
    pub(crate) policy: SandboxPolicy,
    pub(crate) support: &'a SandboxSupport,
    /// The command's working directory (relative paths in messages are relative
    /// to it).
    pub(crate) cwd: &'a Path,
    /// The workspace roots it may write under `workspace-write` (their `.git`
    /// excepted).
    pub(crate) writable_roots: &'a [PathBuf],
    /// Its private `$TMPDIR`.
    pub(crate) tmpdir: Option<&'a Path>,
}

impl DenialContext<'_> {
    /// Whether the policy lets the command write `path` (absolute).
    fn policy_allows_writing(&self, path: &Path) -> bool {
        if WRITABLE_DEVICES
            .iter()
            .any(|device| path == Path::new(device))
        {
            return true;
        }
        match self.policy {
            SandboxPolicy::FullAccess => true,
            SandboxPolicy::ReadOnly => false,
            SandboxPolicy::WorkspaceWrite => {
                self.tmpdir.is_some_and(|tmpdir| path.starts_with(tmpdir))
                    || self
                        .writable_roots
                        .iter()
                        .any(|root| path.starts_with(root) && !path.starts_with(root.join(".git")))
            }
        }
    }
}

/// Whether the outcome shows the sandbox refusing something, on the evidence the
/// module docs describe. `writable_unconfined` says whether this user could write
/// a path without the sandbox (the runner asks the kernel; unit tests a table).
pub(crate) fn looks_denied(
    context: &DenialContext<'_>,
    outcome: &CommandOutcome,
    writable_unconfined: &dyn Fn(&Path) -> bool,
) -> bool {
    if !context.policy.is_enforcing() || outcome.timed_out || outcome.exit_code == Some(0) {
        return false;
    }
    denial_lines(outcome).any(|denial| match denial.kind {
        DenialKind::File => {
            context.support.landlock.is_available()
                && mentioned_paths(&denial.context, context.cwd)
                    .chain(error_subject(&denial.line, context.cwd))
                    .any(|path| !context.policy_allows_writing(&path) && writable_unconfined(&path))
        }
        DenialKind::Network => context.support.seccomp,
    })
}

/// Whether this (unconfined) process could write `path`, or create it: access(2)
/// on the path, else on its nearest existing parent. `EROFS` and `EACCES` both
/// say no.
pub(crate) fn writable_unconfined(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;

    let Some(existing) = path
        .ancestors()
        .find(|ancestor| ancestor.symlink_metadata().is_ok())
    else {
        return false;
    };
    let Ok(c_path) = std::ffi::CString::new(existing.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is a NUL-terminated string alive for the call.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
}

/// The paths a message names: quoted words ('…', "…", `…`, ‘…’) and bare words
/// with a `/` in them or starting with `.`, resolved against `cwd`. Only what the
/// policy forbids and the user could otherwise write counts, so a word that is
/// not a path costs nothing.
fn mentioned_paths<'a>(text: &'a str, cwd: &'a Path) -> impl Iterator<Item = PathBuf> + 'a {
    const QUOTES: [char; 5] = ['\'', '"', '`', '\u{2018}', '\u{2019}'];
    let mut words: Vec<&str> = Vec::new();
    for line in text.lines() {
        for (index, piece) in line.split(QUOTES).enumerate() {
            if index % 2 == 1 {
                // Quoted: a name whatever its shape (`rm: cannot remove 'README'`).
                words.push(piece);
            } else {
                words.extend(
                    piece
                        .split_whitespace()
                        .map(|word| {
                            word.trim_matches(|c: char| {
                                matches!(c, ':' | ',' | ';' | '(' | ')' | '[' | ']')
                            })
                        })
                        .filter(|word| word.contains('/') || word.starts_with('.')),
                );
            }
        }
    }
    words
        .into_iter()
        .filter(|word| !word.is_empty() && !word.contains("://"))
        .map(move |word| normalize(&cwd.join(word)))
}

/// The `PATH` of `prog: PATH: Permission denied`, the shape of shell and
/// coreutils errors, also when it is a bare file name (`bash: out.txt: …`).
fn error_subject(line: &str, cwd: &Path) -> Option<PathBuf> {
    let lower = line.to_lowercase();
    let at = FILE_DENIALS
        .iter()
        .filter_map(|needle| lower.find(needle))
        .min()?;
    let before = line.get(..at)?.trim_end().strip_suffix(':')?;
    let subject = before.rsplit(": ").next()?.trim();
    if subject.is_empty() || subject.contains(char::is_whitespace) {
        return None;
    }
    Some(normalize(&cwd.join(subject)))
}

/// `a/./b/../c` as `a/c`, without touching the file system (the path may not
/// exist; a symlink in it leads the sandbox and access(2) to the same place).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;

    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// What the sandbox refused, for the model, when the outcome says it refused
/// something: the lines of output that show it, what the sandbox allows, and that
/// a re-run outside the sandbox needs the user's approval.
pub fn describe_denial(outcome: &CommandOutcome) -> Option<String> {
    if !outcome.sandbox_denied {
        return None;
    }
    let mut file = false;
    let mut network = false;
    let mut quoted = String::new();
    for DenialLine { line, kind, .. } in denial_lines(outcome).take(QUOTED_LINES) {
        match kind {
            DenialKind::File => file = true,
            DenialKind::Network => network = true,
        }
        let line: String = line.trim().chars().take(QUOTED_LINE_CHARS).collect();
        quoted.push_str("\n    ");
        quoted.push_str(&line);
    }
    let what = match (file, network) {
        (true, true) => "a file write and a network access",
        (false, true) => "a network access",
        _ => "a file write",
    };
    Some(format!(
        "The sandbox probably refused {what} this command attempted:{quoted}\n\
         Sandboxed commands have no network, cannot write into `.git`, and can write \
         nowhere but the workspace roots and $TMPDIR (under read-only: nowhere). \
         Do not try to work around the sandbox. If the command really needs this \
         access, ask to run it again outside the sandbox: the user has to approve that."
    ))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DenialKind {
    File,
    Network,
}

/// A line of output with a denial message, and the lines before it that may
/// name what was refused.
struct DenialLine {
    line: String,
    /// The line with up to [`CONTEXT_LINES`] lines before it.
    context: String,
    kind: DenialKind,
}

/// Lines of stderr then stdout that carry a denial message.
fn denial_lines(outcome: &CommandOutcome) -> impl Iterator<Item = DenialLine> + '_ {
    [&outcome.stderr, &outcome.stdout]
        .into_iter()
        .flat_map(|bytes| {
            let lines: Vec<String> = bytes
                .split(|&byte| byte == b'\n')
                .map(|line| String::from_utf8_lossy(line).into_owned())
                .collect();
            let mut found = Vec::new();
            for (index, line) in lines.iter().enumerate() {
                let context = lines[index.saturating_sub(CONTEXT_LINES)..=index].join("\n");
                let lower = line.to_lowercase();
                let kind = if FILE_DENIALS.iter().any(|needle| lower.contains(needle)) {
                    DenialKind::File
                } else if NETWORK_DENIALS.iter().any(|needle| lower.contains(needle))
                    || (EPERM_MESSAGES.iter().any(|needle| lower.contains(needle))
                        && SOCKET_WORDS
                            .iter()
                            .any(|word| context.to_lowercase().contains(word)))
                {
                    DenialKind::Network
                } else {
                    continue;
                };
                found.push(DenialLine {
                    line: line.clone(),
                    context,
                    kind,
                });
            }
            found
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sandbox::support::LandlockSupport;

    fn outcome(exit_code: Option<i32>, stderr: &str) -> CommandOutcome {
        CommandOutcome {
            exit_code,
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
            timed_out: false,
            sandbox_denied: false,
            duration: Duration::from_millis(3),
            notes: Vec::new(),
        }
    }

    fn full() -> SandboxSupport {
        SandboxSupport {
            landlock: LandlockSupport::Full { abi: 6 },
            seccomp: true,
            containment: crate::sandbox::ProcessContainment::Subreaper,
        }
    }

    /// One case: the policy, the output, whether it is the sandbox's doing.
    struct Case {
        name: &'static str,
        policy: SandboxPolicy,
        exit_code: Option<i32>,
        stderr: &'static str,
        denied: bool,
    }

    /// The workspace is `/ws` (`.git` inside), `$TMPDIR` is `/tmp/agentls-cmd-1`;
    /// without the sandbox this user can write everything but `/usr` and `/proc`.
    fn judge(case: &Case, support: &SandboxSupport) -> bool {
        let roots = [PathBuf::from("/ws")];
        let context = DenialContext {
            policy: case.policy,
            support,
            cwd: Path::new("/ws/src"),
            writable_roots: &roots,
            tmpdir: Some(Path::new("/tmp/agentls-cmd-1")),
        };
        let unconfined = |path: &Path| !path.starts_with("/usr") && !path.starts_with("/proc");
        looks_denied(&context, &outcome(case.exit_code, case.stderr), &unconfined)
    }

    #[test]
    fn sandbox_escalates_only_on_evidence_of_a_denial() {
        use SandboxPolicy::{FullAccess, ReadOnly, WorkspaceWrite};
        let cases = [
            Case {
                name: "a write outside the workspace",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "touch: cannot touch '/etc/x': Permission denied\n",
                denied: true,
            },
            Case {
                name: "the same under full-access",
                policy: FullAccess,
                exit_code: Some(1),
                stderr: "touch: cannot touch '/etc/x': Permission denied\n",
                denied: false,
            },
            Case {
                name: "a relative path into .git",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "bash: ../.git/HEAD: Read-only file system\n",
                denied: true,
            },
            Case {
                name: "a Rust error naming the path on the line before",
                policy: WorkspaceWrite,
                exit_code: Some(101),
                stderr: "error: failed to write `/home/me/.cargo/registry/x`\n\nCaused by:\n  Permission denied (os error 13)\n",
                denied: false,
            },
            Case {
                name: "a Rust error naming the path just before",
                policy: WorkspaceWrite,
                exit_code: Some(101),
                stderr: "error: failed to write `/home/me/.cargo/registry/x`\nCaused by: Permission denied (os error 13)\n",
                denied: true,
            },
            Case {
                name: "a Python PermissionError outside",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "PermissionError: [Errno 13] Permission denied: '/root/.cache/x'\n",
                denied: true,
            },
            Case {
                name: "any workspace write under read-only",
                policy: ReadOnly,
                exit_code: Some(1),
                stderr: "bash: out.txt: Permission denied\n",
                denied: true,
            },
            Case {
                name: "a failing Python test",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "F\n======\nFAIL: test_add (__main__.TestCalc.test_add)\nTraceback (most recent call last):\n  File \"/ws/test_calc.py\", line 5, in test_add\n    self.assertEqual(add(2, 2), 4)\nAssertionError: 0 != 4\n\nFAILED (failures=1)\n",
                denied: false,
            },
            Case {
                name: "a compiler error",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "error[E0308]: mismatched types\n --> src/main.rs:2:5\n",
                denied: false,
            },
            Case {
                name: "permission denied on a file inside the workspace",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "cat: secret.txt: Permission denied\nbash: ./run.sh: Permission denied\n",
                denied: false,
            },
            Case {
                name: "permission denied in $TMPDIR",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "bash: /tmp/agentls-cmd-1/x: Permission denied\n",
                denied: false,
            },
            Case {
                name: "a path the user cannot write anyway",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "cp: cannot create regular file '/usr/bin/x': Permission denied\n",
                denied: false,
            },
            Case {
                name: "permission denied without a path",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "Error: Permission denied\n",
                denied: false,
            },
            Case {
                name: "a test named after permissions that passed",
                policy: WorkspaceWrite,
                exit_code: Some(0),
                stderr: "test /etc/passwd: Permission denied ... ok\n",
                denied: false,
            },
            Case {
                name: "kill of a process not ours",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "bash: kill: (1) - Operation not permitted\n",
                denied: false,
            },
            Case {
                name: "curl",
                policy: ReadOnly,
                exit_code: Some(7),
                stderr: "curl: (7) Immediate connect fail for 127.0.0.1: Operation not permitted\n",
                denied: true,
            },
            Case {
                name: "bash /dev/tcp",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "bash: socket: Operation not permitted\nbash: /dev/tcp/127.0.0.1/80: Operation not permitted\n",
                denied: true,
            },
            Case {
                name: "a Python socket traceback",
                policy: WorkspaceWrite,
                exit_code: Some(1),
                stderr: "  File \"/usr/lib/python3.11/socket.py\", line 232, in __init__\n    _socket.socket.__init__(self, family, type, proto, fileno)\nPermissionError: [Errno 1] Operation not permitted\n",
                denied: true,
            },
            Case {
                name: "a name that cannot be resolved",
                policy: WorkspaceWrite,
                exit_code: Some(6),
                stderr: "curl: (6) Could not resolve host: example.com\n",
                denied: true,
            },
        ];
        let mut wrong = Vec::new();
        for case in &cases {
            if judge(case, &full()) != case.denied {
                wrong.push(case.name);
            }
        }
        assert!(wrong.is_empty(), "misjudged: {wrong:?}");
    }

    #[test]
    fn sandbox_denial_needs_the_mechanism_that_refuses() {
        let no_landlock = SandboxSupport {
            landlock: LandlockSupport::Unavailable { reason: "x".into() },
            seccomp: true,
            containment: crate::sandbox::ProcessContainment::Subreaper,
        };
        let file = Case {
            name: "a write outside",
            policy: SandboxPolicy::WorkspaceWrite,
            exit_code: Some(1),
            stderr: "touch: cannot touch '/etc/x': Permission denied\n",
            denied: true,
        };
        assert!(judge(&file, &full()));
        assert!(!judge(&file, &no_landlock));
        let network = Case {
            name: "curl",
            stderr: "curl: (6) Could not resolve host: example.com\n",
            ..file
        };
        assert!(judge(&network, &no_landlock));
        let no_seccomp = SandboxSupport {
            seccomp: false,
            ..full()
        };
        assert!(!judge(&network, &no_seccomp));
    }

    #[test]
    fn sandbox_describe_denial_quotes_the_lines() {
        let mut denied = outcome(
            Some(1),
            "building\nbash: /etc/x: Permission denied\nbash: connect: Operation not permitted\n",
        );
        assert_eq!(describe_denial(&denied), None);
        denied.sandbox_denied = true;
        let description = describe_denial(&denied).unwrap();
        assert!(description.starts_with(
            "The sandbox probably refused a file write and a network access this command \
             attempted:\n    bash: /etc/x: Permission denied\n    bash: connect: Operation \
             not permitted\n"
        ));
    }
}
