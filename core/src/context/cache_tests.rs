//! The index cache between sessions: a warm build (unchanged files from the
//! cache) must give the same index as a cold build of the same files, and a
//! cache that cannot be trusted is ignored.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::*;
use crate::language::Language;

/// A workspace made of this crate's own sources and the Python, TypeScript and
/// Go test files: about 70 files of real code.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &dir.path().join("src"),
    );
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn build(roots: &[PathBuf], cache: Option<&Path>) -> (SharedIndex, BuildStats) {
    let index = SharedIndex::new();
    let stats = build_into(&index, roots, cache);
    (index, stats)
}

fn build_into(index: &SharedIndex, roots: &[PathBuf], cache: Option<&Path>) -> BuildStats {
    let options = BuildOptions {
        threads: 2,
        cache: cache.map(Path::to_path_buf),
        ..BuildOptions::default()
    };
    index.build(roots, &options, &|_| {}).unwrap()
}

/// Everything a reader can ask of the index: every file's symbols, and the
/// definitions and references of every name in it.
fn assert_same_index(actual: &SymbolIndex, expected: &SymbolIndex) {
    assert_eq!(actual.paths(), expected.paths());
    let mut names = std::collections::BTreeSet::new();
    for path in expected.paths() {
        let symbols = expected.file(path).unwrap();
        names.extend(
            symbols
                .definitions
                .iter()
                .map(|definition| definition.name.to_string()),
        );
        names.extend(
            symbols
                .references
                .iter()
                .map(|reference| reference.name.to_string()),
        );
        assert_eq!(actual.file(path), Some(symbols), "{}", path.display());
    }
    assert!(names.len() > 1000, "{} names", names.len());
    for name in &names {
        let name = name.as_str();
        let definitions = |index: &SymbolIndex| -> Vec<(PathBuf, Language, Definition)> {
            index
                .definitions(name)
                .into_iter()
                .map(|hit| (hit.path.to_path_buf(), hit.language, hit.definition.clone()))
                .collect()
        };
        let references = |index: &SymbolIndex| -> Vec<(PathBuf, u32)> {
            index
                .references(name)
                .into_iter()
                .map(|hit| (hit.path.to_path_buf(), hit.line))
                .collect()
        };
        assert_eq!(definitions(actual), definitions(expected), "{name}");
        assert_eq!(references(actual), references(expected), "{name}");
    }
}

#[test]
fn context_cache_warm_build_equals_cold_build() {
    let dir = workspace();
    let data = tempfile::tempdir().unwrap();
    let roots = vec![dir.path().to_path_buf()];
    let cache = cache_path(data.path(), &roots);
    assert_eq!(cache.parent().unwrap(), data.path().join("index"));

    let (_, cold) = build(&roots, Some(&cache));
    assert!(cold.files > 60, "{cold:?}");
    assert_eq!(cold.cached, 0);
    assert!(cache.is_file());

    // Between sessions: one file edited (a function renamed, one added that
    // calls into another file), one deleted, one added.
    let edited = dir.path().join("src/context/select.rs");
    let text = std::fs::read_to_string(&edited).unwrap();
    let text = text.replace("fn pack(", "fn pack_renamed(")
        + "\nfn added_between_sessions() { estimate_tokens(\"x\"); }\n";
    std::fs::write(&edited, text).unwrap();
    std::fs::remove_file(dir.path().join("src/context/outline.rs")).unwrap();
    std::fs::write(dir.path().join("src/new.py"), "def fresh():\n    pack()\n").unwrap();

    let (warm, warm_stats) = build(&roots, Some(&cache));
    let (fresh, fresh_stats) = build(&roots, None);
    assert_eq!(warm_stats.files, fresh_stats.files);
    assert_eq!(warm_stats.lines, fresh_stats.lines);
    assert_eq!(warm_stats.bytes, fresh_stats.bytes);
    // All but the edited and the added file came from the cache.
    assert_eq!(warm_stats.cached, warm_stats.files - 2, "{warm_stats:?}");
    assert_eq!(fresh_stats.cached, 0);
    assert_same_index(&warm.read(), &fresh.read());
    assert_eq!(warm.read().definitions("added_between_sessions").len(), 1);
    assert!(warm.read().definitions("render_outline").is_empty());
    assert_eq!(fresh.read().definitions("pack_renamed").len(), 1);

    // The warm build rewrote the cache: the next start parses nothing, and
    // the deleted file's entry is gone.
    let (again, again_stats) = build(&roots, Some(&cache));
    assert_eq!(again_stats.cached, again_stats.files);
    assert_same_index(&again.read(), &fresh.read());
    let written = std::fs::read_to_string(&cache).unwrap();
    assert!(!written.contains("outline.rs"));
    assert!(written.contains("new.py"));
}

#[test]
fn context_cache_never_holds_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let roots = vec![dir.path().to_path_buf()];
    let cache = cache_path(data.path(), &roots);
    let path = dir.path().join("a.rs");
    std::fs::write(&path, "fn on_disk() {}\n").unwrap();
    std::fs::write(dir.path().join("b.rs"), "fn other() { on_disk(); }\n").unwrap();

    let index = SharedIndex::new();
    index.update_file(&path, Language::Rust, "fn unsaved_in_buffer() {}\n");
    let stats = build_into(&index, &roots, Some(&cache));
    assert_eq!(stats.files, 2);
    assert_eq!(index.read().definitions("unsaved_in_buffer").len(), 1);
    let written = std::fs::read_to_string(&cache).unwrap();
    assert!(!written.contains("unsaved_in_buffer"), "{written}");
    assert!(written.contains("on_disk"), "{written}");

    // The next session, nothing open: the disk's symbols, from the cache.
    let (warm, stats) = build(&roots, Some(&cache));
    assert_eq!(stats.cached, 2);
    assert_eq!(warm.read().definitions("on_disk").len(), 1);
    assert!(warm.read().definitions("unsaved_in_buffer").is_empty());
}

#[test]
fn context_cache_unusable_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let roots = vec![dir.path().to_path_buf()];
    let cache = cache_path(data.path(), &roots);
    std::fs::write(dir.path().join("a.rs"), "fn a() { b(); }\n").unwrap();
    std::fs::write(dir.path().join("b.go"), "package b\n\nfunc b() {}\n").unwrap();
    build(&roots, Some(&cache));
    let good = std::fs::read(&cache).unwrap();
    let (cold, _) = build(&roots, None);

    let newline = good.iter().position(|byte| *byte == b'\n').unwrap();
    let header = std::str::from_utf8(&good[..newline]).unwrap();
    let other_format = header.replacen(" 1 ", " 999 ", 1);
    assert_ne!(other_format, header);
    let mut wrong_version = other_format.into_bytes();
    wrong_version.extend_from_slice(&good[newline..]);
    let mut garbage_body = good[..=newline].to_vec();
    garbage_body.extend_from_slice(b"{\"roots\": 7}");
    // Symbols that a cache of other roots holds must not leak in: a valid
    // body whose roots differ.
    let other_roots = String::from_utf8(good.clone())
        .unwrap()
        .replace(&*dir.path().to_string_lossy(), "/elsewhere");
    let unusable: [(&str, Vec<u8>); 6] = [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("not json", b"\x00\xffnot a cache".to_vec()),
        ("wrong version", wrong_version),
        ("garbage body", garbage_body),
        ("other roots", other_roots.into_bytes()),
    ];
    for (what, bytes) in unusable {
        std::fs::write(&cache, &bytes).unwrap();
        let (index, stats) = build(&roots, Some(&cache));
        assert_eq!(stats.cached, 0, "{what}");
        assert_eq!(stats.files, 2, "{what}");
        assert_same_index_small(&index.read(), &cold.read());
        // Replaced by a good one.
        assert_eq!(std::fs::read(&cache).unwrap(), good, "{what}");
    }

    // A cache directory that cannot be created: logged, the build succeeds.
    let blocked = data.path().join("file");
    std::fs::write(&blocked, "").unwrap();
    let stats = build(&roots, Some(&blocked.join("index/x.json"))).1;
    assert_eq!(stats.files, 2);
}

#[test]
fn context_cache_cancelled_build_keeps_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let roots = vec![dir.path().to_path_buf()];
    let cache = cache_path(data.path(), &roots);
    std::fs::write(dir.path().join("a.rs"), "fn a() {}\n").unwrap();
    build(&roots, Some(&cache));
    let good = std::fs::read(&cache).unwrap();

    std::fs::write(dir.path().join("a.rs"), "fn changed() {}\n").unwrap();
    let options = BuildOptions {
        cache: Some(cache.clone()),
        ..BuildOptions::default()
    };
    options.cancel.store(true, Ordering::Relaxed);
    let error = SharedIndex::new()
        .build(&roots, &options, &|_| {})
        .unwrap_err();
    assert!(matches!(error, BuildError::Cancelled { .. }), "{error}");
    assert_eq!(std::fs::read(&cache).unwrap(), good);
}

#[test]
fn context_cache_path_depends_on_the_set_of_roots() {
    let data = Path::new("/data");
    let (a, b) = (PathBuf::from("/ws/a"), PathBuf::from("/ws/b"));
    let both = cache_path(data, &[a.clone(), b.clone()]);
    assert_eq!(both, cache_path(data, &[b.clone(), a.clone()]));
    assert_ne!(both, cache_path(data, std::slice::from_ref(&a)));
    assert_ne!(cache_path(data, &[a]), cache_path(data, &[b]));
    assert_eq!(both.extension().unwrap(), "json");
}

fn assert_same_index_small(actual: &SymbolIndex, expected: &SymbolIndex) {
    assert_eq!(actual.paths(), expected.paths());
    for path in expected.paths() {
        assert_eq!(actual.file(path), expected.file(path));
    }
    for name in ["a", "b"] {
        assert_eq!(
            actual.definitions(name).len(),
            expected.definitions(name).len()
        );
        assert_eq!(
            actual.references(name).len(),
            expected.references(name).len()
        );
    }
}
