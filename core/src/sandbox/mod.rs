//! Runs the agent's commands inside a sandbox, so that an approved `cargo test`
//! cannot run a build script that writes outside the workspace or phones home.
//!
//! Two halves, in two processes:
//!
//! - [`SandboxedRunner`] (in the server) implements [`CommandRunner`]: it starts
//!   `<helper> sandbox --policy … -- CMD…` in a new session and process group, with
//!   secret-looking environment variables removed, streams and caps the output,
//!   stops the helper on timeout or interrupt, and judges on evidence whether the
//!   sandbox refused something (`denial.rs`).
//! - [`sandbox_main`] (the helper mode of the same binary, `agentls sandbox`)
//!   scrubs the environment again with the runner's lists (so a user running it by
//!   hand gets what the agent's commands get), confines *itself* —
//!   `no_new_privs`, a mount namespace that makes `<root>/.git` read-only, Landlock,
//!   seccomp — and then runs the command under its supervision (`contain.rs`):
//!   init of a PID namespace, or a subreaper, so that every process the command
//!   starts dies with it. The server is never confined.
//!
//! `docs/security.md` is the user-facing description of what this enforces.
//!
//! [`CommandRunner`]: crate::process::CommandRunner

mod capture;
#[cfg(target_os = "linux")]
mod contain;
mod denial;
mod env_scrub;
mod exit;
mod helper;
#[cfg(target_os = "linux")]
mod linux;
mod runner;
mod support;

pub use denial::describe_denial;
pub use env_scrub::{is_secret_env, SECRET_ENV_NAMES};
pub use helper::{sandbox_main, SandboxArgs, SandboxArgsError, SANDBOX_SUBCOMMAND};
pub use runner::{SandboxedRunner, DEFAULT_OUTPUT_CAP};
pub use support::{
    landlock_support, sandbox_support, LandlockSupport, ProcessContainment, SandboxSupport,
    SandboxWarning, SandboxWarningKind,
};

use std::fmt;
use std::str::FromStr;

use crate::process::SandboxPolicy;

impl SandboxPolicy {
    /// The name used in the configuration and on the `agentls sandbox` command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxPolicy::ReadOnly => "read-only",
            SandboxPolicy::WorkspaceWrite => "workspace-write",
            SandboxPolicy::FullAccess => "full-access",
        }
    }

    /// Whether the policy confines the command at all.
    pub fn is_enforcing(self) -> bool {
        self != SandboxPolicy::FullAccess
    }
}

impl fmt::Display for SandboxPolicy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// `--policy`'s values are the configuration's names, listed in `--help`.
impl clap::ValueEnum for SandboxPolicy {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            SandboxPolicy::ReadOnly,
            SandboxPolicy::WorkspaceWrite,
            SandboxPolicy::FullAccess,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// A policy name that is not one of `read-only`, `workspace-write`, `full-access`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sandbox policy `{0}` (expected read-only, workspace-write or full-access)")]
pub struct UnknownPolicy(pub String);

impl FromStr for SandboxPolicy {
    type Err = UnknownPolicy;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "read-only" => Ok(SandboxPolicy::ReadOnly),
            "workspace-write" => Ok(SandboxPolicy::WorkspaceWrite),
            "full-access" => Ok(SandboxPolicy::FullAccess),
            other => Err(UnknownPolicy(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_policy_names_round_trip() {
        for policy in [
            SandboxPolicy::ReadOnly,
            SandboxPolicy::WorkspaceWrite,
            SandboxPolicy::FullAccess,
        ] {
            assert_eq!(policy.as_str().parse::<SandboxPolicy>(), Ok(policy));
            // The serde name (config files) and the command-line name agree.
            assert_eq!(
                serde_json::to_string(&policy).unwrap(),
                format!("\"{policy}\"")
            );
        }
        assert!("none".parse::<SandboxPolicy>().is_err());
    }
}
