//! What the loop is told about the machine it runs on: the clock and the OS and
//! shell. A leaf of its own so the shared state (`state::Shared`) can hold them
//! without importing the agent's public API module.

use std::path::Path;

use chrono::{DateTime, Utc};

/// The time, as the loop sees it: the date in the environment context and the
/// timestamps in rollouts come from here.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What the environment context tells the model about the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentInfo {
    /// "linux", "macos", …
    pub os: String,
    /// The user's shell ("bash", "zsh").
    pub shell: String,
}

impl EnvironmentInfo {
    /// This machine: `std::env::consts::OS` and the name of `$SHELL`.
    pub fn detect() -> EnvironmentInfo {
        let shell = std::env::var("SHELL")
            .ok()
            .and_then(|path| {
                Path::new(&path)
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "bash".to_string());
        EnvironmentInfo {
            os: std::env::consts::OS.to_string(),
            shell,
        }
    }
}
