//! Guessing whether a failed command failed because of the sandbox. The helper
//! execs the command, so nothing reports denials directly; the errors the sandbox
//! causes have recognisable messages instead:
//!
//! - Landlock refuses file-system writes with `EACCES` ("Permission denied",
//!   `os error 13`),
//! - the read-only bind mount over `.git` with `EROFS` ("Read-only file system",
//!   `os error 30`), and with `EBUSY` ("Device or resource busy") when the command
//!   tries to move or remove `.git` itself,
//! - seccomp refuses `socket(AF_INET…)`, `connect` and friends with `EPERM`
//!   ("Operation not permitted", `os error 1`), which resolvers report as a name
//!   that cannot be resolved and curl as "Couldn't connect to server" (under an
//!   enforcing policy no connection can succeed, so any such failure is ours).
//!
//! A command counts as denied when its policy enforces something, it did not time
//! out, it exited non-zero (or by a signal), and its stdout or stderr contains one
//! of those messages that this machine's sandbox can actually produce (file
//! messages only where Landlock works, network messages only where seccomp
//! does). False positives (a genuine permission error under the sandbox) only
//! cost the user an escalation prompt they can refuse; docs/security.md says so.

use crate::process::{CommandOutcome, SandboxPolicy};

use super::support::SandboxSupport;

/// Lower-case fragments of the messages Landlock's `EACCES` and the `.git` mount's
/// `EROFS` and `EBUSY` produce.
const FILE_DENIALS: &[&str] = &[
    "permission denied",
    "read-only file system",
    "device or resource busy",
    "os error 13)",
    "os error 16)",
    "os error 30)",
    "eacces",
    "erofs",
    "ebusy",
];

/// Lower-case fragments of the messages seccomp's `EPERM` on sockets produces.
const NETWORK_DENIALS: &[&str] = &[
    "operation not permitted",
    "os error 1)",
    "eperm",
    "could not resolve host",
    "couldn't resolve host",
    "temporary failure in name resolution",
    "failed to resolve",
    "eai_again",
    "couldn't connect to server",
    "failed to connect to",
];

/// How many lines [`describe_denial`] quotes.
const QUOTED_LINES: usize = 5;
/// How long a quoted line may be.
const QUOTED_LINE_CHARS: usize = 240;

/// Whether the outcome of a command run under `policy` looks like the sandbox's doing.
pub(crate) fn looks_denied(
    policy: SandboxPolicy,
    support: &SandboxSupport,
    outcome: &CommandOutcome,
) -> bool {
    if !policy.is_enforcing() || outcome.timed_out || outcome.exit_code == Some(0) {
        return false;
    }
    denial_lines(outcome).any(|(_, kind)| match kind {
        DenialKind::File => support.landlock.is_available(),
        DenialKind::Network => support.seccomp,
    })
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
    for (line, kind) in denial_lines(outcome).take(QUOTED_LINES) {
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

/// Lines of stderr then stdout that carry a denial message.
fn denial_lines(outcome: &CommandOutcome) -> impl Iterator<Item = (String, DenialKind)> + '_ {
    [&outcome.stderr, &outcome.stdout]
        .into_iter()
        .flat_map(|bytes| bytes.split(|&byte| byte == b'\n'))
        .filter_map(|line| {
            let line = String::from_utf8_lossy(line);
            let lower = line.to_lowercase();
            let kind = if FILE_DENIALS.iter().any(|needle| lower.contains(needle)) {
                DenialKind::File
            } else if NETWORK_DENIALS.iter().any(|needle| lower.contains(needle)) {
                DenialKind::Network
            } else {
                return None;
            };
            Some((line.into_owned(), kind))
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
        }
    }

    fn full() -> SandboxSupport {
        SandboxSupport {
            landlock: LandlockSupport::Full { abi: 6 },
            seccomp: true,
            containment: crate::sandbox::ProcessContainment::Subreaper,
        }
    }

    #[test]
    fn sandbox_denial_heuristic() {
        let touch = outcome(Some(1), "touch: cannot touch '/etc/x': Permission denied\n");
        assert!(looks_denied(SandboxPolicy::WorkspaceWrite, &full(), &touch));
        assert!(!looks_denied(SandboxPolicy::FullAccess, &full(), &touch));
        let no_landlock = SandboxSupport {
            landlock: LandlockSupport::Unavailable { reason: "x".into() },
            seccomp: true,
            containment: crate::sandbox::ProcessContainment::Subreaper,
        };
        assert!(!looks_denied(
            SandboxPolicy::WorkspaceWrite,
            &no_landlock,
            &touch
        ));
        let curl = outcome(
            Some(7),
            "curl: (7) Immediate connect fail for 127.0.0.1: Operation not permitted",
        );
        assert!(looks_denied(SandboxPolicy::ReadOnly, &no_landlock, &curl));
        assert!(!looks_denied(
            SandboxPolicy::WorkspaceWrite,
            &full(),
            &outcome(Some(0), "Permission denied")
        ));
        assert!(!looks_denied(
            SandboxPolicy::WorkspaceWrite,
            &full(),
            &outcome(Some(1), "error[E0308]: mismatched types")
        ));
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
