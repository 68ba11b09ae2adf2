//! What this machine can enforce, so the server can warn once and the approval
//! layer can ask for every command where the sandbox would be a no-op.

use std::sync::OnceLock;

use serde::Serialize;

use crate::process::SandboxPolicy;

/// Whether the kernel's Landlock LSM can confine file-system access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum LandlockSupport {
    /// ABI 3 or later (Linux 6.2+): reads, writes, creation, removal, renames and
    /// truncation are all confined.
    Full { abi: u32 },
    /// ABI 1 or 2 (Linux 5.13 to 6.1): writes are confined, but `truncate(2)` of a
    /// readable file is not, and under ABI 1 renames across directories are refused.
    Partial { abi: u32 },
    /// No Landlock: the kernel lacks it, it is disabled at boot, or this is not Linux.
    Unavailable { reason: String },
}

impl LandlockSupport {
    pub fn is_available(&self) -> bool {
        !matches!(self, LandlockSupport::Unavailable { .. })
    }
}

/// What kind of problem a [`SandboxWarning`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxWarningKind {
    /// No Landlock: commands can write anywhere the user can, so every command
    /// needs approval.
    LandlockUnavailable,
    /// Landlock with an old ABI: confined, with the gaps the message names.
    LandlockPartial,
    /// No seccomp: commands can reach the network, so every command needs approval.
    SeccompUnavailable,
    /// Not Linux: nothing is enforced, so every command needs approval.
    UnsupportedPlatform,
}

/// A warning for the user (the server shows it once, with `window/showMessage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SandboxWarning {
    pub kind: SandboxWarningKind,
    pub message: String,
}

pub use super::contain::ProcessContainment;

/// Everything the sandbox can enforce here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SandboxSupport {
    pub landlock: LandlockSupport,
    /// seccomp filters (the network ban).
    pub seccomp: bool,
    /// How the processes of a command under an enforcing policy are kept from
    /// outliving it.
    pub containment: ProcessContainment,
}

impl SandboxSupport {
    /// Probes the kernel; prefer the cached [`sandbox_support`].
    pub fn detect() -> SandboxSupport {
        SandboxSupport {
            landlock: detect_landlock(),
            seccomp: detect_seccomp(),
            containment: detect_containment(),
        }
    }

    /// What a machine without any enforcement reports (used by tests of the
    /// fall-back, and on platforms other than Linux).
    pub fn unavailable(reason: impl Into<String>) -> SandboxSupport {
        SandboxSupport {
            landlock: LandlockSupport::Unavailable {
                reason: reason.into(),
            },
            seccomp: false,
            containment: detect_containment(),
        }
    }

    /// The containment a command under `policy` gets: a `full-access` command sees
    /// the real system (every process, setuid programs), so it gets the subreaper.
    pub fn containment_for(&self, policy: SandboxPolicy) -> ProcessContainment {
        match self.containment {
            ProcessContainment::PidNamespace { .. } if !policy.is_enforcing() => {
                ProcessContainment::Subreaper
            }
            containment => containment,
        }
    }

    /// Whether `read-only` and `workspace-write` actually confine commands. When
    /// false the approval layer must ask before every command, whatever its policy.
    pub fn confines_commands(&self) -> bool {
        self.landlock.is_available() && self.seccomp
    }

    /// The warning to show the user, if any.
    pub fn warning(&self) -> Option<SandboxWarning> {
        if !cfg!(target_os = "linux") {
            return Some(SandboxWarning {
                kind: SandboxWarningKind::UnsupportedPlatform,
                message: "agentls can sandbox commands only on Linux: every command the agent \
                          runs will ask for your approval"
                    .to_owned(),
            });
        }
        match &self.landlock {
            LandlockSupport::Unavailable { reason } => {
                return Some(SandboxWarning {
                    kind: SandboxWarningKind::LandlockUnavailable,
                    message: format!(
                        "the sandbox cannot confine file access ({reason}): every command the \
                         agent runs will ask for your approval; Landlock needs Linux 5.13+ \
                         with `landlock` in the `lsm=` boot parameter"
                    ),
                })
            }
            LandlockSupport::Partial { abi } if self.seccomp => {
                return Some(SandboxWarning {
                    kind: SandboxWarningKind::LandlockPartial,
                    message: format!(
                        "this kernel's Landlock (ABI {abi}) cannot stop commands from \
                         truncating files they can read; Linux 6.2+ closes that gap"
                    ),
                })
            }
            _ => {}
        }
        if !self.seccomp {
            return Some(SandboxWarning {
                kind: SandboxWarningKind::SeccompUnavailable,
                message: "the sandbox cannot block network access (no seccomp in this kernel): \
                          every command the agent runs will ask for your approval"
                    .to_owned(),
            });
        }
        None
    }
}

/// What this machine can enforce, probed once per process.
pub fn sandbox_support() -> &'static SandboxSupport {
    static SUPPORT: OnceLock<SandboxSupport> = OnceLock::new();
    SUPPORT.get_or_init(SandboxSupport::detect)
}

/// Whether Landlock is there, and which ABI.
pub fn landlock_support() -> LandlockSupport {
    sandbox_support().landlock.clone()
}

#[cfg(target_os = "linux")]
fn detect_landlock() -> LandlockSupport {
    match super::linux::landlock_abi() {
        Ok(abi) if abi >= 3 => LandlockSupport::Full { abi },
        Ok(abi) => LandlockSupport::Partial { abi },
        Err(reason) => LandlockSupport::Unavailable { reason },
    }
}

#[cfg(not(target_os = "linux"))]
fn detect_landlock() -> LandlockSupport {
    LandlockSupport::Unavailable {
        reason: format!(
            "Landlock is Linux-only and this is {}",
            std::env::consts::OS
        ),
    }
}

#[cfg(target_os = "linux")]
fn detect_containment() -> ProcessContainment {
    super::contain::probe()
}

#[cfg(not(target_os = "linux"))]
fn detect_containment() -> ProcessContainment {
    ProcessContainment::ProcessGroup
}

#[cfg(target_os = "linux")]
fn detect_seccomp() -> bool {
    super::linux::detect_seccomp()
}

#[cfg(not(target_os = "linux"))]
fn detect_seccomp() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_support_without_landlock_asks_for_every_command() {
        let support = SandboxSupport::unavailable("test");
        assert!(!support.confines_commands());
        let warning = support.warning().expect("a warning");
        assert!(matches!(
            warning.kind,
            SandboxWarningKind::LandlockUnavailable | SandboxWarningKind::UnsupportedPlatform
        ));
    }
}
