//! Fill-in-the-middle over an OpenAI-compatible `POST {base}/completions`,
//! not streamed: one JSON answer whose `choices[0].text` is the insertion.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use serde::{Deserialize, Serialize};

use super::template::{self, FimPrompt};
use super::{api_key, CompletionError, CompletionPrompt, MAX_RESPONSE_BYTES};
use crate::config::{CompletionConfig, FimTemplate};
use crate::provider::{ApiKey, OLLAMA_BASE_URL};

/// The model asked when `[completion.provider] model` is unset.
pub const DEFAULT_FIM_MODEL: &str = "qwen2.5-coder:1.5b-base";
/// The longest an error body is read and quoted.
const MAX_ERROR_MESSAGE: usize = 500;

/// A client of one `/v1/completions` endpoint.
pub struct FimClient {
    client: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<ApiKey>,
    template: FimTemplate,
    custom_template: Option<String>,
    stop: Vec<String>,
}

impl std::fmt::Debug for FimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FimClient")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// The request body, in the field order OpenAI documents.
#[derive(Serialize)]
struct CompletionsRequest<'a> {
    model: &'a str,
    prompt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    suffix: Option<&'a str>,
    max_tokens: u32,
    temperature: f32,
    stream: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
}

#[derive(Deserialize)]
struct CompletionsResponse {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    text: String,
}

impl FimClient {
    pub fn from_config(
        config: &CompletionConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<FimClient, CompletionError> {
        let provider = &config.provider;
        let base_url = provider
            .base_url
            .as_deref()
            .unwrap_or(OLLAMA_BASE_URL)
            .trim_end_matches('/');
        let url = format!("{base_url}/completions");
        let parsed = reqwest::Url::parse(&url).map_err(|_| {
            CompletionError::NotConfigured(format!(
                "completion.provider.base_url {base_url:?} is not an http(s) URL"
            ))
        })?;
        if provider.template == FimTemplate::Custom
            && !provider
                .custom_template
                .as_deref()
                .is_some_and(|text| text.contains("{prefix}"))
        {
            return Err(CompletionError::NotConfigured(
                "completion.provider.template = \"custom\" needs custom_template with {prefix} (and {suffix})"
                    .to_string(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        let loopback = match parsed.host_str() {
            Some("localhost") => true,
            Some(host) => host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|address| address.is_loopback()),
            None => false,
        };
        if loopback {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|error| {
            CompletionError::NotConfigured(format!("cannot build the HTTP client: {error}"))
        })?;
        let mut stop: Vec<String> = template::stop_sequences(provider.template)
            .iter()
            .map(|stop| stop.to_string())
            .collect();
        stop.extend(provider.stop.iter().cloned());
        Ok(FimClient {
            client,
            url,
            model: provider
                .model
                .clone()
                .unwrap_or_else(|| DEFAULT_FIM_MODEL.to_string()),
            api_key: api_key(provider.api_key_env.as_deref(), env)?,
            template: provider.template,
            custom_template: provider.custom_template.clone(),
            stop,
        })
    }

    /// The JSON body sent for `prompt` (the bench and tests read it too).
    pub fn request_body(&self, prompt: &CompletionPrompt, max_tokens: u32) -> Vec<u8> {
        let FimPrompt { prompt, suffix } = template::render(
            self.template,
            self.custom_template.as_deref(),
            &prompt.prefix_with_context(),
            &prompt.suffix,
        );
        let request = CompletionsRequest {
            model: &self.model,
            prompt: &prompt,
            suffix: suffix.as_deref(),
            max_tokens,
            temperature: 0.2,
            stream: false,
            stop: &self.stop,
        };
        // Plain strings and numbers: serialising cannot fail.
        serde_json::to_vec(&request).unwrap_or_default()
    }

    pub(super) async fn complete(
        &self,
        prompt: &CompletionPrompt,
        max_tokens: u32,
    ) -> Result<String, CompletionError> {
        let body = self.request_body(prompt, max_tokens);
        tracing::trace!(body = %String::from_utf8_lossy(&body), "completion request body");
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("agentls/", env!("CARGO_PKG_VERSION"))),
        );
        if let Some(key) = &self.api_key {
            if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", key.expose())) {
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
            }
        }
        let response = self
            .client
            .post(&self.url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|error| CompletionError::Connection {
                url: self.url.clone(),
                message: error.without_url().to_string(),
            })?;
        let status = response.status();
        let bytes = read_capped(response, &self.url).await?;
        if !status.is_success() {
            let message: String = String::from_utf8_lossy(&bytes)
                .chars()
                .take(MAX_ERROR_MESSAGE)
                .collect();
            let message = match &self.api_key {
                Some(key) => message.replace(key.expose(), "[redacted]"),
                None => message,
            };
            return Err(CompletionError::Status {
                status: status.as_u16(),
                message,
            });
        }
        let answer: CompletionsResponse = serde_json::from_slice(&bytes)
            .map_err(|error| CompletionError::Malformed(error.to_string()))?;
        let text = answer
            .choices
            .into_iter()
            .next()
            .map(|choice| choice.text)
            .unwrap_or_default();
        Ok(template::clean(&text, &self.stop).to_string())
    }
}

/// The body, or `TooLarge` as soon as it passes `MAX_RESPONSE_BYTES` (the rest
/// is never read: dropping the response closes the connection).
async fn read_capped(
    mut response: reqwest::Response,
    url: &str,
) -> Result<Vec<u8>, CompletionError> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
    {
        return Err(CompletionError::TooLarge {
            limit: MAX_RESPONSE_BYTES,
        });
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(CompletionError::TooLarge {
                        limit: MAX_RESPONSE_BYTES,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(error) => {
                return Err(CompletionError::Connection {
                    url: url.to_string(),
                    message: error.without_url().to_string(),
                })
            }
        }
    }
}
