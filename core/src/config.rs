//! The configuration schema and how its layers merge. Layers, lowest first:
//! defaults, `$XDG_CONFIG_HOME/agentls/config.toml`, `.agentls.toml` in the
//! workspace root, the editor's `initializationOptions`, then
//! `workspace/didChangeConfiguration`, and last the `AGENTLS_*` environment
//! variables. A key that does not check out is reported by its dotted path and
//! dropped; the rest of its layer still applies.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::process::SandboxPolicy;

/// The whole configuration after merging.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub provider: ProviderConfig,
    pub approvals: ApprovalsConfig,
    pub sandbox: SandboxConfig,
    pub context: ContextConfig,
    pub compaction: CompactionConfig,
    pub log: LogConfig,
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
    /// `None` picks one: `OPENAI_API_KEY` set → OpenAI Responses, else
    /// `ANTHROPIC_API_KEY` → Anthropic, else Ollama on 127.0.0.1:11434.
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

/// `[approvals]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalsConfig {
    pub policy: ApprovalPolicy,
    /// How long to wait for the user's answer before treating it as a deny.
    pub timeout_secs: u64,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig {
            policy: ApprovalPolicy::OnRequest,
            timeout_secs: 300,
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
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig { budget_tokens: 6000 }
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
