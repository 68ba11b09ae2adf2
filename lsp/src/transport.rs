//! The wire: Content-Length framing over any byte stream, and the dispatcher that
//! feeds tower-lsp-server's `LspService`.
//!
//! We own this loop instead of using `tower_lsp_server::Server` for two reasons.
//! Its reader is a tokio-util `FramedRead`, which ends the stream after the first
//! decode error, so one malformed frame used to stop the server; ours answers the
//! fault and resynchronises on the next `Content-Length` header. And `Server` runs
//! every handler concurrently (tower-lsp issue #284), so `didChange` could overtake
//! `didOpen`; ours awaits each notification before reading the next message, so
//! document notifications apply strictly in arrival order, while requests run
//! concurrently as spawned tasks.
//!
//! Notification handlers must therefore never wait on the client (a request to the
//! client is answered through this same loop): they hand such work to a task.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Semaphore};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};
use tower_lsp_server::{ClientSocket, LanguageServer, LspService};
use tower_service::Service;

use crate::direct::{self, Direct};

/// The largest frame we accept. A 20 MB document arrives as one frame (JSON
/// escaping can double it); anything beyond this is answered with an error and
/// skipped without being buffered.
pub(crate) const MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;

/// Header lines longer than this mean the stream is not LSP framing.
const MAX_HEADER_LINE: usize = 8 * 1024;

/// At most this many requests run at once. The reader waits for a free slot
/// (back-pressure on the client), so requests must not wait on the client.
const MAX_CONCURRENT_REQUESTS: usize = 256;

/// Outgoing messages waiting for stdout. Senders wait when it is full.
const OUTGOING_QUEUE: usize = 1024;

/// A framing fault: the stream carried something that is not a well-formed frame.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum FrameError {
    #[error("missing Content-Length header")]
    MissingContentLength,
    #[error("invalid Content-Length header: {0:?}")]
    BadContentLength(String),
    #[error("Content-Length {0} is larger than the limit of {MAX_FRAME_BYTES} bytes")]
    TooLarge(u64),
    #[error("malformed header line: {0:?}")]
    BadHeader(String),
}

/// Reads Content-Length frames and recovers from bad ones. It keeps its own
/// buffer so that resynchronising can search across reads.
pub(crate) struct FrameReader<R> {
    input: R,
    buffer: Vec<u8>,
    /// Where unread bytes start in `buffer`.
    start: usize,
    eof: bool,
    /// After a fault whose body length is unknown, skip bytes up to the next
    /// `Content-Length` header before reading again.
    resync: bool,
}

const HEADER_NAME: &[u8] = b"Content-Length";
const READ_CHUNK: usize = 64 * 1024;

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub(crate) fn new(input: R) -> Self {
        FrameReader {
            input,
            buffer: Vec::with_capacity(READ_CHUNK),
            start: 0,
            eof: false,
            resync: false,
        }
    }

    /// The next frame's body, a framing fault (the reader has already arranged to
    /// resynchronise), or `None` at the end of the input.
    pub(crate) async fn next_frame(
        &mut self,
    ) -> std::io::Result<Option<Result<Vec<u8>, FrameError>>> {
        if self.resync && !self.skip_to_header().await? {
            return Ok(None);
        }
        self.resync = false;
        let mut content_length: Option<Result<u64, FrameError>> = None;
        let mut saw_header = false;
        loop {
            let line = match self.read_line().await? {
                None => return Ok(None),
                Some(Err(long_line)) => {
                    self.resync = true;
                    return Ok(Some(Err(FrameError::BadHeader(long_line))));
                }
                Some(Ok(line)) => line,
            };
            if line.is_empty() {
                if !saw_header {
                    // Stray blank lines between frames are harmless.
                    continue;
                }
                break;
            }
            saw_header = true;
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                self.resync = true;
                return Ok(Some(Err(FrameError::BadHeader(preview(&line)))));
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            if name.trim_ascii().eq_ignore_ascii_case(HEADER_NAME) {
                let value = String::from_utf8_lossy(value).trim().to_string();
                content_length = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| FrameError::BadContentLength(preview(value.as_bytes()))),
                );
            }
        }
        let length = match content_length {
            None => {
                self.resync = true;
                return Ok(Some(Err(FrameError::MissingContentLength)));
            }
            Some(Err(error)) => {
                self.resync = true;
                return Ok(Some(Err(error)));
            }
            Some(Ok(length)) if length > MAX_FRAME_BYTES as u64 => {
                self.resync = true;
                return Ok(Some(Err(FrameError::TooLarge(length))));
            }
            // Bounded by MAX_FRAME_BYTES just above, so it fits in usize.
            Some(Ok(length)) => length as usize,
        };
        self.read_body(length).await
    }

    /// One header line without its line ending; `Err` holds a preview of a line
    /// too long to be a header.
    async fn read_line(&mut self) -> std::io::Result<Option<Result<Vec<u8>, String>>> {
        let mut searched = 0;
        loop {
            let unread = &self.buffer[self.start..];
            if let Some(newline) = unread[searched..].iter().position(|&b| b == b'\n') {
                let end = searched + newline;
                let mut line = unread[..end].to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.start += end + 1;
                return Ok(Some(Ok(line)));
            }
            if unread.len() > MAX_HEADER_LINE {
                let long_line = preview(unread);
                // Leave the bytes for the resync scan to search.
                return Ok(Some(Err(long_line)));
            }
            searched = unread.len();
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    async fn read_body(
        &mut self,
        length: usize,
    ) -> std::io::Result<Option<Result<Vec<u8>, FrameError>>> {
        let mut body = Vec::new();
        body.try_reserve_exact(length)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::OutOfMemory, error))?;
        let buffered = (self.buffer.len() - self.start).min(length);
        body.extend_from_slice(&self.buffer[self.start..self.start + buffered]);
        self.start += buffered;
        if body.len() < length {
            let missing = (length - body.len()) as u64;
            (&mut self.input)
                .take(missing)
                .read_to_end(&mut body)
                .await?;
            if body.len() < length {
                // The input ended inside a body: nothing more will come.
                self.eof = true;
                return Ok(None);
            }
        }
        Ok(Some(Ok(body)))
    }

    /// Reads more input into the buffer, compacting it first. False at the end.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        // Read into the spare capacity: zeroing 64 KiB first, for every
        // message, showed in profiles of the cursor-move requests.
        self.buffer.reserve(READ_CHUNK);
        let n = self.input.read_buf(&mut self.buffer).await?;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// Discards input up to the next `Content-Length` header name. False at the
    /// end of the input.
    async fn skip_to_header(&mut self) -> std::io::Result<bool> {
        loop {
            let unread = &self.buffer[self.start..];
            if let Some(at) = unread
                .windows(HEADER_NAME.len())
                .position(|window| window.eq_ignore_ascii_case(HEADER_NAME))
            {
                self.start += at;
                return Ok(true);
            }
            // Keep a tail that could be the start of a name split across reads.
            let keep = unread.len().min(HEADER_NAME.len() - 1);
            self.start = self.buffer.len() - keep;
            if !self.fill().await? {
                return Ok(false);
            }
        }
    }
}

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]);
    text.trim_end().to_string()
}

/// A message after classification.
enum Incoming {
    Call(Request),
    Reply(Response),
    /// Not JSON at all: -32700.
    ParseError(String),
    /// JSON, but not a JSON-RPC 2.0 request or response: -32600.
    InvalidRequest {
        id: Id,
        message: String,
    },
}

fn classify(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => return Incoming::ParseError(error.to_string()),
    };
    let Value::Object(object) = &value else {
        let what = if value.is_array() {
            "batches are not supported by LSP"
        } else {
            "a message must be a JSON object"
        };
        return Incoming::InvalidRequest {
            id: Id::Null,
            message: what.to_string(),
        };
    };
    let id = object
        .get("id")
        .and_then(|id| serde_json::from_value::<Id>(id.clone()).ok())
        .unwrap_or(Id::Null);
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Incoming::InvalidRequest {
            id,
            message: "\"jsonrpc\" must be \"2.0\"".to_string(),
        };
    }
    if object.contains_key("method") {
        if !object["method"].is_string() {
            return Incoming::InvalidRequest {
                id,
                message: "\"method\" must be a string".to_string(),
            };
        }
        return match serde_json::from_value::<Request>(value) {
            Ok(request) => Incoming::Call(request),
            Err(error) => Incoming::InvalidRequest {
                id,
                message: error.to_string(),
            },
        };
    }
    if object.contains_key("result") || object.contains_key("error") {
        return match serde_json::from_value::<Response>(value) {
            Ok(response) => Incoming::Reply(response),
            Err(error) => Incoming::InvalidRequest {
                id,
                message: format!("malformed response: {error}"),
            },
        };
    }
    Incoming::InvalidRequest {
        id,
        message: "a message needs \"method\" (request) or \"result\"/\"error\" (response)"
            .to_string(),
    }
}

fn error_response(id: Id, code: ErrorCode, message: String) -> Response {
    Response::from_error(
        id,
        Error {
            code,
            message: message.into(),
            data: None,
        },
    )
}

/// Serialises and queues one outgoing message.
#[derive(Clone)]
struct Outgoing(mpsc::Sender<Vec<u8>>);

impl Outgoing {
    async fn send(&self, message: &impl serde::Serialize) {
        match serde_json::to_vec(message) {
            Ok(body) => self.queue(body).await,
            Err(error) => tracing::error!(%error, "could not serialise an outgoing message"),
        }
    }

    /// Queues a message already serialised.
    async fn queue(&self, body: Vec<u8>) {
        // A closed channel means the writer is gone (stdout closed): there is
        // nobody left to tell.
        let _ = self.0.send(body).await;
    }
}

async fn write_frames<O: AsyncWrite + Unpin>(mut output: O, mut queue: mpsc::Receiver<Vec<u8>>) {
    while let Some(body) = queue.recv().await {
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        let written = async {
            output.write_all(header.as_bytes()).await?;
            output.write_all(&body).await?;
            if queue.is_empty() {
                output.flush().await?;
            }
            std::io::Result::Ok(())
        }
        .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not write to the client; stopping output");
            return;
        }
    }
    let _ = output.flush().await;
}

/// How the session with the client ended; the process exit code follows the LSP
/// spec: 0 after `shutdown` then `exit`, 1 otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionEnd {
    pub shutdown_requested: bool,
    pub exit_received: bool,
}

impl SessionEnd {
    pub fn exit_code(self) -> i32 {
        if self.shutdown_requested && self.exit_received {
            0
        } else {
            1
        }
    }
}

/// Serves one LSP session over `input`/`output` until `exit` or the end of input.
pub(crate) async fn serve<S, I, O>(
    input: I,
    output: O,
    mut service: LspService<S>,
    socket: ClientSocket,
) -> SessionEnd
where
    S: LanguageServer + Direct,
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (queue_tx, queue_rx) = mpsc::channel(OUTGOING_QUEUE);
    let outgoing = Outgoing(queue_tx);
    let writer = tokio::spawn(write_frames(output, queue_rx));

    let (mut server_requests, mut client_replies) = socket.split();
    let forwarder = {
        let outgoing = outgoing.clone();
        tokio::spawn(async move {
            while let Some(request) = server_requests.next().await {
                outgoing.send(&request).await;
            }
        })
    };

    let mut shutdown_requested = false;
    let mut exit_received = false;
    // The router's rule for requests: answered between `initialize` and
    // `shutdown`. The direct lane keeps to it and leaves the rest to the router.
    let mut initialized = false;
    let slots = Arc::new(Semaphore::new(MAX_CONCURRENT_REQUESTS));
    let mut running = tokio::task::JoinSet::new();
    let mut reader = FrameReader::new(input);

    loop {
        // Reap finished request tasks so the set does not grow.
        while running.try_join_next().is_some() {}
        let frame = match reader.next_frame().await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                tracing::error!(%error, "could not read from the client");
                break;
            }
        };
        let body = match frame {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "malformed frame");
                let response = error_response(Id::Null, ErrorCode::ParseError, error.to_string());
                outgoing.send(&response).await;
                continue;
            }
        };
        if initialized && !shutdown_requested {
            if let Some(answer) = direct::answer(service.inner(), &body) {
                outgoing.queue(answer).await;
                continue;
            }
        }
        let request = match classify(&body) {
            Incoming::Call(request) => request,
            Incoming::Reply(response) => {
                if client_replies.send(response).await.is_err() {
                    tracing::warn!("a reply from the client arrived after the server stopped");
                }
                continue;
            }
            Incoming::ParseError(message) => {
                tracing::warn!(%message, "message is not JSON");
                let response = error_response(
                    Id::Null,
                    ErrorCode::ParseError,
                    format!("parse error: {message}"),
                );
                outgoing.send(&response).await;
                continue;
            }
            Incoming::InvalidRequest { id, message } => {
                tracing::warn!(%message, "invalid JSON-RPC message");
                let response = error_response(
                    id,
                    ErrorCode::InvalidRequest,
                    format!("invalid request: {message}"),
                );
                outgoing.send(&response).await;
                continue;
            }
        };

        let method = request.method().to_string();
        let is_request = request.id().is_some();
        tracing::trace!(%method, is_request, "incoming");
        if method == "exit" {
            exit_received = true;
            break;
        }
        if futures::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .is_err()
        {
            break;
        }
        let response = service.call(request);
        if !is_request || method == "initialize" {
            // Notifications complete before the next message is read: that is what
            // keeps didOpen/didChange/didClose in arrival order. `initialize` too,
            // since nothing may be sent before its answer.
            if let Ok(Some(response)) = response.await {
                initialized |= method == "initialize" && response.is_ok();
                outgoing.send(&response).await;
            }
            continue;
        }
        if method == "shutdown" {
            shutdown_requested = true;
        }
        // Poll the request once here, before the next message is read: a handler
        // that takes its document snapshot before its first await answers about
        // the text as it was when the request arrived, even though later
        // notifications are applied while it runs. Synchronous handlers (most)
        // finish in this one poll.
        let mut response = response;
        if let std::task::Poll::Ready(result) = futures::poll!(&mut response) {
            if let Ok(Some(response)) = result {
                outgoing.send(&response).await;
            }
            continue;
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let outgoing = outgoing.clone();
        running.spawn(async move {
            if let Ok(Some(response)) = response.await {
                outgoing.send(&response).await;
            }
            drop(slot);
        });
    }

    // Requests still running get no answer: the client has gone or said exit.
    running.abort_all();
    while running.join_next().await.is_some() {}
    forwarder.abort();
    drop(service);
    drop(outgoing);
    let _ = writer.await;
    SessionEnd {
        shutdown_requested,
        exit_received,
    }
}
