//! The `agentls` command: the language server on stdio (what editors start), and
//! its subcommands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The system's allocator, with the long-lived data the server makes amid
/// churn (index entries, packed texts, document records) in a pool of its
/// own, so that it does not pin the pages the churn frees
/// (`agentls_core::long_lived`).
#[global_allocator]
static ALLOCATOR: agentls_core::long_lived::Allocator = agentls_core::long_lived::Allocator;

#[derive(Parser, Debug)]
#[command(
    name = "agentls",
    version,
    about = "A language server that runs a coding agent behind any LSP editor",
    long_about = "A language server that runs a coding agent behind any LSP editor.\n\n\
        Without a subcommand, agentls speaks LSP on stdin/stdout: point your editor at \
        `agentls` (or `agentls --stdio`). See docs/editors/ for Neovim, Helix and VS Code."
)]
struct Cli {
    /// Speak LSP over stdin/stdout (the default; accepted because editors pass it).
    #[arg(long, global = false)]
    stdio: bool,
    /// Append logs to this file. The server logs to stderr (the editor's log);
    /// `exec` and `doctor` log to agentls.log in the data directory, so the
    /// terminal shows only what they say.
    #[arg(long, value_name = "PATH", global = true)]
    log_file: Option<PathBuf>,
    /// Log at this level (a tracing filter: error, warn, info, debug, trace,
    /// or agentls=debug) to stderr, or to --log-file.
    #[arg(long, value_name = "LEVEL", global = true)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one task headless, like `codex exec`: events as text (or --json lines),
    /// edits written to disk. Exit status: 0 completed, 1 failed, 2 usage or
    /// configuration error, 130 interrupted.
    Exec(agentls::exec::ExecArgs),
    /// Run CMD confined by a sandbox policy, as agentls runs the agent's commands
    ///
    /// The same confinement as every command the agent runs, and the same
    /// secret-looking environment variables removed (following the configuration's
    /// `[sandbox] pass_env` and provider `api_key_env`); the working directory is
    /// the workspace root. `--explain` shows the decisions.
    Sandbox(agentls_core::sandbox::SandboxArgs),
    /// Check what agentls would do here: configuration read, the provider chosen
    /// and whether it answers, the sandbox on this host, data and log files, and
    /// the editors on PATH. Exit status 0 when a task could run, 1 otherwise.
    Doctor(agentls::doctor::DoctorArgs),
    /// Speak the Agent Client Protocol on stdin/stdout: the same agent for
    /// Zed, JetBrains and the Neovim plugins that speak ACP (docs/editors/acp.md).
    /// Logs go to stderr (or --log-file).
    Acp,
    /// Configure an editor to start agentls: `agentls setup helix [--dry-run]
    /// [--config-dir DIR]` adds it to Helix's languages.toml.
    Setup(agentls::setup::SetupArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Sandbox(args)) = cli.command {
        // The sandbox helper confines itself and execs the command: no logging,
        // no runtime, nothing on stdout but the command's own output.
        return sandbox(args);
    }
    if let Some(Command::Setup(args)) = &cli.command {
        // Edits one file and reports on the terminal: no server, no runtime.
        return setup(args);
    }
    if matches!(cli.command, None | Some(Command::Acp)) {
        // The long-running servers: without glibc's per-thread caches, whose
        // blocks pin freed pages. Executes the server again the first time.
        agentls::memory::without_thread_caches();
    }
    let (config_level, config_file) = user_log_settings();
    let level = cli.log_level.clone().or(config_level);
    // A command run in a terminal says what matters itself; its logs go to a
    // file unless asked for on stderr (--log-level, AGENTLS_LOG).
    let terminal_command = matches!(cli.command, Some(Command::Exec(_) | Command::Doctor(_)));
    let asked_for_stderr = cli.log_level.is_some()
        || std::env::var("AGENTLS_LOG").is_ok_and(|level| !level.is_empty());
    let log_file = cli.log_file.clone().or(config_file).or_else(|| {
        (terminal_command && !asked_for_stderr)
            .then(default_log_file)
            .flatten()
    });
    if let Err(error) = agentls::logging::init(log_file.as_deref(), level.as_deref()) {
        // Logging is not up yet: stderr is the only place left to say so.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("agentls: cannot open the log file: {error}");
        }
        return ExitCode::from(2);
    }
    agentls::memory::limit_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Some(Command::Sandbox(_) | Command::Setup(_)) => ExitCode::from(2),
        Some(Command::Doctor(args)) => {
            let env = |name: &str| std::env::var(name).ok();
            let mut stdout = std::io::stdout();
            match runtime.block_on(agentls::doctor::run(&args, &env, &mut stdout)) {
                Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
                Err(_) => ExitCode::from(1),
            }
        }
        Some(Command::Acp) => {
            let result = runtime.block_on(agentls::acp::run());
            // As for the language server: nothing left (stdin's blocking read)
            // may hold the process once the sessions have ended.
            runtime.shutdown_background();
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!("agentls acp: {error:#}");
                    ExitCode::from(1)
                }
            }
        }
        Some(Command::Exec(args)) => match runtime.block_on(agentls::exec::run(args)) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(error) => {
                tracing::error!("{error:#}");
                // exec's user reads the terminal, not a log.
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("agentls exec: {error:#}");
                }
                ExitCode::from(2)
            }
        },
        None => {
            let _ = cli.stdio;
            let end = runtime.block_on(agentls::serve(tokio::io::stdin(), tokio::io::stdout()));
            tracing::info!(?end, "session ended");
            // Everything owed is out: `serve` returns after its writer flushed
            // stdout, and rollout lines are written through as they happen.
            // Nothing left may hold the process: stdin's blocking read (which
            // only returns when the client closes it), an index build, a
            // parse. Dropping the runtime would wait for each of them.
            runtime.shutdown_background();
            ExitCode::from(end.exit_code() as u8)
        }
    }
}

/// `agentls.log` in the data directory (created if need be), where `exec` and
/// `doctor` log by default; `None` when there is no data directory.
fn default_log_file() -> Option<PathBuf> {
    let env = |name: &str| std::env::var(name).ok();
    let dir = agentls_core::agent::default_data_dir(&env).ok()?;
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("agentls.log"))
}

/// The log level and file from the user's config file, read before the server
/// starts so that logging is set up from the first message.
fn user_log_settings() -> (Option<String>, Option<PathBuf>) {
    let env = |name: &str| std::env::var(name).ok();
    let Some(path) = agentls_core::config::user_config_path(&env) else {
        return (None, None);
    };
    let source = agentls_core::config::ConfigSource::UserFile(path.clone());
    match agentls_core::config::load_toml_layer(&path, source) {
        Ok(Some(layer)) => {
            let (config, _) = agentls_core::config::merge(&[layer]);
            (config.log.level, config.log.file)
        }
        _ => (None, None),
    }
}

fn sandbox(mut args: agentls_core::sandbox::SandboxArgs) -> ExitCode {
    let (pass_env, secret_env, problems) = sandbox_env_settings(args.cwd.as_deref());
    args.pass_env.extend(pass_env);
    args.secret_env.extend(secret_env);
    if args.explain {
        // The command's stderr is the terminal's; a bad config file is worth a line
        // there only when asked, since the runner reads the helper's stderr.
        #[allow(clippy::print_stderr)]
        for problem in problems {
            eprintln!("agentls sandbox: configuration: {problem}");
        }
    }
    let code = agentls_core::sandbox::sandbox_main(args);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// What the agent's runner scrubs by, from the configuration it would read for
/// this workspace (the user's file, `.agentls.toml` in the working directory, the
/// `AGENTLS_*` variables): `[sandbox] pass_env`, and the provider's
/// `api_key_env`, which is never passed. Problems with a file are returned, not
/// fatal: the defaults scrub every secret-looking name anyway.
fn sandbox_env_settings(cwd: Option<&std::path::Path>) -> (Vec<String>, Vec<String>, Vec<String>) {
    use agentls_core::config::{self, ConfigSource};

    let env = |name: &str| std::env::var(name).ok();
    let root = cwd
        .map(std::path::Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok());
    let files = config::user_config_path(&env)
        .map(|path| (path.clone(), ConfigSource::UserFile(path)))
        .into_iter()
        .chain(root.map(|root| {
            let path = config::workspace_config_path(&root);
            (path.clone(), ConfigSource::WorkspaceFile(path))
        }));
    let mut problems = Vec::new();
    let mut layers = Vec::new();
    for (path, source) in files {
        match config::load_toml_layer(&path, source) {
            Ok(Some(layer)) => layers.push(layer),
            Ok(None) => {}
            Err(problem) => problems.push(problem.to_string()),
        }
    }
    layers.extend(config::environment_layer(&env));
    let (config, merge_problems) = config::merge(&layers);
    problems.extend(merge_problems.iter().map(ToString::to_string));
    (
        config.sandbox.pass_env,
        config.provider.api_key_env.into_iter().collect(),
        problems,
    )
}

fn setup(args: &agentls::setup::SetupArgs) -> ExitCode {
    use std::io::Write;

    let agentls::setup::SetupEditor::Helix(helix) = &args.editor;
    let env = |name: &str| std::env::var(name).ok();
    let outcome = agentls::setup::run_helix(helix, &env);
    // The user reads the terminal: the report goes to stderr and, for
    // --dry-run, the file to stdout (this command speaks no LSP).
    let mut stderr = std::io::stderr();
    match outcome {
        Ok(outcome) => {
            if let agentls::setup::SetupOutcome::DryRun(setup) = &outcome {
                let mut stdout = std::io::stdout();
                if stdout
                    .write_all(setup.text.as_bytes())
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return ExitCode::from(1);
                }
            }
            let _ = stderr.write_all(agentls::setup::describe(&outcome).as_bytes());
            ExitCode::SUCCESS
        }
        Err(error) => {
            let _ = writeln!(stderr, "agentls setup helix: {error}");
            ExitCode::from(2)
        }
    }
}
