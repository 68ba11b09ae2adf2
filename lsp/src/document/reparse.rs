//! The store's background reparse: parses a document's latest version once it
//! has gone a quiet period without changes, so that readers usually find the tree
//! ready and the next reparse starts from a recent tree, without the ordered
//! notification path ever waiting for tree-sitter.
//!
//! One thread per store. The writer only records "this version, due then" in a
//! map keyed by URI (bounded by the open documents; a newer version replaces the
//! older one, so there is no queue to back up) and never waits for a parse: the
//! thread holds the map's lock only to pick the due entries.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lsp_types::Uri;

use super::Document;

/// The pending map's capacity kept however few documents wait.
const SHRINK_ABOVE: usize = 64;

pub(crate) struct BackgroundReparse {
    shared: Arc<Shared>,
    delay: Duration,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    due: Mutex<Due>,
    wake: Condvar,
}

#[derive(Default)]
struct Due {
    /// The latest version of each document waiting for its parse, and when.
    /// `Weak`: a version replaced or closed meanwhile is not parsed for nothing.
    documents: HashMap<Uri, (Instant, Weak<Document>)>,
    stopping: bool,
}

impl BackgroundReparse {
    /// Starts the thread, or returns `None` (logged) when the system refuses one:
    /// trees are then parsed on request only.
    pub(crate) fn start(delay: Duration) -> Option<BackgroundReparse> {
        let shared = Arc::new(Shared {
            due: Mutex::new(Due::default()),
            wake: Condvar::new(),
        });
        let thread = std::thread::Builder::new()
            .name("agentls-reparse".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&shared)
            });
        match thread {
            Ok(thread) => Some(BackgroundReparse {
                shared,
                delay,
                thread: Some(thread),
            }),
            Err(error) => {
                tracing::warn!(%error, "cannot start the background reparse thread; trees are parsed on request");
                None
            }
        }
    }

    /// Parses `document` after the quiet period unless a newer version comes.
    pub(crate) fn schedule(&self, document: &Arc<Document>) {
        if !document.syntax.has_tree() {
            self.forget(&document.uri);
            return;
        }
        let due = Instant::now() + self.delay;
        let mut queue = self.shared.lock();
        let was_empty = queue.documents.is_empty();
        queue
            .documents
            .insert(document.uri.clone(), (due, Arc::downgrade(document)));
        drop(queue);
        // A waiting thread already wakes no later than any earlier deadline,
        // and a later one cannot come sooner: only an empty map needs a wake-up.
        if was_empty {
            self.shared.wake.notify_one();
        }
    }

    /// The capacity of the map of pending parses, for tests.
    #[cfg(test)]
    pub(crate) fn pending_capacity(&self) -> usize {
        self.shared.lock().documents.capacity()
    }

    /// Drops any pending parse of `uri` (the document closed).
    pub(crate) fn forget(&self, uri: &Uri) {
        self.shared.lock().documents.remove(uri);
    }
}

impl Drop for BackgroundReparse {
    /// Tells the thread to stop, without waiting: it may be in a parse of tens
    /// of milliseconds, and the process exiting must not wait for it (the
    /// thread holds no state that outlives it).
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_one();
        drop(self.thread.take());
    }
}

impl Shared {
    // No code holding the lock can panic midway through a change to the map.
    fn lock(&self) -> MutexGuard<'_, Due> {
        self.due.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn run(shared: &Shared) {
    let mut queue = shared.lock();
    loop {
        if queue.stopping {
            return;
        }
        let now = Instant::now();
        let mut ready = Vec::new();
        queue.documents.retain(|_, (due, document)| {
            if *due <= now {
                ready.push(std::mem::take(document));
                false
            } else {
                true
            }
        });
        // A burst of edits across many files grows the map's table; give it
        // back once the burst is parsed rather than keep it for good.
        if queue.documents.capacity() > SHRINK_ABOVE.max(4 * queue.documents.len()) {
            queue.documents.shrink_to_fit();
        }
        if ready.is_empty() {
            let next_due = queue.documents.values().map(|(due, _)| *due).min();
            queue = match next_due {
                Some(due) => {
                    shared
                        .wake
                        .wait_timeout(queue, due.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => shared
                    .wake
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner),
            };
            continue;
        }
        drop(queue);
        for document in ready {
            if let Some(document) = document.upgrade() {
                let _span = tracing::trace_span!("reparse", uri = document.uri.as_str()).entered();
                document.reparse();
            }
        }
        queue = shared.lock();
    }
}
