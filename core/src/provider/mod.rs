//! Model providers over the real wire formats: OpenAI Responses, OpenAI-compatible
//! Chat Completions and Anthropic Messages, each streamed over SSE, plus recording
//! and replay. Every provider makes one attempt per call; the loop retries the
//! faults `ProviderError::is_retryable` names, waiting `backoff_delay`.
//!
//! How faults map, for all three formats:
//!
//! | what the provider did | `ProviderError` |
//! |---|---|
//! | 429 (except OpenAI `insufficient_quota`) | `RateLimited`, `retry_after` from `retry-after-ms`, `retry-after` (seconds or HTTP date) or a "try again in 1.5s" phrase |
//! | 5xx, 529, 408, 409, Anthropic `overloaded_error`/`api_error`, OpenAI `server_error` | `Server` |
//! | OpenAI `context_length_exceeded`, Anthropic "prompt is too long", llama.cpp/vLLM context errors | `ContextLengthExceeded` |
//! | any other 4xx | `Rejected` with the provider's message |
//! | connect/send failure, body broken mid-way | `Connection` naming the URL |
//! | body ends before `response.completed` / `[DONE]` / `message_stop` | `StreamEnded` |
//! | no bytes for the idle timeout | `IdleTimeout` |
//! | an event that is not the documented format | `Malformed` |
//!
//! Error events inside a stream (`response.failed`, `error`) map the same way. API
//! keys are held in [`ApiKey`], sent as sensitive headers, scrubbed from provider
//! messages, and never logged.

mod anthropic;
#[cfg(test)]
mod chunked;
pub mod discovery;
mod fault;
mod http;
mod openai_chat;
mod openai_responses;
mod record;
mod sse;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;

use crate::config::{ProviderConfig, ProviderKind};
use crate::model::{Provider, ProviderError, ResponseStream};

pub use anthropic::AnthropicProvider;
pub use discovery::{discover, Discovered, NO_PROVIDER};
pub use openai_chat::OpenAiChatProvider;
pub use openai_responses::OpenAiResponsesProvider;
pub use record::{Exchange, ExchangeOutcome, RecordedError, RecordingProvider, ReplayProvider};

/// The default endpoint of the OpenAI API.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The default endpoint of the Anthropic API.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com/v1";
/// Where Ollama serves its OpenAI-compatible API by default.
pub const OLLAMA_BASE_URL: &str = "http://127.0.0.1:11434/v1";

/// The three streamed wire formats agentls speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// OpenAI Responses: `POST {base}/responses`.
    OpenAiResponses,
    /// OpenAI-compatible Chat Completions: `POST {base}/chat/completions`.
    OpenAiChat,
    /// Anthropic Messages: `POST {base}/messages`.
    Anthropic,
}

impl WireFormat {
    /// The path appended to the base URL (which ends in `/v1`).
    pub fn endpoint(self) -> &'static str {
        match self {
            WireFormat::OpenAiResponses => "/responses",
            WireFormat::OpenAiChat => "/chat/completions",
            WireFormat::Anthropic => "/messages",
        }
    }
}

/// An API key. Its `Debug` and `Display` never show it; only the providers read it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// A provider configuration with every default filled in and the key read from
/// the environment: what the provider constructors take. Tests adjust its fields
/// (a sub-second `idle_timeout`) before building.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    /// Ends in `/v1`, without a trailing slash.
    pub base_url: String,
    /// Used when `ModelRequest::model` is empty.
    pub model: String,
    pub api_key: Option<ApiKey>,
    /// Extra headers sent with every request.
    pub headers: BTreeMap<String, String>,
    pub context_window: Option<u64>,
    /// A response that sends no byte for this long fails with `IdleTimeout`.
    pub idle_timeout: Duration,
    /// Used when `ModelRequest::reasoning` is unset.
    pub reasoning_effort: Option<String>,
    /// The recording a replay provider plays.
    pub replay_file: Option<PathBuf>,
}

/// What each kind uses when the configuration leaves it out.
struct KindDefaults {
    base_url: &'static str,
    model: &'static str,
    context_window: u64,
    /// `None`: no key unless `api_key_env` names one.
    api_key_env: Option<&'static str>,
}

fn kind_defaults(kind: ProviderKind) -> KindDefaults {
    match kind {
        ProviderKind::OpenaiResponses => KindDefaults {
            base_url: OPENAI_BASE_URL,
            model: "gpt-5-codex",
            context_window: 272_000,
            api_key_env: Some("OPENAI_API_KEY"),
        },
        ProviderKind::Anthropic => KindDefaults {
            base_url: ANTHROPIC_BASE_URL,
            model: "claude-sonnet-4-5",
            context_window: 200_000,
            api_key_env: Some("ANTHROPIC_API_KEY"),
        },
        ProviderKind::OpenaiChat => KindDefaults {
            base_url: OLLAMA_BASE_URL,
            model: "qwen2.5-coder",
            context_window: 32_768,
            api_key_env: None,
        },
        ProviderKind::Replay => KindDefaults {
            base_url: "",
            model: "",
            context_window: 0,
            api_key_env: None,
        },
    }
}

/// The short name of a kind, as written in the configuration.
pub fn kind_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::OpenaiResponses => "openai-responses",
        ProviderKind::OpenaiChat => "openai-chat",
        ProviderKind::Anthropic => "anthropic",
        ProviderKind::Replay => "replay",
    }
}

impl ProviderSettings {
    /// Fills in the defaults of `config` and reads the API key through `env`.
    /// Without a `kind`: `OPENAI_API_KEY` set → OpenAI Responses, else
    /// `ANTHROPIC_API_KEY` → Anthropic, else Ollama on 127.0.0.1:11434.
    pub fn resolve(
        config: &ProviderConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ProviderSettings, ProviderError> {
        let is_set = |name: &str| env(name).is_some_and(|value| !value.trim().is_empty());
        let kind = config.kind.unwrap_or_else(|| {
            if is_set("OPENAI_API_KEY") {
                ProviderKind::OpenaiResponses
            } else if is_set("ANTHROPIC_API_KEY") {
                ProviderKind::Anthropic
            } else {
                ProviderKind::OpenaiChat
            }
        });
        let defaults = kind_defaults(kind);
        let name = kind_name(kind);

        if kind == ProviderKind::Replay && config.replay_file.is_none() {
            return Err(ProviderError::NotConfigured(
                "provider.kind = \"replay\" needs provider.replay_file, the file written with --record"
                    .to_string(),
            ));
        }

        let key_env = config.api_key_env.as_deref().or(defaults.api_key_env);
        let api_key = match key_env {
            None => None,
            Some(variable) => match env(variable).map(|value| value.trim().to_string()) {
                Some(value) if !value.is_empty() => Some(ApiKey(value)),
                _ => {
                    let hint = if config.api_key_env.is_some() {
                        String::new()
                    } else {
                        " (or name another variable in provider.api_key_env)".to_string()
                    };
                    return Err(ProviderError::NotConfigured(format!(
                        "the {name} provider needs an API key: set the environment variable {variable}{hint}"
                    )));
                }
            },
        };

        let base_url = config
            .base_url
            .as_deref()
            .unwrap_or(defaults.base_url)
            .trim_end_matches('/')
            .to_string();
        if kind != ProviderKind::Replay {
            check_base_url(&base_url)?;
        }
        let model = config
            .model
            .clone()
            .unwrap_or_else(|| defaults.model.to_string());
        let context_window = config
            .context_window
            .or((defaults.context_window > 0).then_some(defaults.context_window));
        Ok(ProviderSettings {
            kind,
            base_url,
            model,
            api_key,
            headers: config.headers.clone(),
            context_window,
            idle_timeout: Duration::from_secs(config.idle_timeout_secs.max(1)),
            reasoning_effort: config.reasoning_effort.clone(),
            replay_file: config.replay_file.clone(),
        })
    }

    /// What `into_provider` would refuse, found without making the provider
    /// (its HTTP client loads the system's certificates): a key or a header
    /// that cannot be sent.
    pub fn check(&self) -> Result<(), ProviderError> {
        let auth = match self.kind {
            ProviderKind::Anthropic => http::Auth::Anthropic,
            ProviderKind::OpenaiResponses | ProviderKind::OpenaiChat => http::Auth::Bearer,
            // `resolve` already refused one without its file.
            ProviderKind::Replay => return Ok(()),
        };
        http::request_headers(self, auth).map(drop)
    }

    /// Builds the provider these settings describe.
    pub fn into_provider(self) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(match self.kind {
            ProviderKind::OpenaiResponses => Arc::new(OpenAiResponsesProvider::new(self)?),
            ProviderKind::OpenaiChat => Arc::new(OpenAiChatProvider::new(self)?),
            ProviderKind::Anthropic => Arc::new(AnthropicProvider::new(self)?),
            ProviderKind::Replay => {
                let path = self.replay_file.clone().ok_or_else(|| {
                    ProviderError::NotConfigured(
                        "provider.kind = \"replay\" needs provider.replay_file".to_string(),
                    )
                })?;
                Arc::new(ReplayProvider::open(&path)?.with_context_window(self.context_window))
            }
        })
    }
}

/// A base URL must be an absolute `http(s)://host…` URL: anything else would
/// fail every request the same way, after every retry.
fn check_base_url(base_url: &str) -> Result<(), ProviderError> {
    let parsed = reqwest::Url::parse(base_url);
    let usable = parsed
        .as_ref()
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some());
    if usable {
        return Ok(());
    }
    Err(ProviderError::NotConfigured(format!(
        "provider.base_url {base_url:?} is not an http(s) URL: write it like \
         http://127.0.0.1:11434/v1 (it comes from AGENTLS_BASE_URL, --base-url or a config file)"
    )))
}

/// Builds the provider `config` describes, reading API keys through `env` (pass
/// `&|name| std::env::var(name).ok()` in production).
pub fn from_config(
    config: &ProviderConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn Provider>, ProviderError> {
    ProviderSettings::resolve(config, env)?.into_provider()
}

/// The longest the loop waits between two attempts, whatever was asked.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How long to wait before retry number `attempt` (1 for the first retry):
/// `base` doubled per attempt with ±10% jitter, or exactly what the provider asked
/// for in `retry_after`; never more than [`MAX_BACKOFF`].
pub fn backoff_delay(attempt: u32, base: Duration, retry_after: Option<Duration>) -> Duration {
    if let Some(asked) = retry_after {
        return asked.min(MAX_BACKOFF);
    }
    let exponent = attempt.saturating_sub(1).min(20);
    let exponential = base.saturating_mul(1u32 << exponent);
    let jitter = 0.9 + fastrand::f64() * 0.2;
    exponential.mul_f64(jitter).min(MAX_BACKOFF)
}

/// Decodes a provider's SSE body (bytes as they arrive, in any chunking) into
/// events, exactly as the providers do minus the HTTP and the idle timeout. A body
/// that ends before its closing event yields `StreamEnded`.
pub fn decode_sse<S>(format: WireFormat, body: S) -> ResponseStream
where
    S: Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
{
    let span = tracing::Span::none();
    match format {
        WireFormat::OpenAiResponses => {
            sse::decode(body, openai_responses::Decoder::default(), None, span)
        }
        WireFormat::OpenAiChat => sse::decode(body, openai_chat::Decoder::default(), None, span),
        WireFormat::Anthropic => sse::decode(body, anthropic::Decoder::default(), None, span),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn provider_kind_is_picked_from_the_keys_in_the_environment() {
        let config = ProviderConfig::default();
        let openai =
            ProviderSettings::resolve(&config, &env_of(&[("OPENAI_API_KEY", "sk-1")])).unwrap();
        assert_eq!(openai.kind, ProviderKind::OpenaiResponses);
        assert_eq!(openai.base_url, OPENAI_BASE_URL);
        assert_eq!(openai.model, "gpt-5-codex");

        let anthropic = ProviderSettings::resolve(
            &config,
            &env_of(&[("OPENAI_API_KEY", ""), ("ANTHROPIC_API_KEY", "sk-ant")]),
        )
        .unwrap();
        assert_eq!(anthropic.kind, ProviderKind::Anthropic);
        assert_eq!(anthropic.base_url, ANTHROPIC_BASE_URL);
        assert_eq!(anthropic.context_window, Some(200_000));

        let ollama = ProviderSettings::resolve(&config, &env_of(&[])).unwrap();
        assert_eq!(ollama.kind, ProviderKind::OpenaiChat);
        assert_eq!(ollama.base_url, "http://127.0.0.1:11434/v1");
        assert!(ollama.api_key.is_none());
    }

    #[test]
    fn missing_key_says_which_variable_to_set() {
        let config = ProviderConfig {
            kind: Some(ProviderKind::Anthropic),
            ..ProviderConfig::default()
        };
        let error = ProviderSettings::resolve(&config, &env_of(&[])).unwrap_err();
        expect_test::expect![[r#"NotConfigured("the anthropic provider needs an API key: set the environment variable ANTHROPIC_API_KEY (or name another variable in provider.api_key_env)")"#]]
            .assert_eq(&format!("{error:?}"));

        let config = ProviderConfig {
            kind: Some(ProviderKind::OpenaiChat),
            api_key_env: Some("OPENROUTER_API_KEY".to_string()),
            ..ProviderConfig::default()
        };
        let error = ProviderSettings::resolve(&config, &env_of(&[("OPENROUTER_API_KEY", " ")]))
            .unwrap_err();
        assert_eq!(
            error,
            ProviderError::NotConfigured(
                "the openai-chat provider needs an API key: set the environment variable OPENROUTER_API_KEY"
                    .to_string()
            )
        );
    }

    #[test]
    fn replay_without_a_file_is_not_configured() {
        let config = ProviderConfig {
            kind: Some(ProviderKind::Replay),
            ..ProviderConfig::default()
        };
        let error = from_config(&config, &env_of(&[])).err().unwrap();
        assert!(
            matches!(error, ProviderError::NotConfigured(message) if message.contains("replay_file"))
        );
    }

    #[test]
    fn check_finds_what_making_the_provider_would_refuse() {
        let resolve = |config: &ProviderConfig, env: &[(&str, &str)]| {
            ProviderSettings::resolve(config, &env_of(env)).unwrap()
        };
        let config = ProviderConfig::default();
        resolve(&config, &[("OPENAI_API_KEY", "sk-1")])
            .check()
            .unwrap();
        let error = resolve(&config, &[("ANTHROPIC_API_KEY", "sk\nant")])
            .check()
            .unwrap_err();
        assert_eq!(
            error,
            ProviderError::NotConfigured(
                "the API key holds characters that cannot go in an HTTP header".to_string()
            )
        );
        let mut config = ProviderConfig::default();
        config
            .headers
            .insert("bad name".to_string(), "1".to_string());
        let error = resolve(&config, &[]).check().unwrap_err();
        assert!(
            matches!(&error, ProviderError::NotConfigured(message) if message.contains("\"bad name\" is not a valid header name")),
            "{error:?}"
        );
    }

    #[test]
    fn api_key_debug_is_redacted() {
        let settings = ProviderSettings::resolve(
            &ProviderConfig::default(),
            &env_of(&[("OPENAI_API_KEY", "sk-secret-123")]),
        )
        .unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("sk-secret-123"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        let base = Duration::from_millis(500);
        for attempt in 1..=4u32 {
            let expected = 500.0 * f64::from(1u32 << (attempt - 1));
            let delay = backoff_delay(attempt, base, None).as_secs_f64() * 1000.0;
            assert!(
                delay >= expected * 0.9 - 1.0 && delay <= expected * 1.1 + 1.0,
                "attempt {attempt}: {delay}ms"
            );
        }
        assert_eq!(backoff_delay(30, base, None), MAX_BACKOFF);
        assert_eq!(backoff_delay(u32::MAX, base, None), MAX_BACKOFF);
        assert_eq!(
            backoff_delay(1, base, Some(Duration::from_millis(1500))),
            Duration::from_millis(1500)
        );
        assert_eq!(
            backoff_delay(1, base, Some(Duration::from_secs(3600))),
            MAX_BACKOFF
        );
    }
}
