//! The symbol index kept between sessions, so that a warm start parses only the
//! files that changed: what a build read from disk, each file's symbols with the
//! size and content hash of the bytes they were read from.
//!
//! One file per set of workspace roots, `<data>/index/<hash of the sorted
//! roots>.json` ([`cache_path`]): a header line (`agentls-index-cache <format>
//! <extractor>`) and one JSON object. `<extractor>` is a hash of what decides
//! the symbols of a text (the extraction's source files, the tags queries, the
//! grammars' node and field tables): a cache from another agentls or grammar is
//! never used. The file holds only symbols read from files on disk, never an
//! editor's buffer, and is replaced atomically (temp file + rename). A file that
//! is missing, truncated, corrupt, of another format or extractor, or for other
//! roots is ignored with a log line: the build then parses everything, as a cold
//! one does.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::queries;
use super::symbol::FileSymbols;
use crate::language::Language;

/// The layout of the JSON body; bump it with any change to the serialized
/// types.
const FORMAT: u32 = 1;
const MAGIC: &str = "agentls-index-cache";

/// What identifies the bytes a file's symbols were read from: its size and a
/// fast (non-cryptographic) hash of its content. A hash that changes with the
/// toolchain only costs misses, never a wrong hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub size: u64,
    pub hash: u64,
}

impl Fingerprint {
    pub(crate) fn of(bytes: &[u8]) -> Fingerprint {
        let mut hasher = DefaultHasher::new();
        hasher.write(bytes);
        Fingerprint {
            size: bytes.len() as u64,
            hash: hasher.finish(),
        }
    }
}

/// One file as a build read it from disk: the cache's unit.
pub(crate) struct DiskSymbols {
    pub fingerprint: Fingerprint,
    pub symbols: Arc<FileSymbols>,
}

/// A cache as loaded, by path.
#[derive(Default)]
pub(crate) struct IndexCache {
    files: HashMap<PathBuf, DiskSymbols>,
}

impl IndexCache {
    /// The cache at `path` for `roots`; empty (and logged) when it is missing or
    /// unusable.
    pub(crate) fn load(path: &Path, roots: &[PathBuf]) -> IndexCache {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                tracing::debug!(path = %path.display(), "no index cache yet");
                return IndexCache::default();
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "index cache unreadable, ignored");
                return IndexCache::default();
            }
        };
        match IndexCache::parse(&bytes, roots) {
            Ok(cache) => {
                tracing::debug!(path = %path.display(), files = cache.len(), "index cache loaded");
                cache
            }
            Err(problem) => {
                tracing::warn!(path = %path.display(), %problem, "index cache ignored");
                IndexCache::default()
            }
        }
    }

    fn parse(bytes: &[u8], roots: &[PathBuf]) -> Result<IndexCache, String> {
        let newline = bytes
            .iter()
            .position(|byte| *byte == b'\n')
            .ok_or("no header line")?;
        let header = std::str::from_utf8(&bytes[..newline]).map_err(|_| "header not UTF-8")?;
        let expected = header_line();
        if header != expected {
            return Err(format!("header `{header}`, expected `{expected}`"));
        }
        let body: CacheBody =
            serde_json::from_slice(&bytes[newline + 1..]).map_err(|error| error.to_string())?;
        if body.roots != sorted_roots(roots) {
            return Err("written for other workspace roots".to_string());
        }
        let files = body
            .files
            .into_iter()
            .map(|mut file| {
                file.symbols.share_names();
                let entry = DiskSymbols {
                    fingerprint: Fingerprint {
                        size: file.size,
                        hash: file.hash,
                    },
                    symbols: Arc::new(file.symbols),
                };
                (entry.symbols.path.clone(), entry)
            })
            .collect();
        Ok(IndexCache { files })
    }

    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }

    /// The cached symbols of `path` if they were read from the same bytes.
    pub(crate) fn get(
        &self,
        path: &Path,
        language: Language,
        fingerprint: Fingerprint,
    ) -> Option<&Arc<FileSymbols>> {
        let entry = self.files.get(path)?;
        (entry.fingerprint == fingerprint && entry.symbols.language == language)
            .then_some(&entry.symbols)
    }
}

/// Write `files` (read from disk under `roots`) as the cache at `path`,
/// replacing it atomically.
pub(crate) fn save(path: &Path, roots: &[PathBuf], files: &[DiskSymbols]) -> io::Result<()> {
    let mut sorted: Vec<&DiskSymbols> = files.iter().collect();
    sorted.sort_by(|a, b| a.symbols.path.cmp(&b.symbols.path));
    let body = CacheBodyRef {
        roots: sorted_roots(roots),
        files: sorted
            .into_iter()
            .map(|file| CachedFileRef {
                size: file.fingerprint.size,
                hash: file.fingerprint.hash,
                symbols: &file.symbols,
            })
            .collect(),
    };
    crate::disk::replace_atomically(path, |file| {
        let mut writer = BufWriter::new(file);
        writeln!(writer, "{}", header_line())?;
        serde_json::to_writer(&mut writer, &body)?;
        writer.flush()
    })
}

/// Where the cache of `roots` lives under the data directory.
pub fn cache_path(data_dir: &Path, roots: &[PathBuf]) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    sorted_roots(roots).hash(&mut hasher);
    data_dir
        .join("index")
        .join(format!("{:016x}.json", hasher.finish()))
}

fn sorted_roots(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut sorted = roots.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
}

fn header_line() -> String {
    format!("{MAGIC} {FORMAT} {:016x}", extractor_fingerprint())
}

/// A hash of what decides the symbols read from a text, so that symbols cached
/// by another version of the extraction are never taken for this one's.
fn extractor_fingerprint() -> u64 {
    static FINGERPRINT: OnceLock<u64> = OnceLock::new();
    *FINGERPRINT.get_or_init(|| {
        let mut hasher = DefaultHasher::new();
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        // The extraction's code: a change to it may change the symbols it reads.
        for source in [
            include_str!("symbol.rs"),
            include_str!("queries.rs"),
            include_str!("extract.rs"),
            include_str!("harvest.rs"),
            include_str!("summary.rs"),
            include_str!("lines.rs"),
            include_str!("node.rs"),
        ] {
            source.hash(&mut hasher);
        }
        for language in Language::ALL {
            language.name().hash(&mut hasher);
            queries::query_source(language).hash(&mut hasher);
            let grammar = language.tree_sitter_language();
            grammar.abi_version().hash(&mut hasher);
            grammar.node_kind_count().hash(&mut hasher);
            grammar.field_count().hash(&mut hasher);
            grammar.parse_state_count().hash(&mut hasher);
        }
        hasher.finish()
    })
}

#[derive(Serialize)]
struct CacheBodyRef<'a> {
    roots: Vec<PathBuf>,
    files: Vec<CachedFileRef<'a>>,
}

#[derive(Serialize)]
struct CachedFileRef<'a> {
    size: u64,
    hash: u64,
    symbols: &'a FileSymbols,
}

#[derive(Deserialize)]
struct CacheBody {
    roots: Vec<PathBuf>,
    files: Vec<CachedFile>,
}

#[derive(Deserialize)]
struct CachedFile {
    size: u64,
    hash: u64,
    symbols: FileSymbols,
}
