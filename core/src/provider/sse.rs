//! The streaming pipeline every provider shares: body bytes → idle timeout →
//! whole lines (at most `MAX_LINE_BYTES`) → SSE events (`eventsource-stream`) →
//! a format's decoder → `ResponseEvent`s, with a stream that ends before its
//! closing event reported as `StreamEnded`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
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

/// The longest SSE line taken: a single event of tens of megabytes (a large tool
/// call's arguments, escaped) passes, an endless line from a broken provider is
/// a `Malformed` error instead of unbounded memory.
pub(crate) const MAX_LINE_BYTES: usize = 64 << 20;

/// Hands the SSE parser only whole lines. `eventsource-stream` re-parses its
/// whole buffer from the start on every chunk, so a 20 MB event arriving in
/// 16 KiB chunks cost quadratic time (minutes in a debug build, long enough to
/// trip the idle timeout) and any length of memory; here each byte is scanned
/// once and a line is capped.
struct WholeLines {
    inner: ByteStream,
    /// The start of a line whose end has not arrived.
    partial: BytesMut,
    failed: bool,
}

impl Stream for WholeLines {
    type Item = Result<Bytes, ProviderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        loop {
            match self.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let scanned = self.partial.len();
                    self.partial.extend_from_slice(&chunk);
                    // `\r` and `\n` are ASCII, so the cut is a UTF-8 boundary too.
                    // A `\r` that ends the chunk may be half of a `\r\n`: it waits.
                    let new = &self.partial[scanned..];
                    let last_end = new.iter().rposition(|&byte| byte == b'\n').or_else(|| {
                        new[..new.len().saturating_sub(1)]
                            .iter()
                            .rposition(|&byte| byte == b'\r')
                    });
                    if let Some(position) = last_end {
                        let lines = self.partial.split_to(scanned + position + 1);
                        return Poll::Ready(Some(Ok(lines.freeze())));
                    }
                    if self.partial.len() > MAX_LINE_BYTES {
                        self.failed = true;
                        let n_bytes = self.partial.len();
                        self.partial = BytesMut::new();
                        return Poll::Ready(Some(Err(ProviderError::Malformed(format!(
                            "an event line of more than {n_bytes} bytes (the limit is {MAX_LINE_BYTES})"
                        )))));
                    }
                }
                Poll::Ready(None) if !self.partial.is_empty() => {
                    let rest = self.partial.split();
                    return Poll::Ready(Some(Ok(rest.freeze())));
                }
                other => return other,
            }
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
    let body: ByteStream = Box::pin(WholeLines {
        inner: body,
        partial: BytesMut::new(),
        failed: false,
    });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::chunked::decode_in_chunks;
    use crate::provider::WireFormat;

    fn delta(text: &str) -> String {
        format!(
            "event: response.output_text.delta\ndata: {}\n\n",
            serde_json::json!({"type": "response.output_text.delta", "delta": text})
        )
    }

    #[test]
    fn sse_a_20_mb_event_in_small_chunks_decodes_whole() {
        let text = "y".repeat(20 << 20);
        let body = delta(&text);
        let events = decode_in_chunks(WireFormat::OpenAiResponses, &body, 16 * 1024);
        match events.first() {
            Some(Ok(ResponseEvent::OutputTextDelta { delta })) => assert_eq!(delta.len(), 20 << 20),
            other => panic!(
                "{:?}",
                other.map(|event| format!("{event:?}").chars().take(200).collect::<String>())
            ),
        }
        // No closing event: the stream ended early.
        assert_eq!(events.last(), Some(&Err(ProviderError::StreamEnded)));
    }

    #[test]
    fn sse_crlf_split_between_chunks_is_one_line_end() {
        let body = delta("a").replace('\n', "\r\n") + &delta("b").replace('\n', "\r\n");
        for chunk_size in 1..body.len() {
            let events = decode_in_chunks(WireFormat::OpenAiResponses, &body, chunk_size);
            let texts: Vec<String> = events
                .iter()
                .filter_map(|event| match event {
                    Ok(ResponseEvent::OutputTextDelta { delta }) => Some(delta.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(texts, ["a", "b"], "chunks of {chunk_size}");
        }
    }

    #[test]
    fn sse_a_line_past_the_limit_is_malformed_not_buffered() {
        let chunk = Bytes::from(vec![b'x'; 1 << 20]);
        let n_chunks = MAX_LINE_BYTES / chunk.len() + 2;
        let body = futures::stream::iter(
            std::iter::once(Ok(Bytes::from_static(b"data: ")))
                .chain(std::iter::repeat_n(chunk, n_chunks).map(Ok)),
        );
        let events: Vec<_> = futures::executor::block_on(
            crate::provider::decode_sse(WireFormat::OpenAiChat, body).collect(),
        );
        match events.as_slice() {
            [Err(ProviderError::Malformed(message))] => {
                assert!(message.contains("event line of more than"), "{message}")
            }
            other => panic!("{} events: {:?}", other.len(), other.first()),
        }
    }
}
