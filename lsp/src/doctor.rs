//! `agentls doctor`, like `hx --health`: what agentls would do here and why. The
//! configuration files read and what they set, the model provider chosen and
//! whether it answers, what the sandbox can enforce on this host, where data and
//! logs go, and whether each editor found on PATH is set up to start agentls.
//! Exit status 0 when a task could run, 1 otherwise; `--json` for scripts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentls_core::config::{self, ConfigLayer, ConfigSource, ProviderKind};
use agentls_core::provider::{self, discovery};
use agentls_core::sandbox::{sandbox_support, LandlockSupport};
use serde::Serialize;

/// How long the provider gets to answer its model list.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(2);

/// `agentls doctor` arguments.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct DoctorArgs {
    /// The workspace to check (its `.agentls.toml`); the current directory by
    /// default.
    #[arg(short = 'C', long = "cd", value_name = "DIR")]
    pub cd: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Everything the doctor found.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub version: &'static str,
    pub config_files: Vec<ConfigFile>,
    /// The `AGENTLS_*` variables that set something.
    pub environment: Vec<String>,
    pub config_problems: Vec<String>,
    pub provider: ProviderReport,
    pub sandbox: SandboxReport,
    pub data_dir: Option<PathBuf>,
    /// Where logs go: a file, or stderr.
    pub log: String,
    pub editors: Vec<EditorReport>,
    /// A task could run: a provider was chosen and answered.
    pub ready: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigFile {
    pub path: PathBuf,
    /// `read`, `absent` or `invalid`.
    pub status: &'static str,
    /// The dotted keys it sets (`provider.kind`).
    pub keys: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderReport {
    /// What was chosen and why, or why nothing could be.
    pub chosen: Check,
    /// Whether it answered its model list, and how many models it offers.
    pub answers: Check,
}

/// One thing checked: whether it is fine, and what was seen or what to do.
#[derive(Debug, Serialize)]
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

impl From<Result<String, String>> for Check {
    fn from(result: Result<String, String>) -> Check {
        match result {
            Ok(detail) => Check { ok: true, detail },
            Err(detail) => Check { ok: false, detail },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxReport {
    pub support: agentls_core::sandbox::SandboxSupport,
    /// One line: what commands get on this host.
    pub summary: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EditorReport {
    pub editor: &'static str,
    /// The executable found on PATH, if any.
    pub found: Option<PathBuf>,
    /// Whether it is set up to start agentls, and where that was seen (or what
    /// to do).
    pub configured: Check,
}

/// Runs the doctor and prints its report to `out`; the result is the exit status.
pub async fn run(
    args: &DoctorArgs,
    env: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    out: &mut dyn Write,
) -> std::io::Result<i32> {
    let report = examine(args, env).await;
    if args.json {
        let json = serde_json::to_string_pretty(&report).map_err(std::io::Error::other)?;
        writeln!(out, "{json}")?;
    } else {
        write_text(&report, out)?;
    }
    Ok(if report.ready { 0 } else { 1 })
}

/// Looks at everything; never fails (a fault is part of the report).
pub async fn examine(
    args: &DoctorArgs,
    env: &(dyn Fn(&str) -> Option<String> + Send + Sync),
) -> Report {
    let root = args
        .cd
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    let mut layers = Vec::new();
    let mut config_files = Vec::new();
    let mut config_problems = Vec::new();
    let mut paths = Vec::new();
    if let Some(path) = config::user_config_path(env) {
        paths.push((path.clone(), ConfigSource::UserFile(path)));
    }
    let workspace_file = config::workspace_config_path(&root);
    paths.push((
        workspace_file.clone(),
        ConfigSource::WorkspaceFile(workspace_file),
    ));
    for (path, source) in paths {
        let (status, keys) = match config::load_toml_layer(&path, source) {
            Ok(Some(layer)) => {
                let keys = dotted_keys(&layer);
                layers.push(layer);
                ("read", keys)
            }
            Ok(None) => ("absent", Vec::new()),
            Err(problem) => {
                config_problems.push(problem.to_string());
                ("invalid", Vec::new())
            }
        };
        config_files.push(ConfigFile { path, status, keys });
    }
    let environment = config::environment_layer(env)
        .map(|layer| {
            let keys = dotted_keys(&layer);
            layers.push(layer);
            keys
        })
        .unwrap_or_default();
    let (merged, problems) = config::merge(&layers);
    config_problems.extend(problems.iter().map(ToString::to_string));

    let provider = examine_provider(&merged.provider, env).await;
    let support = sandbox_support().clone();
    let landlock = match &support.landlock {
        LandlockSupport::Full { abi } => format!("Landlock ABI {abi}"),
        LandlockSupport::Partial { abi } => format!("Landlock ABI {abi} (partial)"),
        LandlockSupport::Unavailable { .. } => "no Landlock".to_string(),
    };
    let seccomp = if support.seccomp {
        "seccomp"
    } else {
        "no seccomp"
    };
    let summary = match support.warning() {
        None => format!(
            "{landlock}, {seccomp}: commands are confined (writes only in the workspace, no network)"
        ),
        Some(warning) => format!("{landlock}, {seccomp}: {}", warning.message),
    };
    let data_dir = agentls_core::agent::default_data_dir(env).ok();
    let log = match (&merged.log.file, &data_dir) {
        (Some(file), _) => file.display().to_string(),
        (None, Some(dir)) => format!(
            "the server logs to stderr (the editor's log); exec and doctor to {}",
            dir.join("agentls.log").display()
        ),
        (None, None) => "stderr".to_string(),
    };
    let ready = provider.chosen.ok && provider.answers.ok;
    Report {
        version: env!("CARGO_PKG_VERSION"),
        config_files,
        environment,
        config_problems,
        provider,
        sandbox: SandboxReport { support, summary },
        data_dir,
        log,
        editors: examine_editors(env),
        ready,
    }
}

async fn examine_provider(
    config: &config::ProviderConfig,
    env: &(dyn Fn(&str) -> Option<String> + Send + Sync),
) -> ProviderReport {
    let discovered = match provider::discover(config, env).await {
        Ok(discovered) => discovered,
        Err(error) => {
            return ProviderReport {
                chosen: Err(error.to_string()).into(),
                answers: Err("not asked: no provider".to_string()).into(),
            }
        }
    };
    let chosen: Result<String, String> = Ok(discovered.describe());
    let settings = &discovered.settings;
    let answers = if settings.kind == ProviderKind::Replay {
        match &settings.replay_file {
            Some(file) if file.is_file() => Ok(format!("replays {}", file.display())),
            Some(file) => Err(format!("the replay file {} does not exist", file.display())),
            None => Err("provider.replay_file is not set".to_string()),
        }
    } else {
        match discovery::list_models(settings, PROVIDER_TIMEOUT).await {
            Ok(models) if models.is_empty() => Ok("answers (no models listed)".to_string()),
            Ok(models) if models.contains(&settings.model) => Ok(format!(
                "answers; {} models, {} among them",
                models.len(),
                settings.model
            )),
            Ok(models) => Ok(format!(
                "answers; {} models, but not {} (it offers {})",
                models.len(),
                settings.model,
                models
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Err(error) => Err(error.to_string()),
        }
    };
    ProviderReport {
        chosen: chosen.into(),
        answers: answers.into(),
    }
}

/// The keys a layer sets, dotted (`provider.kind`).
fn dotted_keys(layer: &ConfigLayer) -> Vec<String> {
    fn walk(prefix: &str, value: &serde_json::Value, keys: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (key, value) in map {
                    let dotted = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&dotted, value, keys);
                }
            }
            _ => keys.push(prefix.to_string()),
        }
    }
    let mut keys = Vec::new();
    walk("", &layer.value, &mut keys);
    keys.retain(|key| !key.is_empty());
    keys
}

fn examine_editors(env: &dyn Fn(&str) -> Option<String>) -> Vec<EditorReport> {
    let config_home = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")));
    let home = env("HOME").map(PathBuf::from);
    let helix = {
        let languages = crate::setup::helix_config_dir(env).map(|dir| dir.join("languages.toml"));
        let configured = match &languages {
            Some(file) if mentions_agentls(file) => {
                Ok(format!("{} starts agentls", file.display()))
            }
            Some(file) => Err(format!(
                "{} does not start agentls: run `agentls setup helix`",
                file.display()
            )),
            None => Err("no Helix config directory: run `agentls setup helix`".to_string()),
        };
        EditorReport {
            editor: "helix",
            found: on_path("hx", env),
            configured: configured.into(),
        }
    };
    let neovim = {
        let dir = config_home.as_ref().map(|config| config.join("nvim"));
        let seen = dir.as_deref().and_then(|dir| find_mention(dir, 3));
        let configured = match (seen, &dir) {
            (Some(file), _) => Ok(format!("{} mentions agentls", file.display())),
            (None, Some(dir)) => Err(format!(
                "nothing in {} starts agentls: add `require('agentls').setup{{}}` (docs/editors/neovim.md)",
                dir.display()
            )),
            (None, None) => Err("no Neovim config directory (docs/editors/neovim.md)".to_string()),
        };
        EditorReport {
            editor: "neovim",
            found: on_path("nvim", env),
            configured: configured.into(),
        }
    };
    let vscode = {
        let extensions = home
            .as_ref()
            .map(|home| home.join(".vscode").join("extensions"));
        let installed = extensions.as_deref().and_then(|dir| {
            std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
                let name = entry.file_name().to_string_lossy().to_lowercase();
                name.contains("agentls").then(|| entry.path())
            })
        });
        let configured = match installed {
            Some(path) => Ok(format!("extension installed at {}", path.display())),
            None => Err(
                "the agentls extension is not installed (editors/vscode, docs/editors/vscode.md)"
                    .to_string(),
            ),
        };
        EditorReport {
            editor: "vscode",
            found: on_path("code", env),
            configured: configured.into(),
        }
    };
    vec![helix, neovim, vscode]
}

fn mentions_agentls(file: &Path) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| text.contains("agentls"))
}

/// The first `.lua` or `.vim` file under `dir` (at most `depth` levels down)
/// that mentions agentls.
fn find_mention(dir: &Path, depth: usize) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = entry.file_type().ok()?;
        if kind.is_dir() && depth > 0 {
            if let Some(found) = find_mention(&path, depth - 1) {
                return Some(found);
            }
        } else if kind.is_file()
            && matches!(
                path.extension().and_then(|extension| extension.to_str()),
                Some("lua" | "vim")
            )
            && mentions_agentls(&path)
        {
            return Some(path);
        }
    }
    None
}

fn on_path(program: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let path = env("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn write_text(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mark = |ok: bool| if ok { "ok " } else { "!! " };
    writeln!(out, "agentls {} doctor", report.version)?;
    writeln!(out, "configuration")?;
    for file in &report.config_files {
        let keys = if file.keys.is_empty() {
            String::new()
        } else {
            format!(": sets {}", file.keys.join(", "))
        };
        writeln!(
            out,
            "  {}{} {}{keys}",
            mark(file.status != "invalid"),
            file.path.display(),
            file.status
        )?;
    }
    if !report.environment.is_empty() {
        writeln!(
            out,
            "  ok environment sets {}",
            report.environment.join(", ")
        )?;
    }
    for problem in &report.config_problems {
        writeln!(out, "  !! {problem}")?;
    }
    writeln!(out, "provider")?;
    for check in [&report.provider.chosen, &report.provider.answers] {
        writeln!(out, "  {}{}", mark(check.ok), check.detail)?;
    }
    writeln!(out, "sandbox")?;
    writeln!(
        out,
        "  {}{}",
        mark(report.sandbox.support.confines_commands()),
        report.sandbox.summary
    )?;
    writeln!(out, "files")?;
    match &report.data_dir {
        Some(dir) => writeln!(out, "  ok data: {}", dir.display())?,
        None => writeln!(out, "  !! no data directory (set XDG_DATA_HOME or HOME)")?,
    }
    writeln!(out, "  ok log: {}", report.log)?;
    writeln!(out, "editors")?;
    for editor in &report.editors {
        match &editor.found {
            None => writeln!(out, "  -- {}: not on PATH", editor.editor)?,
            Some(found) => writeln!(
                out,
                "  {}{} ({}): {}",
                mark(editor.configured.ok),
                editor.editor,
                found.display(),
                editor.configured.detail
            )?,
        }
    }
    if report.ready {
        writeln!(out, "ready: a task can run")
    } else {
        writeln!(out, "not ready: fix the provider lines above")
    }
}
