//! The workspace symbol index: every file's definitions and references, and a
//! name → files map to look them up.
//!
//! Concurrency: [`SharedIndex`] is an `Arc<RwLock<SymbolIndex>>` whose write
//! lock is only ever held to swap in the symbols of files that were parsed
//! before taking it (one file for an edit, a batch of files during a build).
//! Parsing never happens under the lock, so a reader waits at most for one such
//! swap (microseconds), never for a build; a build fills the live index file by
//! file, and readers meanwhile see the files indexed so far.
//!
//! A build given a cache file (`BuildOptions::cache`) takes the symbols of the
//! files unchanged since the build that wrote it from there (see `cache`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tree_sitter::Tree;

use super::cache::{self, DiskSymbols, Fingerprint, IndexCache};
use super::extract::Extractor;
use super::held::HeldFile;
use super::incremental::{self, IndexedSource};
use super::names::{FileId, NameId, Names, DEFINES, PARENT, USES};
use super::summary::Detail;
use super::symbol::{Definition, FileSymbols, Reference, SymbolKind};
use super::uses::Uses;
use super::LineRange;
use crate::language::Language;

/// Files larger than this are not indexed (generated or minified code).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Files parsed between two takings of the write lock during a build.
const BATCH: usize = 32;

/// Where a file's indexed text came from. A build (disk) never replaces the
/// symbols of a file the editor gave (its buffer is the truth until it closes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Disk,
    Buffer,
}

/// Definitions and references of every indexed file. Paths are kept as given
/// (absolute, in practice); lookups answer them in path order, so results are
/// deterministic.
#[derive(Default)]
pub struct SymbolIndex {
    files: Vec<Option<Entry>>,
    ids: HashMap<Arc<Path>, FileId>,
    free: Vec<FileId>,
    names: Names,
    /// The one file whose entry keeps its `source`: the buffer updated last,
    /// the one being typed in. Every other buffer's text lives in the editor's
    /// store only, and its next update reads it whole.
    sourced: Option<FileId>,
}

/// A definition found by a lookup.
#[derive(Clone, Debug)]
pub struct DefinitionHit<'i> {
    pub path: &'i Path,
    pub language: Language,
    pub definition: Definition,
}

/// A definition found by a lookup, with what ranking reads of it; the rest
/// is decoded on demand ([`definition`](Self::definition)).
#[derive(Clone, Copy)]
pub struct DefinitionRef<'i> {
    pub path: &'i Path,
    pub language: Language,
    pub kind: SymbolKind,
    /// The type it belongs to (see [`Definition::parent`]).
    pub parent: Option<&'i str>,
    pub lines: LineRange,
    held: &'i HeldFile,
    position: usize,
    names: &'i Names,
}

impl DefinitionRef<'_> {
    /// The definition whole (without its signature, which the index never
    /// keeps).
    pub fn definition(&self) -> Definition {
        self.held.definition(self.position, self.names)
    }
}

/// A reference found by a lookup: the index keeps where a name is used, not
/// how (the file's text says that).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferenceHit<'i> {
    pub path: &'i Path,
    /// 1-based.
    pub line: u32,
}

/// One indexed file.
struct Entry {
    /// Definitions and imports; the references are kept as `uses`.
    held: HeldFile,
    uses: Uses,
    origin: Origin,
    /// For the editor's buffer indexed last from its tree, its symbols whole
    /// (without references) and the text and tree they were read from: the
    /// next edit re-reads only what it touched. One file at a time
    /// (`SymbolIndex::sourced`): a text copy and a tree per open file cost
    /// many times the text.
    source: Option<Sourced>,
}

/// What the buffer being typed in keeps for its next edit.
type Sourced = (Arc<FileSymbols>, Arc<IndexedSource>);

impl SymbolIndex {
    pub fn new() -> SymbolIndex {
        SymbolIndex::default()
    }

    /// How many files are indexed.
    pub fn n_files(&self) -> usize {
        self.ids.len()
    }

    /// Parse `text` and replace the entries of `path` with its symbols; a
    /// language without a tags query removes them. For an edited buffer.
    pub fn update_file(&mut self, path: &Path, language: Language, text: &str) {
        match index_symbols(path, language, text, Origin::Buffer) {
            Some(symbols) => self.insert(symbols, Origin::Buffer),
            None => self.remove_file(path),
        }
    }

    /// Replace the entries of `symbols.path`. A `Disk` insert leaves a file
    /// that holds `Buffer` symbols alone.
    pub fn insert(&mut self, symbols: FileSymbols, origin: Origin) {
        let symbols = compact(symbols, origin);
        self.insert_entry(&symbols, &symbols.references, origin, None);
    }

    /// The entry of `symbols.path`, made from `symbols` but for their
    /// references, which come as `references`.
    fn insert_entry(
        &mut self,
        symbols: &FileSymbols,
        references: &[Reference],
        origin: Origin,
        source: Option<Sourced>,
    ) {
        // The entry, the names' lists it joins and the tables' growth stay
        // until the file changes again, however much churn made them: they
        // go in the long-lived pool (`long_lived`).
        crate::long_lived::scope(|| self.place_entry(symbols, references, origin, source));
    }

    fn place_entry(
        &mut self,
        symbols: &FileSymbols,
        references: &[Reference],
        origin: Origin,
        source: Option<Sourced>,
    ) {
        let known = self.ids.get_key_value(symbols.path.as_path());
        if let Some((_, &id)) = known {
            if origin == Origin::Disk
                && matches!(&self.files[id as usize], Some(held) if held.origin == Origin::Buffer)
            {
                return;
            }
        }
        let path = known.map_or_else(
            || Arc::from(symbols.path.as_path()),
            |(path, _)| Arc::clone(path),
        );
        let sourced = source.is_some();
        // New names are numbered here and given their postings by `link` or
        // `relink` below, before anything can forget them.
        let uses = Uses::new(references, |name| self.names.intern(name));
        let held = HeldFile::new(path, symbols, |name| self.names.intern(name));
        let entry = Entry {
            held,
            uses,
            origin,
            source,
        };
        if let Some(&id) = self.ids.get(entry.held.path()) {
            self.relink(id, &entry);
            self.files[id as usize] = Some(entry);
            if sourced {
                self.set_sourced(id);
            }
            return;
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.files.push(None);
                (self.files.len() - 1) as FileId
            }
        };
        self.link(id, &entry);
        self.ids.insert(Arc::clone(entry.held.shared_path()), id);
        self.files[id as usize] = Some(entry);
        if sourced {
            self.set_sourced(id);
        }
    }

    /// Makes `id` the one entry keeping its source; the previous one drops its.
    fn set_sourced(&mut self, id: FileId) {
        if let Some(previous) = self.sourced.replace(id).filter(|previous| *previous != id) {
            if let Some(Some(entry)) = self.files.get_mut(previous as usize) {
                entry.source = None;
            }
        }
    }

    /// Forget `path` (deleted, or no longer a source file).
    pub fn remove_file(&mut self, path: &Path) {
        if let Some(id) = self.ids.remove(path) {
            self.unlink(id);
            self.files[id as usize] = None;
            if self.sourced == Some(id) {
                self.sourced = None;
            }
            self.free.push(id);
        }
    }

    /// The buffer of `path` is no longer in use (the editor's store packed
    /// it): it stops keeping its text and tree for a next edit, which then
    /// reads it whole. Its symbols stay. Nothing changes for another path.
    pub fn drop_source(&mut self, path: &Path) {
        self.take_source(path);
    }

    /// The text and tree `path` keeps for its next edit, if it is the
    /// buffer that keeps them, taken out of the index.
    fn take_source(&mut self, path: &Path) -> Option<Sourced> {
        let id = *self.ids.get(path)?;
        if self.sourced != Some(id) {
            return None;
        }
        self.sourced = None;
        self.files[id as usize].as_mut()?.source.take()
    }

    /// Whether the buffer of `path` keeps its text and tree for its next edit.
    pub fn keeps_source(&self, path: &Path) -> bool {
        self.ids
            .get(path)
            .is_some_and(|id| self.sourced == Some(*id))
    }

    /// The file was closed in the editor: its symbols stay, but the next build
    /// may replace them with the disk's.
    pub fn release_buffer(&mut self, path: &Path) {
        self.drop_source(path);
        if let Some(&id) = self.ids.get(path) {
            if let Some(entry) = &mut self.files[id as usize] {
                entry.origin = Origin::Disk;
            }
        }
    }

    /// How many references the index holds, over every file, and how many
    /// distinct names per file they use, summed: for the memory bench.
    pub fn n_references(&self) -> (usize, usize) {
        self.files
            .iter()
            .flatten()
            .fold((0, 0), |(uses, names), entry| {
                (uses + entry.uses.len(), names + entry.uses.names().len())
            })
    }

    /// How many distinct names the index holds (defined or used): for the
    /// memory bench.
    pub fn n_names(&self) -> usize {
        self.names.len()
    }

    /// The definitions and imports of one file (its `references` are empty:
    /// see [`references`](Self::references)).
    pub fn file(&self, path: &Path) -> Option<FileSymbols> {
        let id = *self.ids.get(path)?;
        self.files[id as usize]
            .as_ref()
            .map(|entry| entry.held.symbols(&self.names))
    }

    /// The name of the innermost definition of `path` whose bytes hold
    /// `byte` and whose kind passes `accept` (see
    /// [`FileSymbols::innermost_at`]): the one definition decoded.
    pub fn definition_name_at(
        &self,
        path: &Path,
        byte: usize,
        accept: impl Fn(SymbolKind) -> bool,
    ) -> Option<String> {
        let id = *self.ids.get(path)?;
        let held = &self.files[id as usize].as_ref()?.held;
        let found = held.innermost_at(byte, accept)?;
        Some(held.name_of(found, &self.names).to_string())
    }

    /// A buffer's symbols (without references) with the text, tree and
    /// references they were read from.
    pub(super) fn previous(&self, path: &Path) -> Option<(Arc<FileSymbols>, Arc<IndexedSource>)> {
        let entry = self.files[*self.ids.get(path)? as usize].as_ref()?;
        entry.source.clone()
    }

    /// Every indexed path, sorted.
    pub fn paths(&self) -> Vec<&Path> {
        let mut paths: Vec<&Path> = self.ids.keys().map(|path| &**path).collect();
        paths.sort();
        paths
    }

    /// The definitions named `name` (`impl` blocks left out), by path then line.
    pub fn definitions(&self, name: &str) -> Vec<DefinitionHit<'_>> {
        self.definition_refs(name)
            .iter()
            .map(|found| DefinitionHit {
                path: found.path,
                language: found.language,
                definition: found.definition(),
            })
            .collect()
    }

    /// As [`definitions`](Self::definitions), each not decoded yet: for
    /// ranking many (a common name is defined in hundreds of files) and
    /// decoding the few kept.
    pub fn definition_refs(&self, name: &str) -> Vec<DefinitionRef<'_>> {
        let Some(name) = self.names.find(name) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for id in self.names.postings(name).files(DEFINES) {
            let Some(Entry { held, .. }) = &self.files[id as usize] else {
                continue;
            };
            for position in held.named(name, |kind| kind != SymbolKind::Impl) {
                let (kind, parent, lines) = held.outline_of(position, &self.names);
                found.push(DefinitionRef {
                    path: held.path(),
                    language: held.language(),
                    kind,
                    parent,
                    lines,
                    held,
                    position,
                    names: &self.names,
                });
            }
        }
        found.sort_by(|a, b| a.path.cmp(b.path).then(a.lines.start.cmp(&b.lines.start)));
        found
    }

    /// The uses of `name`, by path then line, one per use.
    pub fn references(&self, name: &str) -> Vec<ReferenceHit<'_>> {
        let Some(name) = self.names.find(name) else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        for id in self.names.postings(name).files(USES) {
            let Some(Entry { held, uses, .. }) = &self.files[id as usize] else {
                continue;
            };
            hits.extend(uses.lines_of(name).map(|line| ReferenceHit {
                path: held.path(),
                line,
            }));
        }
        hits.sort_by(|a, b| a.path.cmp(b.path).then(a.line.cmp(&b.line)));
        hits
    }

    fn link(&mut self, id: FileId, entry: &Entry) {
        for (role, name) in mentions(entry) {
            self.names.add(name, id, role, true);
        }
    }

    /// Replace the postings of file `id` by those of `entry`, touching only
    /// the names that came or went: an edit keeps nearly all of them, and the
    /// posting lists of common names (`new`, `Some`) run to thousands of files.
    /// The new ones first, so that no name `entry` holds is forgotten between.
    fn relink(&mut self, id: FileId, entry: &Entry) {
        let Some(old) = &self.files[id as usize] else {
            self.link(id, entry);
            return;
        };
        let old: HashSet<(u32, NameId)> = mentions(old).collect();
        let new: HashSet<(u32, NameId)> = mentions(entry).collect();
        for &(role, name) in new.difference(&old) {
            self.names.add(name, id, role, false);
        }
        for &(role, name) in old.difference(&new) {
            self.names.remove(name, id, role);
        }
    }

    fn unlink(&mut self, id: FileId) {
        let Some(entry) = &self.files[id as usize] else {
            return;
        };
        let names: HashSet<NameId> = mentions(entry).map(|(_, name)| name).collect();
        for name in names {
            self.names.remove(name, id, DEFINES | USES | PARENT);
        }
    }
}

/// The names `entry` mentions, each with its role, a pair once or more.
fn mentions(entry: &Entry) -> impl Iterator<Item = (u32, NameId)> + '_ {
    let defined = entry.held.names().map(|name| (DEFINES, name));
    let parents = entry.held.parents().map(|name| (PARENT, name));
    let used = entry.uses.names().iter().map(|name| (USES, *name));
    defined.chain(parents).chain(used)
}

/// The symbols of `text` as the index keeps them from `origin`: read without
/// the text it would drop (see [`compact`]).
fn index_symbols(
    path: &Path,
    language: Language,
    text: &str,
    origin: Origin,
) -> Option<FileSymbols> {
    Extractor::new(language)?.extract_with(path, text, detail_for(origin))
}

/// How much text extraction copies for the index from `origin`: what
/// [`compact`] keeps.
fn detail_for(origin: Origin) -> Detail {
    match origin {
        Origin::Disk => Detail::Summaries,
        Origin::Buffer => Detail::Lines,
    }
}

/// `symbols` as the index holds them for the whole session: without the spare
/// capacity its lists grew while being read, without signatures (nothing reads
/// them from the index), and, for an editor buffer, without summaries: they
/// copy the buffer's text, which the editor's store already holds (selection
/// makes them from it when a prompt needs them). A file read from disk keeps
/// its summaries, since its text is not in memory.
pub(super) fn compact(mut symbols: FileSymbols, origin: Origin) -> FileSymbols {
    for definition in &mut symbols.definitions {
        definition.signature = Box::default();
        if origin == Origin::Buffer {
            definition.summary = None;
        }
    }
    symbols.definitions.shrink_to_fit();
    symbols.references.shrink_to_fit();
    symbols.imports.shrink_to_fit();
    symbols
}

/// The index as the server and the agent share it. Cheap to clone.
#[derive(Clone, Default)]
pub struct SharedIndex {
    inner: Arc<RwLock<SymbolIndex>>,
}

impl SharedIndex {
    pub fn new() -> SharedIndex {
        SharedIndex::default()
    }

    /// Read access; held only as long as the lookup. Never waits on a parse.
    pub fn read(&self) -> RwLockReadGuard<'_, SymbolIndex> {
        // A panic while holding the lock leaves at worst one file's postings
        // half updated; lookups stay memory-safe, so go on.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, SymbolIndex> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-index one file from the editor's text: parsed first, then swapped in
    /// under a short write lock.
    pub fn update_file(&self, path: &Path, language: Language, text: &str) {
        match index_symbols(path, language, text, Origin::Buffer) {
            Some(symbols) => self.write().insert(symbols, Origin::Buffer),
            None => self.write().remove_file(path),
        }
    }

    /// Re-index one file from the editor's text and the tree the server already
    /// parsed from exactly that text: no parse, so this is the cheap path for
    /// didChange. When the index holds this buffer from an earlier call, only
    /// the items the edit touched are queried again (see `incremental`).
    pub fn update_from_tree(&self, path: &Path, language: Language, text: &str, tree: &Tree) {
        self.update_from_tree_keeping(path, language, text, tree, true);
    }

    /// As [`update_from_tree`](Self::update_from_tree) for a buffer only
    /// opened, not being typed in: its text and tree are not kept for a next
    /// edit (and the buffer whose are, if any, keeps them).
    pub fn update_from_opened_tree(
        &self,
        path: &Path,
        language: Language,
        text: &str,
        tree: &Tree,
    ) {
        self.update_from_tree_keeping(path, language, text, tree, false);
    }

    fn update_from_tree_keeping(
        &self,
        path: &Path,
        language: Language,
        text: &str,
        tree: &Tree,
        keep_source: bool,
    ) {
        let previous = self
            .read()
            .previous(path)
            .filter(|(symbols, _)| symbols.language == language);
        let symbols = match &previous {
            Some((symbols, source)) => incremental::reread(symbols, source, text, tree),
            None => FileSymbols::read_from_tree(
                path,
                language,
                text,
                tree,
                0..usize::MAX,
                Detail::Lines,
            ),
        };
        drop(previous);
        match symbols.map(|symbols| compact(symbols, Origin::Buffer)) {
            Some(mut symbols) if keep_source => {
                let references = std::mem::take(&mut symbols.references);
                let source = IndexedSource {
                    text: text.into(),
                    tree: tree.clone(),
                    references: references.into_boxed_slice(),
                };
                let symbols = Arc::new(symbols);
                let source = Arc::new(source);
                self.write().insert_entry(
                    &symbols,
                    &source.references,
                    Origin::Buffer,
                    Some((Arc::clone(&symbols), Arc::clone(&source))),
                );
            }
            Some(symbols) => self.write().insert(symbols, Origin::Buffer),
            None => self.write().remove_file(path),
        }
    }

    /// Re-index one file from its text on disk (a watched-file event): a file
    /// the editor holds keeps the editor's symbols.
    pub fn update_from_disk(&self, path: &Path, language: Language, text: &str) {
        if let Some(symbols) = index_symbols(path, language, text, Origin::Disk) {
            self.write().insert(symbols, Origin::Disk);
        }
    }

    pub fn remove_file(&self, path: &Path) {
        self.write().remove_file(path);
    }

    /// See [`SymbolIndex::drop_source`]. Takes the write lock only when
    /// `path` is the buffer keeping its source (one at a time, so a sweep
    /// packing many documents takes it once at most), and the text and tree
    /// are freed after it is released.
    pub fn drop_source(&self, path: &Path) {
        if !self.read().keeps_source(path) {
            return;
        }
        let taken = self.write().take_source(path);
        drop(taken);
    }

    /// See [`SymbolIndex::release_buffer`].
    pub fn release_buffer(&self, path: &Path) {
        self.write().release_buffer(path);
    }

    /// Index every source file under `roots` (see [`build`]) into this index.
    pub fn build(
        &self,
        roots: &[PathBuf],
        options: &BuildOptions,
        progress: &(dyn Fn(BuildProgress) + Sync),
    ) -> Result<BuildStats, BuildError> {
        build(roots, options, self, progress)
    }

    /// A new index of everything under `root`, built on all cores: the one call
    /// `agentls exec` needs. Blocking; from async code, run it in
    /// `spawn_blocking`.
    pub fn for_root(root: &Path) -> Result<SharedIndex, BuildError> {
        let index = SharedIndex::new();
        index.build(&[root.to_path_buf()], &BuildOptions::default(), &|_| {})?;
        Ok(index)
    }
}

/// How to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Parsing threads; `0` means one per core.
    pub threads: usize,
    /// Set it to stop the build; it then returns `BuildError::Cancelled` with
    /// the files indexed so far kept.
    pub cancel: Arc<AtomicBool>,
    /// Index files ignored by .gitignore and hidden files too. Default false.
    pub include_ignored: bool,
    /// The index cache of these roots ([`super::cache_path`]): a file whose
    /// size and content hash match its entry there takes the cached symbols
    /// instead of being parsed, and a completed build writes the file anew
    /// (unless nothing changed). `None` (the default): parse everything.
    pub cache: Option<PathBuf>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            threads: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            include_ignored: false,
            cache: None,
        }
    }
}

/// Where a build is, for a progress report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildProgress {
    pub files_done: usize,
    pub files_total: usize,
}

/// What a build did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildStats {
    pub files: usize,
    pub lines: u64,
    pub bytes: u64,
    /// Files that could not be read (not UTF-8, vanished, unreadable).
    pub skipped: usize,
    /// Of `files`, those whose symbols came from the cache, unparsed.
    pub cached: usize,
}

/// Why a build stopped. Nothing is retried: the server rebuilds on the next
/// trigger (a watched-file event, a configuration change).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("index build cancelled after {files_done} files")]
    Cancelled { files_done: usize },
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
}

/// The source files under `roots` with their language: .gitignore respected,
/// hidden files skipped, files above [`MAX_FILE_BYTES`] left out. Sorted.
pub fn source_files(roots: &[PathBuf], include_ignored: bool) -> Vec<(PathBuf, Language)> {
    let mut files = Vec::new();
    for root in roots {
        let walker = ignore::WalkBuilder::new(root)
            .standard_filters(!include_ignored)
            .require_git(false)
            .build();
        // Links are not followed (`ignore`'s default), so a loop or a link out
        // of the root is never entered; FIFOs, sockets and devices are not files.
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    tracing::info!(%error, "index: skipped what the walk could not read");
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|kind| kind.is_file()) {
                continue;
            }
            let Some(language) = Language::from_path(entry.path()) else {
                continue;
            };
            if language == Language::Bash {
                continue;
            }
            if let Some(n_bytes) = entry
                .metadata()
                .ok()
                .map(|metadata| metadata.len())
                .filter(|&n_bytes| n_bytes > MAX_FILE_BYTES)
            {
                tracing::info!(path = %entry.path().display(), n_bytes, "index: skipped a file too large to index");
                continue;
            }
            files.push((entry.into_path(), language));
        }
    }
    files.sort();
    files.dedup();
    files
}

/// Index every source file under `roots` into `target`: walk (cheap), then parse
/// on `options.threads` threads, swapping parsed files in by batches. Files the
/// editor gave (`Origin::Buffer`) are left as they are; files indexed from disk
/// before that no longer exist are removed at the end. `progress` is called
/// after each batch (from the worker threads). Blocking.
///
/// With `options.cache`, unchanged files take their symbols from the cache
/// (loaded while the walk runs) and a completed build writes what it read from
/// disk back there, buffers left out; a cancelled one leaves the file alone. A
/// cache that cannot be read or written is logged, never an error.
pub fn build(
    roots: &[PathBuf],
    options: &BuildOptions,
    target: &SharedIndex,
    progress: &(dyn Fn(BuildProgress) + Sync),
) -> Result<BuildStats, BuildError> {
    for root in roots {
        if !root.is_dir() {
            return Err(BuildError::NotADirectory(root.clone()));
        }
    }
    let (files, cache) = std::thread::scope(|scope| {
        let cache = scope.spawn(|| match &options.cache {
            Some(path) => IndexCache::load(path, roots),
            None => IndexCache::default(),
        });
        let files = source_files(roots, options.include_ignored);
        // A panic while loading is a bug, not a reason to fail the build.
        (files, cache.join().unwrap_or_default())
    });
    let total = files.len();
    progress(BuildProgress {
        files_done: 0,
        files_total: total,
    });
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |count| count.get()),
        count => count,
    }
    .min(total.max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stats = Mutex::new(BuildStats::default());
    let read = Mutex::new(Vec::new());

    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut extractors: Vec<Extractor> = Vec::new();
                let mut batch = Vec::with_capacity(BATCH);
                let mut processed = 0;
                let mut local = BuildStats::default();
                let mut local_read = Vec::new();
                loop {
                    if options.cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, language)) = files.get(index) else {
                        break;
                    };
                    match index_one(path, *language, &cache, &mut extractors) {
                        Some((file, cached)) => {
                            local.files += 1;
                            local.cached += usize::from(cached);
                            local.lines += u64::from(file.symbols.n_lines);
                            local.bytes += file.fingerprint.size;
                            batch.push(Arc::clone(&file.symbols));
                            local_read.push(file);
                        }
                        None => local.skipped += 1,
                    }
                    processed += 1;
                    if processed == BATCH {
                        flush(target, &mut batch, processed, &done, total, progress);
                        processed = 0;
                    }
                }
                flush(target, &mut batch, processed, &done, total, progress);
                let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
                stats.files += local.files;
                stats.lines += local.lines;
                stats.bytes += local.bytes;
                stats.skipped += local.skipped;
                stats.cached += local.cached;
                drop(stats);
                read.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .append(&mut local_read);
            });
        }
    });

    let stats = stats.into_inner().unwrap_or_else(PoisonError::into_inner);
    if options.cancel.load(Ordering::Relaxed) {
        return Err(BuildError::Cancelled {
            files_done: done.load(Ordering::Relaxed),
        });
    }
    // Files indexed from disk by an earlier build that are gone now.
    let walked: HashSet<&Path> = files.iter().map(|(path, _)| path.as_path()).collect();
    let mut index = target.write();
    let stale: Vec<PathBuf> = index
        .files
        .iter()
        .flatten()
        .filter(|entry| {
            entry.origin == Origin::Disk
                && roots.iter().any(|root| entry.held.path().starts_with(root))
                && !walked.contains(entry.held.path())
        })
        .map(|entry| entry.held.path().to_path_buf())
        .collect();
    for path in stale {
        index.remove_file(&path);
    }
    drop(index);
    if let Some(path) = &options.cache {
        // Unchanged: every file a hit and no entry gone.
        if stats.cached < stats.files || cache.len() != stats.files {
            let read = read.into_inner().unwrap_or_else(PoisonError::into_inner);
            if let Err(error) = cache::save(path, roots, &read) {
                tracing::warn!(path = %path.display(), %error, "index cache not written");
            }
        }
    }
    Ok(stats)
}

/// One file read from disk: its symbols from the cache when its bytes match the
/// entry there (then `true`), else parsed.
/// The bytes of `path` if it is still a regular file of at most
/// `MAX_FILE_BYTES` when opened: the walk saw a file, but it may have been
/// replaced since by a FIFO (opened without blocking, then refused, where a plain
/// read would wait forever for a writer) or grown past the limit.
pub(crate) fn read_regular_file(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() || metadata.len() > MAX_FILE_BYTES {
        tracing::info!(path = %path.display(), "index: skipped, no longer a regular file of indexable size");
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= MAX_FILE_BYTES).then_some(bytes)
}

fn index_one(
    path: &Path,
    language: Language,
    cache: &IndexCache,
    extractors: &mut Vec<Extractor>,
) -> Option<(DiskSymbols, bool)> {
    let bytes = read_regular_file(path)?;
    let fingerprint = Fingerprint::of(&bytes);
    if let Some(symbols) = cache.get(path, language, fingerprint) {
        let symbols = Arc::clone(symbols);
        return Some((
            DiskSymbols {
                fingerprint,
                symbols,
            },
            true,
        ));
    }
    let text = String::from_utf8(bytes).ok()?;
    let extractor = match extractors
        .iter()
        .position(|extractor| extractor.language() == language)
    {
        Some(position) => &mut extractors[position],
        None => {
            extractors.push(Extractor::new(language)?);
            extractors.last_mut()?
        }
    };
    let symbols = extractor.extract_with(path, &text, detail_for(Origin::Disk))?;
    let symbols = Arc::new(compact(symbols, Origin::Disk));
    Some((
        DiskSymbols {
            fingerprint,
            symbols,
        },
        false,
    ))
}

fn flush(
    target: &SharedIndex,
    batch: &mut Vec<Arc<FileSymbols>>,
    count: usize,
    done: &AtomicUsize,
    total: usize,
    progress: &(dyn Fn(BuildProgress) + Sync),
) {
    if count == 0 {
        return;
    }
    if !batch.is_empty() {
        // The cache keeps the whole symbols to save.
        let mut index = target.write();
        for symbols in batch.drain(..) {
            index.insert_entry(&symbols, &symbols.references, Origin::Disk, None);
        }
    }
    let files_done = done.fetch_add(count, Ordering::Relaxed) + count;
    progress(BuildProgress {
        files_done,
        files_total: total,
    });
}
