//! The tree budget: syntax trees are a cache, not state. A tree costs 20 to 45
//! times its text (tree-sitter keeps a node of tens of bytes per token), so a
//! session with a thousand files open cannot keep one for each. The store keeps
//! the trees of the documents in use (parsed or edited most recently) within a
//! byte budget and drops the least recently used beyond it; a dropped tree is
//! parsed again from the rope when a reader asks (milliseconds for a
//! 1,000-line file).
//!
//! Sizes are estimated from the text (`TREE_BYTES_PER_TEXT_BYTE`): tree-sitter
//! does not report a tree's size. The tree just parsed or edited is never
//! dropped for its own sake, so the budget is exceeded by at most that one
//! tree (with a budget of 0, one tree is kept: the one in use).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use lsp_types::Uri;

use super::syntax::{drop_tree, TreeSlot};

/// The estimate of a tree's heap per byte of its text, measured with the
/// counting allocator of `lsp/benches/memory.rs` on 1,000 real files (Rust,
/// Python, TypeScript): see docs/benchmarks.md.
pub(crate) const TREE_BYTES_PER_TEXT_BYTE: usize = 32;

/// The default budget, `[documents] tree_budget_mib`.
pub const DEFAULT_TREE_BUDGET_BYTES: usize = 16 * 1024 * 1024;

pub(crate) struct TreeBudget {
    inner: Mutex<Inner>,
}

struct Inner {
    limit: usize,
    held_bytes: usize,
    clock: u64,
    trees: HashMap<Uri, Held>,
}

struct Held {
    version: i32,
    slot: Weak<TreeSlot>,
    bytes: usize,
    used: u64,
}

impl TreeBudget {
    pub(crate) fn new(limit: usize) -> TreeBudget {
        TreeBudget {
            inner: Mutex::new(Inner {
                limit,
                held_bytes: 0,
                clock: 0,
                trees: HashMap::new(),
            }),
        }
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        let mut inner = self.lock();
        inner.limit = limit;
        let dropped = inner.evict(None);
        drop(inner);
        drop(dropped);
    }

    /// The tree of `uri`'s latest version now lives in `slot` and takes about
    /// `text_bytes` × the estimate: count it as the most recently used, and drop
    /// the least recently used others while over the budget.
    /// An older version parsed by a slow reader does not replace a newer one.
    pub(crate) fn hold(&self, uri: &Uri, version: i32, slot: &Arc<TreeSlot>, text_bytes: usize) {
        let bytes = text_bytes.saturating_mul(TREE_BYTES_PER_TEXT_BYTE);
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        if inner
            .trees
            .get(uri)
            .is_some_and(|held| held.version > version && held.slot.strong_count() > 0)
        {
            return;
        }
        let previous = inner.trees.insert(
            uri.clone(),
            Held {
                version,
                slot: Arc::downgrade(slot),
                bytes,
                used,
            },
        );
        inner.held_bytes = inner.held_bytes + bytes - previous.map_or(0, |held| held.bytes);
        let dropped = inner.evict(Some(uri));
        drop(inner);
        drop(dropped);
    }

    /// A reader used `uri`'s tree: it is the most recently used.
    pub(crate) fn touch(&self, uri: &Uri) {
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        if let Some(held) = inner.trees.get_mut(uri) {
            held.used = used;
        }
    }

    /// `uri` closed or got a text without a tree to carry over.
    pub(crate) fn forget(&self, uri: &Uri) {
        let mut inner = self.lock();
        if let Some(held) = inner.trees.remove(uri) {
            inner.held_bytes -= held.bytes;
        }
    }

    /// Estimated bytes of the trees held, for tests and logs.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.lock().held_bytes
    }

    // Nothing holding the lock can panic midway through a change.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Drops least recently used trees, never `keep`'s, until within the limit.
    /// Returns the slots whose trees went (kept alive until the lock is released).
    fn evict(&mut self, keep: Option<&Uri>) -> Vec<Arc<TreeSlot>> {
        let mut dropped = Vec::new();
        let mut busy = Vec::new();
        while self.held_bytes > self.limit {
            let Some(victim) = self
                .trees
                .iter()
                .filter(|(uri, _)| Some(*uri) != keep && !busy.contains(*uri))
                .min_by_key(|(_, held)| held.used)
                .map(|(uri, _)| uri.clone())
            else {
                break;
            };
            let Some(held) = self.trees.get(&victim) else {
                break;
            };
            match held.slot.upgrade() {
                Some(slot) if !drop_tree(&slot) => {
                    // Being parsed right now: it is in use.
                    busy.push(victim);
                    continue;
                }
                Some(slot) => dropped.push(slot),
                None => {}
            }
            if let Some(held) = self.trees.remove(&victim) {
                self.held_bytes -= held.bytes;
            }
        }
        if !dropped.is_empty() {
            crate::memory::note_freed();
            tracing::debug!(
                dropped = dropped.len(),
                held_bytes = self.held_bytes,
                limit = self.limit,
                "syntax trees dropped to stay within the tree budget"
            );
        }
        dropped
    }
}
