//! The HTTP side every provider shares: `HttpProvider`, the one `Provider` for all
//! three formats, each of which supplies only what differs as a `WireCodec`; one
//! reqwest client per provider, the headers (auth, extra), one POST per call, HTTP
//! errors mapped to `ProviderError`, and the streamed body handed to the SSE
//! pipeline.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use serde_json::Value;
use tracing::Instrument;

use super::fault;
use super::sse::{self, Decode};
use super::{ApiKey, ProviderSettings, WireFormat};
use crate::model::{ModelRequest, Provider, ProviderError, ResponseStream};

/// What one wire format supplies to [`HttpProvider`], implemented by a unit type
/// per format. It and the types it names are `pub` only because the public
/// provider aliases name them; this module is private, so no other crate can name
/// or implement it.
pub trait WireCodec: Send + Sync + 'static {
    /// `Provider::name`, and the `provider` field of the `provider_call` span.
    const NAME: &'static str;
    /// The name the provider's `Debug` shows (its public alias).
    const DEBUG_NAME: &'static str;
    const FORMAT: WireFormat;
    const AUTH: Auth;
    type Decoder: Decode + Default;

    /// The JSON body of one call to `model`; `default_effort` applies where the
    /// request leaves the reasoning unset.
    fn request_body(request: &ModelRequest, model: &str, default_effort: Option<&str>) -> Value;
}

/// A provider speaking the wire format `F` over HTTP. One attempt per call.
pub struct HttpProvider<F> {
    endpoint: Endpoint,
    settings: ProviderSettings,
    codec: PhantomData<F>,
}

impl<F: WireCodec> fmt::Debug for HttpProvider<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(F::DEBUG_NAME)
            .field("url", &self.endpoint.url())
            .field("model", &self.settings.model)
            .finish_non_exhaustive()
    }
}

impl<F: WireCodec> HttpProvider<F> {
    pub fn new(settings: ProviderSettings) -> Result<Self, ProviderError> {
        let endpoint = Endpoint::new(&settings, F::FORMAT, F::AUTH)?;
        Ok(HttpProvider {
            endpoint,
            settings,
            codec: PhantomData,
        })
    }
}

impl<F: WireCodec> Provider for HttpProvider<F> {
    fn name(&self) -> &str {
        F::NAME
    }

    fn context_window(&self) -> Option<u64> {
        self.settings.context_window
    }

    fn stream(
        &self,
        request: ModelRequest,
    ) -> BoxFuture<'_, Result<ResponseStream, ProviderError>> {
        Box::pin(async move {
            let model = if request.model.is_empty() {
                &self.settings.model
            } else {
                &request.model
            };
            let body = F::request_body(&request, model, self.settings.reasoning_effort.as_deref());
            let span = tracing::info_span!(
                "provider_call",
                provider = F::NAME,
                model = %model,
                n_items = request.input.len(),
                n_tools = request.tools.len(),
            );
            let response = self.endpoint.post(&body).instrument(span.clone()).await?;
            Ok(self.endpoint.stream(response, F::Decoder::default(), span))
        })
    }
}

/// How a format sends its key.
#[derive(Clone, Copy, Debug)]
pub enum Auth {
    /// `Authorization: Bearer <key>` (OpenAI and compatible servers).
    Bearer,
    /// `x-api-key: <key>` plus `anthropic-version`.
    Anthropic,
}

/// The headers of every request to a provider: content type, user agent, the
/// key as `auth` sends it and `provider.headers`. An error names the header
/// that cannot be sent.
pub(crate) fn request_headers(
    settings: &ProviderSettings,
    auth: Auth,
) -> Result<HeaderMap, ProviderError> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("agentls/", env!("CARGO_PKG_VERSION"))),
    );
    if let Auth::Anthropic = auth {
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static("2023-06-01"),
        );
    }
    if let Some(key) = &settings.api_key {
        let (name, value) = match auth {
            Auth::Bearer => (
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", key.expose()),
            ),
            Auth::Anthropic => (
                HeaderName::from_static("x-api-key"),
                key.expose().to_string(),
            ),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            ProviderError::NotConfigured(
                "the API key holds characters that cannot go in an HTTP header".to_string(),
            )
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    for (name, value) in &settings.headers {
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ProviderError::NotConfigured(format!(
                "provider.headers: {name:?} is not a valid header name"
            ))
        })?;
        let mut header_value = HeaderValue::from_str(value).map_err(|_| {
            ProviderError::NotConfigured(format!(
                "provider.headers: the value of {name:?} is not a valid header value"
            ))
        })?;
        // Extra headers often carry credentials (OpenRouter, gateways).
        header_value.set_sensitive(true);
        headers.insert(header_name, header_value);
    }
    Ok(headers)
}

/// Longest error body read from a failed answer.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub(crate) struct Endpoint {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    idle_timeout: Duration,
    api_key: Option<ApiKey>,
}

fn is_loopback(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, rest)| rest) else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or("");
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

impl Endpoint {
    pub(crate) fn new(
        settings: &ProviderSettings,
        format: WireFormat,
        auth: Auth,
    ) -> Result<Endpoint, ProviderError> {
        let url = format!("{}{}", settings.base_url, format.endpoint());
        let headers = request_headers(settings, auth)?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .tcp_nodelay(true);
        if is_loopback(&url) {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|error| {
            ProviderError::NotConfigured(format!("cannot build the HTTP client: {error}"))
        })?;
        Ok(Endpoint {
            client,
            url,
            headers,
            idle_timeout: settings.idle_timeout,
            api_key: settings.api_key.clone(),
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    fn key(&self) -> Option<&str> {
        self.api_key.as_ref().map(ApiKey::expose)
    }

    fn connection_error(&self, error: reqwest::Error) -> ProviderError {
        connection_error(&self.url, self.key(), error)
    }

    /// Sends `body` and waits for the answer's headers; an error status becomes
    /// the matching `ProviderError`.
    pub(crate) async fn post(
        &self,
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, ProviderError> {
        let bytes = serde_json::to_vec(body).map_err(|error| {
            ProviderError::Malformed(format!("cannot encode the request: {error}"))
        })?;
        tracing::debug!(url = %self.url, n_bytes = bytes.len(), "sending model request");
        tracing::trace!(body = %String::from_utf8_lossy(&bytes), "model request body");
        let send = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .body(bytes)
            .send();
        let response = match tokio::time::timeout(self.idle_timeout, send).await {
            Err(_) => return Err(ProviderError::IdleTimeout(self.idle_timeout)),
            Ok(Err(error)) => return Err(self.connection_error(error)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            tracing::debug!(status = status.as_u16(), "model answer started");
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = tokio::time::timeout(self.idle_timeout, read_capped(response))
            .await
            .unwrap_or_default();
        tracing::trace!(body = %fault::redact(&body, self.key()), "provider error body");
        let error = fault::from_http(
            status.as_u16(),
            &headers,
            &body,
            SystemTime::now(),
            self.key(),
        );
        tracing::warn!(status = status.as_u16(), %error, "provider answered with an error");
        Err(error)
    }

    /// Streams a successful answer through `decoder`.
    pub(crate) fn stream<D: Decode>(
        &self,
        response: reqwest::Response,
        decoder: D,
        span: tracing::Span,
    ) -> ResponseStream {
        let url = self.url.clone();
        let key = self.api_key.clone();
        let body = response.bytes_stream().map(move |chunk| {
            chunk.map_err(|error| connection_error(&url, key.as_ref().map(ApiKey::expose), error))
        });
        sse::decode(body, decoder, Some(self.idle_timeout), span)
    }
}

fn connection_error(url: &str, key: Option<&str>, error: reqwest::Error) -> ProviderError {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut refused = false;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        refused |= cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        source = cause.source();
    }
    let message = fault::redact(&message, key);
    let url = url.to_string();
    // A refused connection to this machine means the server is not running:
    // retrying for a minute only delays saying so. Remote hosts may be
    // restarting or behind a flaky network: those are retried.
    if refused && is_local(&url) {
        ProviderError::Refused { url, message }
    } else {
        ProviderError::Connection { url, message }
    }
}

/// Whether `url` points at this machine.
fn is_local(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    match parsed.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback()),
        None => false,
    }
}

async fn read_capped(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            body.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}
