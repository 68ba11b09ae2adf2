//! Inline completions behind `textDocument/inlineCompletion` and the
//! `textDocument/completion` fallback: one request's way from the cursor to an
//! insertion. Each request waits out the debounce, cuts the prompt from the
//! rope (`cut`) with definitions from the symbol index, answers from the cache
//! or asks the completer (`[completion.provider]`), all under a cancellation
//! token that a later request for the same document, a didChange, a didClose
//! (`document_changed`) or the request's own `$/cancelRequest` (its future
//! dropped) ends at once, closing the provider's connection. Nothing here
//! runs on the notification path but that token's cancel: a held completion
//! never delays a didChange.

mod cache;
pub(crate) mod cut;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentls_core::completion::{Completer, CompletionError, CompletionPrompt};
use agentls_core::config::{CompletionConfig, ProviderConfig};
use agentls_core::context::{self, LineRange, OpenText, PieceKind, SelectionRequest, SharedIndex};
use agentls_core::provider::ProviderSettings;
use lsp_types::{Position, Uri};
use tokio_util::sync::CancellationToken;
use tower_lsp_server::UriExt;

use crate::document::DocumentSnapshot;
use crate::state::{lock, State};
use cache::Cache;

/// The server's completions: in-flight requests per document, the cache, the
/// completer built for the current configuration. A cheap handle.
#[derive(Clone, Default)]
pub(crate) struct Completions {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The request in flight per document, by number.
    in_flight: Mutex<HashMap<Uri, (u64, CancellationToken)>>,
    next: AtomicU64,
    cache: Mutex<Cache>,
    completer: Mutex<Option<(CompletionConfig, ProviderConfig, Completer)>>,
}

/// Removes its request from `in_flight` when the request ends in any way
/// (answered, cancelled, or its future dropped by `$/cancelRequest`).
struct InFlight {
    inner: Arc<Inner>,
    uri: Uri,
    number: u64,
    token: CancellationToken,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // Dropping the future already dropped the provider call; this makes
        // sure nothing waits on a token nobody will cancel.
        self.token.cancel();
        let mut in_flight = lock(&self.inner.in_flight);
        if in_flight
            .get(&self.uri)
            .is_some_and(|(number, _)| *number == self.number)
        {
            in_flight.remove(&self.uri);
        }
    }
}

impl Completions {
    /// The document changed or closed: its completion in flight is dropped.
    /// Cheap (one short lock), so the ordered notification path may call it.
    pub(crate) fn document_changed(&self, uri: &Uri) {
        if let Some((_, token)) = lock(&self.inner.in_flight).remove(uri) {
            tracing::debug!(
                uri = uri.as_str(),
                "completion dropped: the document changed"
            );
            token.cancel();
        }
    }

    /// The insertion at `position` of `snapshot`, or `None` when there is none
    /// to show: completions off, nothing answered, the request superseded,
    /// the provider down, slow or answering too much (each logged). Take the
    /// snapshot before the first await, so it is the text the request was
    /// made on.
    pub(crate) async fn complete(
        &self,
        state: &Arc<State>,
        index: &SharedIndex,
        snapshot: DocumentSnapshot,
        position: Position,
    ) -> Option<String> {
        let config = state.config();
        tracing::debug!(
            uri = snapshot.uri().as_str(),
            version = snapshot.version(),
            enabled = config.completion.enabled,
            "completion asked"
        );
        if !config.completion.enabled {
            return None;
        }
        let guard = self.begin(snapshot.uri());
        let token = guard.token.clone();
        let debounce = Duration::from_millis(config.completion.debounce_ms);
        if !debounce.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(debounce) => {}
                () = token.cancelled() => return None,
            }
        }
        let completer = match self.completer(state, &config.completion, &config.provider) {
            Ok(completer) => completer,
            Err(error) => {
                tracing::warn!(%error, "no completion provider");
                return None;
            }
        };
        let prompt = {
            let index = index.clone();
            let budget = config.completion.context_tokens;
            let roots = state.session().roots;
            let state = Arc::clone(state);
            let build = tokio::task::spawn_blocking(move || {
                let open_text = |path: &Path, lines: LineRange| {
                    crate::symbols::open_text(&state.documents, path, lines)
                };
                build_prompt(&snapshot, position, &index, budget, &roots, &open_text)
            });
            tokio::select! {
                built = build => built.ok()?,
                () = token.cancelled() => return None,
            }
        };
        let key = Cache::key(&(
            &prompt,
            &config.completion.provider,
            config.completion.max_tokens,
        ));
        if let Some(text) = lock(&self.inner.cache).get(key) {
            tracing::debug!("completion answered from the cache");
            return Some(text);
        }
        let timeout = Duration::from_millis(config.completion.timeout_ms.max(1));
        let answer = tokio::select! {
            answer = completer.complete(&prompt, config.completion.max_tokens, timeout) => answer,
            () = token.cancelled() => {
                tracing::debug!("completion dropped before the provider answered");
                return None;
            }
        };
        match answer {
            Ok(text) => {
                lock(&self.inner.cache).insert(key, text.clone());
                (!text.is_empty()).then_some(text)
            }
            Err(error @ CompletionError::TooLarge { .. }) => {
                tracing::warn!(%error, "completion dropped");
                None
            }
            Err(error) => {
                tracing::info!(%error, "completion dropped");
                None
            }
        }
    }

    /// Registers a request for `uri`, dropping the one before it.
    fn begin(&self, uri: &Uri) -> InFlight {
        let number = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        let previous = lock(&self.inner.in_flight).insert(uri.clone(), (number, token.clone()));
        if let Some((_, previous)) = previous {
            tracing::debug!(
                uri = uri.as_str(),
                "completion dropped: a newer one was asked"
            );
            previous.cancel();
        }
        InFlight {
            inner: Arc::clone(&self.inner),
            uri: uri.clone(),
            number,
            token,
        }
    }

    /// The completer for this configuration, built once per change of it.
    fn completer(
        &self,
        state: &State,
        completion: &CompletionConfig,
        provider: &ProviderConfig,
    ) -> Result<Completer, CompletionError> {
        let mut cached = lock(&self.inner.completer);
        if let Some((for_completion, for_provider, completer)) = cached.as_ref() {
            if for_completion == completion && for_provider == provider {
                return Ok(completer.clone());
            }
        }
        let env = |name: &str| (state.env)(name);
        let completer = Completer::from_config(completion, &env, || {
            ProviderSettings::resolve(provider, &env)?.into_provider()
        })?;
        tracing::info!(?completer, "completion provider");
        *cached = Some((completion.clone(), provider.clone(), completer.clone()));
        Ok(completer)
    }
}

/// The prompt at `position`: prefix and suffix cut at syntax boundaries, and
/// the definitions context selection picks for the code around the cursor
/// (those outside the prompt's own text). Blocking: it may parse.
pub(crate) fn build_prompt(
    snapshot: &DocumentSnapshot,
    position: Position,
    index: &SharedIndex,
    context_tokens: u32,
    roots: &[PathBuf],
    open_text: OpenText<'_>,
) -> CompletionPrompt {
    let rope = snapshot.text();
    let cursor = snapshot.position_to_byte(position);
    let tree = snapshot.tree();
    let (prefix, suffix) = cut::cut(
        rope,
        tree.as_ref(),
        cursor,
        cut::MAX_PREFIX_BYTES,
        cut::MAX_SUFFIX_BYTES,
    );
    let mut definitions = Vec::new();
    if context_tokens > 0 {
        if let Some(path) = snapshot.uri().to_file_path() {
            let path: PathBuf = path.into_owned();
            let text = rope.to_string();
            let mut request =
                SelectionRequest::new(&path, snapshot.language(), &text, cursor..cursor);
            request.tree = tree.as_ref();
            request.budget_tokens = context_tokens;
            request.open_text = Some(open_text);
            // The symbols of the prompt's own region (from the start of the
            // top-level item it begins in), not of the whole file.
            let region_start = tree
                .as_ref()
                .and_then(|tree| cut::item_at_or_after(tree, prefix.start))
                .map_or(prefix.start, |item| item.start_byte().min(prefix.start));
            request.symbols_in = Some(region_start..suffix.end);
            let window = (prefix.start, suffix.end);
            let selection = context::select(&request, &index.read());
            for piece in selection.pieces {
                if piece.kind != PieceKind::Definition {
                    continue;
                }
                let same_file = piece.path == path;
                if same_file && inside(rope, piece.lines.start, piece.lines.end, window) {
                    continue;
                }
                let shown = roots
                    .iter()
                    .filter_map(|root| piece.path.strip_prefix(root).ok())
                    .min_by_key(|relative| relative.as_os_str().len())
                    .unwrap_or(&piece.path);
                definitions.push((shown.display().to_string(), piece.text));
            }
        }
    }
    CompletionPrompt {
        prefix: rope.byte_slice(prefix).to_string(),
        suffix: rope.byte_slice(suffix).to_string(),
        definitions,
        language: snapshot.language(),
    }
}

/// Whether lines `first..=last` (from 1) lie within the bytes `window`.
fn inside(rope: &ropey::Rope, first: u32, last: u32, window: (usize, usize)) -> bool {
    let line_start = |line: u32| {
        let line = (line as usize).saturating_sub(1).min(rope.len_lines());
        rope.line_to_byte(line)
    };
    line_start(first) >= window.0 && line_start(last) < window.1
}
