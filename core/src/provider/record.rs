//! Recording and replaying model calls. `RecordingProvider` (`--record FILE`)
//! appends one JSON line per call: the request, and the events it produced or the
//! error it failed with. `ReplayProvider` (`kind = "replay"`) plays such a file
//! back in order, without a network.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::model::{ModelRequest, Provider, ProviderError, ResponseEvent, ResponseStream};

/// One recorded model call: a line of a recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub request: ModelRequest,
    #[serde(flatten)]
    pub outcome: ExchangeOutcome,
}

/// How a recorded call went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ExchangeOutcome {
    /// The call failed before streaming anything (an HTTP error, no connection).
    Refused { error: RecordedError },
    /// The call streamed `events`, then completed (the last event is
    /// `Completed`), failed with `error`, or was dropped by the caller.
    Streamed {
        events: Vec<ResponseEvent>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<RecordedError>,
    },
}

/// A `ProviderError` as written to a recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordedError {
    RateLimited {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    Server {
        status: u16,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    ContextLengthExceeded {
        message: String,
    },
    Rejected {
        status: u16,
        message: String,
    },
    Connection {
        url: String,
        message: String,
    },
    Refused {
        url: String,
        message: String,
    },
    StreamEnded,
    IdleTimeout {
        ms: u64,
    },
    Malformed {
        message: String,
    },
    NotConfigured {
        message: String,
    },
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl From<&ProviderError> for RecordedError {
    fn from(error: &ProviderError) -> Self {
        match error.clone() {
            ProviderError::RateLimited {
                message,
                retry_after,
            } => RecordedError::RateLimited {
                message,
                retry_after_ms: retry_after.map(millis),
            },
            ProviderError::Server {
                status,
                message,
                retry_after,
            } => RecordedError::Server {
                status,
                message,
                retry_after_ms: retry_after.map(millis),
            },
            ProviderError::ContextLengthExceeded(message) => {
                RecordedError::ContextLengthExceeded { message }
            }
            ProviderError::Rejected { status, message } => {
                RecordedError::Rejected { status, message }
            }
            ProviderError::Connection { url, message } => {
                RecordedError::Connection { url, message }
            }
            ProviderError::Refused { url, message } => RecordedError::Refused { url, message },
            ProviderError::StreamEnded => RecordedError::StreamEnded,
            ProviderError::IdleTimeout(timeout) => RecordedError::IdleTimeout {
                ms: millis(timeout),
            },
            ProviderError::Malformed(message) => RecordedError::Malformed { message },
            ProviderError::NotConfigured(message) => RecordedError::NotConfigured { message },
        }
    }
}

impl From<RecordedError> for ProviderError {
    fn from(error: RecordedError) -> Self {
        match error {
            RecordedError::RateLimited {
                message,
                retry_after_ms,
            } => ProviderError::RateLimited {
                message,
                retry_after: retry_after_ms.map(Duration::from_millis),
            },
            RecordedError::Server {
                status,
                message,
                retry_after_ms,
            } => ProviderError::Server {
                status,
                message,
                retry_after: retry_after_ms.map(Duration::from_millis),
            },
            RecordedError::ContextLengthExceeded { message } => {
                ProviderError::ContextLengthExceeded(message)
            }
            RecordedError::Rejected { status, message } => {
                ProviderError::Rejected { status, message }
            }
            RecordedError::Connection { url, message } => {
                ProviderError::Connection { url, message }
            }
            RecordedError::Refused { url, message } => ProviderError::Refused { url, message },
            RecordedError::StreamEnded => ProviderError::StreamEnded,
            RecordedError::IdleTimeout { ms } => {
                ProviderError::IdleTimeout(Duration::from_millis(ms))
            }
            RecordedError::Malformed { message } => ProviderError::Malformed(message),
            RecordedError::NotConfigured { message } => ProviderError::NotConfigured(message),
        }
    }
}

/// The file a recording goes to. Lines are written whole under the lock, so
/// concurrent calls never interleave.
struct Sink {
    path: PathBuf,
    file: Mutex<File>,
}

impl Sink {
    fn append(&self, exchange: &Exchange) {
        let mut line = match serde_json::to_vec(exchange) {
            Ok(line) => line,
            Err(error) => {
                tracing::warn!(%error, "cannot encode a recorded model call");
                return;
            }
        };
        line.push(b'\n');
        // A poisoned lock only means another writer panicked mid-write; the file
        // handle itself is still usable.
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Err(error) = file.write_all(&line).and_then(|()| file.flush()) {
            tracing::warn!(%error, path = %self.path.display(), "cannot append to the recording");
        }
    }
}

/// Wraps a provider and appends every call to a JSON-lines file.
pub struct RecordingProvider {
    inner: Arc<dyn Provider>,
    sink: Arc<Sink>,
}

impl RecordingProvider {
    /// Records `inner`'s calls at the end of `path` (created when missing).
    pub fn new(inner: Arc<dyn Provider>, path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(RecordingProvider {
            inner,
            sink: Arc::new(Sink {
                path,
                file: Mutex::new(file),
            }),
        })
    }
}

impl Provider for RecordingProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn context_window(&self) -> Option<u64> {
        self.inner.context_window()
    }

    fn stream(
        &self,
        request: ModelRequest,
    ) -> BoxFuture<'_, Result<ResponseStream, ProviderError>> {
        Box::pin(async move {
            match self.inner.stream(request.clone()).await {
                Err(error) => {
                    self.sink.append(&Exchange {
                        request,
                        outcome: ExchangeOutcome::Refused {
                            error: RecordedError::from(&error),
                        },
                    });
                    Err(error)
                }
                Ok(inner) => Ok(Box::pin(RecordingStream {
                    inner,
                    request: Some(request),
                    events: Vec::new(),
                    sink: Arc::clone(&self.sink),
                }) as ResponseStream),
            }
        })
    }
}

/// Passes events through and writes the exchange when the stream ends, fails,
/// or is dropped.
struct RecordingStream {
    inner: ResponseStream,
    /// `None` once the exchange is written.
    request: Option<ModelRequest>,
    events: Vec<ResponseEvent>,
    sink: Arc<Sink>,
}

impl RecordingStream {
    fn write(&mut self, error: Option<&ProviderError>) {
        if let Some(request) = self.request.take() {
            self.sink.append(&Exchange {
                request,
                outcome: ExchangeOutcome::Streamed {
                    events: std::mem::take(&mut self.events),
                    error: error.map(RecordedError::from),
                },
            });
        }
    }
}

impl Stream for RecordingStream {
    type Item = Result<ResponseEvent, ProviderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(event))) => {
                self.events.push(event.clone());
                if matches!(event, ResponseEvent::Completed { .. }) {
                    self.write(None);
                }
            }
            Poll::Ready(Some(Err(error))) => self.write(Some(error)),
            Poll::Ready(None) => self.write(None),
            Poll::Pending => {}
        }
        polled
    }
}

impl Drop for RecordingStream {
    fn drop(&mut self) {
        self.write(None);
    }
}

/// Plays a recording back, one exchange per call, in order.
pub struct ReplayProvider {
    source: String,
    exchanges: Vec<Exchange>,
    next: AtomicUsize,
    checked: bool,
    context_window: Option<u64>,
}

impl ReplayProvider {
    /// Reads a file written by `RecordingProvider`.
    pub fn open(path: &Path) -> Result<Self, ProviderError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ProviderError::NotConfigured(format!(
                "cannot read the recording {}: {error}",
                path.display()
            ))
        })?;
        let mut exchanges = Vec::new();
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let exchange = serde_json::from_str(line).map_err(|error| {
                ProviderError::NotConfigured(format!(
                    "line {} of the recording {} is not a recorded model call: {error}",
                    number + 1,
                    path.display()
                ))
            })?;
            exchanges.push(exchange);
        }
        Ok(ReplayProvider {
            source: path.display().to_string(),
            ..ReplayProvider::from_exchanges(exchanges)
        })
    }

    /// Plays `exchanges` (a recording built in memory).
    pub fn from_exchanges(exchanges: Vec<Exchange>) -> Self {
        ReplayProvider {
            source: "in memory".to_string(),
            exchanges,
            next: AtomicUsize::new(0),
            checked: false,
            context_window: None,
        }
    }

    /// Refuses a call whose tools or input differ from the recorded one.
    pub fn checked(mut self) -> Self {
        self.checked = true;
        self
    }

    pub fn with_context_window(mut self, context_window: Option<u64>) -> Self {
        self.context_window = context_window;
        self
    }

    /// How many recorded calls are left.
    pub fn remaining(&self) -> usize {
        self.exchanges
            .len()
            .saturating_sub(self.next.load(Ordering::SeqCst))
    }
}

fn shown(value: &impl serde::Serialize) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    if text.len() <= 300 {
        return text;
    }
    let mut end = 300;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The first difference that matters between a recorded request and a new one:
/// the tools offered and the conversation. Ids like `prompt_cache_key` differ on
/// every run and do not count.
fn difference(recorded: &ModelRequest, actual: &ModelRequest) -> Option<String> {
    let names = |request: &ModelRequest| {
        request
            .tools
            .iter()
            .map(|tool| tool.name.clone())
            .collect::<Vec<_>>()
    };
    if names(recorded) != names(actual) {
        return Some(format!(
            "the tools were {:?}, now {:?}",
            names(recorded),
            names(actual)
        ));
    }
    for (index, (was, now)) in recorded.input.iter().zip(&actual.input).enumerate() {
        if was != now {
            return Some(format!(
                "input item {index} was {}, now {}",
                shown(was),
                shown(now)
            ));
        }
    }
    (recorded.input.len() != actual.input.len()).then(|| {
        format!(
            "the input had {} items, now {}",
            recorded.input.len(),
            actual.input.len()
        )
    })
}

impl Provider for ReplayProvider {
    fn name(&self) -> &str {
        "replay"
    }

    fn context_window(&self) -> Option<u64> {
        self.context_window
    }

    fn stream(
        &self,
        request: ModelRequest,
    ) -> BoxFuture<'_, Result<ResponseStream, ProviderError>> {
        let index = self.next.fetch_add(1, Ordering::SeqCst);
        let result = match self.exchanges.get(index) {
            None => Err(ProviderError::NotConfigured(format!(
                "the recording ({}) is used up: it holds {} model calls and call {} asked for another",
                self.source,
                self.exchanges.len(),
                index + 1
            ))),
            Some(exchange) => match self
                .checked
                .then(|| difference(&exchange.request, &request))
                .flatten()
            {
                Some(difference) => Err(ProviderError::NotConfigured(format!(
                    "call {} differs from the recording ({}): {difference}",
                    index + 1,
                    self.source
                ))),
                None => replay(&exchange.outcome),
            },
        };
        Box::pin(async move { result })
    }
}

fn replay(outcome: &ExchangeOutcome) -> Result<ResponseStream, ProviderError> {
    match outcome {
        ExchangeOutcome::Refused { error } => Err(error.clone().into()),
        ExchangeOutcome::Streamed { events, error } => {
            let completed = matches!(events.last(), Some(ResponseEvent::Completed { .. }));
            let end = match error {
                Some(error) => Some(ProviderError::from(error.clone())),
                None if !completed => Some(ProviderError::StreamEnded),
                None => None,
            };
            let items: Vec<Result<ResponseEvent, ProviderError>> =
                events.iter().cloned().map(Ok).chain(end.map(Err)).collect();
            Ok(Box::pin(futures::stream::iter(items)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResponseItem, Role};
    use crate::testing::{Reply, ScriptedProvider};
    use futures::StreamExt;

    type Events = Vec<Result<ResponseEvent, ProviderError>>;

    fn request(text: &str) -> ModelRequest {
        ModelRequest {
            model: "m".into(),
            instructions: "i".into(),
            tools: vec![],
            input: vec![ResponseItem::Message {
                role: Role::User,
                text: text.into(),
            }],
            prompt_cache_key: Some(uuid::Uuid::new_v4().to_string()),
            parallel_tool_calls: true,
            reasoning: None,
            max_output_tokens: None,
        }
    }

    async fn collect(
        provider: &dyn Provider,
        request: ModelRequest,
    ) -> Result<Events, ProviderError> {
        Ok(provider.stream(request).await?.collect().await)
    }

    #[tokio::test]
    async fn what_is_recorded_replays_the_same() {
        let completed = vec![
            Ok(ResponseEvent::Created),
            Ok(ResponseEvent::OutputTextDelta { delta: "hi".into() }),
            Ok(ResponseEvent::Completed {
                response_id: Some("r1".into()),
                usage: None,
            }),
        ];
        let failed = vec![
            Ok(ResponseEvent::Created),
            Err(ProviderError::IdleTimeout(Duration::from_secs(120))),
        ];
        let refused = ProviderError::RateLimited {
            message: "slow down".into(),
            retry_after: Some(Duration::from_millis(1500)),
        };
        let inner = Arc::new(
            ScriptedProvider::new(vec![
                Reply::Events(completed.clone()),
                Reply::Refuse(refused.clone()),
                Reply::Events(failed.clone()),
                Reply::Events(completed.clone()),
            ])
            .with_context_window(Some(1000)),
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.jsonl");
        let recording = RecordingProvider::new(inner, &path).unwrap();
        assert_eq!(recording.name(), "scripted");
        assert_eq!(
            collect(&recording, request("one")).await,
            Ok(completed.clone())
        );
        assert_eq!(
            collect(&recording, request("two")).await,
            Err(refused.clone())
        );
        assert_eq!(
            collect(&recording, request("three")).await,
            Ok(failed.clone())
        );
        // The caller stops reading after the first event.
        let mut stream = recording.stream(request("four")).await.unwrap();
        assert_eq!(stream.next().await, Some(Ok(ResponseEvent::Created)));
        drop(stream);

        let replay = ReplayProvider::open(&path).unwrap().checked();
        assert_eq!(replay.remaining(), 4);
        assert_eq!(collect(&replay, request("one")).await, Ok(completed));
        assert_eq!(collect(&replay, request("two")).await, Err(refused));
        assert_eq!(collect(&replay, request("three")).await, Ok(failed));
        assert_eq!(
            collect(&replay, request("four")).await,
            Ok(vec![
                Ok(ResponseEvent::Created),
                Err(ProviderError::StreamEnded)
            ])
        );
        let used_up = collect(&replay, request("five")).await.unwrap_err();
        assert!(
            matches!(&used_up, ProviderError::NotConfigured(message) if message.contains("used up: it holds 4 model calls and call 5")),
            "{used_up}"
        );
        assert!(!used_up.is_retryable());
    }

    #[tokio::test]
    async fn a_checked_replay_names_the_first_difference() {
        let exchange = Exchange {
            request: request("fix the bug"),
            outcome: ExchangeOutcome::Refused {
                error: RecordedError::StreamEnded,
            },
        };
        let replay = ReplayProvider::from_exchanges(vec![exchange.clone()]).checked();
        let error = collect(&replay, request("fix the other bug"))
            .await
            .unwrap_err();
        expect_test::expect![[r#"call 1 differs from the recording (in memory): input item 0 was {"type":"message","role":"user","text":"fix the bug"}, now {"type":"message","role":"user","text":"fix the other bug"}"#]]
            .assert_eq(&error.to_string());

        let unchecked = ReplayProvider::from_exchanges(vec![exchange]);
        assert_eq!(
            collect(&unchecked, request("anything")).await.unwrap_err(),
            ProviderError::StreamEnded
        );
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "\n{\"nope\":1}\n").unwrap();
        let error = ReplayProvider::open(&path).err().unwrap();
        assert!(
            error.to_string().starts_with("line 2 of the recording"),
            "{error}"
        );
    }
}
