//! Provider-neutral conversation items and the `Provider` seam: what the loop sends
//! to a model and what comes back, independent of any one wire format.

use std::pin::Pin;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::Stream;
use serde::{Deserialize, Serialize};

/// Who said a message in the conversation history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The user, or context the front end adds on the user's behalf.
    User,
    /// The model.
    Assistant,
}

/// One item of the history sent to a model. Each provider maps these to its wire
/// format; the loop never sees provider JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseItem {
    /// A plain text message.
    Message { role: Role, text: String },
    /// Reasoning the model did. `summary` is readable text; `encrypted_content` is
    /// the opaque blob the provider wants back (OpenAI `encrypted_content`,
    /// Anthropic thinking `signature`).
    Reasoning {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        summary: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
    /// A call of a tool the model asked for. `arguments` is the raw JSON text the
    /// model produced (it may be malformed: the tool answers with an error then).
    FunctionCall {
        call_id: String,
        name: String,
        arguments: String,
    },
    /// What a tool answered.
    FunctionCallOutput {
        call_id: String,
        output: String,
        #[serde(default)]
        is_error: bool,
    },
}

/// A tool offered to the model: a name, a description and a JSON schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// Reasoning settings for models that support them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReasoningConfig {
    /// "low", "medium" or "high".
    pub effort: String,
    /// Ask for readable summaries ("auto", "concise", "detailed").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// Everything one model call needs. `instructions`, `tools` and the first items of
/// `input` form the stable prefix that prompt caches key on: the loop keeps them
/// byte-identical across the requests of a thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    pub model: String,
    pub instructions: String,
    pub tools: Vec<ToolSpec>,
    pub input: Vec<ResponseItem>,
    /// The thread id: OpenAI's `prompt_cache_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    #[serde(default)]
    pub parallel_tool_calls: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
}

/// Token counts reported by a provider for one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub total_tokens: u64,
}

/// One event of a streamed model answer, already decoded from the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseEvent {
    /// The provider accepted the request and started answering.
    Created,
    /// A piece of assistant text.
    OutputTextDelta { delta: String },
    /// A piece of a reasoning summary.
    ReasoningSummaryDelta { delta: String },
    /// The model started a tool call (arguments follow as deltas).
    ToolCallStarted { call_id: String, name: String },
    /// A piece of a tool call's JSON arguments.
    ToolCallArgumentsDelta { call_id: String, delta: String },
    /// A finished history item (message, reasoning, function call).
    OutputItemDone { item: ResponseItem },
    /// The answer is complete. Only this event ends a stream successfully: a stream
    /// that stops before it is `ProviderError::StreamEnded`.
    Completed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<TokenUsage>,
    },
}

/// A streamed model answer.
pub type ResponseStream = Pin<Box<dyn Stream<Item = Result<ResponseEvent, ProviderError>> + Send>>;

/// Faults of a model call. `is_retryable` says which ones the loop retries (with
/// backoff, honouring `retry_after`); `ContextLengthExceeded` triggers compaction
/// instead; the rest fail the turn.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ProviderError {
    /// HTTP 429. Retried after `retry_after` when the provider says, else backoff.
    #[error("rate limited by the provider: {message}")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    /// HTTP 5xx or an overload error event. Retried.
    #[error("provider error {status}: {message}")]
    Server {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The request does not fit the model's context window. Not retried: compact.
    #[error("the conversation is longer than the model's context window: {0}")]
    ContextLengthExceeded(String),
    /// Any other 4xx (bad request, auth, unknown model). Not retried.
    #[error("provider rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The connection failed or broke. Retried.
    #[error("could not reach the provider at {url}: {message}")]
    Connection { url: String, message: String },
    /// Nothing accepts connections at a local address (the server is not
    /// running). Not retried: waiting will not start it.
    #[error("nothing is listening at {url} ({message}): start the server, or set [provider] (docs/configuration.md)")]
    Refused { url: String, message: String },
    /// The stream stopped before its completion event. Retried.
    #[error("the provider's stream ended before it completed the answer")]
    StreamEnded,
    /// No bytes arrived for the idle timeout. Retried.
    #[error("the provider sent nothing for {0:?}")]
    IdleTimeout(Duration),
    /// The stream carried something that is not the documented wire format. Retried.
    #[error("malformed event from the provider: {0}")]
    Malformed(String),
    /// Nothing usable is configured; the message says what to set. Not retried.
    #[error("{0}")]
    NotConfigured(String),
}

impl ProviderError {
    /// Whether the loop should try the same request again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Server { .. }
                | ProviderError::Connection { .. }
                | ProviderError::StreamEnded
                | ProviderError::IdleTimeout(_)
                | ProviderError::Malformed(_)
        )
    }

    /// The delay the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. }
            | ProviderError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A model provider: turns a `ModelRequest` into a stream of `ResponseEvent`s.
/// Implementations do one attempt; retrying is the loop's job.
pub trait Provider: Send + Sync {
    /// A short name for logs and events ("openai-responses", "anthropic", …).
    fn name(&self) -> &str;
    /// The model's context window in tokens, when known.
    fn context_window(&self) -> Option<u64>;
    /// Start one model call.
    fn stream(&self, request: ModelRequest)
        -> BoxFuture<'_, Result<ResponseStream, ProviderError>>;
}
