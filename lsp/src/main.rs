//! The `agentls` command: the language server on stdio (what editors start), and
//! its subcommands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Append logs to this file instead of stderr.
    #[arg(long, value_name = "PATH")]
    log_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one task headless, like `codex exec`: events as text (or --json lines),
    /// edits written to disk. Exit status: 0 completed, 1 failed, 2 usage or
    /// configuration error, 130 interrupted.
    Exec(agentls::exec::ExecArgs),
    /// Run CMD confined by a sandbox policy (what agentls does for every command
    /// the agent runs): `agentls sandbox --policy read-only|workspace-write|full-access
    /// [--writable-root DIR]… [--cwd DIR] [--tmpdir DIR] -- CMD…`
    #[command(disable_help_flag = true)]
    Sandbox {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<std::ffi::OsString>,
    },
    /// Configure an editor to start agentls: `agentls setup helix [--dry-run]
    /// [--config-dir DIR]` adds it to Helix's languages.toml.
    Setup(agentls::setup::SetupArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Sandbox { args }) = &cli.command {
        // The sandbox helper confines itself and execs the command: no logging,
        // no runtime, nothing on stdout but the command's own output.
        return sandbox(args);
    }
    if let Some(Command::Setup(args)) = &cli.command {
        // Edits one file and reports on the terminal: no server, no runtime.
        return setup(args);
    }
    let user_config_level = user_log_settings();
    let log_file = cli.log_file.clone().or(user_config_level.1);
    if let Err(error) = agentls::logging::init(log_file.as_deref(), user_config_level.0.as_deref())
    {
        // Logging is not up yet: stderr is the only place left to say so.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("agentls: cannot open the log file: {error}");
        }
        return ExitCode::from(2);
    }
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
        Some(Command::Sandbox { .. } | Command::Setup(_)) => ExitCode::from(2),
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
            ExitCode::from(end.exit_code() as u8)
        }
    }
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

fn sandbox(args: &[std::ffi::OsString]) -> ExitCode {
    match agentls_core::sandbox::SandboxArgs::parse_from(args) {
        Ok(args) => {
            let code = agentls_core::sandbox::sandbox_main(args);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Err(error) => {
            // The helper's caller reads its stderr; there is no log yet.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("agentls sandbox: {error}");
            }
            ExitCode::from(2)
        }
    }
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
