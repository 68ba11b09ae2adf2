//! A fake fill-in-the-middle server on 127.0.0.1 speaking OpenAI's
//! `POST /v1/completions` (what llama.cpp's server, Ollama and vLLM serve):
//! non-streamed, one `text_completion` object per answer, in the field order
//! OpenAI documents; errors in OpenAI's `{"error": {...}}` shape. Scripted per
//! test; it records every request, when it arrived, and every connection the
//! client closed while an answer was held.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use crate::fake_provider::{read_request, RecordedRequest};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this insertion as `choices[0].text`.
    Text(String),
    /// Nothing, until the client hangs up (a provider that takes seconds).
    Stall,
    /// 200 with an insertion of this many bytes (a provider gone wrong).
    Huge(usize),
    /// An error status with OpenAI's error body.
    Status(u16, String),
    /// 200 with `text` when the code before the cursor (the prompt up to Qwen's
    /// `<|fim_suffix|>`, else all of it) ends with `typed`, else with nothing:
    /// a model that completes one spot, however often the editor asks.
    AfterTyped { typed: String, text: String },
    /// 200 with this insertion once the test lets it go (benches time both
    /// sides of the answer).
    Gated(String, Arc<Semaphore>),
}

struct Shared {
    replies: Mutex<VecDeque<Reply>>,
    /// Answers a request when no reply is queued (else a 400).
    fallback: Mutex<Option<Reply>>,
    requests: Mutex<Vec<(RecordedRequest, Instant)>>,
    /// When each answer's first byte was written, by request.
    answered: Mutex<Vec<Instant>>,
    arrived: Notify,
    hung_up: AtomicU64,
    hang_up: Notify,
    numbers: AtomicU64,
}

/// The server; dropping it stops it and every connection.
pub struct FakeCompletions {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for FakeCompletions {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl FakeCompletions {
    pub async fn start() -> FakeCompletions {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake binds an ephemeral port on 127.0.0.1");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shared = Arc::new(Shared {
            replies: Mutex::new(VecDeque::new()),
            fallback: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            answered: Mutex::new(Vec::new()),
            arrived: Notify::new(),
            hung_up: AtomicU64::new(0),
            hang_up: Notify::new(),
            numbers: AtomicU64::new(0),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        FakeCompletions {
            addr,
            shared,
            server,
        }
    }

    /// `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn push(&self, reply: Reply) -> &Self {
        lock(&self.shared.replies).push_back(reply);
        self
    }

    /// Answers every request with `reply` once the queue is empty (an editor
    /// that asks as often as it likes, as VS Code does while the user types).
    pub fn always(&self, reply: Reply) -> &Self {
        *lock(&self.shared.fallback) = Some(reply);
        self
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests)
            .iter()
            .map(|(request, _)| request.clone())
            .collect()
    }

    /// When each request arrived, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        lock(&self.shared.requests)
            .iter()
            .map(|(_, at)| *at)
            .collect()
    }

    /// When each answer went out, in order.
    pub fn answers(&self) -> Vec<Instant> {
        lock(&self.shared.answered).clone()
    }

    /// Waits until `count` requests have arrived (wrap it in a timeout).
    pub async fn wait_for_requests(&self, count: usize) -> Vec<RecordedRequest> {
        loop {
            let arrived = self.shared.arrived.notified();
            if lock(&self.shared.requests).len() >= count {
                return self.requests();
            }
            arrived.await;
        }
    }

    /// Waits until the client has closed `count` connections on which an
    /// answer was held (wrap it in a timeout).
    pub async fn wait_for_hang_ups(&self, count: u64) {
        loop {
            let hung_up = self.shared.hang_up.notified();
            if self.shared.hung_up.load(Ordering::SeqCst) >= count {
                return;
            }
            hung_up.await;
        }
    }

    pub fn hang_ups(&self) -> u64 {
        self.shared.hung_up.load(Ordering::SeqCst)
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => if let Ok((socket, _)) = accepted {
                let _ = socket.set_nodelay(true);
                connections.spawn(connection(socket, Arc::clone(&shared)));
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// OpenAI's completion object, in its documented field order.
#[derive(Serialize)]
struct Completion<'a> {
    id: String,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: Usage,
}

#[derive(Serialize)]
struct Choice<'a> {
    text: &'a str,
    index: u32,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

fn completion_body(number: u64, request: &RecordedRequest, text: &str) -> String {
    let prompt_tokens = request.body["prompt"].as_str().map_or(0, str::len) as u64 / 4;
    let completion_tokens = (text.len() as u64 / 4).max(1);
    let completion = Completion {
        id: format!("cmpl-fake{number}"),
        object: "text_completion",
        created: 1_735_689_600,
        model: request.body["model"].as_str().unwrap_or(""),
        choices: [Choice {
            text,
            index: 0,
            logprobs: None,
            finish_reason: "stop",
        }],
        usage: Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        },
    };
    serde_json::to_string(&completion).expect("plain data serialises")
}

fn error_body(message: &str) -> String {
    serde_json::json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
        .to_string()
}

async fn connection(mut socket: TcpStream, shared: Arc<Shared>) {
    while let Some((request, _)) = read_request(&mut socket, 0).await {
        let number = shared.numbers.fetch_add(1, Ordering::SeqCst) + 1;
        let reply = if request.path == "/v1/completions" && request.method == "POST" {
            let queued = lock(&shared.replies).pop_front();
            queued
                .or_else(|| lock(&shared.fallback).clone())
                .unwrap_or_else(|| {
                    Reply::Status(
                        400,
                        format!("the fake has no reply left for request {number}"),
                    )
                })
        } else {
            Reply::Status(
                404,
                format!("no route for {} {}", request.method, request.path),
            )
        };
        lock(&shared.requests).push((request.clone(), Instant::now()));
        shared.arrived.notify_waiters();
        let (status, body) = match reply {
            Reply::Text(text) => (200, completion_body(number, &request, &text)),
            Reply::AfterTyped { typed, text } => {
                let prompt = request.body["prompt"].as_str().unwrap_or_default();
                let before = prompt.split("<|fim_suffix|>").next().unwrap_or_default();
                let text = if before.ends_with(&typed) {
                    text
                } else {
                    String::new()
                };
                (200, completion_body(number, &request, &text))
            }
            Reply::Huge(bytes) => (200, completion_body(number, &request, &"x".repeat(bytes))),
            Reply::Status(status, message) => (status, error_body(&message)),
            Reply::Gated(text, gate) => {
                let held = async {
                    let _ = gate.acquire().await.map(|permit| permit.forget());
                };
                if !held_until_hang_up(&mut socket, held, &shared).await {
                    return;
                }
                (200, completion_body(number, &request, &text))
            }
            Reply::Stall => {
                held_until_hang_up(&mut socket, std::future::pending(), &shared).await;
                return;
            }
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        lock(&shared.answered).push(Instant::now());
        if socket.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Holds the answer until `release` finishes; false when the client hung up
/// first (counted).
async fn held_until_hang_up(
    socket: &mut TcpStream,
    release: impl std::future::Future<Output = ()>,
    shared: &Shared,
) -> bool {
    let mut byte = [0u8; 1];
    tokio::select! {
        () = release => true,
        _ = socket.read(&mut byte) => {
            shared.hung_up.fetch_add(1, Ordering::SeqCst);
            shared.hang_up.notify_waiters();
            false
        }
    }
}
