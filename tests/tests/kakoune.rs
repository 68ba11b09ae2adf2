//! A real Kakoune (Debian's 2022.10.31) with its LSP client kak-lsp 15.0.1 in
//! tmux, configured as docs/editors/other.md says: the kakrc loads kak-lsp and
//! enables it, kak-lsp's `kak-lsp.toml` points the rust filetype at
//! `agentls --stdio`; with the cursor on a line of `src/lib.rs`,
//! `:lsp-code-actions` lists the agent's actions in Kakoune's menu. Listing them
//! needs no model provider.
//!
//! kak-lsp is not packaged for Debian 12: `tests/install.sh` installs it from
//! crates.io below `~/.cache/agentls-e2e/kak-lsp`. The test looks for
//! `$AGENTLS_KAK_LSP`, then that install, then `kak-lsp` on `PATH`; without it
//! or `kak` it says loudly that it was skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use agentls_tests::client::agentls_binary;
use agentls_tests::fix_this::BUGGY;
use agentls_tests::helix::Terminal;

const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;

/// The variable naming the `kak-lsp` binary to test.
const KAK_LSP_ENV: &str = "AGENTLS_KAK_LSP";

/// Where `tests/install.sh` installs kak-lsp, below the home directory.
const KAK_LSP_UNDER_HOME: &str = ".cache/agentls-e2e/kak-lsp/bin/kak-lsp";

/// kak-lsp 15 was released while 2022.10.31 was the newest Kakoune; it reads its
/// servers from `kak-lsp.toml`, not from the `lsp_servers` option of kak-lsp 18.
const KAK_LSP_VERSION: &str = "kak-lsp 15.";

/// `kak` and kak-lsp 15, or `None` (and a loud line on stderr) when one of them,
/// or tmux, is missing.
fn find() -> Option<(PathBuf, PathBuf)> {
    let kak = which("kak");
    let candidates = [
        std::env::var_os(KAK_LSP_ENV).map(PathBuf::from),
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(KAK_LSP_UNDER_HOME)),
        which("kak-lsp"),
    ];
    let kak_lsp = candidates.into_iter().flatten().find(|program| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|output| {
                String::from_utf8_lossy(&output.stdout).starts_with(KAK_LSP_VERSION)
            })
    });
    let tmux = Command::new("tmux").arg("-V").output().is_ok();
    match (kak, kak_lsp, tmux) {
        (Some(kak), Some(kak_lsp), true) => Some((kak, kak_lsp)),
        (kak, kak_lsp, tmux) => {
            use std::io::Write;
            let found = |yes: bool| if yes { "found" } else { "missing" };
            let _ = writeln!(
                std::io::stderr(),
                "!!! SKIPPED: the real-Kakoune test needs kak ({}), kak-lsp 15 ({}) and tmux ({}): \
                 run `bash tests/install.sh`",
                found(kak.is_some()),
                found(kak_lsp.is_some()),
                found(tmux),
            );
            None
        }
    }
}

/// `program` as the shell would find it on `PATH`.
fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// The kakrc of docs/editors/other.md, plus kak-lsp's log in `log`.
fn kakrc(log: &Path) -> String {
    format!(
        "eval %sh{{kak-lsp --kakoune -s $kak_session}}\n\
         set-option global lsp_cmd \"kak-lsp -s %val{{session}} -vvv --log {}\"\n\
         lsp-enable\n",
        log.display()
    )
}

/// The kak-lsp.toml of docs/editors/other.md, with agentls alone for rust (the
/// machine need not have rust-analyzer), and a short idle timeout so that a
/// kak-lsp orphaned by a failed test goes away on its own.
const KAK_LSP_TOML: &str = "\
[server]
timeout = 120

[language_server.agentls]
filetypes = [\"rust\"]
roots = [\"Cargo.toml\", \".git\"]
command = \"agentls\"
args = [\"--stdio\"]
";

struct Run {
    terminal: Terminal,
    log: PathBuf,
}

impl Run {
    fn fail(&self, what: &str, screen: &str) -> ! {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<String> = log
            .lines()
            .rev()
            .take(60)
            .map(|line| line.chars().take(400).collect())
            .collect();
        let tail: Vec<String> = tail.into_iter().rev().collect();
        panic!(
            "{what}\n--- screen ---\n{screen}\n--- kak-lsp log (tail) ---\n{}",
            tail.join("\n")
        );
    }

    fn wait_for(&self, what: &str, done: impl FnMut(&str) -> bool) -> String {
        match self.terminal.wait_for(done) {
            Ok(screen) => screen,
            Err(screen) => self.fail(&format!("waited for {what}"), &screen),
        }
    }
}

impl Drop for Run {
    /// Stops kak-lsp, and with it agentls, before Kakoune goes: kak-lsp runs as
    /// a daemon of its own, and the stop its KakEnd hook sends does not reach it
    /// when Kakoune quits (seen with `:q!` and `:kill!`).
    fn drop(&mut self) {
        if !self.terminal.alive() {
            return;
        }
        self.terminal.keys(&["Escape"]);
        self.terminal.type_text(":lsp-stop");
        self.terminal.keys(&["Enter"]);
        let _ = self.terminal.wait_for(|_| {
            std::fs::read_to_string(&self.log)
                .is_ok_and(|log| log.contains("Controller terminated"))
        });
        self.terminal.type_text(":q!");
        self.terminal.keys(&["Enter"]);
    }
}

#[test]
fn kakoune_kak_lsp_starts_agentls_and_lists_its_code_actions() {
    let Some((kak, kak_lsp)) = find() else {
        return;
    };
    let workspace = tempfile::tempdir().unwrap();
    let file = workspace.path().join("src/lib.rs");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, BUGGY).unwrap();
    std::fs::write(
        workspace.path().join("Cargo.toml"),
        "[package]\nname = \"adder\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();

    let home = tempfile::tempdir().unwrap();
    let config_home = home.path().join("config");
    let log = home.path().join("kak-lsp.log");
    std::fs::create_dir_all(config_home.join("kak")).unwrap();
    std::fs::create_dir_all(config_home.join("kak-lsp")).unwrap();
    std::fs::write(config_home.join("kak/kakrc"), kakrc(&log)).unwrap();
    std::fs::write(config_home.join("kak-lsp/kak-lsp.toml"), KAK_LSP_TOML).unwrap();

    let mut path = vec![
        agentls_binary().parent().unwrap().to_path_buf(),
        kak_lsp.parent().unwrap().to_path_buf(),
    ];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let env = vec![
        ("HOME".to_string(), home.path().display().to_string()),
        (
            "XDG_CONFIG_HOME".to_string(),
            config_home.display().to_string(),
        ),
        (
            "XDG_DATA_HOME".to_string(),
            home.path().join("data").display().to_string(),
        ),
        (
            "XDG_CACHE_HOME".to_string(),
            home.path().join("cache").display().to_string(),
        ),
        (
            "XDG_RUNTIME_DIR".to_string(),
            home.path().join("run").display().to_string(),
        ),
        (
            "PATH".to_string(),
            std::env::join_paths(path)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        ),
        ("TERM".to_string(), "tmux-256color".to_string()),
        ("AGENTLS_LOG".to_string(), "debug".to_string()),
    ];
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    let run = Run {
        terminal: Terminal::start(&kak, &["src/lib.rs"], workspace.path(), &env, WIDTH, HEIGHT),
        log,
    };
    run.wait_for("the file in Kakoune", |screen| {
        screen.contains("a - b") && screen.contains("lib.rs")
    });

    // The cursor on line 2, `a - b`: kak-lsp asks every server of the rust
    // filetype for its actions and shows them in a menu.
    run.terminal.keys(&["j"]);
    run.terminal.type_text(":lsp-code-actions");
    run.terminal.keys(&["Enter"]);
    let screen = run.wait_for("the code action menu", |screen| {
        screen.contains("Agent: Explain this") || screen.contains("no actions available")
    });
    for title in [
        "Agent: Explain this",
        "Agent: Write tests for this",
        "Agent: Show agent context",
    ] {
        if !screen.contains(title) {
            run.fail(&format!("no {title:?} in the menu"), &screen);
        }
    }
    // kak-lsp took the watched-file globs (no braces) and its second didOpen
    // of the file raised no warning.
    let log = std::fs::read_to_string(&run.log).unwrap_or_default();
    for unwanted in ["unsupported braces", "was already open"] {
        if log.contains(unwanted) {
            run.fail(&format!("kak-lsp's log says {unwanted:?}"), &screen);
        }
    }
}
