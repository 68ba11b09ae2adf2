//! The workspace symbol index behind context selection and the model's
//! `find_definition`/`find_references`/`outline` tools: built in the background
//! after `initialized` (with a work-done progress; files unchanged since the
//! last session's build come from the index cache in the data directory), kept
//! current from the editor's buffers and watched-file events. Nothing here runs on the ordered
//! notification path beyond marking a document dirty: re-indexing happens on a
//! debounced task, in `spawn_blocking`, with the tree the document store already
//! parsed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentls_core::context::{
    self, BuildOptions, BuildProgress, LineRange, Selection, SelectionRequest, Severity,
    SharedIndex,
};
use agentls_core::language::Language;
use lsp_types::notification::Progress;
use lsp_types::request::{RegisterCapability, WorkDoneProgressCreate};
use lsp_types::{
    Diagnostic, DiagnosticSeverity, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, FileChangeType, FileSystemWatcher, GlobPattern,
    ProgressParams, ProgressParamsValue, ProgressToken, Range, Registration, RegistrationParams,
    Uri, WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressCreateParams,
    WorkDoneProgressEnd, WorkDoneProgressReport,
};
use tower_lsp_server::{Client, UriExt};

use crate::document::{DocumentSnapshot, DocumentStore, InUse};
use crate::outgoing::answered;
use crate::state::{lock, State};

/// Changes within this long of each other are indexed together.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// The indexed files' extensions, watched one glob each: kak-lsp 15 refuses
/// brace patterns (`**/*.{rs,py}`), and every client takes plain ones.
const WATCHED_EXTENSIONS: [&str; 12] = [
    "rs", "py", "pyi", "ts", "mts", "cts", "tsx", "js", "mjs", "cjs", "jsx", "go",
];

/// The index and what keeps it current. A cheap handle: clones share it.
#[derive(Clone, Default)]
pub(crate) struct Symbols {
    pub index: SharedIndex,
    /// Documents changed since they were last indexed.
    dirty: Arc<Mutex<HashSet<Uri>>>,
    wake: Arc<tokio::sync::Notify>,
}

impl Symbols {
    /// A document was opened, changed or saved: index it soon. Cheap.
    pub(crate) fn document_changed(&self, uri: &Uri) {
        lock(&self.dirty).insert(uri.clone());
        self.wake.notify_one();
    }

    /// The store packed these documents: no longer in use, none of them
    /// keeps its text and tree in the index for a next edit.
    pub(crate) fn documents_packed(&self, uris: &[Uri]) {
        for uri in uris {
            if let Some(path) = uri.to_file_path() {
                self.index.drop_source(&path);
            }
        }
    }

    /// The editor closed it: the disk's copy counts again.
    pub(crate) fn document_closed(&self, uri: &Uri) {
        lock(&self.dirty).remove(uri);
        if let Some(path) = uri.to_file_path() {
            self.index.release_buffer(&path);
        }
    }

    /// Starts indexing the workspace roots and the task that keeps the index
    /// current.
    pub(crate) fn start(&self, state: Arc<State>, client: Client) {
        tokio::spawn(build(state.clone(), self.index.clone(), client.clone()));
        tokio::spawn(refresh(state.clone(), self.clone()));
        tokio::spawn(watch_files(state, client));
    }
}

async fn build(state: Arc<State>, index: SharedIndex, client: Client) {
    let session = state.session();
    let home = (state.env)("HOME").map(PathBuf::from);
    // An editor started in the home directory (or at /) names it as the root:
    // walking every file there would take minutes and gigabytes. Such a root
    // is skipped; open files are still indexed as they change.
    let roots: Vec<PathBuf> = session
        .roots
        .iter()
        .filter(|root| {
            let too_wide = root.parent().is_none() || Some(root.as_path()) == home.as_deref();
            if too_wide {
                tracing::info!(root = %root.display(), "not indexing the home directory or /");
            }
            !too_wide
        })
        .cloned()
        .collect();
    if roots.is_empty() {
        return;
    }
    let token = ProgressToken::String("agentls/index".to_string());
    let with_progress = session.work_done_progress
        && answered(
            client.send_request::<WorkDoneProgressCreate>(WorkDoneProgressCreateParams {
                token: token.clone(),
            }),
        )
        .await
        .is_some_and(|created| created.is_ok());
    let progress = |value: WorkDoneProgress| {
        let client = client.clone();
        let token = token.clone();
        async move {
            if with_progress {
                client
                    .send_notification::<Progress>(ProgressParams {
                        token,
                        value: ProgressParamsValue::WorkDone(value),
                    })
                    .await;
            }
        }
    };
    progress(WorkDoneProgress::Begin(WorkDoneProgressBegin {
        title: "Agent: indexing".to_string(),
        cancellable: Some(false),
        message: Some("listing files".to_string()),
        percentage: Some(0),
    }))
    .await;
    // Reports cross from the blocking build as they come; a full queue drops
    // one, which only makes the next report jump further.
    let (reports, mut received) = tokio::sync::mpsc::channel::<BuildProgress>(8);
    // Every core, once at start: the build is what makes the first task's
    // context good, and the editor's requests do not wait on it. Files
    // unchanged since the last session's build come from its cache, which a
    // completed build writes back.
    let cache = if state.config().context.index_cache {
        match state.data_dir() {
            Ok(data_dir) => Some(context::cache_path(&data_dir, &roots)),
            Err(error) => {
                tracing::info!(%error, "no index cache without a data directory");
                None
            }
        }
    } else {
        None
    };
    let options = BuildOptions {
        cache,
        ..BuildOptions::default()
    };
    let started = std::time::Instant::now();
    let job = tokio::task::spawn_blocking(move || {
        index.build(&roots, &options, &|report| {
            let _ = reports.try_send(report);
        })
    });
    while let Some(report) = received.recv().await {
        let percentage = (report.files_done * 100)
            .checked_div(report.files_total)
            .unwrap_or(100);
        progress(WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(false),
            message: Some(format!(
                "{}/{} files",
                report.files_done, report.files_total
            )),
            percentage: Some(percentage as u32),
        }))
        .await;
    }
    let message = match job.await {
        Ok(Ok(stats)) => {
            tracing::info!(
                files = stats.files,
                cached = stats.cached,
                lines = stats.lines,
                skipped = stats.skipped,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "workspace indexed"
            );
            match stats.cached {
                0 => format!("{} files, {} lines", stats.files, stats.lines),
                cached => format!(
                    "{} files ({cached} unchanged, from the cache), {} lines",
                    stats.files, stats.lines
                ),
            }
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "index build stopped");
            error.to_string()
        }
        Err(error) => {
            tracing::error!(%error, "index build panicked");
            "failed".to_string()
        }
    };
    progress(WorkDoneProgress::End(WorkDoneProgressEnd {
        message: Some(message),
    }))
    .await;
}

/// Re-indexes dirty documents, a debounce after they change. It reads them
/// as background work (`snapshot_unkept`): a document only opened stays
/// packed and keeps no tree.
async fn refresh(state: Arc<State>, symbols: Symbols) {
    loop {
        symbols.wake.notified().await;
        tokio::time::sleep(DEBOUNCE).await;
        // Taken whole: a burst of edits across many files grows the set's
        // table, which `drain` would keep for good.
        let dirty: Vec<Uri> = std::mem::take(&mut *lock(&symbols.dirty))
            .into_iter()
            .collect();
        for uri in dirty {
            let Some(snapshot) = state.documents.snapshot_unkept(&uri) else {
                continue;
            };
            let (Some(language), Some(path)) = (snapshot.language(), uri.to_file_path()) else {
                continue;
            };
            if language == Language::Bash {
                continue;
            }
            let path = path.into_owned();
            let index = symbols.index.clone();
            let indexed = tokio::task::spawn_blocking(move || {
                let text = snapshot.text().to_string();
                // The store's tree (parsed once per version, shared with every
                // other reader) saves a second parse. A document only opened is
                // parsed for the index and neither the store nor the index keeps
                // its tree: it is not in use.
                match snapshot.tree_unkept() {
                    Some((tree, InUse::Yes)) => {
                        index.update_from_tree(&path, language, &text, &tree)
                    }
                    Some((tree, InUse::No)) => {
                        index.update_from_opened_tree(&path, language, &text, &tree)
                    }
                    None => index.update_file(&path, language, &text),
                }
                path
            })
            .await;
            match indexed {
                Ok(path) => symbols.drop_source_if_packed(&state.documents, &uri, &path),
                Err(error) => tracing::error!(%error, "indexing a document panicked"),
            }
        }
    }
}

impl Symbols {
    /// The store may have packed `uri` while the index read it as in use:
    /// the sweep's `documents_packed` then found no text and tree in the
    /// index to drop, and the index kept them, a copy of the text and a
    /// whole tree, until another buffer's edit took their place.
    fn drop_source_if_packed(&self, documents: &DocumentStore, uri: &Uri, path: &Path) {
        if documents.is_packed(uri) {
            self.index.drop_source(path);
        }
    }
}

/// Asks the client to report changes to source files on disk, when it can.
async fn watch_files(state: Arc<State>, client: Client) {
    if !state.session().watched_files_registration {
        return;
    }
    let options = DidChangeWatchedFilesRegistrationOptions {
        watchers: WATCHED_EXTENSIONS
            .iter()
            .map(|extension| FileSystemWatcher {
                glob_pattern: GlobPattern::String(format!("**/*.{extension}")),
                kind: None,
            })
            .collect(),
    };
    let registration = Registration {
        id: "agentls/watched-files".to_string(),
        method: "workspace/didChangeWatchedFiles".to_string(),
        register_options: serde_json::to_value(options).ok(),
    };
    let registered = client
        .send_request::<RegisterCapability>(RegistrationParams {
            registrations: vec![registration],
        })
        .await;
    if let Err(error) = registered {
        tracing::info!(%error, "the client would not watch files");
    }
}

impl Symbols {
    /// `workspace/didChangeWatchedFiles`: files changed on disk (by a shell command,
    /// git, another editor). Files open in the editor are indexed from the buffer.
    pub(crate) fn files_changed(&self, params: DidChangeWatchedFilesParams) {
        let index = self.index.clone();
        let events: Vec<(PathBuf, FileChangeType)> = params
            .changes
            .into_iter()
            .filter_map(|event| Some((event.uri.to_file_path()?.into_owned(), event.typ)))
            .collect();
        tokio::task::spawn_blocking(move || {
            for (path, kind) in events {
                let Some(language) = Language::from_path(&path) else {
                    continue;
                };
                if kind == FileChangeType::DELETED {
                    index.remove_file(&path);
                    continue;
                }
                match std::fs::read_to_string(&path) {
                    Ok(text) => index.update_from_disk(&path, language, &text),
                    Err(_) => index.remove_file(&path),
                }
            }
        });
    }

    /// What a task at `range` of `snapshot` sends as context.
    pub(crate) async fn select(
        &self,
        state: &Arc<State>,
        snapshot: DocumentSnapshot,
        path: PathBuf,
        range: Range,
        diagnostics: &[Diagnostic],
    ) -> Selection {
        let start = snapshot.position_to_byte(range.start);
        let end = snapshot.position_to_byte(range.end).max(start);
        let diagnostics: Vec<context::Diagnostic> = diagnostics.iter().map(from_lsp).collect();
        let budget = state.config().context.budget_tokens;
        let index = self.index.clone();
        let language = snapshot.language();
        let state = Arc::clone(state);
        let selected = tokio::task::spawn_blocking(move || {
            let text = snapshot.text().to_string();
            let open_text =
                |path: &Path, lines: LineRange| open_text(&state.documents, path, lines);
            let mut request = SelectionRequest::new(&path, language, &text, start..end);
            request.open_text = Some(&open_text);
            let tree = snapshot.tree();
            request.tree = tree.as_ref();
            request.diagnostics = &diagnostics;
            request.recent_edits = snapshot.recent_edits();
            request.budget_tokens = budget;
            context::select(&request, &index.read())
        })
        .await;
        selected.unwrap_or_else(|error| {
            tracing::error!(%error, "context selection panicked");
            Selection {
                pieces: Vec::new(),
                n_tokens: 0,
                budget,
            }
        })
    }
}

/// Lines `lines` (1-based, inclusive) of the editor's text of `path` when it
/// has it open: what selection summarises a definition in an open file from
/// (the index keeps no copy of its text). Only those lines are copied out of
/// the rope; lines past the end are left out.
pub(crate) fn open_text(
    documents: &DocumentStore,
    path: &Path,
    lines: LineRange,
) -> Option<String> {
    let uri = Uri::from_file_path(path)?;
    let snapshot = documents.snapshot_unkept(&uri)?;
    let rope = snapshot.text();
    let total = rope.len_lines();
    let start = (lines.start.saturating_sub(1) as usize).min(total);
    let end = (lines.end as usize).clamp(start, total);
    Some(
        rope.slice(rope.line_to_char(start)..rope.line_to_char(end))
            .to_string(),
    )
}

fn from_lsp(diagnostic: &Diagnostic) -> context::Diagnostic {
    let severity = match diagnostic.severity {
        Some(DiagnosticSeverity::WARNING) => Severity::Warning,
        Some(DiagnosticSeverity::INFORMATION) => Severity::Information,
        Some(DiagnosticSeverity::HINT) => Severity::Hint,
        _ => Severity::Error,
    };
    context::Diagnostic {
        message: diagnostic.message.clone(),
        lines: LineRange::new(
            diagnostic.range.start.line + 1,
            diagnostic.range.end.line + 1,
        ),
        severity,
    }
}

/// The selection as a Markdown page ("Agent: Show agent context").
pub(crate) fn render_markdown(selection: &Selection, about: &str, root: Option<&Path>) -> String {
    let mut page = format!(
        "# Agent context for {about}\n\n{} of {} tokens, {} pieces, in the order the model gets them.\n",
        selection.n_tokens,
        selection.budget,
        selection.pieces.len()
    );
    for piece in &selection.pieces {
        let path = root
            .and_then(|root| piece.path.strip_prefix(root).ok())
            .unwrap_or(&piece.path);
        let fence = if piece.text.contains("```") {
            "~~~~"
        } else {
            "```"
        };
        page.push_str(&format!(
            "\n## {} ({}, {} tokens)\n\n`{}` lines {}\n\n{fence}\n{}{}{fence}\n",
            piece.label,
            piece.kind.name(),
            piece.n_tokens,
            path.display(),
            piece.lines,
            piece.text,
            if piece.text.ends_with('\n') { "" } else { "\n" },
        ));
    }
    page
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use lsp_types::TextDocumentContentChangeEvent;

    use super::*;

    #[test]
    fn a_packed_document_no_longer_keeps_its_text_and_tree_in_the_index() {
        let symbols = Symbols::default();
        let uri = Uri::from_str("file:///w/typed.rs").expect("a URI");
        let path = uri.to_file_path().expect("a file").into_owned();
        let text = "fn typed() {}\n";
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&Language::Rust.tree_sitter_language())
            .expect("the Rust grammar");
        let tree = parser.parse(text, None).expect("a tree");
        symbols
            .index
            .update_from_tree(&path, Language::Rust, text, &tree);
        assert!(symbols.index.read().keeps_source(&path));
        let other = Uri::from_str("file:///w/other.rs").expect("a URI");
        symbols.documents_packed(std::slice::from_ref(&other));
        assert!(symbols.index.read().keeps_source(&path));
        symbols.documents_packed(&[other, uri]);
        assert!(!symbols.index.read().keeps_source(&path));
        assert_eq!(symbols.index.read().definitions("typed").len(), 1);
    }

    /// The sweep packed the document while the index was reading it as in
    /// use: the text and tree the index then kept go once it is done.
    #[test]
    fn the_index_lets_go_of_a_document_packed_while_it_read_it() {
        let symbols = Symbols::default();
        let documents = DocumentStore::new();
        let uri = Uri::from_str("file:///w/typed.rs").expect("a URI");
        let path = uri.to_file_path().expect("a file").into_owned();
        // Long enough to be worth packing.
        let text: String = (0..200).map(|n| format!("fn typed_{n}() {{}}\n")).collect();
        documents
            .open(uri.clone(), "rust", 1, text)
            .expect("opened");
        // Parsed for a request, then typed in: the edit carries the tree over.
        let _ = documents.snapshot(&uri).expect("open").tree();
        let end = lsp_types::Position::new(1, 0);
        let change = TextDocumentContentChangeEvent {
            range: Some(lsp_types::Range::new(end, end)),
            range_length: None,
            text: "fn more() {}\n".to_string(),
        };
        documents.change(&uri, 2, vec![change]).expect("applied");
        // Read as in use: an edited document, its tree held by the store.
        let snapshot = documents.snapshot_unkept(&uri).expect("open");
        let (tree, in_use) = snapshot.tree_unkept().expect("a tree");
        assert_eq!(in_use, InUse::Yes);
        // Meanwhile the sweep packs it (it is not the one used last when
        // another document was used after it) and tells the index, which
        // has no source for it yet.
        let other = Uri::from_str("file:///w/other.rs").expect("a URI");
        documents
            .open(other.clone(), "rust", 1, "fn other() {}\n".to_string())
            .expect("opened");
        // Used after it, in the same millisecond as likely as not.
        let _ = documents.snapshot(&other).expect("open").tree();
        documents.set_text_budget(0);
        let packed = documents.pack_unused(None);
        assert_eq!(packed, std::slice::from_ref(&uri));
        symbols.documents_packed(&packed);
        // The index's read ends after that.
        let text = snapshot.text().to_string();
        symbols
            .index
            .update_from_tree(&path, Language::Rust, &text, &tree);
        assert!(symbols.index.read().keeps_source(&path));
        symbols.drop_source_if_packed(&documents, &uri, &path);
        assert!(!symbols.index.read().keeps_source(&path));
        assert_eq!(symbols.index.read().definitions("more").len(), 1);
        // A document still in use keeps them.
        let still = Uri::from_str("file:///w/still.rs").expect("a URI");
        let still_path = still.to_file_path().expect("a file").into_owned();
        documents
            .open(still.clone(), "rust", 1, "fn still() {}\n".to_string())
            .expect("opened");
        let (tree, _) = documents
            .snapshot(&still)
            .expect("open")
            .tree_unkept()
            .expect("a tree");
        symbols
            .index
            .update_from_tree(&still_path, Language::Rust, "fn still() {}\n", &tree);
        symbols.drop_source_if_packed(&documents, &still, &still_path);
        assert!(symbols.index.read().keeps_source(&still_path));
    }
}
