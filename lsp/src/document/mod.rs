//! The server's copy of every open document: the text the editor holds, kept in
//! step with didOpen/didChange/didClose/didSave, with a syntax tree for known
//! languages, handed to readers as immutable snapshots.
//!
//! One writer (the server's ordered notification dispatcher) applies changes;
//! any number of threads read. A change is applied to a private copy of the
//! document and published in one swap, so a reader sees a document either before
//! or after a whole `didChange`, never in between. Snapshots are cheap: an `Arc`
//! of a document whose rope and tree share their nodes with later versions.
//!
//! The writer never runs tree-sitter's parser: a change applies its edits to the
//! rope and describes them to the last tree (`Tree::edit`), which costs
//! microseconds. Each version is reparsed at most once, when a reader first asks
//! it for its tree or when the background step finds the document quiet
//! (`reparse`), so a keystroke never waits the milliseconds a reparse takes.

mod budget;
mod packed;
mod position;
mod recent;
mod reparse;
mod syntax;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use agentls_core::context::LineRange;
use agentls_core::language::Language;
use agentls_core::long_lived;
use lsp_types::{Position, Range, TextDocumentContentChangeEvent, Uri};
use ropey::Rope;
use tokio::sync::Notify;
use tree_sitter::Tree;

pub use budget::DEFAULT_TREE_BUDGET_BYTES;
pub use position::{
    byte_to_position, char_to_position, position_to_byte, position_to_char, PositionEncoding,
};
pub use syntax::MAX_TREE_BYTES;

use budget::TreeBudget;
use packed::Packed;
use recent::RecentEdits;
use reparse::BackgroundReparse;
use syntax::Syntax;

/// How long a document must go without changes before the background step
/// reparses it: longer than the gap between keystrokes of steady typing, so the
/// parser runs in pauses rather than once per character.
pub const BACKGROUND_REPARSE_DELAY: Duration = Duration::from_millis(100);

/// How long no parse may end before the idle parsers are dropped (at the
/// next `pack_unused`): longer than the pauses of steady typing, whose reparses
/// reuse them.
const PARSERS_IDLE: Duration = Duration::from_secs(5);

/// The default `[documents] text_budget_mib`: the texts kept unpacked for
/// the documents used most recently, beyond the one in use.
pub const DEFAULT_TEXT_BUDGET_BYTES: usize = 2 * 1024 * 1024;

/// Why the store refused or adjusted a notification. None is retried: the server
/// logs it and shows it to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// A change, close or save named a document that is not open.
    #[error("document {} is not open", .uri.as_str())]
    UnknownUri { uri: Uri },
    /// A change's range starts after it ends. The whole notification was refused
    /// and the document keeps its previous text and version: from here on the
    /// store no longer matches the editor.
    #[error(
        "change {index} to {} version {version} has range {} whose start is after its end; the notification was not applied",
        .uri.as_str(),
        DisplayRange(.range)
    )]
    InvalidRange {
        uri: Uri,
        version: i32,
        /// The change's index in the notification's `contentChanges`.
        index: usize,
        range: Range,
    },
    /// didOpen for a document already open. Not a failure of the open: the new
    /// text and version replaced the old ones.
    #[error(
        "document {} was already open at version {previous_version}; replaced by version {version}",
        .uri.as_str()
    )]
    Reopened {
        uri: Uri,
        previous_version: i32,
        version: i32,
    },
}

/// Something suspicious about a notification that was nevertheless applied,
/// because the editor's text is the truth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentWarning {
    /// didChange with a version not greater than the one held.
    #[error(
        "version {received} of {} is not greater than the current version {current}; applied anyway",
        .uri.as_str()
    )]
    VersionNotIncreased {
        uri: Uri,
        current: i32,
        received: i32,
    },
    /// didSave carried a text different from the one held: an earlier change was
    /// lost or misapplied. The saved text replaced it.
    #[error(
        "the text saved for {} differs from version {version} held by the server; replaced by the saved text",
        .uri.as_str()
    )]
    SavedTextDiffers { uri: Uri, version: i32 },
}

/// What applying a notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeReport {
    /// The document's version now.
    pub version: i32,
    /// Applied anyway; for the server to log and show.
    pub warnings: Vec<DocumentWarning>,
}

/// One version of one open document, immutable and cheap to clone.
#[derive(Clone)]
pub struct DocumentSnapshot {
    document: Arc<Document>,
    /// The document's text, unpacked for this snapshot when the store holds
    /// it packed.
    text: Rope,
}

#[derive(Clone)]
struct Document {
    uri: Uri,
    language_id: String,
    language: Option<Language>,
    version: i32,
    text: Text,
    /// When a request last read this version (through
    /// [`DocumentStore::snapshot`]) or an edit made it. A document not in use
    /// holds no tree, and its text may be packed.
    used: LastUse,
    /// A tree exactly when `language` is known and the text is at most
    /// `MAX_TREE_BYTES` long, parsed on first request.
    syntax: Syntax,
    encoding: PositionEncoding,
    /// Whether the text may hold a CR without an LF after it (see `syntax`).
    lone_cr: bool,
    /// The store's, counting the trees its documents hold.
    budget: Arc<TreeBudget>,
    /// The lines edited lately, for context selection.
    recent: RecentEdits,
}

/// A document's text as the store holds it.
#[derive(Clone)]
enum Text {
    Rope(Rope),
    /// Opened and not in use since: compressed (see `packed`).
    Packed(Arc<Packed>),
}

impl Document {
    /// A copy of this record to change and publish: its strings are made in
    /// the long-lived pool, like the record itself (`kept`), since it stays
    /// as long as the document does not change.
    fn revised(&self) -> Document {
        long_lived::scope(|| self.clone())
    }

    /// The record, ready to publish, in the long-lived pool.
    fn kept(self) -> Arc<Document> {
        long_lived::scope(|| Arc::new(self))
    }

    /// Drops the tree of this document, no longer in use, unless a reader is
    /// parsing it right now; the budget stops counting it.
    fn drop_idle_tree(&self) {
        if self.syntax.has_tree() && syntax::drop_tree(self.syntax.slot()) {
            self.budget.forget(&self.uri);
        }
    }
}

impl Text {
    /// The text as a rope: a clone sharing the nodes, or the packed text
    /// unpacked.
    fn rope(&self) -> Rope {
        match self {
            Text::Rope(text) => text.clone(),
            Text::Packed(packed) => packed.unpack(),
        }
    }

    /// The text as one string, a packed text unpacked straight into it.
    fn string(&self) -> String {
        match self {
            Text::Rope(text) => text.to_string(),
            Text::Packed(packed) => packed.unpack_string(),
        }
    }
}

/// When a document version was last used, in milliseconds since its store
/// began, plus one, and later than every stamp before it
/// (`DocumentStore::stamp`); `NEVER`: only opened; `NOT_PACKABLE`: its text
/// did not pack (tried again after its next use). Clones with its value.
struct LastUse(AtomicU64);

const NEVER: u64 = 0;
const NOT_PACKABLE: u64 = u64::MAX;

impl LastUse {
    fn new(stamp: u64) -> LastUse {
        LastUse(AtomicU64::new(stamp))
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, stamp: u64) {
        self.0.store(stamp, Ordering::Relaxed);
    }
}

impl Clone for LastUse {
    fn clone(&self) -> LastUse {
        LastUse::new(self.get())
    }
}

impl Document {
    /// This version's tree, parsed from `text` (this version's) if it is not
    /// held (see `DocumentSnapshot::tree`).
    fn tree(&self, text: &Rope) -> Option<Tree> {
        let (tree, parsed) = self.syntax.tree(text);
        if parsed {
            self.budget.hold(
                &self.uri,
                self.version,
                self.syntax.slot(),
                text.len_bytes(),
            );
        } else if tree.is_some() {
            self.budget.touch(&self.uri);
        }
        tree
    }

    /// This version's tree for a background reader (see
    /// `DocumentSnapshot::tree_unkept`).
    fn tree_unkept(&self, text: &Rope) -> Option<(Tree, InUse)> {
        if !self.syntax.is_cold() {
            return self.tree(text).map(|tree| (tree, InUse::Yes));
        }
        let language = self.syntax.language()?;
        let tree = syntax::parse(language, text, None);
        // The reader drops it within milliseconds; the next trim (seconds
        // away) returns its memory.
        crate::memory::note_freed();
        tree.map(|tree| (tree, InUse::No))
    }

    /// The background step's parse of an edited version (whose text is a
    /// rope: edits unpack it).
    fn reparse(&self) {
        if let Text::Rope(text) = &self.text {
            self.tree(text);
        }
    }
}

/// Whether a document is in use (edited, or its tree read by a request): what
/// [`DocumentSnapshot::tree_unkept`] tells the reader along with the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InUse {
    /// The store holds the tree (within the budget).
    Yes,
    /// Only opened: the tree was parsed for this reader and is not kept.
    No,
}

impl DocumentSnapshot {
    pub fn uri(&self) -> &Uri {
        &self.document.uri
    }

    /// The version the editor gave this text.
    pub fn version(&self) -> i32 {
        self.document.version
    }

    /// The `languageId` the editor opened the document with.
    pub fn language_id(&self) -> &str {
        &self.document.language_id
    }

    /// The language, from `languageId` or else the URI's file extension.
    pub fn language(&self) -> Option<Language> {
        self.document.language
    }

    pub fn text(&self) -> &Rope {
        &self.text
    }

    /// The lines the user edited lately (1-based), most recent first: a
    /// region for each of the last few changes, from its first line through
    /// the lines its text added.
    pub fn recent_edits(&self) -> &[LineRange] {
        self.document.recent.regions()
    }

    /// The syntax tree of exactly this text; `None` for plain text and for
    /// documents over `MAX_TREE_BYTES`. The tree is a reference-counted handle
    /// (cloning it copies no node).
    ///
    /// Cheap when the tree is held (parsed by an earlier call on this version,
    /// from any snapshot of it, or by the background step, and not dropped by
    /// the tree budget since). Otherwise this call parses, reusing the last
    /// parsed tree when it is still held: a few milliseconds for a 10,000-line
    /// file, tens at `MAX_TREE_BYTES`. So call it from a request handler or a
    /// blocking task, never from the notification path.
    pub fn tree(&self) -> Option<Tree> {
        self.document.tree(&self.text)
    }

    /// The syntax tree as [`tree`](Self::tree) gives it, for background work
    /// (the symbol index reading a document) that does not make the document in
    /// use: a document that holds no tree (only opened, or its tree dropped by
    /// the budget) is parsed and the tree is not kept. Trees are kept for the
    /// documents in use, edited or read by a request, so opening a thousand
    /// files holds the tree of none of them (issue 13).
    pub fn tree_unkept(&self) -> Option<(Tree, InUse)> {
        self.document.tree_unkept(&self.text)
    }

    /// Whether this version has a syntax tree, without parsing it.
    pub fn has_tree(&self) -> bool {
        self.document.syntax.has_tree()
    }

    /// The encoding of the positions exchanged with the client.
    pub fn encoding(&self) -> PositionEncoding {
        self.document.encoding
    }

    /// `position_to_char` in this document and encoding.
    pub fn position_to_char(&self, position: Position) -> usize {
        position_to_char(&self.text, position, self.document.encoding)
    }

    /// `position_to_byte` in this document and encoding.
    pub fn position_to_byte(&self, position: Position) -> usize {
        position_to_byte(&self.text, position, self.document.encoding)
    }

    /// `char_to_position` in this document and encoding.
    pub fn char_to_position(&self, char_index: usize) -> Position {
        char_to_position(&self.text, char_index, self.document.encoding)
    }

    /// `byte_to_position` in this document and encoding.
    pub fn byte_to_position(&self, byte_index: usize) -> Position {
        byte_to_position(&self.text, byte_index, self.document.encoding)
    }
}

impl fmt::Debug for DocumentSnapshot {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text stays out: it may be large, and file bodies are logged at trace
        // level only.
        formatter
            .debug_struct("DocumentSnapshot")
            .field("uri", &self.document.uri.as_str())
            .field("version", &self.document.version)
            .field("language_id", &self.document.language_id)
            .field("language", &self.document.language)
            .field("len_bytes", &self.text.len_bytes())
            .field("tree", &self.document.syntax.state())
            .finish()
    }
}

/// The open documents. Every method takes `&self`; share it in an `Arc`.
pub struct DocumentStore {
    /// What readers see. Held only to look up or swap one entry.
    documents: RwLock<HashMap<Uri, Arc<Document>>>,
    /// Serialises writers. Held for a whole notification (never a parse);
    /// readers never take it.
    writer: Mutex<()>,
    encoding: AtomicU8,
    /// `None` when trees are parsed on request only.
    background: Option<BackgroundReparse>,
    budget: Arc<TreeBudget>,
    /// The bytes of text kept unpacked beyond the document used last
    /// (`set_text_budget`).
    text_budget: AtomicUsize,
    /// Told whenever a packed text is unpacked (an edit or a request), so
    /// the sweep (`pack_unused`) can hold the texts in use to the budget.
    unpacked: Notify,
    /// What `LastUse` stamps count from.
    epoch: Instant,
    /// The latest stamp given: each is later than the one before, so two
    /// uses within a millisecond still rank (`pack_unused` keeps the later).
    last_stamp: AtomicU64,
}

impl Default for DocumentStore {
    fn default() -> Self {
        DocumentStore::new()
    }
}

impl fmt::Debug for DocumentStore {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DocumentStore")
            .field("len", &self.len())
            .field("encoding", &self.encoding())
            .finish()
    }
}

impl DocumentStore {
    /// An empty store using UTF-16 positions until `set_encoding`, whose
    /// background step reparses a document `BACKGROUND_REPARSE_DELAY` after its
    /// last change.
    pub fn new() -> DocumentStore {
        DocumentStore::with_background_reparse(Some(BACKGROUND_REPARSE_DELAY))
    }

    /// An empty store whose background step reparses a document `delay` after
    /// its last change; with `None`, trees are parsed only when asked for.
    pub fn with_background_reparse(delay: Option<Duration>) -> DocumentStore {
        DocumentStore {
            documents: RwLock::new(HashMap::new()),
            writer: Mutex::new(()),
            encoding: AtomicU8::new(encoding_to_u8(PositionEncoding::default())),
            background: delay.and_then(BackgroundReparse::start),
            budget: Arc::new(TreeBudget::new(DEFAULT_TREE_BUDGET_BYTES)),
            text_budget: AtomicUsize::new(DEFAULT_TEXT_BUDGET_BYTES),
            unpacked: Notify::new(),
            epoch: Instant::now(),
            last_stamp: AtomicU64::new(NEVER),
        }
    }

    /// Sets the tree budget (`[documents] tree_budget_mib`): the estimated
    /// bytes of syntax trees kept beyond the one in use. Trees over it are
    /// dropped at once, least recently used first, and parsed again on request.
    pub fn set_tree_budget(&self, bytes: usize) {
        self.budget.set_limit(bytes);
    }

    /// Sets the text budget (`[documents] text_budget_mib`): the bytes of
    /// text kept unpacked for the documents used most recently, beyond the
    /// one used last. The next `pack_unused` packs the least recently used
    /// texts over it.
    pub fn set_text_budget(&self, bytes: usize) {
        self.text_budget.store(bytes, Ordering::Relaxed);
        self.unpacked.notify_one();
    }

    /// Returns once a packed text has been unpacked (by an edit or a
    /// request) since the last call, or the text budget changed: the texts
    /// in use may now be over the budget.
    pub async fn unpacked(&self) {
        self.unpacked.notified().await;
    }

    /// Sets the encoding negotiated in `initialize`. Meant to be called before any
    /// didOpen; documents already open are republished with the new encoding.
    pub fn set_encoding(&self, encoding: PositionEncoding) {
        let _writer = self.lock_writer();
        self.encoding
            .store(encoding_to_u8(encoding), Ordering::Release);
        let mut documents = self
            .documents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for slot in documents.values_mut() {
            if slot.encoding != encoding {
                let mut document = slot.revised();
                document.encoding = encoding;
                *slot = document.kept();
            }
        }
    }

    /// The encoding in which positions are read and written.
    pub fn encoding(&self) -> PositionEncoding {
        encoding_from_u8(self.encoding.load(Ordering::Acquire))
    }

    /// didOpen. Re-opening an open document replaces it and returns
    /// [`DocumentError::Reopened`] so the server can log that the editor skipped a
    /// didClose.
    pub fn open(
        &self,
        uri: Uri,
        language_id: &str,
        version: i32,
        text: String,
    ) -> Result<(), DocumentError> {
        let _writer = self.lock_writer();
        let language = Language::from_language_id(language_id).or_else(|| language_of_uri(&uri));
        if language.is_some() && text.len() > MAX_TREE_BYTES {
            tracing::info!(
                uri = uri.as_str(),
                bytes = text.len(),
                limit = MAX_TREE_BYTES,
                "document too large for a syntax tree: kept as text (context reads its lines)"
            );
        }
        // Not in use yet: the text is kept packed until a request or an edit
        // needs it (see `packed`).
        let kept = match Packed::pack(&text) {
            Some(packed) => Text::Packed(long_lived::scope(|| Arc::new(packed))),
            None => Text::Rope(Rope::from_str(&text)),
        };
        let document = long_lived::scope(|| Document {
            uri: uri.clone(),
            language_id: language_id.to_owned(),
            language,
            version,
            lone_cr: syntax::has_lone_cr([text.as_str()]),
            syntax: Syntax::new(language, text.len(), None),
            text: kept,
            used: LastUse::new(NEVER),
            encoding: self.encoding(),
            budget: Arc::clone(&self.budget),
            recent: RecentEdits::default(),
        });
        self.budget.forget(&uri);
        // No background parse: a document only opened may never need a tree,
        // and a reader parses it on request.
        match self.publish(document, false) {
            // The same version and text again (kak-lsp 15 opens each file
            // twice): nothing was replaced, nothing to tell the user.
            Some(previous) if previous.version == version && previous.text.rope() == text => {
                tracing::debug!(
                    uri = uri.as_str(),
                    version,
                    "didOpen repeated with the same text"
                );
                Ok(())
            }
            Some(previous) => Err(DocumentError::Reopened {
                uri,
                previous_version: previous.version,
                version,
            }),
            None => Ok(()),
        }
    }

    /// didChange: applies `changes` in order, each either the full text (no range)
    /// or a replacement of a range (positions clamped as in `position_to_char`),
    /// and publishes the result at once. A version not greater than the current
    /// one is applied too, with a warning. A range whose start is after its end
    /// refuses the whole notification.
    pub fn change(
        &self,
        uri: &Uri,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) -> Result<ChangeReport, DocumentError> {
        let _writer = self.lock_writer();
        let current = self
            .snapshot_unkept(uri)
            .ok_or_else(|| DocumentError::UnknownUri { uri: uri.clone() })?;
        let mut warnings = Vec::new();
        if version <= current.version() {
            warnings.push(DocumentWarning::VersionNotIncreased {
                uri: uri.clone(),
                current: current.version(),
                received: version,
            });
        }
        let mut document = current.document.revised();
        let mut tree = current.document.syntax.tree_to_edit();
        // Edited: in use, its text a rope (unpacked if it was packed).
        if matches!(current.document.text, Text::Packed(_)) {
            self.unpacked.notify_one();
        }
        let mut text = current.text;
        document.used = LastUse::new(self.stamp());
        document.version = version;
        for (index, change) in changes.into_iter().enumerate() {
            document.recent.note(&change);
            let Some(range) = change.range else {
                text = Rope::from_str(&change.text);
                document.lone_cr = syntax::has_lone_cr(text.chunks());
                tree = None;
                continue;
            };
            if range.start > range.end {
                return Err(DocumentError::InvalidRange {
                    uri: uri.clone(),
                    version,
                    index,
                    range,
                });
            }
            let start = position_to_char(&text, range.start, document.encoding);
            // Clamping keeps ordered positions ordered; `max` makes sure of it.
            let end = position_to_char(&text, range.end, document.encoding).max(start);
            let edit = syntax::replace(
                &mut text,
                &mut document.lone_cr,
                start,
                end,
                &change.text,
                tree.is_some(),
            );
            if let (Some(tree), Some(edit)) = (tree.as_mut(), edit) {
                tree.edit(&edit);
            }
            // A tree too large to keep is not worth describing edits to.
            if text.len_bytes() > MAX_TREE_BYTES {
                tree = None;
            }
        }
        let holds_tree = tree.is_some();
        document.syntax = Syntax::new(document.language, text.len_bytes(), tree);
        if holds_tree && document.syntax.has_tree() {
            self.budget
                .hold(uri, version, document.syntax.slot(), text.len_bytes());
        } else {
            self.budget.forget(uri);
        }
        document.text = Text::Rope(text);
        self.publish(document, true);
        Ok(ChangeReport { version, warnings })
    }

    /// didClose: forgets the document.
    pub fn close(&self, uri: &Uri) -> Result<(), DocumentError> {
        let _writer = self.lock_writer();
        if let Some(background) = &self.background {
            background.forget(uri);
        }
        self.budget.forget(uri);
        let removed = self
            .documents
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uri);
        match removed {
            Some(_) => {
                crate::memory::note_freed();
                Ok(())
            }
            None => Err(DocumentError::UnknownUri { uri: uri.clone() }),
        }
    }

    /// didSave. When the client includes the text and it differs from the one
    /// held, the saved text replaces it (same version) and a warning says so.
    pub fn save(&self, uri: &Uri, text: Option<String>) -> Result<ChangeReport, DocumentError> {
        let _writer = self.lock_writer();
        let current = self
            .snapshot_unkept(uri)
            .ok_or_else(|| DocumentError::UnknownUri { uri: uri.clone() })?;
        let version = current.version();
        let Some(text) = text.filter(|text| *current.text() != text.as_str()) else {
            return Ok(ChangeReport {
                version,
                warnings: Vec::new(),
            });
        };
        let mut document = current.document.revised();
        drop(current);
        let text = Rope::from_str(&text);
        document.lone_cr = syntax::has_lone_cr(text.chunks());
        document.syntax = Syntax::new(document.language, text.len_bytes(), None);
        document.text = Text::Rope(text);
        self.budget.forget(uri);
        self.publish(document, false);
        Ok(ChangeReport {
            version,
            warnings: vec![DocumentWarning::SavedTextDiffers {
                uri: uri.clone(),
                version,
            }],
        })
    }

    /// The current version of a document, or `None` when it is not open,
    /// for a request or task: the document is in use from now on (its text
    /// is unpacked if it was packed, and stays so).
    pub fn snapshot(&self, uri: &Uri) -> Option<DocumentSnapshot> {
        let document = self.current(uri)?;
        let text = match &document.text {
            Text::Rope(text) => {
                document.used.set(self.stamp());
                text.clone()
            }
            Text::Packed(packed) => {
                let text = packed.unpack();
                self.unpacked.notify_one();
                let mut unpacked = document.revised();
                unpacked.text = Text::Rope(text.clone());
                unpacked.used = LastUse::new(self.stamp());
                let unpacked = unpacked.kept();
                // Lost to a change published meanwhile, which holds its own
                // rope: nothing to keep then.
                self.replace_if_current(&document, Arc::clone(&unpacked));
                return Some(DocumentSnapshot {
                    document: unpacked,
                    text,
                });
            }
        };
        Some(DocumentSnapshot { document, text })
    }

    /// The current version of a document for background work (the symbol
    /// index reading it, context quoting a few of its lines, a scan of the
    /// open buffers): a packed text is unpacked for this snapshot only, and
    /// the document is not put in use.
    pub fn snapshot_unkept(&self, uri: &Uri) -> Option<DocumentSnapshot> {
        let document = self.current(uri)?;
        let text = document.text.rope();
        Some(DocumentSnapshot { document, text })
    }

    /// Packs the texts of the documents no longer in use, as didOpen does,
    /// and drops their trees (a request parses the tree again):
    /// - every text not used (edited, or read by a request) for `idle`, when
    ///   given: the files a user worked in and left;
    /// - beyond the one used last, the least recently used texts over the
    ///   text budget (`set_text_budget`): after a task or a burst of edits
    ///   across many files.
    ///
    /// Compresses outside the locks; a document used or changed meanwhile
    /// keeps its rope and tree. Returns the documents packed. Takes
    /// milliseconds per MiB packed: call it from a blocking task.
    pub fn pack_unused(&self, idle: Option<Duration>) -> Vec<Uri> {
        let now = self.stamp();
        let idle_ms = idle.map(|idle| u64::try_from(idle.as_millis()).unwrap_or(u64::MAX));
        let mut in_use: Vec<(u64, Arc<Document>)> = self
            .documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|document| {
                matches!(document.text, Text::Rope(_)) && document.used.get() != NOT_PACKABLE
            })
            .map(|document| (document.used.get(), Arc::clone(document)))
            .collect();
        // The most recently used first: they keep their texts within the budget.
        in_use.sort_unstable_by_key(|(used, _)| std::cmp::Reverse(*used));
        let budget = self.text_budget.load(Ordering::Relaxed);
        let mut kept_bytes = 0usize;
        let mut candidates = Vec::new();
        for (rank, (used, document)) in in_use.into_iter().enumerate() {
            let Text::Rope(text) = &document.text else {
                continue;
            };
            let idle = idle_ms.is_some_and(|idle_ms| now.saturating_sub(used) >= idle_ms);
            // The one used last is kept, and not counted.
            let bytes = if rank == 0 { 0 } else { text.len_bytes() };
            if !idle && kept_bytes + bytes <= budget {
                kept_bytes += bytes;
            } else {
                candidates.push((used, document));
            }
        }
        let mut packed = Vec::new();
        for (used, document) in candidates {
            let Text::Rope(text) = &document.text else {
                continue;
            };
            let Some(compressed) = Packed::pack_rope(text) else {
                document.used.set(NOT_PACKABLE);
                document.drop_idle_tree();
                continue;
            };
            let mut cold = document.revised();
            cold.text = Text::Packed(long_lived::scope(|| Arc::new(compressed)));
            // Not used since it was picked (a request stamps the same
            // record; an edit publishes another).
            if document.used.get() == used && self.replace_if_current(&document, cold.kept()) {
                packed.push(document.uri.clone());
                document.drop_idle_tree();
            }
        }
        let parsers_dropped = syntax::drop_parsers_idle_for(PARSERS_IDLE);
        if !packed.is_empty() || parsers_dropped {
            crate::memory::note_freed();
        }
        if !packed.is_empty() {
            tracing::debug!(
                packed = packed.len(),
                kept_bytes,
                budget,
                "texts of documents no longer in use packed"
            );
        }
        packed
    }

    /// The text of a document as one string, for background work that reads
    /// it whole (the scan of unsaved buffers): a packed text is unpacked
    /// straight into it, without a rope, and the document is not put in use.
    pub fn text_unkept(&self, uri: &Uri) -> Option<String> {
        Some(self.current(uri)?.text.string())
    }

    /// Whether the store holds the text of `uri` packed (`agent/documentState`
    /// tells it).
    pub fn is_packed(&self, uri: &Uri) -> bool {
        self.current(uri)
            .is_some_and(|document| matches!(document.text, Text::Packed(_)))
    }

    /// The bytes the store holds for texts packed, and the bytes those texts
    /// have unpacked.
    pub fn packed_bytes(&self) -> (usize, usize) {
        self.documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(|document| match &document.text {
                Text::Packed(packed) => Some((packed.packed_bytes(), packed.len_bytes())),
                Text::Rope(_) => None,
            })
            .fold((0, 0), |(held, text), (more_held, more_text)| {
                (held + more_held, text + more_text)
            })
    }

    /// Now, as a `LastUse` stamp: later than every stamp given before, by
    /// a millisecond when they come faster than the clock ticks.
    fn stamp(&self) -> u64 {
        let now = u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(NOT_PACKABLE - 1)
            .saturating_add(1);
        let later = |last: u64| now.max(last.saturating_add(1)).min(NOT_PACKABLE - 1);
        let last = self
            .last_stamp
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(later(last))
            })
            .unwrap_or_else(|last| last);
        later(last)
    }

    fn current(&self, uri: &Uri) -> Option<Arc<Document>> {
        self.documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(uri)
            .cloned()
    }

    /// Swaps in `replacement`, another form of the same version, when the
    /// store still holds `expected`.
    fn replace_if_current(&self, expected: &Arc<Document>, replacement: Arc<Document>) -> bool {
        let mut documents = self
            .documents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match documents.get_mut(&expected.uri) {
            Some(slot) if Arc::ptr_eq(slot, expected) => {
                *slot = replacement;
                true
            }
            _ => false,
        }
    }

    /// The open documents, sorted.
    pub fn uris(&self) -> Vec<Uri> {
        let mut uris: Vec<Uri> = self
            .documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        uris.sort_unstable();
        uris
    }

    /// How many documents are open.
    pub fn len(&self) -> usize {
        self.documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while a lock was held cannot leave a document half-changed (changes
    // are published in one swap), so a poisoned lock is safe to keep using.
    fn lock_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Swaps in `document`, returning the version it replaced, and schedules its
    /// background reparse when `reparse` (an edited document: the one in use).
    /// The replaced one is dropped after the lock is released.
    fn publish(&self, document: Document, reparse: bool) -> Option<Arc<Document>> {
        let document = document.kept();
        if let Some(background) = &self.background {
            if reparse {
                background.schedule(&document);
            } else {
                background.forget(&document.uri);
            }
        }
        let mut documents = self
            .documents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match documents.get_mut(&document.uri) {
            Some(slot) => Some(std::mem::replace(slot, document)),
            None => long_lived::scope(|| documents.insert(document.uri.clone(), document)),
        }
    }
}

/// The language of a URI's file extension (`file:///a/b.rs`, `untitled:x.py`).
fn language_of_uri(uri: &Uri) -> Option<Language> {
    Language::from_path(Path::new(uri.path().as_str()))
}

fn encoding_to_u8(encoding: PositionEncoding) -> u8 {
    match encoding {
        PositionEncoding::Utf8 => 8,
        PositionEncoding::Utf16 => 16,
        PositionEncoding::Utf32 => 32,
    }
}

fn encoding_from_u8(value: u8) -> PositionEncoding {
    match value {
        8 => PositionEncoding::Utf8,
        32 => PositionEncoding::Utf32,
        _ => PositionEncoding::Utf16,
    }
}

/// `line:character-line:character`, as positions read in messages.
struct DisplayRange<'a>(&'a Range);

impl fmt::Display for DisplayRange<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Range { start, end } = self.0;
        write!(
            formatter,
            "{}:{}-{}:{}",
            start.line, start.character, end.line, end.character
        )
    }
}
