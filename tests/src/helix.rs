//! Real Helix 25.07.1 in a real terminal: `hx` runs in a detached tmux session of
//! a fixed size, the test types keys with `tmux send-keys` and reads the screen
//! with `tmux capture-pane`, as a user would look at it.
//!
//! Helix is not packaged for Debian: `tests/helix/build.sh` builds it from its
//! tag (about 15 minutes). The tests look for `$AGENTLS_HX`, then
//! `~/.cache/agentls-e2e/helix-25.07.1/hx`, then `hx` on `PATH`; without one they
//! say loudly that they were skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a wait for the screen may take before the test fails, showing it.
pub const SCREEN_TIMEOUT: Duration = Duration::from_secs(30);

/// The variable naming the `hx` binary to test.
pub const HX_ENV: &str = "AGENTLS_HX";

/// Where `tests/helix/build.sh` installs Helix, below the home directory: `hx`
/// and its `runtime/` beside it.
pub const HX_UNDER_HOME: &str = ".cache/agentls-e2e/helix-25.07.1/hx";

/// A Helix binary and its version line.
pub struct Helix {
    pub program: PathBuf,
    pub version: String,
}

impl Helix {
    /// Finds Helix 25.07.x, or `None` (and a loud line on stderr) when this
    /// machine has none, or tmux is missing.
    pub fn find() -> Option<Helix> {
        let candidates = [
            std::env::var_os(HX_ENV).map(PathBuf::from),
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(HX_UNDER_HOME)),
            Some(PathBuf::from("hx")),
        ];
        let found = candidates.into_iter().flatten().find_map(|program| {
            let output = Command::new(&program).arg("--version").output().ok()?;
            let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
            version
                .starts_with("helix 25.07")
                .then_some(Helix { program, version })
        });
        let tmux = Command::new("tmux").arg("-V").output().is_ok();
        match (found, tmux) {
            (Some(helix), true) => Some(helix),
            (helix, tmux) => {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "!!! SKIPPED: the real-Helix test needs Helix 25.07 ({}) and tmux ({}): \
                     build Helix with `bash tests/helix/build.sh`",
                    if helix.is_some() { "found" } else { "missing" },
                    if tmux { "found" } else { "missing" },
                );
                None
            }
        }
    }

    /// The `runtime/` directory beside the binary, when there is one.
    pub fn runtime(&self) -> Option<PathBuf> {
        let program = std::fs::canonicalize(&self.program).ok()?;
        let runtime = program.parent()?.join("runtime");
        runtime.is_dir().then_some(runtime)
    }
}

/// A tmux server of its own (its own socket) with one window running a command.
pub struct Terminal {
    socket: String,
}

impl Terminal {
    /// Starts `program args` in `cwd` in a `width`×`height` terminal with exactly
    /// the environment `env` (plus `TERM`, which tmux sets).
    pub fn start(
        program: &Path,
        args: &[&str],
        cwd: &Path,
        env: &[(String, String)],
        width: u16,
        height: u16,
    ) -> Terminal {
        let socket = format!("agentls-test-{}-{}", std::process::id(), fastrand_suffix());
        let mut command = Command::new("tmux");
        command
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg("-c")
            .arg(cwd)
            .env_clear()
            .envs(
                env.iter()
                    .map(|(name, value)| (name.as_str(), value.as_str())),
            );
        for (name, value) in env {
            command.arg("-e").arg(format!("{name}={value}"));
        }
        command.arg("--").arg(program).args(args);
        let status = command.status().expect("run tmux");
        assert!(status.success(), "tmux new-session failed: {status}");
        Terminal { socket }
    }

    /// Types `keys`, each a tmux key name (`Enter`, `Down`, `Space`, `C-c`) or
    /// literal text.
    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0"])
            .args(keys)
            .status()
            .expect("run tmux send-keys");
        assert!(status.success(), "tmux send-keys {keys:?} failed");
    }

    /// Types `text` as it is (no key names).
    pub fn type_text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-l", "-t", "0", text])
            .status()
            .expect("run tmux send-keys");
        assert!(status.success(), "tmux send-keys -l {text:?} failed");
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .expect("run tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Polls the screen until `done` holds; returns that screen, or the last one
    /// seen as the error after `SCREEN_TIMEOUT`.
    pub fn wait_for(&self, mut done: impl FnMut(&str) -> bool) -> Result<String, String> {
        let deadline = Instant::now() + SCREEN_TIMEOUT;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return Ok(screen);
            }
            if Instant::now() > deadline {
                return Err(screen);
            }
            // A terminal offers no event to wait on: look again shortly.
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the window's command is still running.
    pub fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session"])
            .status()
            .is_ok_and(|status| status.success())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn fastrand_suffix() -> u64 {
    use std::time::SystemTime;
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as u64)
        .unwrap_or_default()
}
