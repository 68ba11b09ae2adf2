//! Which model provider a task uses, and why, in a fixed order a user can
//! predict: the configuration (`[provider] kind` or `base_url`, or
//! `AGENTLS_PROVIDER`/`AGENTLS_BASE_URL`) first; else `OPENAI_API_KEY`, then
//! `ANTHROPIC_API_KEY`; else a local OpenAI-compatible server (Ollama, llama.cpp's
//! server, LM Studio), probed once and quickly, whose model list names the
//! default model; else a message that says what to set. The choice comes with
//! the reason, so `agentls doctor`, `agentls exec` and the editor can say it.

use std::time::Duration;

use serde::Deserialize;

use super::{kind_name, ProviderSettings};
use crate::config::{ProviderConfig, ProviderKind};
use crate::model::ProviderError;

/// What a user reads when nothing is configured and nothing local answers.
pub const NO_PROVIDER: &str = "no model provider configured: set OPENAI_API_KEY or \
    ANTHROPIC_API_KEY, or start Ollama, or set [provider] in \
    ~/.config/agentls/config.toml (docs/configuration.md)";

/// How long the whole probe of local servers may take: they are on this
/// machine, so an answer comes in milliseconds or not at all.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// The variable that replaces the list of local servers probed:
/// `name=url,name=url` (each url ending in `/v1`).
pub const LOCAL_SERVERS_ENV: &str = "AGENTLS_LOCAL_PROVIDERS";

/// A local OpenAI-compatible server worth probing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalServer {
    /// `Ollama`, `llama.cpp`, `LM Studio`, or the name given in
    /// `AGENTLS_LOCAL_PROVIDERS`.
    pub name: String,
    /// Ends in `/v1`.
    pub base_url: String,
}

/// The local servers probed, in order of preference.
pub fn local_servers(env: &dyn Fn(&str) -> Option<String>) -> Vec<LocalServer> {
    if let Some(list) = env(LOCAL_SERVERS_ENV).filter(|list| !list.trim().is_empty()) {
        return list
            .split(',')
            .filter_map(|entry| {
                let (name, url) = entry.split_once('=')?;
                Some(LocalServer {
                    name: name.trim().to_string(),
                    base_url: url.trim().trim_end_matches('/').to_string(),
                })
            })
            .collect();
    }
    [
        ("Ollama", "http://127.0.0.1:11434/v1"),
        ("llama.cpp", "http://127.0.0.1:8080/v1"),
        ("LM Studio", "http://127.0.0.1:1234/v1"),
    ]
    .into_iter()
    .map(|(name, base_url)| LocalServer {
        name: name.to_string(),
        base_url: base_url.to_string(),
    })
    .collect()
}

/// Why this provider was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `[provider] kind` or `base_url` in a config file, or their variables.
    Configured,
    /// This API key variable is set.
    ApiKey(&'static str),
    /// This local server answered the probe.
    LocalServer(LocalServer),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Configured => write!(f, "set in the configuration"),
            Reason::ApiKey(variable) => write!(f, "{variable} is set"),
            Reason::LocalServer(server) => write!(
                f,
                "no API key is set and {} answers at {}",
                server.name, server.base_url
            ),
        }
    }
}

/// The provider to use and why.
#[derive(Clone, Debug)]
pub struct Discovered {
    pub settings: ProviderSettings,
    pub reason: Reason,
}

impl Discovered {
    /// One line for a user: `openai-chat, model qwen2.5-coder at http://…
    /// (no API key is set and Ollama answers at …)`.
    pub fn describe(&self) -> String {
        let settings = &self.settings;
        let at = if settings.base_url.is_empty() {
            String::new()
        } else {
            format!(" at {}", settings.base_url)
        };
        format!(
            "{}, model {}{at} ({})",
            kind_name(settings.kind),
            settings.model,
            self.reason
        )
    }
}

/// Picks the provider as the module documentation says. Probes local servers
/// only when nothing is configured and no key is set, within `PROBE_TIMEOUT`.
pub async fn discover(
    config: &ProviderConfig,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Discovered, ProviderError> {
    let value_of = |name: &str| env(name).map(|value| value.trim().to_string());
    let configured = config.kind.is_some() || config.base_url.is_some();
    if configured {
        return Ok(Discovered {
            settings: ProviderSettings::resolve(config, env)?,
            reason: Reason::Configured,
        });
    }
    let mut empty_keys = Vec::new();
    for (variable, kind) in [
        ("OPENAI_API_KEY", ProviderKind::OpenaiResponses),
        ("ANTHROPIC_API_KEY", ProviderKind::Anthropic),
    ] {
        match value_of(variable) {
            Some(value) if !value.is_empty() => {
                let chosen = ProviderConfig {
                    kind: Some(kind),
                    ..config.clone()
                };
                return Ok(Discovered {
                    settings: ProviderSettings::resolve(&chosen, env)?,
                    reason: Reason::ApiKey(variable),
                });
            }
            Some(_) => empty_keys.push(variable),
            None => {}
        }
    }
    if let Some((server, models)) = probe_local(&local_servers(env)).await {
        let model = config.model.clone().or_else(|| models.first().cloned());
        let chosen = ProviderConfig {
            kind: Some(ProviderKind::OpenaiChat),
            base_url: Some(server.base_url.clone()),
            model,
            ..config.clone()
        };
        return Ok(Discovered {
            settings: ProviderSettings::resolve(&chosen, env)?,
            reason: Reason::LocalServer(server),
        });
    }
    let mut message = NO_PROVIDER.to_string();
    for variable in empty_keys {
        message.push_str(&format!("; {variable} is set but empty"));
    }
    Err(ProviderError::NotConfigured(message))
}

/// The first of `servers` (in their order) that answers with its model list
/// within `PROBE_TIMEOUT`, and that list. All are asked at once.
pub async fn probe_local(servers: &[LocalServer]) -> Option<(LocalServer, Vec<String>)> {
    // Local servers speak plain HTTP: the system's certificates are loaded
    // (a file read and ~150 certificates parsed, at every server start) only
    // for one given as https.
    let https = servers
        .iter()
        .any(|server| server.base_url.starts_with("https:"));
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .no_proxy()
        .tls_built_in_root_certs(https)
        .build()
        .ok()?;
    let probes = servers.iter().map(|server| {
        let client = client.clone();
        async move { list_models_with(&client, &server.base_url).await.ok() }
    });
    let answers = tokio::time::timeout(PROBE_TIMEOUT, futures::future::join_all(probes))
        .await
        .ok()?;
    servers
        .iter()
        .zip(answers)
        .find_map(|(server, models)| Some((server.clone(), models?)))
}

/// The models a provider offers: one cheap request (`GET /v1/models`, or
/// Ollama's `/api/tags`), to check that it answers. Sends the API key the way
/// each kind does.
pub async fn list_models(
    settings: &ProviderSettings,
    timeout: Duration,
) -> Result<Vec<String>, ProviderError> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = &settings.api_key {
        let pairs = match settings.kind {
            ProviderKind::Anthropic => vec![
                ("x-api-key", key.expose().to_string()),
                ("anthropic-version", "2023-06-01".to_string()),
            ],
            _ => vec![("authorization", format!("Bearer {}", key.expose()))],
        };
        for (name, value) in pairs {
            let mut value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
                ProviderError::NotConfigured("the API key is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
    }
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .default_headers(headers)
        .build()
        .map_err(|error| {
            ProviderError::NotConfigured(format!("cannot build an HTTP client: {error}"))
        })?;
    let url = format!("{}/models", settings.base_url);
    list_models_with(&client, &settings.base_url)
        .await
        .map_err(|error| match error.status() {
            Some(status) => ProviderError::Rejected {
                status: status.as_u16(),
                message: format!("GET {url} answered {status}"),
            },
            None if error.is_decode() => {
                ProviderError::Malformed(format!("the model list at {url}: {error}"))
            }
            None => ProviderError::Connection {
                url: url.clone(),
                message: error.without_url().to_string(),
            },
        })
}

/// `list_models` for a local server, falling back to Ollama's own `/api/tags`.
async fn list_models_with(
    client: &reqwest::Client,
    base_url: &str,
) -> Result<Vec<String>, reqwest::Error> {
    let openai = client
        .get(format!("{base_url}/models"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    match openai {
        Ok(response) => Ok(response
            .json::<ModelList>()
            .await?
            .data
            .into_iter()
            .map(|model| model.id)
            .collect()),
        Err(error) if error.is_connect() || error.is_timeout() => Err(error),
        Err(_) => {
            let root = base_url.trim_end_matches("/v1");
            let tags: OllamaTags = client
                .get(format!("{root}/api/tags"))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok(tags.models.into_iter().map(|model| model.name).collect())
        }
    }
}

#[derive(Deserialize)]
struct ModelList {
    #[serde(default)]
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

#[derive(Deserialize)]
struct OllamaTags {
    #[serde(default)]
    models: Vec<OllamaModel>,
}

#[derive(Deserialize)]
struct OllamaModel {
    name: String,
}
