//! Inline completions, without LSP: the text around a cursor (`CompletionPrompt`)
//! becomes one insertion, asked of a fill-in-the-middle model over an
//! OpenAI-compatible `/v1/completions` (`fim`, with the model's tokens from
//! `template`) or of the configured chat model (`chat`). Both read at most
//! `MAX_RESPONSE_BYTES` of an answer and make one attempt: a completion that
//! fails is dropped, never retried (the user has typed on by then).

mod chat;
mod fim;
pub mod template;

use std::sync::Arc;
use std::time::Duration;

use crate::config::{CompletionConfig, CompletionKind};
use crate::language::Language;
use crate::model::{Provider, ProviderError};
use crate::provider::ApiKey;

pub use fim::FimClient;

/// The most of a provider's answer read; a longer one is dropped.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// What a completion is asked with: the code before and after the cursor (cut
/// by the front end), and definitions the code uses, as context.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompletionPrompt {
    pub prefix: String,
    pub suffix: String,
    /// Source of definitions from elsewhere, each with the path it comes from;
    /// they go before the prefix as comments.
    pub definitions: Vec<(String, String)>,
    pub language: Option<Language>,
}

impl CompletionPrompt {
    /// The prefix with the definitions above it as line comments in the
    /// language's syntax, so a FIM model reads them as part of the file.
    pub fn prefix_with_context(&self) -> String {
        if self.definitions.is_empty() {
            return self.prefix.clone();
        }
        let marker = comment_marker(self.language);
        let mut text = String::new();
        for (path, source) in &self.definitions {
            text.push_str(&format!("{marker} {path}\n"));
            for line in source.lines() {
                if line.is_empty() {
                    text.push_str(marker);
                } else {
                    text.push_str(&format!("{marker} {line}"));
                }
                text.push('\n');
            }
        }
        text.push_str(&self.prefix);
        text
    }
}

fn comment_marker(language: Option<Language>) -> &'static str {
    match language {
        Some(Language::Python) | Some(Language::Bash) => "#",
        _ => "//",
    }
}

/// Why a completion came back empty. None is retried.
#[derive(Debug, thiserror::Error)]
pub enum CompletionError {
    #[error("the completion provider answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the completion provider's answer passed {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the completion provider did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the completion provider at {url}: {message}")]
    Connection { url: String, message: String },
    #[error("the completion provider's answer is not the documented format: {0}")]
    Malformed(String),
    #[error("{0}")]
    NotConfigured(String),
    #[error(transparent)]
    Chat(#[from] ProviderError),
}

/// Where completions come from, built from `[completion]`.
#[derive(Clone)]
pub enum Completer {
    Fim(Arc<FimClient>),
    /// The chat provider of `[provider]`.
    Chat(Arc<dyn Provider>),
}

impl std::fmt::Debug for Completer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Completer::Fim(client) => client.fmt(f),
            Completer::Chat(provider) => write!(f, "Completer::Chat({})", provider.name()),
        }
    }
}

impl Completer {
    /// The completer `config` names; `chat` is the provider of `[provider]`,
    /// needed only for `kind = "chat"` (and built by the caller, who chooses it).
    pub fn from_config(
        config: &CompletionConfig,
        env: &dyn Fn(&str) -> Option<String>,
        chat: impl FnOnce() -> Result<Arc<dyn Provider>, ProviderError>,
    ) -> Result<Completer, CompletionError> {
        match config.provider.kind {
            CompletionKind::Fim => Ok(Completer::Fim(Arc::new(FimClient::from_config(
                config, env,
            )?))),
            CompletionKind::Chat => Ok(Completer::Chat(chat()?)),
        }
    }

    /// One insertion at the cursor, within `config`'s limits.
    pub async fn complete(
        &self,
        prompt: &CompletionPrompt,
        max_tokens: u32,
        timeout: Duration,
    ) -> Result<String, CompletionError> {
        let call = async {
            match self {
                Completer::Fim(client) => client.complete(prompt, max_tokens).await,
                Completer::Chat(provider) => {
                    chat::complete(provider.as_ref(), prompt, max_tokens).await
                }
            }
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| CompletionError::Timeout(timeout))?
    }
}

fn api_key(
    variable: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ApiKey>, CompletionError> {
    let Some(variable) = variable else {
        return Ok(None);
    };
    match env(variable).map(|value| value.trim().to_string()) {
        Some(value) if !value.is_empty() => Ok(Some(ApiKey::new(value))),
        _ => Err(CompletionError::NotConfigured(format!(
            "completion.provider.api_key_env names {variable}, which is not set"
        ))),
    }
}

#[cfg(test)]
mod tests;
