//! `agentls exec "<task>"`: one task run headless, like `codex exec`. The agent
//! works on the files on disk under `-C DIR` (the current directory by default),
//! commands run in the sandbox, and the thread's events go to stdout as readable
//! text or, with `--json`, one JSON event per line. Nobody is there to answer
//! approvals: a command the policy would ask about is denied (and the model told),
//! unless `--approval never`.
//!
//! Exit status: 0 the turn completed, 1 it failed, 2 a usage or configuration
//! error, 130 interrupted (Ctrl-C).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentls_core::agent::{Agent, ThreadOptions};
use agentls_core::config::{self, ApprovalPolicy, Config, ConfigLayer, ConfigSource, ProviderKind};
use agentls_core::disk::DiskWorkspace;
use agentls_core::mcp::McpHub;
use agentls_core::model::Provider;
use agentls_core::process::SandboxPolicy;
use agentls_core::protocol::{
    CommandStatus, Event, FileChangeKind, ItemDelta, Op, PatchStatus, PlanStepStatus,
    ReviewDecision, ThreadItem, ThreadItemKind,
};
use agentls_core::provider::{self, RecordingProvider};
use agentls_core::sandbox::SandboxedRunner;

/// The exit status of a turn that completed.
pub const EXIT_COMPLETED: i32 = 0;
/// The exit status of a turn that failed.
pub const EXIT_FAILED: i32 = 1;
/// The exit status of a usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// The exit status of an interrupted turn (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// `agentls exec` arguments.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct ExecArgs {
    /// The task, as you would type it to the agent.
    #[arg(value_name = "TASK")]
    pub task: String,
    /// Work in DIR: the workspace root and the commands' working directory.
    #[arg(short = 'C', long = "cd", value_name = "DIR")]
    pub cd: Option<PathBuf>,
    /// Print one JSON event per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// openai-responses, openai-chat, anthropic or replay.
    #[arg(long, value_name = "KIND")]
    pub provider: Option<String>,
    /// The model name; default per provider.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// The provider's base URL (ending in /v1); default per provider.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Append every model call to FILE, to replay it later with --replay FILE.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Play the model calls recorded in FILE instead of calling a model (implies
    /// --provider replay).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// untrusted, on-request or never. Without an editor nobody can approve: what
    /// the policy would ask about is denied, except under `never`.
    #[arg(long, value_name = "POLICY")]
    pub approval: Option<String>,
    /// read-only, workspace-write or full-access.
    #[arg(long, value_name = "POLICY")]
    pub sandbox: Option<String>,
}

/// Reads an environment variable.
pub type EnvReader = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What `run` takes from the process, so tests can give something else.
pub struct ExecIo {
    /// Reads environment variables.
    pub env: EnvReader,
    /// The executable whose `sandbox` subcommand confines commands.
    pub sandbox_helper: PathBuf,
    /// Where events are printed.
    pub out: Box<dyn Write + Send>,
}

impl ExecIo {
    /// This process: its environment, its own executable, its stdout (the one
    /// place agentls writes to stdout that is not LSP).
    pub fn process() -> anyhow::Result<ExecIo> {
        Ok(ExecIo {
            env: Box::new(|name| std::env::var(name).ok()),
            sandbox_helper: std::env::current_exe()?,
            out: Box::new(std::io::stdout()),
        })
    }
}

/// Run `agentls exec`; the result is the exit status.
pub async fn run(args: ExecArgs) -> anyhow::Result<i32> {
    run_with(args, ExecIo::process()?).await
}

/// A usage or configuration error: said to the user, exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub String);

/// `run` with the process's seams given.
pub async fn run_with(args: ExecArgs, io: ExecIo) -> anyhow::Result<i32> {
    let ExecIo {
        env,
        sandbox_helper,
        out,
    } = io;
    let mut printer = Printer::new(out, args.json);
    let setup = match set_up(&args, &*env, sandbox_helper).await {
        Ok(setup) => setup,
        Err(error) => {
            printer.error(&format!("agentls exec: {error}"))?;
            return Ok(EXIT_USAGE);
        }
    };
    for warning in &setup.warnings {
        printer.warning(warning)?;
    }
    printer.root = setup.root.clone();
    if let Some(provider) = &setup.provider {
        printer.note(&format!("provider: {provider}"))?;
    }
    let approval_policy = setup.agent.config().approvals.policy;
    let thread = setup.agent.start_thread(ThreadOptions::default())?;
    let (handle, mut events, task) = thread.into_parts();
    handle
        .submit(Op::UserInput {
            text: args.task.clone(),
            context: Vec::new(),
        })
        .await?;

    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut interrupted = false;
    let mut status = EXIT_FAILED;
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                printer.event(&event)?;
                match event {
                    Event::ApprovalRequested { id, argv, sandbox_escalation, tool_call, .. } => {
                        let shown = match &tool_call {
                            Some(call) => format!("calling {}", call.name),
                            None => argv.join(" "),
                        };
                        printer.denied(&shown, sandbox_escalation, approval_policy)?;
                        handle
                            .submit(Op::ApprovalDecision { id, decision: ReviewDecision::Denied })
                            .await?;
                    }
                    Event::TurnCompleted { .. } => {
                        status = EXIT_COMPLETED;
                        break;
                    }
                    Event::TurnFailed { .. } => {
                        status = EXIT_FAILED;
                        break;
                    }
                    Event::TurnInterrupted { .. } => {
                        status = EXIT_INTERRUPTED;
                        break;
                    }
                    _ => {}
                }
            }
            result = &mut interrupt, if !interrupted => {
                interrupted = true;
                if result.is_ok() {
                    handle.submit(Op::Interrupt).await?;
                }
            }
        }
    }
    // Shutting down records the thread's end; drain what it still says.
    let _ = handle.submit(Op::Shutdown).await;
    drop(handle);
    while let Some(event) = events.recv().await {
        printer.event(&event)?;
    }
    task.await?;
    printer.finish()?;
    Ok(status)
}

/// Everything `run` needs before the thread starts.
struct Setup {
    agent: Agent,
    root: PathBuf,
    warnings: Vec<String>,
    /// The provider and why it was chosen, when it was not recorded or replayed.
    provider: Option<String>,
}

async fn set_up(
    args: &ExecArgs,
    env: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    sandbox_helper: PathBuf,
) -> Result<Setup, UsageError> {
    if args.task.trim().is_empty() {
        return Err(UsageError(
            "the task is empty: agentls exec \"<task>\"".into(),
        ));
    }
    let dir = match &args.cd {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()
            .map_err(|error| UsageError(format!("no current directory: {error}")))?,
    };
    let workspace = DiskWorkspace::new(&dir)
        .map_err(|error| UsageError(format!("cannot work in {}: {error}", dir.display())))?;
    let root = agentls_core::workspace::Workspace::root(&workspace).to_path_buf();
    let (config, warnings) = exec_config(args, &root, env)?;
    let (provider, described) = build_provider(args, &config, env).await?;
    let data_dir = agentls_core::agent::default_data_dir(env)
        .map_err(|error| UsageError(error.to_string()))?;
    let mut runner = SandboxedRunner::from_config(sandbox_helper, &config.sandbox);
    if let Some(key_env) = &config.provider.api_key_env {
        runner = runner.with_secret_env([key_env.clone()]);
    }
    let mut warnings = warnings;
    let unconfined = config.sandbox.policy.is_enforcing() && runner.every_command_needs_approval();
    if unconfined {
        warnings.push(match runner.support().warning() {
            Some(warning) => format!("{}; exec cannot give approvals: commands are denied unless --approval never", warning.message),
            None => "the sandbox cannot confine commands on this machine; every command needs approval, which exec cannot give: commands are denied unless --approval never".to_string(),
        });
    }
    let runner: Arc<dyn agentls_core::process::CommandRunner> = Arc::new(runner);
    let mcp = mcp_hub(
        &config,
        &root,
        runner.clone(),
        env,
        unconfined,
        &mut warnings,
    );
    let agent = Agent::new(config, provider, Arc::new(workspace), runner, data_dir)
        .with_unconfined_commands(unconfined)
        .with_mcp(mcp);
    Ok(Setup {
        agent,
        root,
        warnings,
        provider: described,
    })
}

/// The MCP servers of `config` for a front end that reads its configuration
/// once (`agentls exec`, an `agentls acp` session): the bearer tokens they
/// name read now from `env`, what is wrong with them added to `warnings`, the
/// `startup = "eager"` ones started.
pub(crate) fn mcp_hub(
    config: &Config,
    root: &Path,
    runner: Arc<dyn agentls_core::process::CommandRunner>,
    env: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    unconfined: bool,
    warnings: &mut Vec<String>,
) -> McpHub {
    let tokens: std::collections::HashMap<String, String> = config
        .mcp_servers
        .values()
        .filter_map(|server| server.bearer_token_env.as_ref())
        .filter_map(|name| env(name).map(|value| (name.clone(), value)))
        .collect();
    let hub = McpHub::new(
        config,
        root,
        runner,
        Arc::new(move |name: &str| tokens.get(name).cloned()),
        unconfined,
    );
    warnings.extend(hub.problems().iter().cloned());
    hub.start_eager();
    hub
}

/// The configuration of one `exec` run, lowest layer first: defaults, the user's
/// config file, the workspace's `.agentls.toml`, the `AGENTLS_*` variables, then
/// the flags. A bad flag is a usage error; a bad key in a file is a warning (the
/// key is dropped, the rest applies).
pub(crate) fn exec_config(
    args: &ExecArgs,
    root: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<String>), UsageError> {
    let mut warnings = Vec::new();
    let mut layers = Vec::new();
    let files = config::user_config_path(env)
        .map(|path| (path.clone(), ConfigSource::UserFile(path)))
        .into_iter()
        .chain(std::iter::once({
            let path = config::workspace_config_path(root);
            (path.clone(), ConfigSource::WorkspaceFile(path))
        }));
    for (path, source) in files {
        match config::load_toml_layer(&path, source) {
            Ok(Some(layer)) => layers.push(layer),
            Ok(None) => {}
            Err(problem) => warnings.push(problem.to_string()),
        }
    }
    layers.extend(config::environment_layer(env));
    layers.push(flags_layer(args)?);
    let (config, problems) = config::merge(&layers);
    for problem in problems {
        if problem.source == ConfigSource::CommandLine {
            return Err(UsageError(problem.to_string()));
        }
        warnings.push(problem.to_string());
    }
    Ok((config, warnings))
}

/// The flags as a configuration layer, each checked first so a typo is an error.
fn flags_layer(args: &ExecArgs) -> Result<ConfigLayer, UsageError> {
    let mut provider = serde_json::Map::new();
    let kind = match (&args.provider, &args.replay) {
        (Some(kind), _) => Some(parse_kind(kind)?),
        (None, Some(_)) => Some(ProviderKind::Replay),
        (None, None) => None,
    };
    if let Some(kind) = kind {
        provider.insert("kind".into(), to_json(kind));
    }
    if let Some(model) = &args.model {
        provider.insert("model".into(), model.clone().into());
    }
    if let Some(base_url) = &args.base_url {
        provider.insert("base_url".into(), base_url.clone().into());
    }
    if let Some(replay) = &args.replay {
        provider.insert("replay_file".into(), replay.display().to_string().into());
    }
    let mut value = serde_json::Map::new();
    if !provider.is_empty() {
        value.insert("provider".into(), provider.into());
    }
    if let Some(policy) = &args.approval {
        let policy: ApprovalPolicy =
            parse_named(policy, "--approval", "untrusted, on-request or never")?;
        value.insert(
            "approvals".into(),
            serde_json::json!({ "policy": to_json(policy) }),
        );
    }
    if let Some(policy) = &args.sandbox {
        let policy: SandboxPolicy = policy
            .parse()
            .map_err(|error| UsageError(format!("--sandbox: {error}")))?;
        value.insert(
            "sandbox".into(),
            serde_json::json!({ "policy": to_json(policy) }),
        );
    }
    Ok(ConfigLayer {
        source: ConfigSource::CommandLine,
        value: value.into(),
    })
}

fn parse_kind(kind: &str) -> Result<ProviderKind, UsageError> {
    parse_named(
        kind,
        "--provider",
        "openai-responses, openai-chat, anthropic or replay",
    )
}

fn parse_named<T: serde::de::DeserializeOwned>(
    name: &str,
    flag: &str,
    expected: &str,
) -> Result<T, UsageError> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        UsageError(format!(
            "{flag}: unknown value `{name}` (expected {expected})"
        ))
    })
}

fn to_json(value: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The provider the configuration and environment pick (`provider::discover`),
/// wrapped in a recorder for `--record`; and what to tell the user about it.
async fn build_provider(
    args: &ExecArgs,
    config: &Config,
    env: &(dyn Fn(&str) -> Option<String> + Send + Sync),
) -> Result<(Arc<dyn Provider>, Option<String>), UsageError> {
    let usage = |error: agentls_core::model::ProviderError| UsageError(error.to_string());
    let discovered = provider::discover(&config.provider, env)
        .await
        .map_err(usage)?;
    let described =
        (config.provider.kind != Some(ProviderKind::Replay)).then(|| discovered.describe());
    let provider = discovered.settings.into_provider().map_err(usage)?;
    match &args.record {
        Some(path) => {
            let recording = RecordingProvider::new(provider, path).map_err(|error| {
                UsageError(format!("cannot record to {}: {error}", path.display()))
            })?;
            Ok((Arc::new(recording), described))
        }
        None => Ok((provider, described)),
    }
}

/// Prints events as text or JSON lines.
struct Printer {
    out: Box<dyn Write + Send>,
    json: bool,
    root: PathBuf,
    /// Whether the last thing printed left the line open (streamed text).
    open_line: bool,
}

impl Printer {
    fn new(out: Box<dyn Write + Send>, json: bool) -> Printer {
        Printer {
            out,
            json,
            root: PathBuf::new(),
            open_line: false,
        }
    }

    fn line(&mut self, text: &str) -> std::io::Result<()> {
        if self.open_line {
            writeln!(self.out)?;
            self.open_line = false;
        }
        writeln!(self.out, "{text}")
    }

    fn stream(&mut self, text: &str) -> std::io::Result<()> {
        write!(self.out, "{text}")?;
        self.open_line = !text.ends_with('\n');
        self.out.flush()
    }

    fn error(&mut self, message: &str) -> std::io::Result<()> {
        if self.json {
            let line = serde_json::json!({ "type": "error", "message": message });
            writeln!(self.out, "{line}")
        } else {
            self.line(&format!("error: {message}"))
        }
    }

    /// A line of context for a person (text mode only: JSON readers have the
    /// events).
    fn note(&mut self, message: &str) -> std::io::Result<()> {
        if self.json {
            return Ok(());
        }
        self.line(message)
    }

    fn warning(&mut self, message: &str) -> std::io::Result<()> {
        self.event(&Event::Warning {
            message: message.to_string(),
        })
    }

    /// Say why an approval was refused (text mode only; JSON readers see the
    /// request and the denied command item).
    fn denied(
        &mut self,
        shown: &str,
        sandbox_escalation: bool,
        policy: ApprovalPolicy,
    ) -> std::io::Result<()> {
        if self.json {
            return Ok(());
        }
        let what = if sandbox_escalation {
            "running it outside the sandbox"
        } else {
            "running it"
        };
        let policy = to_json(policy);
        let policy = policy.as_str().unwrap_or("?");
        self.line(&format!(
            "  denied {what}: `{shown}` needs approval under --approval {policy} and exec cannot ask (use --approval never to allow it)"
        ))
    }

    fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        if self.json {
            let line = serde_json::to_string(event).map_err(std::io::Error::other)?;
            writeln!(self.out, "{line}")?;
            return self.out.flush();
        }
        match event {
            Event::ThreadStarted { thread_id, .. } => self.line(&format!(
                "agentls exec: thread {thread_id} in {}",
                self.root.display()
            )),
            Event::TurnStarted { .. } => Ok(()),
            Event::ItemStarted { item, .. } => self.item_started(item),
            Event::ItemDelta { delta, .. } => match delta {
                ItemDelta::AssistantText { text } | ItemDelta::CommandOutput { text, .. } => {
                    self.stream(text)
                }
                ItemDelta::ReasoningSummary { .. } => Ok(()),
            },
            Event::ItemCompleted { item, .. } => self.item_completed(item),
            Event::ApprovalRequested {
                argv,
                reason,
                tool_call,
                ..
            } => self.line(&format!(
                "? approval asked for `{}`{}",
                match tool_call {
                    Some(call) => format!("{} {}", call.name, call.arguments),
                    None => argv.join(" "),
                },
                reason
                    .as_ref()
                    .map(|reason| format!(": {reason}"))
                    .unwrap_or_default()
            )),
            Event::ApprovalResolved { .. } | Event::TokenUsage { .. } => Ok(()),
            Event::Retrying {
                attempt,
                max,
                delay_ms,
                reason,
                discarded_items,
                ..
            } => {
                let discarded = if discarded_items.is_empty() {
                    ""
                } else {
                    " (the partial answer above is discarded)"
                };
                self.line(&format!(
                    "! retrying ({attempt}/{max}) in {:.1} s: {reason}{discarded}",
                    *delay_ms as f64 / 1000.0
                ))
            }
            Event::Warning { message } => self.line(&format!("warning: {message}")),
            Event::TurnCompleted {
                usage,
                changed_files,
                ..
            } => {
                let files: Vec<String> =
                    changed_files.iter().map(|path| self.shown(path)).collect();
                let changed = if files.is_empty() {
                    "no files changed".to_string()
                } else {
                    format!("changed {}", files.join(", "))
                };
                self.line(&format!(
                    "done: {changed}; tokens: {} in ({} cached), {} out",
                    usage.input_tokens, usage.cached_input_tokens, usage.output_tokens
                ))
            }
            Event::TurnInterrupted { reason, .. } => self.line(&format!(
                "interrupted ({})",
                to_json(reason).as_str().unwrap_or("?")
            )),
            Event::TurnFailed { error, .. } => self.line(&format!("failed: {error}")),
        }
    }

    fn item_started(&mut self, item: &ThreadItem) -> std::io::Result<()> {
        match &item.kind {
            ThreadItemKind::CommandExecution { argv, cwd, .. } => {
                let place = if cwd == &self.root {
                    String::new()
                } else {
                    format!(" (in {})", self.shown(cwd))
                };
                self.line(&format!("$ {}{place}", argv.join(" ")))
            }
            _ => Ok(()),
        }
    }

    fn item_completed(&mut self, item: &ThreadItem) -> std::io::Result<()> {
        match &item.kind {
            ThreadItemKind::UserMessage { text, .. } => self.line(&format!("> {text}")),
            ThreadItemKind::AssistantMessage { text } => {
                if self.open_line {
                    self.open_line = false;
                    writeln!(self.out)
                } else if text.is_empty() {
                    Ok(())
                } else {
                    // Sent whole, without deltas.
                    self.line(text)
                }
            }
            ThreadItemKind::Reasoning { summary } => {
                let summary = summary.join(" ");
                if summary.trim().is_empty() {
                    Ok(())
                } else {
                    self.line(&format!("(thinking) {}", summary.trim()))
                }
            }
            ThreadItemKind::ToolCall {
                tool,
                arguments,
                is_error,
                output,
                ..
            } => {
                let mut line = format!("- {tool} {arguments}");
                if *is_error {
                    line.push_str(&format!(
                        " -> error: {}",
                        output.as_deref().unwrap_or_default()
                    ));
                }
                self.line(&line)
            }
            ThreadItemKind::CommandExecution {
                exit_code, status, ..
            } => {
                let end = match (status, exit_code) {
                    (CommandStatus::Declined, _) => "  (not run)".to_string(),
                    (CommandStatus::Interrupted, _) => "  (interrupted)".to_string(),
                    (_, Some(code)) => format!("  exit {code}"),
                    (_, None) => "  (no exit code)".to_string(),
                };
                self.line(&end)
            }
            ThreadItemKind::FileChange {
                changes,
                status,
                error,
                ..
            } => {
                for change in changes {
                    let mark = match &change.kind {
                        FileChangeKind::Add => "added".to_string(),
                        FileChangeKind::Delete => "deleted".to_string(),
                        FileChangeKind::Update {
                            moved_from: Some(from),
                        } => format!("moved from {} and edited", self.shown(from)),
                        FileChangeKind::Update { moved_from: None } => "edited".to_string(),
                    };
                    let path = self.shown(&change.path);
                    self.line(&format!("* {mark} {path}"))?;
                    let diff = change.diff.trim_end().to_string();
                    self.line(&diff)?;
                }
                match status {
                    PatchStatus::Failed => self.line(&format!(
                        "  not applied: {}",
                        error.as_deref().unwrap_or_default()
                    )),
                    _ => Ok(()),
                }
            }
            ThreadItemKind::Plan { steps, .. } => {
                self.line("plan:")?;
                for step in steps {
                    let mark = match step.status {
                        PlanStepStatus::Completed => "[x]",
                        PlanStepStatus::InProgress => "[>]",
                        PlanStepStatus::Pending => "[ ]",
                    };
                    self.line(&format!("  {mark} {}", step.step))?;
                }
                Ok(())
            }
            ThreadItemKind::Compaction { .. } => {
                self.line("(the conversation was compacted to fit the context window)")
            }
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.open_line {
            writeln!(self.out)?;
            self.open_line = false;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn exec_flags_override_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let env = |name: &str| match name {
            "AGENTLS_PROVIDER" => Some("anthropic".to_string()),
            "AGENTLS_MODEL" => Some("from-env".to_string()),
            "AGENTLS_BASE_URL" => Some("http://127.0.0.1:1/v1".to_string()),
            _ => None,
        };
        let args = ExecArgs {
            task: "t".into(),
            provider: Some("openai-chat".into()),
            approval: Some("never".into()),
            sandbox: Some("read-only".into()),
            ..ExecArgs::default()
        };
        let (config, warnings) = exec_config(&args, dir.path(), &env).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.provider.kind, Some(ProviderKind::OpenaiChat));
        assert_eq!(config.provider.model.as_deref(), Some("from-env"));
        assert_eq!(
            config.provider.base_url.as_deref(),
            Some("http://127.0.0.1:1/v1")
        );
        assert_eq!(config.approvals.policy, ApprovalPolicy::Never);
        assert_eq!(config.sandbox.policy, SandboxPolicy::ReadOnly);
    }

    #[test]
    fn exec_reads_the_workspace_config_and_replay_implies_its_provider() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".agentls.toml"),
            "[approvals]\npolicy = \"untrusted\"\n[compaction]\nthreshold = \"high\"\n",
        )
        .unwrap();
        let args = ExecArgs {
            task: "t".into(),
            replay: Some(PathBuf::from("session.jsonl")),
            ..ExecArgs::default()
        };
        let (config, warnings) = exec_config(&args, dir.path(), &no_env).unwrap();
        assert_eq!(config.approvals.policy, ApprovalPolicy::Untrusted);
        assert_eq!(config.provider.kind, Some(ProviderKind::Replay));
        assert_eq!(
            config.provider.replay_file.as_deref(),
            Some(Path::new("session.jsonl"))
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("compaction.threshold"), "{warnings:?}");
    }

    #[test]
    fn exec_refuses_unknown_flag_values() {
        let dir = tempfile::tempdir().unwrap();
        for (args, expected) in [
            (
                ExecArgs {
                    provider: Some("gemini".into()),
                    ..ExecArgs::default()
                },
                "--provider: unknown value `gemini`",
            ),
            (
                ExecArgs {
                    approval: Some("sometimes".into()),
                    ..ExecArgs::default()
                },
                "--approval: unknown value `sometimes`",
            ),
            (
                ExecArgs {
                    sandbox: Some("none".into()),
                    ..ExecArgs::default()
                },
                "--sandbox: unknown sandbox policy `none`",
            ),
        ] {
            let error = exec_config(&args, dir.path(), &no_env).unwrap_err();
            assert!(error.0.starts_with(expected), "{error}");
        }
    }

    #[derive(Clone, Default)]
    struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn exec_says_what_to_set_when_no_provider_answers_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let out = Shared::default();
        let status = run_with(
            ExecArgs {
                task: "fix it".into(),
                cd: Some(dir.path().to_path_buf()),
                provider: Some("anthropic".into()),
                ..ExecArgs::default()
            },
            ExecIo {
                env: Box::new(no_env),
                sandbox_helper: PathBuf::from("/nonexistent"),
                out: Box::new(out.clone()),
            },
        )
        .await
        .unwrap();
        assert_eq!(status, EXIT_USAGE);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("ANTHROPIC_API_KEY"), "{text}");
    }
}
