//! A `Provider` that plays answers a test wrote in advance, so the loop can be
//! driven through retries, stalls and tool calls without a network.

use std::collections::VecDeque;
use std::sync::Mutex;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};

use crate::model::{ModelRequest, Provider, ProviderError, ResponseEvent, ResponseStream};

/// One scripted answer of the provider.
#[derive(Clone)]
pub enum Reply {
    /// These events, then the stream ends (a `Completed` must be among them for
    /// the answer to count).
    Events(Vec<Result<ResponseEvent, ProviderError>>),
    /// These events, then nothing ever again (a stalled stream).
    Stall(Vec<ResponseEvent>),
    /// The call fails before streaming.
    Refuse(ProviderError),
}

/// A provider that plays `Reply`s in order and keeps each request it was sent.
/// Running out of replies panics: the test scripted fewer calls than the loop
/// made.
pub struct ScriptedProvider {
    replies: Mutex<VecDeque<Reply>>,
    /// `None` when requests are dropped rather than kept (benches, whose long runs
    /// would otherwise hold every request ever sent).
    requests: Option<Mutex<Vec<ModelRequest>>>,
    context_window: Option<u64>,
}

impl ScriptedProvider {
    /// Plays `replies`, keeps the requests, knows no context window.
    pub fn new(replies: Vec<Reply>) -> ScriptedProvider {
        ScriptedProvider {
            replies: Mutex::new(replies.into()),
            requests: Some(Mutex::new(Vec::new())),
            context_window: None,
        }
    }

    /// Reports `context_window` as the model's window.
    pub fn with_context_window(mut self, context_window: Option<u64>) -> ScriptedProvider {
        self.context_window = context_window;
        self
    }

    /// Drops each request once answered instead of keeping it.
    pub fn forgetting_requests(mut self) -> ScriptedProvider {
        self.requests = None;
        self
    }

    /// The requests sent so far, in order (empty when forgetting them).
    pub fn requests(&self) -> Vec<ModelRequest> {
        match &self.requests {
            Some(requests) => requests.lock().unwrap().clone(),
            None => Vec::new(),
        }
    }

    /// Queue `reply` after the ones not yet played.
    pub fn push(&self, reply: Reply) {
        self.replies.lock().unwrap().push_back(reply);
    }
}

impl Provider for ScriptedProvider {
    fn name(&self) -> &str {
        "scripted"
    }

    fn context_window(&self) -> Option<u64> {
        self.context_window
    }

    fn stream(
        &self,
        request: ModelRequest,
    ) -> BoxFuture<'_, Result<ResponseStream, ProviderError>> {
        if let Some(requests) = &self.requests {
            requests.lock().unwrap().push(request);
        }
        let reply = self.replies.lock().unwrap().pop_front();
        Box::pin(async move {
            match reply {
                None => panic!("the provider ran out of scripted replies"),
                Some(Reply::Refuse(error)) => Err(error),
                Some(Reply::Events(events)) => Ok(stream::iter(events).boxed()),
                Some(Reply::Stall(events)) => Ok(stream::iter(events.into_iter().map(Ok))
                    .chain(stream::pending())
                    .boxed()),
            }
        })
    }
}
