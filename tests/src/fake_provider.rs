//! A fake model provider on 127.0.0.1 that speaks the three wire formats byte for
//! byte as `tests/fixtures/wire/` records them (SSE framing, event names, JSON key
//! order, error bodies and headers), scripted per test, recording every request.
//!
//! ```no_run
//! # async fn demo() {
//! use agentls_tests::fake_provider::{FakeProvider, Format, Script, ToolCall};
//! use serde_json::json;
//!
//! let fake = FakeProvider::start(Format::OpenAiResponses).await;
//! fake.push(Script::text_and_tool_calls(
//!     "I'll read it.",
//!     [ToolCall::new("read_file", json!({"path": "src/lib.rs"}))],
//! ))
//! .push(Script::rate_limited("2"))
//! .push(Script::text("Done."));
//! let provider = fake.provider(); // an `Arc<dyn Provider>` pointed at the fake
//! // ... run the code under test ...
//! let sent = fake.requests();
//! assert_eq!(sent[0].body["tools"][0]["name"], "read_file");
//! # }
//! ```
//!
//! Each request takes the next script from the queue; a request with none left
//! gets a 400 saying so (not retried, so a missing script fails fast). Tool call
//! ids count across the server: `call_1`, `call_2`… (`toolu_1`… for Anthropic),
//! unless a `ToolCall` names its own. Streams are sent with chunked transfer
//! encoding, one SSE event per chunk; connections are kept alive.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentls_core::config::{ProviderConfig, ProviderKind};
use agentls_core::model::Provider;
pub use agentls_core::provider::WireFormat as Format;
use agentls_core::provider::{self, ProviderSettings};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// The key `FakeProvider::provider` sends; the fake records it like any header.
pub const FAKE_API_KEY: &str = "sk-fake-agentls-0123456789abcdef";
/// The variable `FakeProvider::config` names as `api_key_env`.
pub const FAKE_API_KEY_ENV: &str = "AGENTLS_FAKE_API_KEY";
/// The `encrypted_content` (OpenAI) or thinking `signature` (Anthropic) of
/// reasoning a script does not give one.
pub const FAKE_ENCRYPTED_REASONING: &str = "gAAAAB-fake-encrypted-reasoning";

/// The environment `FakeProvider::config` expects: `FAKE_API_KEY` under
/// `FAKE_API_KEY_ENV`, nothing else. Pass it to `provider::from_config`.
pub fn fake_env(name: &str) -> Option<String> {
    (name == FAKE_API_KEY_ENV).then(|| FAKE_API_KEY.to_string())
}

/// A tool call in a scripted answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    /// `None`: the server numbers it (`call_1`, `toolu_1`…).
    pub id: Option<String>,
    pub name: String,
    /// Sent as is, so it may be malformed JSON.
    pub arguments: String,
}

impl ToolCall {
    pub fn new(name: impl Into<String>, arguments: Value) -> ToolCall {
        ToolCall {
            id: None,
            name: name.into(),
            arguments: arguments.to_string(),
        }
    }

    /// A call whose arguments are exactly `arguments`, valid JSON or not.
    pub fn raw(name: impl Into<String>, arguments: impl Into<String>) -> ToolCall {
        ToolCall {
            id: None,
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    pub fn with_id(mut self, id: impl Into<String>) -> ToolCall {
        self.id = Some(id.into());
        self
    }
}

/// Reasoning in a scripted answer: a readable summary (OpenAI) or thinking text
/// (Anthropic, `reasoning_content` for Chat Completions), and the opaque blob.
#[derive(Clone, Debug, PartialEq)]
pub struct Reasoning {
    pub summary: String,
    pub encrypted_content: String,
}

/// Token counts reported at the end of an answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
}

/// What a scripted answer says, in this order: reasoning, text, tool calls.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub reasoning: Option<Reasoning>,
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    /// `None`: about a token per four bytes of request and answer.
    pub usage: Option<Usage>,
}

/// A failure, sent either as the HTTP answer (`Script::Http`) or as an error event
/// inside a 200 stream (`Script::InStream`), in each format's own shape.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// 429. Each header is sent only when given.
    RateLimited {
        retry_after: Option<String>,
        retry_after_ms: Option<String>,
        /// `None`: the format's usual message.
        message: Option<String>,
    },
    /// 500.
    ServerError,
    /// Anthropic 529 `overloaded_error`; OpenAI 503.
    Overloaded,
    /// 400 saying the input is longer than the context window.
    ContextLengthExceeded,
    /// 401, echoing the key masked the way OpenAI does.
    Unauthorized,
    /// Anything else, byte for byte (Content-Length is added).
    Custom {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
}

/// One scripted answer to one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Script {
    /// A complete streamed answer.
    Answer(Answer),
    /// The answer's stream ended cleanly after `events` SSE events, before its
    /// closing event (`response.completed`, `[DONE]`, `message_stop`).
    Cut { answer: Answer, events: usize },
    /// The answer's stream with the connection dropped after `events` events,
    /// mid-body (no terminating chunk).
    Disconnect { answer: Answer, events: usize },
    /// An HTTP error answer.
    Http(Fault),
    /// A 200 stream that starts, then carries the fault as an error event
    /// (`response.failed`, `event: error`, an `error` chunk).
    InStream(Fault),
    /// `200` and its headers, then nothing until the client hangs up.
    Stall,
    /// A complete answer whose events go out one per permit of `gate`
    /// (benchmarks time what the server does with each).
    Gated { answer: Answer, gate: Gate },
    /// `200` and its headers, then these bytes as they are, one chunk each (a
    /// hostile or broken provider: lines that are not SSE, JSON that does not
    /// parse, an event cut in half), then the terminating chunk when `clean`, else
    /// the connection drops.
    Raw { chunks: Vec<String>, clean: bool },
    /// An answer's SSE events (one string each, as `render` makes them) passed
    /// through `mangle` before they go out, then ended as `Raw` is.
    Mangled {
        answer: Answer,
        mangle: Mangle,
        clean: bool,
    },
}

/// What a `Script::Mangled` does to its events.
#[derive(Clone, Copy, Debug)]
pub struct Mangle(pub fn(Vec<String>) -> Vec<String>);

impl PartialEq for Mangle {
    fn eq(&self, other: &Mangle) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

/// Lets a `Script::Gated` stream out one event per permit.
#[derive(Clone, Debug)]
pub struct Gate(Arc<tokio::sync::Semaphore>);

impl PartialEq for Gate {
    fn eq(&self, other: &Gate) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

impl Gate {
    pub fn new() -> Gate {
        Gate(Arc::new(tokio::sync::Semaphore::new(0)))
    }

    /// Lets `events` more events out.
    pub fn open(&self, events: usize) {
        self.0.add_permits(events);
    }
}

impl Script {
    pub fn text(text: impl Into<String>) -> Script {
        Script::Answer(Answer {
            text: Some(text.into()),
            ..Answer::default()
        })
    }

    /// Parallel tool calls, with no text before them.
    pub fn tool_calls(calls: impl IntoIterator<Item = ToolCall>) -> Script {
        Script::Answer(Answer {
            tool_calls: calls.into_iter().collect(),
            ..Answer::default()
        })
    }

    pub fn text_and_tool_calls(
        text: impl Into<String>,
        calls: impl IntoIterator<Item = ToolCall>,
    ) -> Script {
        Script::Answer(Answer {
            text: Some(text.into()),
            tool_calls: calls.into_iter().collect(),
            ..Answer::default()
        })
    }

    /// A reasoning summary (with `FAKE_ENCRYPTED_REASONING`), then `text`.
    pub fn reasoning(summary: impl Into<String>, text: impl Into<String>) -> Script {
        Script::Answer(Answer {
            reasoning: Some(Reasoning {
                summary: summary.into(),
                encrypted_content: FAKE_ENCRYPTED_REASONING.to_string(),
            }),
            text: Some(text.into()),
            ..Answer::default()
        })
    }

    /// One call whose arguments are not valid JSON.
    pub fn malformed_tool_call(name: impl Into<String>) -> Script {
        Script::tool_calls([ToolCall::raw(name, "{\"path\": \"src/li")])
    }

    /// 429 with `retry-after: <retry_after>` (seconds or an HTTP date).
    pub fn rate_limited(retry_after: impl Into<String>) -> Script {
        Script::Http(Fault::RateLimited {
            retry_after: Some(retry_after.into()),
            retry_after_ms: None,
            message: None,
        })
    }

    /// 429 with no header, the delay only in the message ("Please try again in 20ms.").
    pub fn rate_limited_with_message(message: impl Into<String>) -> Script {
        Script::Http(Fault::RateLimited {
            retry_after: None,
            retry_after_ms: None,
            message: Some(message.into()),
        })
    }

    pub fn server_error() -> Script {
        Script::Http(Fault::ServerError)
    }

    pub fn overloaded() -> Script {
        Script::Http(Fault::Overloaded)
    }

    pub fn context_length_exceeded() -> Script {
        Script::Http(Fault::ContextLengthExceeded)
    }

    pub fn unauthorized() -> Script {
        Script::Http(Fault::Unauthorized)
    }

    pub fn stall() -> Script {
        Script::Stall
    }

    /// A 200 stream carrying `chunks` verbatim, ended cleanly.
    pub fn raw(chunks: impl IntoIterator<Item = impl Into<String>>) -> Script {
        Script::Raw {
            chunks: chunks.into_iter().map(Into::into).collect(),
            clean: true,
        }
    }

    /// This answer, ended cleanly after `events` SSE events.
    pub fn cut_after(self, events: usize) -> Script {
        Script::Cut {
            answer: self.into_answer(),
            events,
        }
    }

    /// This answer with its events passed through `mangle`, ended cleanly.
    pub fn mangled(self, mangle: fn(Vec<String>) -> Vec<String>) -> Script {
        Script::Mangled {
            answer: self.into_answer(),
            mangle: Mangle(mangle),
            clean: true,
        }
    }

    /// This answer with its events passed through `mangle`, then the connection
    /// drops.
    pub fn mangled_then_dropped(self, mangle: fn(Vec<String>) -> Vec<String>) -> Script {
        Script::Mangled {
            answer: self.into_answer(),
            mangle: Mangle(mangle),
            clean: false,
        }
    }

    /// This answer, with the connection dropped after `events` SSE events.
    pub fn disconnect_after(self, events: usize) -> Script {
        Script::Disconnect {
            answer: self.into_answer(),
            events,
        }
    }

    /// This answer, reporting these token counts.
    pub fn with_usage(self, usage: Usage) -> Script {
        let mut answer = self.into_answer();
        answer.usage = Some(usage);
        Script::Answer(answer)
    }

    fn into_answer(self) -> Answer {
        match self {
            Script::Answer(answer)
            | Script::Cut { answer, .. }
            | Script::Disconnect { answer, .. } => answer,
            other => panic!("only an answer script can be cut or given usage, not {other:?}"),
        }
    }
}

/// One request the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// With the `/v1` prefix: `/v1/responses`.
    pub path: String,
    /// Names lowercased, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The JSON body (`Value::Null` when there was none or it was not JSON).
    pub body: Value,
    /// The connection it came on, numbered from 1 in the order they were accepted.
    pub connection: u64,
}

impl RecordedRequest {
    /// The outputs of the tool calls an OpenAI Responses request carries (its
    /// `function_call_output` input items), with their call ids, in order.
    pub fn tool_outputs(&self) -> Vec<(String, String)> {
        self.body["input"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|item| item["type"] == "function_call_output")
            .map(|item| {
                (
                    item["call_id"].as_str().unwrap_or_default().to_string(),
                    item["output"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

struct Shared {
    format: Format,
    scripts: Mutex<VecDeque<Script>>,
    requests: Mutex<Vec<RecordedRequest>>,
    request_arrived: Notify,
    /// Numbers responses (`resp_fake1`) and tool calls (`call_1`).
    responses: AtomicU64,
    tool_calls: AtomicU64,
    connections: AtomicU64,
}

/// The fake server. Dropping it stops the server and every connection.
pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock poisons it; the data is still what it was.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl FakeProvider {
    /// Starts a server speaking `format` on an ephemeral port of 127.0.0.1.
    pub async fn start(format: Format) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake provider binds an ephemeral port on 127.0.0.1");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shared = Arc::new(Shared {
            format,
            scripts: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            request_arrived: Notify::new(),
            responses: AtomicU64::new(0),
            tool_calls: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        FakeProvider {
            addr,
            shared,
            server,
        }
    }

    /// Queues the answer to a coming request.
    pub fn push(&self, script: Script) -> &Self {
        lock(&self.shared.scripts).push_back(script);
        self
    }

    /// `http://127.0.0.1:<port>/v1`: the `base_url` of a provider config.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn format(&self) -> Format {
        self.shared.format
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many queued scripts no request has taken yet.
    pub fn remaining(&self) -> usize {
        lock(&self.shared.scripts).len()
    }

    /// Waits until `count` requests have arrived (wrap it in a timeout). Each has
    /// taken its script by then, so a script pushed afterwards answers a later one.
    pub async fn wait_for_requests(&self, count: usize) -> Vec<RecordedRequest> {
        loop {
            let arrived = self.shared.request_arrived.notified();
            let requests = self.requests();
            if requests.len() >= count {
                return requests;
            }
            arrived.await;
        }
    }

    /// A `[provider]` config for this server: its kind and URL, the key in
    /// `FAKE_API_KEY_ENV` (see `fake_env`), a 10 s idle timeout.
    pub fn config(&self) -> ProviderConfig {
        let kind = match self.shared.format {
            Format::OpenAiResponses => ProviderKind::OpenaiResponses,
            Format::OpenAiChat => ProviderKind::OpenaiChat,
            Format::Anthropic => ProviderKind::Anthropic,
        };
        ProviderConfig {
            kind: Some(kind),
            base_url: Some(self.base_url()),
            api_key_env: Some(FAKE_API_KEY_ENV.to_string()),
            idle_timeout_secs: 10,
            ..ProviderConfig::default()
        }
    }

    /// The real provider for this format, pointed at this server.
    pub fn provider(&self) -> Arc<dyn Provider> {
        provider::from_config(&self.config(), &fake_env)
            .expect("the fake provider's config is complete")
    }

    /// Like `provider`, with a shorter idle timeout (for stall tests).
    pub fn provider_with_idle_timeout(&self, idle_timeout: Duration) -> Arc<dyn Provider> {
        let mut settings = ProviderSettings::resolve(&self.config(), &fake_env)
            .expect("the fake provider's config is complete");
        settings.idle_timeout = idle_timeout;
        settings
            .into_provider()
            .expect("the fake provider's config is complete")
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    // Dropped with this task when the server is aborted, aborting every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    let _ = socket.set_nodelay(true);
                    let number = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                    connections.spawn(connection(socket, number, Arc::clone(&shared)));
                }
                Err(error) => tracing::warn!(%error, "the fake provider cannot accept"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Reads one request; `None` when the client closed the connection.
pub(crate) async fn read_request(
    socket: &mut TcpStream,
    connection: u64,
) -> Option<(RecordedRequest, usize)> {
    let mut buffer = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let (head_len, method, path, headers) = loop {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut header_slots = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut header_slots);
        match request.parse(&buffer) {
            Ok(httparse::Status::Complete(head_len)) => {
                let headers: Vec<(String, String)> = request
                    .headers
                    .iter()
                    .map(|header| {
                        (
                            header.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(header.value).into_owned(),
                        )
                    })
                    .collect();
                break (
                    head_len,
                    request.method.unwrap_or("").to_string(),
                    request.path.unwrap_or("").to_string(),
                    headers,
                );
            }
            Ok(httparse::Status::Partial) => continue,
            Err(error) => {
                tracing::warn!(%error, "the fake provider got a request that is not HTTP");
                return None;
            }
        }
    };
    let content_length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_len + content_length {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body_bytes = &buffer[head_len..head_len + content_length];
    let body = serde_json::from_slice(body_bytes).unwrap_or(Value::Null);
    let request = RecordedRequest {
        method,
        path,
        headers,
        body,
        connection,
    };
    Some((request, content_length))
}

/// Takes the next script for `request` (none for a wrong path) and records the
/// request in one step, so a script pushed once a test saw the request arrive
/// answers a later request. Recording first let another connection's request take
/// this one's script in between: a `Stall` meant for an interrupted turn stalled
/// the next turn instead. Returns the script and the request's number, from 1.
fn take_script(
    shared: &Shared,
    request: &RecordedRequest,
    expected_path: &str,
) -> (Option<Script>, usize) {
    let mut scripts = lock(&shared.scripts);
    let script = if request.path == expected_path {
        scripts.pop_front()
    } else {
        None
    };
    let mut requests = lock(&shared.requests);
    requests.push(request.clone());
    (script, requests.len())
}

async fn connection(mut socket: TcpStream, connection: u64, shared: Arc<Shared>) {
    let format = shared.format;
    while let Some((request, body_len)) = read_request(&mut socket, connection).await {
        let number = shared.responses.fetch_add(1, Ordering::SeqCst) + 1;
        let request_id = format!("req_fake{number}");
        let expected_path = format!("/v1{}", format.endpoint());
        let (script, request_number) = take_script(&shared, &request, &expected_path);
        shared.request_arrived.notify_waiters();

        let script = if request.path != expected_path {
            let message = format!(
                "the fake provider serves {format:?} at {expected_path}, not {} {}",
                request.method, request.path
            );
            Script::Http(Fault::Custom {
                status: 404,
                headers: vec![],
                body: error_body(
                    format,
                    "not_found_error",
                    None,
                    &message,
                    "null",
                    &request_id,
                ),
            })
        } else {
            script.unwrap_or_else(|| {
                let message = format!(
                    "the fake provider has no scripted response left for request {request_number} ({})",
                    request.path
                );
                Script::Http(Fault::Custom {
                    status: 400,
                    headers: vec![],
                    body: error_body(
                        format,
                        "invalid_request_error",
                        None,
                        &message,
                        "null",
                        &request_id,
                    ),
                })
            })
        };
        let context = RequestContext::of(&request, body_len);
        let head = stream_head(format, &request_id);
        let ids = |answer: &Answer| Ids::numbered(format, number, answer, &shared.tool_calls);
        let keep_going = match script {
            Script::Answer(answer) => {
                let events = render(format, &answer, &ids(&answer), &context);
                write_stream(&mut socket, &head, &events, Ending::Clean).await
            }
            Script::Cut { answer, events } => {
                let rendered = render(format, &answer, &ids(&answer), &context);
                let kept = &rendered[..events.min(rendered.len())];
                write_stream(&mut socket, &head, kept, Ending::Clean).await
            }
            Script::Disconnect { answer, events } => {
                let rendered = render(format, &answer, &ids(&answer), &context);
                let kept = &rendered[..events.min(rendered.len())];
                write_stream(&mut socket, &head, kept, Ending::Abrupt).await
            }
            Script::Http(fault) => {
                let (status, headers, body) = fault_response(format, &fault, &request, &request_id);
                let bytes = http_error_bytes(format, &request_id, status, &headers, &body);
                socket.write_all(bytes.as_bytes()).await.is_ok() && socket.flush().await.is_ok()
            }
            Script::InStream(fault) => {
                let events =
                    render_stream_fault(format, &fault, &ids(&Answer::default()), &context);
                write_stream(&mut socket, &head, &events, Ending::Clean).await
            }
            Script::Gated { answer, gate } => {
                let events = render(format, &answer, &ids(&answer), &context);
                write_gated(&mut socket, &head, &events, &gate).await
            }
            Script::Raw { chunks, clean } => {
                let ending = if clean { Ending::Clean } else { Ending::Abrupt };
                write_stream(&mut socket, &head, &chunks, ending).await
            }
            Script::Mangled {
                answer,
                mangle,
                clean,
            } => {
                let events = (mangle.0)(render(format, &answer, &ids(&answer), &context));
                let ending = if clean { Ending::Clean } else { Ending::Abrupt };
                write_stream(&mut socket, &head, &events, ending).await
            }
            Script::Stall => {
                if socket.write_all(head.as_bytes()).await.is_ok() {
                    // Hold the connection open, silent, until the client hangs up.
                    let mut sink = [0u8; 1024];
                    while matches!(socket.read(&mut sink).await, Ok(read) if read > 0) {}
                }
                false
            }
        };
        if !keep_going {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP framing

#[derive(Clone, Copy, PartialEq)]
enum Ending {
    /// The terminating zero-length chunk: the body ends cleanly.
    Clean,
    /// The connection closes mid-body.
    Abrupt,
}

const DATE: &str = "Sun, 22 Nov 2026 03:16:09 GMT";
const SERVER: &str = "agentls-fake-provider";

fn request_id_header(format: Format, request_id: &str) -> String {
    match format {
        Format::Anthropic => format!("request-id: {request_id}\r\n"),
        Format::OpenAiResponses | Format::OpenAiChat => {
            format!("x-request-id: {request_id}\r\nopenai-processing-ms: 1\r\n")
        }
    }
}

fn stream_head(format: Format, request_id: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\n{}Content-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nDate: {DATE}\r\nServer: {SERVER}\r\n\r\n",
        request_id_header(format, request_id)
    )
}

/// Writes a 200 stream, one event per chunk. Returns whether the connection can
/// serve another request.
async fn write_stream(
    socket: &mut TcpStream,
    head: &str,
    events: &[String],
    ending: Ending,
) -> bool {
    let write = async {
        socket.write_all(head.as_bytes()).await?;
        for event in events {
            let chunk = format!("{:x}\r\n{event}\r\n", event.len());
            socket.write_all(chunk.as_bytes()).await?;
            socket.flush().await?;
        }
        if ending == Ending::Clean {
            socket.write_all(b"0\r\n\r\n").await?;
        } else {
            socket.shutdown().await?;
        }
        socket.flush().await
    };
    write.await.is_ok() && ending == Ending::Clean
}

/// `write_stream`, one event per permit of `gate`.
async fn write_gated(socket: &mut TcpStream, head: &str, events: &[String], gate: &Gate) -> bool {
    let write = async {
        socket.write_all(head.as_bytes()).await?;
        socket.flush().await?;
        for event in events {
            if let Ok(permit) = gate.0.acquire().await {
                permit.forget();
            }
            let chunk = format!("{:x}\r\n{event}\r\n", event.len());
            socket.write_all(chunk.as_bytes()).await?;
            socket.flush().await?;
        }
        socket.write_all(b"0\r\n\r\n").await?;
        socket.flush().await
    };
    write.await.is_ok()
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        529 => "Site Overloaded",
        _ => "Error",
    }
}

/// An error body in the format's shape, written the way the samples are
/// (Python's `json.dumps`, with spaces).
fn error_body(
    format: Format,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: &str,
    request_id: &str,
) -> String {
    let json = |text: &str| Value::from(text).to_string();
    match format {
        Format::Anthropic => format!(
            "{{\"type\": \"error\", \"error\": {{\"type\": {}, \"message\": {}}}, \"request_id\": {}}}",
            json(kind),
            json(message),
            json(request_id)
        ),
        Format::OpenAiResponses | Format::OpenAiChat => format!(
            "{{\"error\": {{\"type\": {}, \"code\": {}, \"message\": {}, \"param\": {param}}}}}",
            json(kind),
            code.map_or_else(|| "null".to_string(), json),
            json(message)
        ),
    }
}

/// The key from the request, masked as OpenAI echoes it.
fn masked_key(request: &RecordedRequest) -> String {
    let key = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .or_else(|| request.header("x-api-key"))
        .unwrap_or("");
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// Status, extra headers and body of a fault answered over HTTP.
fn fault_response(
    format: Format,
    fault: &Fault,
    request: &RecordedRequest,
    request_id: &str,
) -> (u16, Vec<(String, String)>, String) {
    let anthropic = format == Format::Anthropic;
    match fault {
        Fault::RateLimited {
            retry_after,
            retry_after_ms,
            message,
        } => {
            let mut headers = Vec::new();
            if let Some(value) = retry_after {
                headers.push(("retry-after".to_string(), value.clone()));
            }
            if let Some(value) = retry_after_ms {
                headers.push(("retry-after-ms".to_string(), value.clone()));
            }
            let body = if anthropic {
                let message = message
                    .as_deref()
                    .unwrap_or("Number of request tokens has exceeded your per-minute rate limit.");
                error_body(
                    format,
                    "rate_limit_error",
                    None,
                    message,
                    "null",
                    request_id,
                )
            } else {
                let message = message
                    .as_deref()
                    .unwrap_or("Rate limit reached for requests. Please try again in 1s.");
                error_body(
                    format,
                    "requests",
                    Some("rate_limit_exceeded"),
                    message,
                    "null",
                    request_id,
                )
            };
            (429, headers, body)
        }
        Fault::ServerError => {
            let body = if anthropic {
                error_body(
                    format,
                    "api_error",
                    None,
                    "Internal server error",
                    "null",
                    request_id,
                )
            } else {
                error_body(
                    format,
                    "server_error",
                    None,
                    "The server had an error while processing your request. Sorry about that!",
                    "null",
                    request_id,
                )
            };
            (500, Vec::new(), body)
        }
        Fault::Overloaded => {
            if anthropic {
                let body = error_body(
                    format,
                    "overloaded_error",
                    None,
                    "Overloaded",
                    "null",
                    request_id,
                );
                (529, Vec::new(), body)
            } else {
                let body = error_body(
                    format,
                    "server_error",
                    None,
                    "The engine is currently overloaded, please try again later",
                    "null",
                    request_id,
                );
                (503, Vec::new(), body)
            }
        }
        Fault::ContextLengthExceeded => {
            let body = if anthropic {
                error_body(
                    format,
                    "invalid_request_error",
                    None,
                    "prompt is too long: 215000 tokens > 200000 maximum",
                    "null",
                    request_id,
                )
            } else {
                error_body(
                    format,
                    "invalid_request_error",
                    Some("context_length_exceeded"),
                    "Your input exceeds the context window of this model. Please adjust your input and try again.",
                    "\"input\"",
                 request_id)
            };
            (400, Vec::new(), body)
        }
        Fault::Unauthorized => {
            let body = if anthropic {
                error_body(
                    format,
                    "authentication_error",
                    None,
                    "invalid x-api-key",
                    "null",
                    request_id,
                )
            } else {
                let message = format!(
                    "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                    masked_key(request)
                );
                error_body(
                    format,
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    &message,
                    "null",
                    request_id,
                )
            };
            (401, Vec::new(), body)
        }
        Fault::Custom {
            status,
            headers,
            body,
        } => (*status, headers.clone(), body.clone()),
    }
}

/// The bytes of an HTTP error answer, headers in the samples' order.
fn http_error_bytes(
    format: Format,
    request_id: &str,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) -> String {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\n{}Content-Type: application/json; charset=utf-8\r\n",
        reason_phrase(status),
        request_id_header(format, request_id)
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nDate: {DATE}\r\nServer: {SERVER}\r\n\r\n{body}",
        body.len()
    ));
    head
}

// ---------------------------------------------------------------------------
// Rendering answers as SSE events

/// What an answer echoes from its request.
struct RequestContext {
    model: String,
    /// JSON, `null` when absent.
    instructions: String,
    prompt_cache_key: String,
    parallel_tool_calls: bool,
    store: bool,
    /// Each request tool as the Responses API echoes it, as JSON text.
    tools: Vec<String>,
    /// About a token per four bytes of body.
    estimated_input_tokens: u64,
}

impl RequestContext {
    fn of(request: &RecordedRequest, body_len: usize) -> RequestContext {
        let body = &request.body;
        let text = |value: &Value| match value {
            Value::Null => "null".to_string(),
            other => other.to_string(),
        };
        let tools = body["tools"]
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .map(|tool| {
                        let strict = match &tool["strict"] {
                            Value::Bool(strict) => *strict,
                            _ => true,
                        };
                        format!(
                            "{{\"type\":\"function\",\"name\":{},\"parameters\":{},\"strict\":{strict},\"description\":{}}}",
                            text(&tool["name"]),
                            text(&tool["parameters"]),
                            text(&tool["description"]),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        RequestContext {
            model: body["model"].as_str().unwrap_or("fake-model").to_string(),
            instructions: text(&body["instructions"]),
            prompt_cache_key: text(&body["prompt_cache_key"]),
            parallel_tool_calls: body["parallel_tool_calls"].as_bool().unwrap_or(true),
            store: body["store"].as_bool().unwrap_or(true),
            tools,
            estimated_input_tokens: (body_len as u64) / 4,
        }
    }
}

/// The ids an answer carries.
struct Ids {
    response: String,
    message: String,
    reasoning: String,
    /// OpenAI Responses item ids of the function calls (`fc_…`).
    call_items: Vec<String>,
    /// The call ids the model hands out (`call_…`, `toolu_…`).
    calls: Vec<String>,
}

impl Ids {
    fn numbered(format: Format, number: u64, answer: &Answer, counter: &AtomicU64) -> Ids {
        let prefix = match format {
            Format::Anthropic => "toolu_",
            Format::OpenAiResponses | Format::OpenAiChat => "call_",
        };
        let calls = answer
            .tool_calls
            .iter()
            .map(|call| match &call.id {
                Some(id) => id.clone(),
                None => format!("{prefix}{}", counter.fetch_add(1, Ordering::SeqCst) + 1),
            })
            .collect();
        Ids {
            response: match format {
                Format::OpenAiResponses => format!("resp_fake{number}"),
                Format::OpenAiChat => format!("chatcmpl-fake{number}"),
                Format::Anthropic => format!("msg_fake{number}"),
            },
            message: format!("msg_fake{number}"),
            reasoning: format!("rs_fake{number}"),
            call_items: (1..=answer.tool_calls.len())
                .map(|index| format!("fc_fake{number}_{index}"))
                .collect(),
            calls,
        }
    }
}

/// Pieces of at most 8 bytes, cut on character boundaries: how the samples
/// stream text and arguments.
fn pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + 8).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        pieces.push(&text[start..end]);
        start = end;
    }
    pieces
}

fn json(text: &str) -> String {
    Value::from(text).to_string()
}

fn usage_of(answer: &Answer, context: &RequestContext) -> Usage {
    answer.usage.unwrap_or_else(|| {
        let answer_bytes = answer.text.as_deref().map_or(0, str::len)
            + answer
                .reasoning
                .as_ref()
                .map_or(0, |reasoning| reasoning.summary.len())
            + answer
                .tool_calls
                .iter()
                .map(|call| call.name.len() + call.arguments.len())
                .sum::<usize>();
        Usage {
            input_tokens: context.estimated_input_tokens,
            cached_input_tokens: 0,
            output_tokens: (answer_bytes as u64) / 4 + 1,
        }
    })
}

const CREATED_AT: u64 = 1795317369;

fn render(format: Format, answer: &Answer, ids: &Ids, context: &RequestContext) -> Vec<String> {
    match format {
        Format::OpenAiResponses => render_responses(answer, ids, context),
        Format::OpenAiChat => render_chat(answer, ids, context),
        Format::Anthropic => render_anthropic(answer, ids, context),
    }
}

fn sse(event: &str, data: &str) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// The Responses `response` object, fields in the SDK's order.
fn response_object(
    ids: &Ids,
    context: &RequestContext,
    status: &str,
    output: &[String],
    usage: Option<Usage>,
    error: &str,
) -> String {
    let completed_at = if status == "completed" {
        format!("\"completed_at\":{CREATED_AT},")
    } else {
        String::new()
    };
    let usage = match usage {
        Some(usage) => format!(
            "{{\"input_tokens\":{},\"input_tokens_details\":{{\"cache_write_tokens\":0,\"cached_tokens\":{}}},\"output_tokens\":{},\"output_tokens_details\":{{\"reasoning_tokens\":0}},\"total_tokens\":{}}}",
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens,
            usage.input_tokens + usage.output_tokens
        ),
        None => "null".to_string(),
    };
    format!(
        "{{\"id\":{},\"created_at\":{CREATED_AT},\"error\":{error},\"incomplete_details\":null,\"instructions\":{},\"metadata\":{{}},\"model\":{},\"object\":\"response\",\"output\":[{}],\"parallel_tool_calls\":{},\"temperature\":1.0,\"tool_choice\":\"auto\",\"tools\":[{}],\"top_p\":1.0,\"background\":false,{completed_at}\"max_output_tokens\":null,\"previous_response_id\":null,\"prompt_cache_key\":{},\"status\":\"{status}\",\"text\":{{\"format\":{{\"type\":\"text\"}}}},\"truncation\":\"disabled\",\"usage\":{usage},\"store\":{}}}",
        json(&ids.response),
        context.instructions,
        json(&context.model),
        output.join(","),
        context.parallel_tool_calls,
        context.tools.join(","),
        context.prompt_cache_key,
        context.store,
    )
}

/// Numbers Responses events (`sequence_number`) as they are written.
struct Sequence {
    events: Vec<String>,
}

impl Sequence {
    /// Adds an event whose data is `{"type":<kind>,<fields>,"sequence_number":n<after>}`.
    fn push(&mut self, kind: &str, fields: &str, after: &str) {
        let number = self.events.len();
        let separator = if fields.is_empty() { "" } else { "," };
        let data = format!(
            "{{\"type\":\"{kind}\"{separator}{fields},\"sequence_number\":{number}{after}}}"
        );
        self.events.push(sse(kind, &data));
    }
}

fn render_responses(answer: &Answer, ids: &Ids, context: &RequestContext) -> Vec<String> {
    let mut sequence = Sequence { events: Vec::new() };
    let mut output: Vec<String> = Vec::new();
    let in_progress = response_object(ids, context, "in_progress", &[], None, "null");
    sequence.push(
        "response.created",
        &format!("\"response\":{in_progress}"),
        "",
    );
    sequence.push(
        "response.in_progress",
        &format!("\"response\":{in_progress}"),
        "",
    );

    if let Some(reasoning) = &answer.reasoning {
        let index = output.len();
        let id = json(&ids.reasoning);
        sequence.push(
            "response.output_item.added",
            &format!("\"item\":{{\"type\":\"reasoning\",\"id\":{id},\"summary\":[],\"encrypted_content\":null}},\"output_index\":{index}"),
            "",
        );
        sequence.push(
            "response.reasoning_summary_part.added",
            &format!("\"item_id\":{id},\"output_index\":{index},\"part\":{{\"type\":\"summary_text\",\"text\":\"\"}}"),
            ",\"summary_index\":0",
        );
        for piece in pieces(&reasoning.summary) {
            sequence.push(
                "response.reasoning_summary_text.delta",
                &format!(
                    "\"delta\":{},\"item_id\":{id},\"output_index\":{index}",
                    json(piece)
                ),
                ",\"summary_index\":0",
            );
        }
        let summary = json(&reasoning.summary);
        sequence.push(
            "response.reasoning_summary_text.done",
            &format!("\"item_id\":{id},\"output_index\":{index}"),
            &format!(",\"summary_index\":0,\"text\":{summary}"),
        );
        sequence.push(
            "response.reasoning_summary_part.done",
            &format!("\"item_id\":{id},\"output_index\":{index},\"part\":{{\"type\":\"summary_text\",\"text\":{summary}}}"),
            ",\"summary_index\":0",
        );
        let item = format!(
            "{{\"type\":\"reasoning\",\"id\":{id},\"summary\":[{{\"type\":\"summary_text\",\"text\":{summary}}}],\"encrypted_content\":{}}}",
            json(&reasoning.encrypted_content)
        );
        sequence.push(
            "response.output_item.done",
            &format!("\"item\":{item},\"output_index\":{index}"),
            "",
        );
        output.push(item);
    }

    if let Some(text) = &answer.text {
        let index = output.len();
        let id = json(&ids.message);
        let text_json = json(text);
        sequence.push(
            "response.output_item.added",
            &format!("\"item\":{{\"type\":\"message\",\"id\":{id},\"content\":[],\"role\":\"assistant\",\"status\":\"in_progress\"}},\"output_index\":{index}"),
            "",
        );
        sequence.push(
            "response.content_part.added",
            &format!("\"content_index\":0,\"item_id\":{id},\"output_index\":{index},\"part\":{{\"type\":\"output_text\",\"annotations\":[],\"text\":\"\",\"logprobs\":[]}}"),
            "",
        );
        for piece in pieces(text) {
            sequence.push(
                "response.output_text.delta",
                &format!("\"content_index\":0,\"delta\":{},\"item_id\":{id},\"logprobs\":[],\"output_index\":{index}", json(piece)),
                "",
            );
        }
        sequence.push(
            "response.output_text.done",
            &format!(
                "\"content_index\":0,\"item_id\":{id},\"logprobs\":[],\"output_index\":{index}"
            ),
            &format!(",\"text\":{text_json}"),
        );
        let part = format!(
            "{{\"type\":\"output_text\",\"annotations\":[],\"text\":{text_json},\"logprobs\":[]}}"
        );
        sequence.push(
            "response.content_part.done",
            &format!(
                "\"content_index\":0,\"item_id\":{id},\"output_index\":{index},\"part\":{part}"
            ),
            "",
        );
        let item = format!(
            "{{\"type\":\"message\",\"id\":{id},\"content\":[{part}],\"role\":\"assistant\",\"status\":\"completed\"}}"
        );
        sequence.push(
            "response.output_item.done",
            &format!("\"item\":{item},\"output_index\":{index}"),
            "",
        );
        output.push(item);
    }

    for (position, call) in answer.tool_calls.iter().enumerate() {
        let index = output.len();
        let item_id = json(&ids.call_items[position]);
        let call_id = json(&ids.calls[position]);
        let name = json(&call.name);
        sequence.push(
            "response.output_item.added",
            &format!("\"item\":{{\"type\":\"function_call\",\"arguments\":\"\",\"call_id\":{call_id},\"name\":{name},\"id\":{item_id},\"status\":\"in_progress\"}},\"output_index\":{index}"),
            "",
        );
        for piece in pieces(&call.arguments) {
            sequence.push(
                "response.function_call_arguments.delta",
                &format!(
                    "\"delta\":{},\"item_id\":{item_id},\"output_index\":{index}",
                    json(piece)
                ),
                "",
            );
        }
        let arguments = json(&call.arguments);
        sequence.push(
            "response.function_call_arguments.done",
            &format!("\"arguments\":{arguments},\"item_id\":{item_id},\"output_index\":{index}"),
            "",
        );
        let item = format!(
            "{{\"type\":\"function_call\",\"arguments\":{arguments},\"call_id\":{call_id},\"name\":{name},\"id\":{item_id},\"status\":\"completed\"}}"
        );
        sequence.push(
            "response.output_item.done",
            &format!("\"item\":{item},\"output_index\":{index}"),
            "",
        );
        output.push(item);
    }

    let usage = usage_of(answer, context);
    let completed = response_object(ids, context, "completed", &output, Some(usage), "null");
    sequence.push(
        "response.completed",
        &format!("\"response\":{completed}"),
        "",
    );
    sequence.events
}

fn chat_chunk(ids: &Ids, context: &RequestContext, choices: &str, usage: &str) -> String {
    let data = format!(
        "{{\"id\":{},\"choices\":[{choices}],\"created\":{CREATED_AT},\"model\":{},\"object\":\"chat.completion.chunk\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fake\",\"usage\":{usage}}}",
        json(&ids.response),
        json(&context.model),
    );
    format!("data: {data}\n\n")
}

fn chat_choice(delta: &str, finish_reason: &str) -> String {
    format!("{{\"delta\":{delta},\"index\":0,\"finish_reason\":{finish_reason},\"logprobs\":null}}")
}

fn render_chat(answer: &Answer, ids: &Ids, context: &RequestContext) -> Vec<String> {
    let mut events = Vec::new();
    let mut delta = |delta: String| {
        events.push(chat_chunk(
            ids,
            context,
            &chat_choice(&delta, "null"),
            "null",
        ));
    };
    delta("{\"content\":\"\",\"refusal\":null,\"role\":\"assistant\"}".to_string());
    if let Some(reasoning) = &answer.reasoning {
        for piece in pieces(&reasoning.summary) {
            delta(format!("{{\"reasoning_content\":{}}}", json(piece)));
        }
    }
    if let Some(text) = &answer.text {
        for piece in pieces(text) {
            delta(format!("{{\"content\":{}}}", json(piece)));
        }
    }
    for (index, call) in answer.tool_calls.iter().enumerate() {
        delta(format!(
            "{{\"tool_calls\":[{{\"type\":\"function\",\"index\":{index},\"id\":{},\"function\":{{\"arguments\":\"\",\"name\":{}}}}}]}}",
            json(&ids.calls[index]),
            json(&call.name)
        ));
        for piece in pieces(&call.arguments) {
            delta(format!(
                "{{\"tool_calls\":[{{\"index\":{index},\"function\":{{\"arguments\":{}}}}}]}}",
                json(piece)
            ));
        }
    }
    let finish_reason = if answer.tool_calls.is_empty() {
        "\"stop\""
    } else {
        "\"tool_calls\""
    };
    events.push(chat_chunk(
        ids,
        context,
        &chat_choice("{}", finish_reason),
        "null",
    ));
    let usage = usage_of(answer, context);
    let usage = format!(
        "{{\"completion_tokens\":{},\"prompt_tokens\":{},\"total_tokens\":{},\"completion_tokens_details\":{{\"accepted_prediction_tokens\":0,\"audio_tokens\":0,\"reasoning_tokens\":0,\"rejected_prediction_tokens\":0}},\"prompt_tokens_details\":{{\"audio_tokens\":0,\"cached_tokens\":{}}}}}",
        usage.output_tokens,
        usage.input_tokens,
        usage.input_tokens + usage.output_tokens,
        usage.cached_input_tokens,
    );
    events.push(chat_chunk(ids, context, "", &usage));
    events.push("data: [DONE]\n\n".to_string());
    events
}

fn render_anthropic(answer: &Answer, ids: &Ids, context: &RequestContext) -> Vec<String> {
    let usage = usage_of(answer, context);
    let mut events = vec![sse(
        "message_start",
        &format!(
            "{{\"type\":\"message_start\",\"message\":{{\"type\":\"message\",\"id\":{},\"content\":[],\"model\":{},\"role\":\"assistant\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{{\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":{},\"input_tokens\":{},\"output_tokens\":1,\"service_tier\":\"standard\"}}}}}}",
            json(&ids.response),
            json(&context.model),
            usage.cached_input_tokens,
            usage.input_tokens.saturating_sub(usage.cached_input_tokens),
        ),
    )];
    let mut index = 0usize;
    let mut ping_sent = false;
    let mut start = |events: &mut Vec<String>, block: String, index: usize| {
        events.push(sse(
            "content_block_start",
            &format!(
                "{{\"type\":\"content_block_start\",\"content_block\":{block},\"index\":{index}}}"
            ),
        ));
        if !ping_sent {
            ping_sent = true;
            events.push(sse("ping", "{\"type\":\"ping\"}"));
        }
    };
    let delta = |events: &mut Vec<String>, delta: String, index: usize| {
        events.push(sse(
            "content_block_delta",
            &format!("{{\"type\":\"content_block_delta\",\"delta\":{delta},\"index\":{index}}}"),
        ));
    };
    let stop = |events: &mut Vec<String>, index: usize| {
        events.push(sse(
            "content_block_stop",
            &format!("{{\"type\":\"content_block_stop\",\"index\":{index}}}"),
        ));
    };

    if let Some(reasoning) = &answer.reasoning {
        start(
            &mut events,
            "{\"type\":\"thinking\",\"signature\":\"\",\"thinking\":\"\"}".to_string(),
            index,
        );
        for piece in pieces(&reasoning.summary) {
            delta(
                &mut events,
                format!(
                    "{{\"type\":\"thinking_delta\",\"thinking\":{}}}",
                    json(piece)
                ),
                index,
            );
        }
        delta(
            &mut events,
            format!(
                "{{\"type\":\"signature_delta\",\"signature\":{}}}",
                json(&reasoning.encrypted_content)
            ),
            index,
        );
        stop(&mut events, index);
        index += 1;
    }
    if let Some(text) = &answer.text {
        start(
            &mut events,
            "{\"type\":\"text\",\"text\":\"\"}".to_string(),
            index,
        );
        for piece in pieces(text) {
            delta(
                &mut events,
                format!("{{\"type\":\"text_delta\",\"text\":{}}}", json(piece)),
                index,
            );
        }
        stop(&mut events, index);
        index += 1;
    }
    for (position, call) in answer.tool_calls.iter().enumerate() {
        start(
            &mut events,
            format!(
                "{{\"type\":\"tool_use\",\"id\":{},\"input\":{{}},\"name\":{}}}",
                json(&ids.calls[position]),
                json(&call.name)
            ),
            index,
        );
        delta(
            &mut events,
            "{\"type\":\"input_json_delta\",\"partial_json\":\"\"}".to_string(),
            index,
        );
        for piece in pieces(&call.arguments) {
            delta(
                &mut events,
                format!(
                    "{{\"type\":\"input_json_delta\",\"partial_json\":{}}}",
                    json(piece)
                ),
                index,
            );
        }
        stop(&mut events, index);
        index += 1;
    }
    let stop_reason = if answer.tool_calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    events.push(sse(
        "message_delta",
        &format!(
            "{{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{stop_reason}\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{}}}}}",
            usage.output_tokens
        ),
    ));
    events.push(sse("message_stop", "{\"type\":\"message_stop\"}"));
    events
}

/// A stream that starts and then fails with `fault` as an error event.
fn render_stream_fault(
    format: Format,
    fault: &Fault,
    ids: &Ids,
    context: &RequestContext,
) -> Vec<String> {
    let (kind, code, message) = match fault {
        Fault::RateLimited { message, .. } => (
            "rate_limit_error",
            "rate_limit_exceeded",
            message
                .clone()
                .unwrap_or_else(|| "Rate limit reached. Please try again in 1s.".to_string()),
        ),
        Fault::ServerError => (
            "api_error",
            "server_error",
            "The server had an error while processing your request.".to_string(),
        ),
        Fault::Overloaded => ("overloaded_error", "server_error", "Overloaded".to_string()),
        Fault::ContextLengthExceeded => (
            "invalid_request_error",
            "context_length_exceeded",
            "Your input exceeds the context window of this model.".to_string(),
        ),
        Fault::Unauthorized => (
            "authentication_error",
            "invalid_api_key",
            "invalid x-api-key".to_string(),
        ),
        Fault::Custom { body, .. } => ("api_error", "server_error", body.clone()),
    };
    match format {
        Format::OpenAiResponses => {
            let started = render_responses(&Answer::default(), ids, context);
            let error = format!("{{\"code\":{},\"message\":{}}}", json(code), json(&message));
            let failed = response_object(ids, context, "failed", &[], None, &error);
            vec![
                started[0].clone(),
                started[1].clone(),
                sse(
                    "response.failed",
                    &format!(
                        "{{\"type\":\"response.failed\",\"response\":{failed},\"sequence_number\":2}}"
                    ),
                ),
            ]
        }
        Format::OpenAiChat => {
            let started = render_chat(&Answer::default(), ids, context);
            vec![
                started[0].clone(),
                format!(
                    "data: {{\"error\": {{\"message\": {}, \"type\": {}, \"code\": {}}}}}\n\n",
                    json(&message),
                    json(if code == "server_error" {
                        "server_error"
                    } else {
                        kind
                    }),
                    json(code)
                ),
            ]
        }
        Format::Anthropic => {
            let started = render_anthropic(&Answer::default(), ids, context);
            vec![
                started[0].clone(),
                sse(
                    "error",
                    &format!(
                        "{{\"type\": \"error\", \"error\": {{\"type\": {}, \"message\": {}}}}}",
                        json(kind),
                        json(&message)
                    ),
                ),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    //! The fake against the committed samples, byte for byte: a fake that drifted
    //! from the real formats would make every test built on it meaningless.

    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/fixtures/wire/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn sample_answer(input_tokens: u64) -> Answer {
        Answer {
            reasoning: None,
            text: Some("I'll read both files.".to_string()),
            tool_calls: vec![
                ToolCall::raw("read_file", "{\"path\":\"src/lib.rs\"}"),
                ToolCall::raw("grep", "{\"pattern\":\"fn parse\"}"),
            ],
            usage: Some(Usage {
                input_tokens,
                cached_input_tokens: 0,
                output_tokens: 20,
            }),
        }
    }

    fn sample_context(model: &str) -> RequestContext {
        RequestContext {
            model: model.to_string(),
            instructions: "null".to_string(),
            prompt_cache_key: "null".to_string(),
            parallel_tool_calls: true,
            store: true,
            tools: vec![
                "{\"type\":\"function\",\"name\":\"read_file\",\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}},\"strict\":true,\"description\":null}".to_string(),
                "{\"type\":\"function\",\"name\":\"grep\",\"parameters\":{\"type\":\"object\",\"properties\":{\"pattern\":{\"type\":\"string\"}}},\"strict\":true,\"description\":null}".to_string(),
            ],
            estimated_input_tokens: 0,
        }
    }

    fn ids(response: &str, message: &str, call_items: [&str; 2], calls: [&str; 2]) -> Ids {
        Ids {
            response: response.to_string(),
            message: message.to_string(),
            reasoning: String::new(),
            call_items: call_items.iter().map(|id| id.to_string()).collect(),
            calls: calls.iter().map(|id| id.to_string()).collect(),
        }
    }

    #[test]
    fn responses_stream_matches_the_sample() {
        let ids = ids(
            "resp_a11d8f39d4294ef6b74426ebb1b0e139f1d2dec038575be0",
            "msg_d47631924fe080774d2bbdd6c61e0dd48e5299845bd19f23",
            [
                "fc_c12f649cabbf455801f7c68d1c7ce21ec707741727045e28",
                "fc_c45da23397710697298335420659f226530264c5eee01de8",
            ],
            [
                "call_y7wgLm7lIkDSSBH4Wn1qWecJ",
                "call_VlTLvdNtcbIvYUdtWPaeEv8o",
            ],
        );
        let rendered = render(
            Format::OpenAiResponses,
            &sample_answer(78),
            &ids,
            &sample_context("gpt-5-codex"),
        );
        assert_eq!(
            rendered.concat(),
            fixture("openai-responses-text-and-two-tool-calls.sse")
        );
    }

    #[test]
    fn chat_stream_matches_the_sample() {
        let ids = ids(
            "chatcmpl-NegLRosuSBLHxDrghVjPBWLdeYDyE",
            "",
            ["", ""],
            [
                "call_JCYKuXlWX1UPj00tX9A3tSZE",
                "call_UFMKpGaz5S203coXa8XL8Mak",
            ],
        );
        let rendered = render(
            Format::OpenAiChat,
            &sample_answer(75),
            &ids,
            &sample_context("qwen2.5-coder"),
        );
        assert_eq!(
            rendered.concat(),
            fixture("chat-completions-text-and-two-tool-calls.sse")
        );
    }

    #[test]
    fn anthropic_stream_matches_the_sample() {
        let ids = ids(
            "msg_01Gyp4pOaIvQqK3JbpmK1aK7",
            "",
            ["", ""],
            [
                "toolu_01WGtm9KJBAr9pYkQorsRutn",
                "toolu_01vJFL9J6VAvwsWuIpkzdk9i",
            ],
        );
        let rendered = render(
            Format::Anthropic,
            &sample_answer(56),
            &ids,
            &sample_context("claude-sonnet-4-5"),
        );
        assert_eq!(
            rendered.concat(),
            fixture("anthropic-messages-text-and-two-tool-uses.sse")
        );
    }

    #[test]
    fn rate_limit_answers_match_the_samples() {
        let request = RecordedRequest {
            method: "POST".into(),
            path: "/v1/responses".into(),
            headers: vec![],
            body: Value::Null,
            connection: 1,
        };
        for (format, sample, request_id) in [
            (
                Format::OpenAiResponses,
                "openai-responses-429.http",
                "req_f03294bdbafe9622a5812365db6a39bb",
            ),
            (
                Format::OpenAiChat,
                "chat-completions-429.http",
                "req_6f76df0d3959fe980659e73e3dfc61c2",
            ),
            (
                Format::Anthropic,
                "anthropic-messages-429.http",
                "req_0118dsk9NSDKY8Go9BoxKMMI",
            ),
        ] {
            let (status, headers, body) = fault_response(
                format,
                &Fault::RateLimited {
                    retry_after: Some("2".into()),
                    retry_after_ms: None,
                    message: None,
                },
                &request,
                request_id,
            );
            let rendered = http_error_bytes(format, request_id, status, &headers, &body)
                .replace(SERVER, "Python/3.11 aiohttp/3.14.5");
            assert_eq!(rendered, fixture(sample), "{sample}");
        }
    }

    #[test]
    fn pieces_are_cut_on_character_boundaries() {
        assert_eq!(
            pieces("I'll read both files."),
            ["I'll rea", "d both f", "iles."]
        );
        assert_eq!(pieces("ééééé"), ["éééé", "é"]);
        assert!(pieces("").is_empty());
    }
}
