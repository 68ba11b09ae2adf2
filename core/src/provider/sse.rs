//! The streaming pipeline every provider shares: body bytes → idle timeout →
//! SSE events (`eventsource-stream`) → a format's decoder → `ResponseEvent`s, with
//! a stream that ends before its closing event reported as `StreamEnded`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use tracing::Instrument;

use crate::model::{ProviderError, ResponseEvent, ResponseStream};

/// Whether a decoded event ended the answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The closing event arrived: nothing after it is read.
    Done,
}

/// One wire format's decoder: turns SSE events into `ResponseEvent`s, keeping
/// whatever state reassembly needs (tool calls by index, blocks by index). `pub`
/// (in this private module) because `http::WireCodec` names it.
pub trait Decode: Send + 'static {
    fn decode(
        &mut self,
        event: &Event,
        out: &mut VecDeque<ResponseEvent>,
    ) -> Result<Flow, ProviderError>;
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, ProviderError>> + Send>>;

/// Ends a byte stream with `IdleTimeout` when no chunk arrives for `timeout`.
struct IdleTimeout {
    inner: ByteStream,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Stream for IdleTimeout {
    type Item = Result<Bytes, ProviderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(item) => {
                let deadline = tokio::time::Instant::now() + self.timeout;
                self.sleep.as_mut().reset(deadline);
                Poll::Ready(item)
            }
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(ProviderError::IdleTimeout(self.timeout)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

struct State<D> {
    events: eventsource_stream::EventStream<ByteStream>,
    decoder: D,
    pending: VecDeque<ResponseEvent>,
    failure: Option<ProviderError>,
    finished: bool,
}

fn sse_error(error: EventStreamError<ProviderError>) -> ProviderError {
    match error {
        EventStreamError::Transport(error) => error,
        EventStreamError::Utf8(error) => {
            ProviderError::Malformed(format!("the event stream is not UTF-8: {error}"))
        }
        EventStreamError::Parser(error) => {
            ProviderError::Malformed(format!("the event stream is not SSE: {error}"))
        }
    }
}

impl<D: Decode> State<D> {
    async fn next(&mut self) -> Option<Result<ResponseEvent, ProviderError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if let Some(error) = self.failure.take() {
                tracing::warn!(%error, "provider stream failed");
                self.finished = true;
                return Some(Err(error));
            }
            if self.finished {
                return None;
            }
            match self.events.next().await {
                Some(Ok(event)) => {
                    tracing::trace!(event = %event.event, data = %event.data, "sse event");
                    match self.decoder.decode(&event, &mut self.pending) {
                        Ok(Flow::Continue) => {}
                        Ok(Flow::Done) => {
                            tracing::debug!("provider stream completed");
                            self.finished = true;
                        }
                        Err(error) => self.failure = Some(error),
                    }
                }
                Some(Err(error)) => self.failure = Some(sse_error(error)),
                None => self.failure = Some(ProviderError::StreamEnded),
            }
        }
    }
}

/// Runs `body` through SSE parsing and `decoder`. `idle` cuts a silent body;
/// `span` is entered while each event is produced.
pub(crate) fn decode<S, D>(
    body: S,
    decoder: D,
    idle: Option<Duration>,
    span: tracing::Span,
) -> ResponseStream
where
    S: Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
    D: Decode,
{
    let body: ByteStream = Box::pin(body);
    let body: ByteStream = match idle {
        Some(timeout) => Box::pin(IdleTimeout {
            inner: body,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
        }),
        None => body,
    };
    let state = State {
        events: body.eventsource(),
        decoder,
        pending: VecDeque::new(),
        failure: None,
        finished: false,
    };
    Box::pin(futures::stream::unfold(state, move |mut state| {
        let span = span.clone();
        async move {
            let item = state.next().await?;
            Some((item, state))
        }
        .instrument(span)
    }))
}

/// Parses an event's JSON data, naming the event when it does not fit.
pub(crate) fn parse<'a, T: serde::Deserialize<'a>>(event: &'a Event) -> Result<T, ProviderError> {
    serde_json::from_str(&event.data).map_err(|error| {
        ProviderError::Malformed(format!(
            "cannot read the {} event ({error}): {}",
            event.event,
            truncated(&event.data)
        ))
    })
}

fn truncated(data: &str) -> &str {
    let mut end = data.len().min(200);
    while !data.is_char_boundary(end) {
        end -= 1;
    }
    &data[..end]
}

/// The event's `type` field, for events that arrived without an `event:` line.
pub(crate) fn event_type(event: &Event) -> Result<std::borrow::Cow<'_, str>, ProviderError> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        kind: String,
    }
    if event.event != "message" {
        return Ok(std::borrow::Cow::Borrowed(&event.event));
    }
    parse::<Typed>(event).map(|typed| std::borrow::Cow::Owned(typed.kind))
}
