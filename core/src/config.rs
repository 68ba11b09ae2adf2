//! The configuration schema and how its layers merge. Layers, lowest first:
//! defaults, `$XDG_CONFIG_HOME/agentls/config.toml`, `.agentls.toml` in the
//! workspace root, the editor's `initializationOptions`, then
//! `workspace/didChangeConfiguration`, and last the `AGENTLS_*` environment
//! variables. A key that does not check out is reported by its dotted path and
//! dropped; the rest of its layer still applies.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::hooks::HooksConfig;
use crate::process::SandboxPolicy;
use crate::user_tasks::UserTask;

mod lists;

/// The whole configuration after merging.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub provider: ProviderConfig,
    pub approvals: ApprovalsConfig,
    pub sandbox: SandboxConfig,
    pub context: ContextConfig,
    pub documents: DocumentsConfig,
    pub compaction: CompactionConfig,
    pub log: LogConfig,
    /// `[[hooks.<Event>]]`: added up across layers (`config/lists.rs`).
    pub hooks: HooksConfig,
    /// `[[tasks]]`: added up across layers (`config/lists.rs`).
    pub tasks: Vec<UserTask>,
    /// `[mcp_servers.NAME]`: the MCP servers whose tools the agent may call.
    pub mcp_servers: BTreeMap<String, McpServerConfig>,
    /// `[completion]`: inline completions, off by default.
    pub completion: CompletionConfig,
}

/// Which wire format a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// OpenAI Responses API (`/v1/responses`).
    OpenaiResponses,
    /// OpenAI-compatible Chat Completions (`/v1/chat/completions`): Ollama,
    /// llama.cpp server, vLLM, LM Studio, OpenRouter.
    OpenaiChat,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// Plays back a file written with `--record`.
    Replay,
}

/// `[provider]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// `None` picks one (`provider::discover`): `OPENAI_API_KEY` set → OpenAI
    /// Responses, else `ANTHROPIC_API_KEY` → Anthropic, else a local server that
    /// answers (Ollama, llama.cpp, LM Studio), else a message saying what to set.
    pub kind: Option<ProviderKind>,
    /// Default per kind.
    pub base_url: Option<String>,
    /// Default per kind.
    pub model: Option<String>,
    /// The name of the environment variable that holds the API key (never the key).
    pub api_key_env: Option<String>,
    /// Extra HTTP headers sent with every request.
    pub headers: BTreeMap<String, String>,
    /// The model's context window in tokens (used for compaction); default per kind.
    pub context_window: Option<u64>,
    /// How many times a retryable fault is retried before the turn fails.
    pub max_retries: u32,
    /// First backoff delay in milliseconds (doubles each retry, with jitter).
    pub retry_base_ms: u64,
    /// A stream that sends nothing for this many seconds is cut and retried.
    pub idle_timeout_secs: u64,
    /// The recording a `replay` provider plays.
    pub replay_file: Option<PathBuf>,
    /// Reasoning effort for models that take one ("low", "medium", "high").
    pub reasoning_effort: Option<String>,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            kind: None,
            base_url: None,
            model: None,
            api_key_env: None,
            headers: BTreeMap::new(),
            context_window: None,
            max_retries: 5,
            retry_base_ms: 500,
            idle_timeout_secs: 120,
            replay_file: None,
            reasoning_effort: None,
        }
    }
}

/// `[completion]`: inline completions (ghost text, or completion items for
/// clients without `textDocument/inlineCompletion`). Off by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompletionConfig {
    /// Announce and answer completions. Read at `initialize` for the
    /// capabilities; turning it off later makes every answer empty.
    pub enabled: bool,
    /// Quiet time after a request before the provider is asked; a newer
    /// request, an edit or a cancel in this time drops it unasked.
    pub debounce_ms: u64,
    /// The longest insertion asked for.
    pub max_tokens: u32,
    /// A provider that has not answered in this time is dropped (empty result).
    pub timeout_ms: u64,
    /// Tokens of definitions (from the symbol index) prepended as comments.
    pub context_tokens: u32,
    pub provider: CompletionProviderConfig,
}

impl Default for CompletionConfig {
    fn default() -> Self {
        CompletionConfig {
            enabled: false,
            debounce_ms: 75,
            max_tokens: 128,
            timeout_ms: 5000,
            context_tokens: 400,
            provider: CompletionProviderConfig::default(),
        }
    }
}

/// How completions are asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompletionKind {
    /// Fill-in-the-middle against an OpenAI-compatible `POST {base}/completions`
    /// (llama.cpp's server, Ollama, vLLM) with the model's FIM tokens.
    #[default]
    Fim,
    /// The chat model of `[provider]`, asked to answer with the insertion only.
    Chat,
}

/// The prompt format of a fill-in-the-middle model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FimTemplate {
    /// Qwen2.5-Coder: `<|fim_prefix|>…<|fim_suffix|>…<|fim_middle|>`.
    #[default]
    Qwen,
    /// Code Llama: `<PRE> … <SUF>… <MID>`.
    Codellama,
    /// StarCoder, StarCoder2: `<fim_prefix>…<fim_suffix>…<fim_middle>`.
    Starcoder,
    /// DeepSeek-Coder: `<｜fim▁begin｜>…<｜fim▁hole｜>…<｜fim▁end｜>`.
    Deepseek,
    /// Codestral: `[SUFFIX]…[PREFIX]…`.
    Codestral,
    /// No tokens: the prefix as `prompt` and the suffix as `suffix`, for servers
    /// that apply the model's own FIM template (Ollama, llama.cpp, vLLM for the
    /// models they know).
    Suffix,
    /// `custom_template`, with `{prefix}` and `{suffix}` replaced.
    Custom,
}

/// `[completion.provider]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompletionProviderConfig {
    pub kind: CompletionKind,
    /// Ends in `/v1`; default Ollama's `http://127.0.0.1:11434/v1`.
    pub base_url: Option<String>,
    /// Default `qwen2.5-coder:1.5b-base`.
    pub model: Option<String>,
    /// The variable holding the key, if the server wants one (never the key).
    pub api_key_env: Option<String>,
    pub template: FimTemplate,
    /// For `template = "custom"`: the prompt, with `{prefix}` and `{suffix}`.
    pub custom_template: Option<String>,
    /// Extra stop sequences, after the template's own.
    pub stop: Vec<String>,
}

impl Default for CompletionProviderConfig {
    fn default() -> Self {
        CompletionProviderConfig {
            kind: CompletionKind::Fim,
            base_url: None,
            model: None,
            api_key_env: None,
            template: FimTemplate::Qwen,
            custom_template: None,
            stop: Vec::new(),
        }
    }
}

/// When a shell command needs the user's consent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalPolicy {
    /// Only known-safe read-only commands run unasked.
    Untrusted,
    /// Commands run in the sandbox unasked; leaving it needs consent.
    #[default]
    OnRequest,
    /// Never ask (commands still run in the sandbox).
    Never,
}

/// Whether the agent's edits land at once or wait for the user's review.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EditApproval {
    /// Edits land as soon as the model makes them (undo reverts them).
    #[default]
    Apply,
    /// Each change waits for the user to accept it (whole or in part) or
    /// discard it; the model is told what was refused.
    Review,
}

/// `[approvals]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalsConfig {
    pub policy: ApprovalPolicy,
    /// How long to wait for the user's answer (to a command, or to a change in
    /// review) before treating it as a deny.
    pub timeout_secs: u64,
    pub edits: EditApproval,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig {
            policy: ApprovalPolicy::OnRequest,
            timeout_secs: 300,
            edits: EditApproval::Apply,
        }
    }
}

/// `[sandbox]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    pub policy: SandboxPolicy,
    /// Default timeout of one command, in seconds.
    pub command_timeout_secs: u64,
    /// Environment variables passed to commands even though their names look secret.
    pub pass_env: Vec<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            policy: SandboxPolicy::WorkspaceWrite,
            command_timeout_secs: 600,
            pass_env: Vec::new(),
        }
    }
}

/// `[context]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextConfig {
    /// Token budget for the context picked around the cursor.
    pub budget_tokens: u32,
    /// Keep the symbol index in the data directory between sessions.
    pub index_cache: bool,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            budget_tokens: 6000,
            index_cache: true,
        }
    }
}

/// `[documents]`: what the server keeps of the editor's open documents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentsConfig {
    /// Syntax trees are kept for the documents used most recently within this
    /// many MiB (estimated), beyond the one in use; the rest are parsed again
    /// when needed. 0 keeps only the tree in use.
    pub tree_budget_mib: u64,
    /// The texts of the documents used most recently (edited, or read by a
    /// request) are kept unpacked within this many MiB, beyond the one in
    /// use; the rest are packed again (and their trees dropped) within a
    /// second. 0 keeps only the text in use unpacked.
    pub text_budget_mib: u64,
    /// A document neither edited nor read by a request for this many
    /// seconds has its text kept packed (compressed) until it is used again,
    /// as a document only opened is from the start. 0: never (documents only
    /// opened are still packed).
    pub pack_idle_secs: u64,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        DocumentsConfig {
            tree_budget_mib: 16,
            text_budget_mib: 2,
            pack_idle_secs: 30,
        }
    }
}

/// `[compaction]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompactionConfig {
    /// Compact when the context passes this fraction of the window.
    pub threshold: f64,
    /// How many of the latest user messages stay verbatim.
    pub keep_user_messages: usize,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            threshold: 0.9,
            keep_user_messages: 3,
        }
    }
}

/// `[log]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter ("info", "agentls=debug").
    pub level: Option<String>,
    /// Log to this file instead of stderr.
    pub file: Option<PathBuf>,
}

/// When the user is asked before a call to one MCP server's tools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum McpApproval {
    /// Before every call (a call approved for the thread is not asked again).
    Always,
    /// As the approval policy says: `untrusted` asks unless the tool says it only
    /// reads (`readOnlyHint`); `on-request` asks unless the call is confined (a
    /// stdio server in an enforcing sandbox) or the tool only reads; `never`
    /// never asks.
    #[default]
    OnRequest,
    /// Never.
    Never,
}

/// When an MCP server is started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum McpStartup {
    /// When a thread's first turn needs the tool list.
    #[default]
    Lazy,
    /// As soon as the agent is set up (the language server's first thread, or
    /// `agentls exec`), in the background.
    Eager,
}

/// `[mcp_servers.NAME]`: one MCP server, in the shape of Codex's `mcp_servers`
/// (its key names are accepted as aliases, so a Codex table can be pasted).
/// Either `command` (stdio) or `url` (streamable HTTP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpServerConfig {
    /// The program of a stdio server.
    pub command: Option<String>,
    pub args: Vec<String>,
    /// Variables set for a stdio server (on top of the scrubbed environment).
    pub env: BTreeMap<String, String>,
    /// Variables passed through to a stdio server from agentls's environment,
    /// even when their names look secret (Codex's `env_vars`).
    pub env_vars: Vec<String>,
    /// The working directory of a stdio server, relative to the workspace root
    /// (default: the root).
    pub cwd: Option<PathBuf>,
    /// The endpoint of a streamable HTTP server.
    pub url: Option<String>,
    /// HTTP headers sent to an HTTP server.
    #[serde(alias = "http_headers")]
    pub headers: BTreeMap<String, String>,
    /// The variable holding a bearer token for an HTTP server (never the token).
    #[serde(alias = "bearer_token_env_var")]
    pub bearer_token_env: Option<String>,
    /// `false` keeps the server off without removing its table.
    pub enabled: bool,
    /// How long starting the server (and listing its tools) may take.
    #[serde(alias = "startup_timeout_sec")]
    pub startup_timeout_secs: u64,
    /// How long one tool call may take before the model is told it timed out.
    #[serde(alias = "tool_timeout_sec")]
    pub tool_timeout_secs: u64,
    /// Only these tools are offered (all when unset).
    pub enabled_tools: Option<Vec<String>>,
    /// These tools are never offered.
    pub disabled_tools: Vec<String>,
    /// When a call is asked about.
    pub approval: McpApproval,
    /// When the server starts.
    pub startup: McpStartup,
    /// The sandbox a stdio server runs in (default: `[sandbox] policy`).
    pub sandbox: Option<SandboxPolicy>,
}

impl Default for McpServerConfig {
    fn default() -> Self {
        McpServerConfig {
            command: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            env_vars: Vec::new(),
            cwd: None,
            url: None,
            headers: BTreeMap::new(),
            bearer_token_env: None,
            enabled: true,
            startup_timeout_secs: 10,
            tool_timeout_secs: 60,
            enabled_tools: None,
            disabled_tools: Vec::new(),
            approval: McpApproval::OnRequest,
            startup: McpStartup::Lazy,
            sandbox: None,
        }
    }
}

/// Where a layer of configuration came from, for messages that say where to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// `$XDG_CONFIG_HOME/agentls/config.toml`.
    UserFile(PathBuf),
    /// `.agentls.toml` in the workspace root.
    WorkspaceFile(PathBuf),
    /// The editor's `initializationOptions`.
    InitializationOptions,
    /// `workspace/didChangeConfiguration`.
    EditorSettings,
    /// `AGENTLS_*` environment variables.
    Environment,
    /// Command-line flags.
    CommandLine,
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::UserFile(path) | ConfigSource::WorkspaceFile(path) => {
                write!(f, "{}", path.display())
            }
            ConfigSource::InitializationOptions => f.write_str("initializationOptions"),
            ConfigSource::EditorSettings => f.write_str("editor settings"),
            ConfigSource::Environment => f.write_str("environment"),
            ConfigSource::CommandLine => f.write_str("command line"),
        }
    }
}

/// One layer: a partial configuration as JSON (TOML is converted on load).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigLayer {
    pub source: ConfigSource,
    pub value: serde_json::Value,
}

/// A key that was rejected, or a file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub source: ConfigSource,
    /// The dotted key (`approvals.policy`), empty when the whole layer is bad.
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.source, self.key, self.message)
        }
    }
}

/// The user's config file: `$XDG_CONFIG_HOME/agentls/config.toml`, else
/// `~/.config/agentls/config.toml`.
pub fn user_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("agentls").join("config.toml"))
}

/// The workspace's config file.
pub fn workspace_config_path(root: &std::path::Path) -> PathBuf {
    root.join(".agentls.toml")
}

/// Reads a TOML layer. A missing file is no layer; an unreadable or unparsable
/// one is a problem naming the file and the line.
pub fn load_toml_layer(
    path: &std::path::Path,
    source: ConfigSource,
) -> Result<Option<ConfigLayer>, ConfigProblem> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ConfigProblem {
                source,
                key: String::new(),
                message: format!("cannot read the file: {error}"),
            })
        }
    };
    parse_toml_layer(&text, source).map(Some)
}

/// Parses TOML text into a layer.
pub fn parse_toml_layer(text: &str, source: ConfigSource) -> Result<ConfigLayer, ConfigProblem> {
    match toml::from_str::<serde_json::Value>(text) {
        Ok(value) => Ok(ConfigLayer { source, value }),
        Err(error) => Err(ConfigProblem {
            source,
            key: String::new(),
            message: format!("not valid TOML: {}", error.message()),
        }),
    }
}

/// The layer the `AGENTLS_*` environment variables make.
pub fn environment_layer(env: &dyn Fn(&str) -> Option<String>) -> Option<ConfigLayer> {
    let mut value = serde_json::Map::new();
    let mut set = |section: &str, key: &str, variable: &str| {
        if let Some(text) = env(variable).filter(|text| !text.is_empty()) {
            let entry = value
                .entry(section.to_string())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let serde_json::Value::Object(map) = entry {
                map.insert(key.to_string(), serde_json::Value::String(text));
            }
        }
    };
    set("provider", "kind", "AGENTLS_PROVIDER");
    set("provider", "base_url", "AGENTLS_BASE_URL");
    set("provider", "model", "AGENTLS_MODEL");
    set("log", "level", "AGENTLS_LOG");
    if value.is_empty() {
        return None;
    }
    Some(ConfigLayer {
        source: ConfigSource::Environment,
        value: serde_json::Value::Object(value),
    })
}

/// Editors nest their settings under a section named after the server; accept both
/// `{"agentls": {...}}` and the bare table.
pub fn editor_layer(settings: &serde_json::Value, source: ConfigSource) -> Option<ConfigLayer> {
    let value = settings.get("agentls").unwrap_or(settings);
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::Object(map) if map.is_empty() => None,
        _ => Some(ConfigLayer {
            source,
            value: value.clone(),
        }),
    }
}

/// Merges layers over the defaults, lowest first. Each rejected key is reported
/// and left out; everything else applies.
pub fn merge(layers: &[ConfigLayer]) -> (Config, Vec<ConfigProblem>) {
    let mut problems = Vec::new();
    let mut lists = lists::Lists::default();
    let mut merged = match serde_json::to_value(Config::default()) {
        Ok(value) => value,
        Err(error) => {
            // Serialising plain data structs cannot fail; if it ever did, the
            // defaults alone are still right.
            tracing::error!(%error, "could not serialise the default configuration");
            return (Config::default(), problems);
        }
    };
    for layer in layers {
        if !layer.value.is_object() {
            problems.push(ConfigProblem {
                source: layer.source.clone(),
                key: String::new(),
                message: format!("expected a table of settings, found {}", layer.value),
            });
            continue;
        }
        let mut candidate_layer = layer.value.clone();
        lists.take_from(&mut candidate_layer, &layer.source, &mut problems);
        // Each round removes one offending key; a layer has finitely many keys.
        loop {
            let mut candidate = merged.clone();
            deep_merge(&mut candidate, &candidate_layer);
            match deserialize_config(&candidate) {
                Ok(_) => {
                    merged = candidate;
                    break;
                }
                Err((key, message)) => {
                    let removed = remove_path(&mut candidate_layer, &key);
                    problems.push(ConfigProblem {
                        source: layer.source.clone(),
                        key: key.clone(),
                        message,
                    });
                    if !removed {
                        // The fault is not in this layer's keys: drop the layer.
                        break;
                    }
                }
            }
        }
    }
    let mut config = deserialize_config(&merged).unwrap_or_default();
    lists.apply(&mut config);
    (config, problems)
}

fn deserialize_config(value: &serde_json::Value) -> Result<Config, (String, String)> {
    serde_path_to_error::deserialize::<_, Config>(value).map_err(|error| {
        // The path names the offending key itself, unknown fields included.
        let key = error.path().to_string();
        let inner = error.into_inner().to_string();
        (key, inner)
    })
}

fn deep_merge(base: &mut serde_json::Value, layer: &serde_json::Value) {
    match (base, layer) {
        (serde_json::Value::Object(base), serde_json::Value::Object(layer)) => {
            for (key, value) in layer {
                match base.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        deep_merge(existing, value)
                    }
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, layer) => *base = layer.clone(),
    }
}

/// Removes `a.b.c` from a JSON object; false when the path is not there.
fn remove_path(value: &mut serde_json::Value, dotted: &str) -> bool {
    let parts: Vec<&str> = dotted.split('.').filter(|part| !part.is_empty()).collect();
    let Some((last, parents)) = parts.split_last() else {
        return false;
    };
    let mut current = value;
    for part in parents {
        match current.get_mut(*part) {
            Some(next) => current = next,
            None => return false,
        }
    }
    // A key inside a list or map value (`headers.X`) is removed whole at the
    // deepest object that holds it.
    match current.as_object_mut() {
        Some(map) => map.remove(*last).is_some(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layer(source: ConfigSource, value: serde_json::Value) -> ConfigLayer {
        ConfigLayer { source, value }
    }

    #[test]
    fn later_layers_override_earlier_ones_key_by_key() {
        let user = parse_toml_layer(
            "[provider]\nkind = \"anthropic\"\nmodel = \"claude\"\n[approvals]\npolicy = \"untrusted\"\n",
            ConfigSource::UserFile("/home/u/.config/agentls/config.toml".into()),
        )
        .unwrap();
        let workspace = parse_toml_layer(
            "[provider]\nmodel = \"local\"\n",
            ConfigSource::WorkspaceFile("/w/.agentls.toml".into()),
        )
        .unwrap();
        let env = environment_layer(&|name| {
            (name == "AGENTLS_BASE_URL").then(|| "http://127.0.0.1:9/v1".to_string())
        })
        .unwrap();
        let (config, problems) = merge(&[user, workspace, env]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.provider.kind, Some(ProviderKind::Anthropic));
        assert_eq!(config.provider.model.as_deref(), Some("local"));
        assert_eq!(
            config.provider.base_url.as_deref(),
            Some("http://127.0.0.1:9/v1")
        );
        assert_eq!(config.approvals.policy, ApprovalPolicy::Untrusted);
        assert_eq!(config.approvals.timeout_secs, 300);
        assert_eq!(config.approvals.edits, EditApproval::Apply);
    }

    #[test]
    fn edits_are_applied_unless_review_is_asked_for() {
        let (config, problems) = merge(&[layer(
            ConfigSource::WorkspaceFile("/w/.agentls.toml".into()),
            json!({"approvals": {"edits": "review"}}),
        )]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.approvals.edits, EditApproval::Review);
        let (config, problems) = merge(&[layer(
            ConfigSource::EditorSettings,
            json!({"approvals": {"edits": "ask"}}),
        )]);
        expect_test::expect![[r#"
            [
                "editor settings: `approvals.edits`: unknown variant `ask`, expected `apply` or `review`",
            ]
        "#]]
        .assert_debug_eq(&problems.iter().map(ToString::to_string).collect::<Vec<_>>());
        assert_eq!(config.approvals.edits, EditApproval::Apply);
    }

    #[test]
    fn a_bad_key_is_named_and_dropped_and_the_rest_applies() {
        let (config, problems) = merge(&[layer(
            ConfigSource::InitializationOptions,
            json!({"approvals": {"policy": "sometimes", "timeout_secs": 5}, "sandbox": {"polcy": "read-only"}}),
        )]);
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        expect_test::expect![[r#"
            [
                "initializationOptions: `approvals.policy`: unknown variant `sometimes`, expected one of `untrusted`, `on-request`, `never`",
                "initializationOptions: `sandbox.polcy`: unknown field `polcy`, expected one of `policy`, `command_timeout_secs`, `pass_env`",
            ]
        "#]]
        .assert_debug_eq(&shown);
        assert_eq!(config.approvals.policy, ApprovalPolicy::OnRequest);
        assert_eq!(config.approvals.timeout_secs, 5);
    }

    #[test]
    fn broken_toml_names_the_file_and_keeps_defaults() {
        let problem = parse_toml_layer(
            "[provider\nkind = 1",
            ConfigSource::WorkspaceFile("/w/.agentls.toml".into()),
        )
        .unwrap_err();
        assert!(
            problem
                .to_string()
                .starts_with("/w/.agentls.toml: not valid TOML"),
            "{problem}"
        );
    }

    #[test]
    fn editor_settings_may_be_nested_under_agentls() {
        let nested = editor_layer(
            &json!({"agentls": {"context": {"budget_tokens": 100}}}),
            ConfigSource::EditorSettings,
        )
        .unwrap();
        let (config, problems) = merge(&[nested]);
        assert!(problems.is_empty());
        assert_eq!(config.context.budget_tokens, 100);
        assert!(editor_layer(&json!(null), ConfigSource::EditorSettings).is_none());
    }

    #[test]
    fn a_codex_mcp_servers_table_pastes_as_it_is() {
        let codex = parse_toml_layer(
            r#"
[mcp_servers.docs]
command = "npx"
args = ["-y", "mcp-server"]
env = { "API_KEY" = "value" }
startup_timeout_sec = 20
tool_timeout_sec = 30
enabled_tools = ["search"]

[mcp_servers.remote]
url = "https://example.invalid/mcp"
bearer_token_env_var = "REMOTE_TOKEN"
http_headers = { "X-Team" = "editor" }
enabled = false
"#,
            ConfigSource::UserFile("/home/u/.config/agentls/config.toml".into()),
        )
        .unwrap();
        let (config, problems) = merge(&[codex]);
        assert!(problems.is_empty(), "{problems:?}");
        let docs = &config.mcp_servers["docs"];
        assert_eq!(docs.command.as_deref(), Some("npx"));
        assert_eq!(docs.args, ["-y", "mcp-server"]);
        assert_eq!(docs.startup_timeout_secs, 20);
        assert_eq!(docs.tool_timeout_secs, 30);
        assert_eq!(docs.enabled_tools, Some(vec!["search".to_string()]));
        assert!(docs.enabled);
        let remote = &config.mcp_servers["remote"];
        assert_eq!(remote.bearer_token_env.as_deref(), Some("REMOTE_TOKEN"));
        assert_eq!(remote.headers["X-Team"], "editor");
        assert!(!remote.enabled);
    }

    #[test]
    fn a_bad_mcp_server_key_is_named_and_the_server_kept() {
        let (config, problems) = merge(&[layer(
            ConfigSource::InitializationOptions,
            json!({"mcp_servers": {"fs": {"command": "node", "approval": "sometimes"}}}),
        )]);
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        expect_test::expect![[r#"
            [
                "initializationOptions: `mcp_servers.fs.approval`: unknown variant `sometimes`, expected one of `always`, `on-request`, `never`",
            ]
        "#]]
        .assert_debug_eq(&shown);
        assert_eq!(config.mcp_servers["fs"].command.as_deref(), Some("node"));
        assert_eq!(config.mcp_servers["fs"].approval, McpApproval::OnRequest);
    }

    #[test]
    fn a_layer_that_is_not_a_table_is_rejected_whole() {
        let (config, problems) = merge(&[layer(ConfigSource::EditorSettings, json!([1, 2]))]);
        assert_eq!(config, Config::default());
        assert_eq!(problems.len(), 1);
    }
}
