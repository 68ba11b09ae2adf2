//! Context selection on real code: the crates of the cargo registry that arrive
//! with the build (`cargo fetch`), found under `$CARGO_HOME/registry/src/*/` (or
//! `$HOME/.cargo/...`).
//!
//! - `build`: the index of all those trees built cold (a fresh index, queries
//!   compiled) on one thread, three times: lines per second. Target ≥ 200,000.
//!   Then the same on every core, as the server builds it, in wall time.
//!   Then warm: a cold one-thread build that writes the index cache, and three
//!   one-thread builds into a fresh index from it (every file read and hashed,
//!   none parsed): lines per second, wall and CPU.
//! - `update_*` (criterion): re-indexing one edited file of tokio in the full
//!   index: a 569-line file parsed here; the same with the tree given, first
//!   time (the whole file queried); the server's path for every later change, a
//!   line typed in a method with the tree reparsed incrementally (only what the
//!   edit touched queried); and a file of tokio's median size (121 lines),
//!   parsed here. Target ≤ 1 ms.
//! - parse share: tree-sitter's parse alone against symbol extraction from a
//!   parsed tree, and the query walk against a bare cursor walk, in CPU time of
//!   one thread (what decides between queries and a hand-written walk).
//! - `select`: 500 cursor positions at random in tokio's files, each selected
//!   with the default budget against the full index, with the tree given (as the
//!   server has it) and parsed here: p50 and p95. Target p95 ≤ 20 ms.
//! - `recall`: 200 call sites drawn at random (fixed seed) from every call in
//!   the trees whose callee is a function, method or macro defined exactly once
//!   in the same crate (the ground truth: without a type checker an ambiguous
//!   name has none). Selected at the call site with the default budget, a hit is
//!   a piece that holds the callee's definition. Reported next to a baseline that
//!   sends the enclosing function plus the rest of the current file around it up
//!   to the same budget. Target ≥ 90%.
//!
//! Run: `cargo bench -p agentls-core --bench context`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agentls_core::context::{
    cache_path, estimate_tokens, select, source_files, BuildOptions, BuildStats, Extractor,
    FileSymbols, LineRange, ReferenceKind, SelectionRequest, SharedIndex, SymbolIndex, SymbolKind,
};
use agentls_core::language::Language;
use criterion::Criterion;

/// The crates measured, by name; the first version found of each is used.
const CRATES: [&str; 14] = [
    "tokio",
    "serde",
    "serde_json",
    "ropey",
    "tree-sitter",
    "regex-automata",
    "hyper",
    "reqwest",
    "clap_builder",
    "ignore",
    "syn",
    "rustls",
    "futures-util",
    "chrono",
];
const SEED: u64 = 5;
const BUDGET: u32 = 6000;

fn registry_sources() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
    let src = cargo_home.join("registry").join("src");
    let mut registries: Vec<PathBuf> = std::fs::read_dir(&src)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .collect();
    registries.sort();
    registries.into_iter().next()
}

fn crate_dirs(registry: &Path) -> Vec<(String, PathBuf)> {
    let mut names: Vec<String> = std::fs::read_dir(registry)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    CRATES
        .iter()
        .filter_map(|name| {
            let prefix = format!("{name}-");
            names
                .iter()
                .find(|dir| {
                    dir.strip_prefix(&prefix)
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                })
                .map(|dir| (name.to_string(), registry.join(dir)))
        })
        .collect()
}

#[allow(clippy::print_stderr)] // A bench's report; stdout belongs to criterion.
fn main() {
    let Some(registry) = registry_sources() else {
        eprintln!(
            "context bench: no cargo registry sources under $CARGO_HOME or $HOME/.cargo \
             (registry/src/*/); run `cargo fetch` first. Nothing measured."
        );
        return;
    };
    let crates = crate_dirs(&registry);
    let Some((_, tokio)) = crates.iter().find(|(name, _)| name == "tokio").cloned() else {
        eprintln!(
            "context bench: tokio is not in {}; run `cargo fetch` first. Nothing measured.",
            registry.display()
        );
        return;
    };
    let roots: Vec<PathBuf> = crates.iter().map(|(_, dir)| dir.clone()).collect();
    eprintln!(
        "context bench: {} crates: {}",
        crates.len(),
        crates
            .iter()
            .map(|(_, dir)| dir.file_name().unwrap_or_default().to_string_lossy())
            .collect::<Vec<_>>()
            .join(", ")
    );

    if std::env::var_os("CONTEXT_BENCH_PARSE_ONLY").is_some() {
        parse_share(&roots);
        return;
    }
    // Build, cold, one thread.
    let mut rates = Vec::new();
    let mut index = SharedIndex::new();
    for run in 0..3 {
        index = SharedIndex::new();
        let options = BuildOptions {
            threads: 1,
            ..BuildOptions::default()
        };
        let (stats, elapsed, cpu) = timed_build(&index, &roots, &options);
        let rate = stats.lines as f64 / cpu.as_secs_f64();
        eprintln!(
            "build run {run}: {} files, {} lines, {:.1} MiB in {:.3} s wall, {:.3} s CPU = {:.0} lines/s of CPU ({:.0} lines/s wall), {} skipped",
            stats.files,
            stats.lines,
            stats.bytes as f64 / 1048576.0,
            elapsed.as_secs_f64(),
            cpu.as_secs_f64(),
            rate,
            stats.lines as f64 / elapsed.as_secs_f64(),
            stats.skipped
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    eprintln!(
        "build: median {:.0} lines per CPU-second on one thread",
        rates[1]
    );
    warm_build(&roots);
    // The server's own build: every core (`threads: 0`), in wall time.
    let mut wall_rates = Vec::new();
    for run in 0..3 {
        // `threads: 0`, the default: one per core.
        let (stats, elapsed, _) =
            timed_build(&SharedIndex::new(), &roots, &BuildOptions::default());
        let rate = stats.lines as f64 / elapsed.as_secs_f64();
        eprintln!(
            "build on every core ({}), run {run}: {} lines in {:.3} s = {rate:.0} lines/s wall",
            std::thread::available_parallelism().map_or(1, usize::from),
            stats.lines,
            elapsed.as_secs_f64()
        );
        wall_rates.push(rate);
    }
    wall_rates.sort_by(f64::total_cmp);
    eprintln!(
        "build on every core: median {:.0} lines/s wall",
        wall_rates[1]
    );
    parse_share(&roots);

    // One edited file.
    let edited = tokio.join("src/runtime/task/harness.rs");
    let edited_text = std::fs::read_to_string(&edited).unwrap_or_default();
    eprintln!(
        "update_file: {} ({} lines)",
        edited.display(),
        edited_text.lines().count()
    );
    let mut criterion = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(5));
    criterion.bench_function("context/update_file", |bencher| {
        bencher.iter(|| index.update_file(&edited, Language::Rust, &edited_text))
    });
    let mut parser = Extractor::new(Language::Rust).expect("rust");
    let edited_tree = parser.parse(&edited_text).expect("parse");
    // The first time the server indexes a buffer: the whole file is queried.
    criterion.bench_function("context/update_from_tree_first", |bencher| {
        bencher.iter(|| {
            index.release_buffer(&edited);
            index.update_from_tree(&edited, Language::Rust, &edited_text, &edited_tree)
        })
    });
    // The server's path on every change after that: a statement typed in a
    // method of the 280-line `impl` (line 292), reparsed incrementally as the
    // document store does; each call indexes the other of the two versions, so
    // each is a one-line edit against the version indexed before.
    let (typed_text, typed_tree) = typed(&edited_text, &edited_tree, 292);
    let versions = [(&edited_text, &edited_tree), (&typed_text, &typed_tree)];
    let mut next = 0;
    criterion.bench_function("context/update_from_tree_edit", |bencher| {
        bencher.iter(|| {
            next = 1 - next;
            let (text, tree) = versions[next];
            index.update_from_tree(&edited, Language::Rust, text, tree)
        })
    });
    // A typical edited file: the median size of tokio's files.
    let mut sizes: Vec<(usize, PathBuf)> = source_files(std::slice::from_ref(&tokio), false)
        .into_iter()
        .filter_map(|(path, _)| Some((std::fs::read_to_string(&path).ok()?.lines().count(), path)))
        .collect();
    sizes.sort();
    let (median_lines, median_file) = sizes[sizes.len() / 2].clone();
    let median_text = std::fs::read_to_string(&median_file).unwrap_or_default();
    eprintln!(
        "update, median file: {} ({median_lines} lines)",
        median_file.display()
    );
    criterion.bench_function("context/update_file_median", |bencher| {
        bencher.iter(|| index.update_file(&median_file, Language::Rust, &median_text))
    });

    let guard = index.read();
    selection_latency(&guard, &tokio);
    recall(&guard, &crates);
    criterion.final_summary();
}

/// A warm start: a one-thread build from the cache a cold one wrote.
/// Builds `index` from `roots`: what the build did, its wall time and the CPU
/// time this process spent on it.
fn timed_build(
    index: &SharedIndex,
    roots: &[PathBuf],
    options: &BuildOptions,
) -> (BuildStats, Duration, Duration) {
    let started = Instant::now();
    let cpu_started = process_cpu_time();
    let stats = index.build(roots, options, &|_| {}).expect("build");
    (stats, started.elapsed(), process_cpu_time() - cpu_started)
}

#[allow(clippy::print_stderr)]
fn warm_build(roots: &[PathBuf]) {
    let data = tempfile::tempdir().expect("temporary directory");
    let cache = cache_path(data.path(), roots);
    let options = BuildOptions {
        threads: 1,
        cache: Some(cache.clone()),
        ..BuildOptions::default()
    };
    let (stats, elapsed, cpu) = timed_build(&SharedIndex::new(), roots, &options);
    let cache_bytes = std::fs::metadata(&cache).map_or(0, |metadata| metadata.len());
    eprintln!(
        "build cold writing the cache: {} lines in {:.3} s wall, {:.3} s CPU = {:.0} lines/s of CPU ({:.0} lines/s wall); cache {:.1} MiB",
        stats.lines,
        elapsed.as_secs_f64(),
        cpu.as_secs_f64(),
        stats.lines as f64 / cpu.as_secs_f64(),
        stats.lines as f64 / elapsed.as_secs_f64(),
        cache_bytes as f64 / 1048576.0
    );
    let mut rates = Vec::new();
    for run in 0..3 {
        let (stats, elapsed, cpu) = timed_build(&SharedIndex::new(), roots, &options);
        let rate = stats.lines as f64 / cpu.as_secs_f64();
        eprintln!(
            "build warm run {run}: {} files ({} from the cache), {} lines in {:.3} s wall, {:.3} s CPU = {rate:.0} lines/s of CPU ({:.0} lines/s wall)",
            stats.files,
            stats.cached,
            stats.lines,
            elapsed.as_secs_f64(),
            cpu.as_secs_f64(),
            stats.lines as f64 / elapsed.as_secs_f64()
        );
        rates.push((rate, stats.lines as f64 / elapsed.as_secs_f64()));
    }
    rates.sort_by(|a, b| a.0.total_cmp(&b.0));
    eprintln!(
        "build warm: median {:.0} lines per CPU-second on one thread ({:.0} lines/s wall)",
        rates[1].0, rates[1].1
    );
}

/// `text` with a statement typed at the start of 1-based `line`, and its tree
/// reparsed from `tree` as the server's document store does.
fn typed(text: &str, tree: &tree_sitter::Tree, line: usize) -> (String, tree_sitter::Tree) {
    let start = text
        .match_indices('\n')
        .nth(line - 2)
        .map_or(0, |(at, _)| at + 1);
    let inserted = "        let typed = 0;\n";
    let mut typed = text.to_string();
    typed.insert_str(start, inserted);
    let mut edited = tree.clone();
    let row = line - 1;
    edited.edit(&tree_sitter::InputEdit {
        start_byte: start,
        old_end_byte: start,
        new_end_byte: start + inserted.len(),
        start_position: tree_sitter::Point::new(row, 0),
        old_end_position: tree_sitter::Point::new(row, 0),
        new_end_position: tree_sitter::Point::new(row + 1, 0),
    });
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&Language::Rust.tree_sitter_language())
        .expect("rust grammar");
    let reparsed = parser.parse(&typed, Some(&edited)).expect("parse");
    (typed, reparsed)
}

/// The CPU time this thread has used: what one core does, whatever the load.
fn cpu_time() -> Duration {
    let mut spec = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `spec` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut spec) };
    Duration::new(spec.tv_sec as u64, spec.tv_nsec as u32)
}

/// The CPU time of the whole process (a one-thread build runs on one worker
/// while the main thread waits).
fn process_cpu_time() -> Duration {
    let mut spec = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `spec` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut spec) };
    Duration::new(spec.tv_sec as u64, spec.tv_nsec as u32)
}

/// How much of the build is tree-sitter's parse alone.
#[allow(clippy::print_stderr)]
fn parse_share(roots: &[PathBuf]) {
    let files = source_files(roots, false);
    let texts: Vec<(Language, String)> = files
        .iter()
        .filter_map(|(path, language)| Some((*language, std::fs::read_to_string(path).ok()?)))
        .collect();
    let mut extractor = Extractor::new(Language::Rust).expect("rust");
    let started = cpu_time();
    let mut lines = 0;
    let mut trees = Vec::new();
    for (language, text) in &texts {
        if *language == Language::Rust {
            lines += text.lines().count();
            trees.push((extractor.parse(text).expect("parse"), text));
        }
    }
    let parse = cpu_time() - started;
    let started = cpu_time();
    for (tree, text) in &trees {
        let _ = FileSymbols::from_tree(Path::new("x.rs"), Language::Rust, text, tree);
    }
    let tags = cpu_time() - started;
    {
        use streaming_iterator::StreamingIterator;
        let language: tree_sitter::Language = tree_sitter_rust::LANGUAGE.into();
        for (label, source) in [
            ("shipped", tree_sitter_rust::TAGS_QUERY.to_string()),
            (
                "no type refs",
                tree_sitter_rust::TAGS_QUERY.replace(
                    "(call_expression\n    function: (identifier) @name) @reference.call",
                    "",
                ),
            ),
            (
                "functions only",
                "(function_item name: (identifier) @name) @definition.function".to_string(),
            ),
        ] {
            let query = tree_sitter::Query::new(&language, &source).expect("query");
            let mut cursor = tree_sitter::QueryCursor::new();
            let started = cpu_time();
            let mut count = 0;
            for (tree, text) in &trees {
                let mut matches = cursor.matches(&query, tree.root_node(), text.as_bytes());
                while matches.next().is_some() {
                    count += 1;
                }
            }
            let elapsed = cpu_time() - started;
            eprintln!(
                "query {label}: {count} matches, {:.0} lines/s",
                lines as f64 / elapsed.as_secs_f64()
            );
        }
        let started = cpu_time();
        let mut count = 0;
        for (tree, _) in &trees {
            let mut walker = tree.walk();
            'walk: loop {
                count += walker.node().kind_id() as usize & 1;
                if walker.goto_first_child() {
                    continue;
                }
                while !walker.goto_next_sibling() {
                    if !walker.goto_parent() {
                        break 'walk;
                    }
                }
            }
        }
        let elapsed = cpu_time() - started;
        eprintln!(
            "plain walk of every node: {count}, {:.0} lines/s",
            lines as f64 / elapsed.as_secs_f64()
        );
    }
    eprintln!(
        "rust files, CPU time of this thread: parse {:.0} lines/s, symbols from the tree {:.0} lines/s, both {:.0} lines/s (reading excluded)",
        lines as f64 / parse.as_secs_f64(),
        lines as f64 / tags.as_secs_f64(),
        lines as f64 / (parse + tags).as_secs_f64()
    );
}

#[allow(clippy::print_stderr)]
fn selection_latency(index: &SymbolIndex, tokio: &Path) {
    let files: Vec<(PathBuf, String)> = source_files(&[tokio.to_path_buf()], false)
        .into_iter()
        .filter_map(|(path, _)| {
            let text = std::fs::read_to_string(&path).ok()?;
            (!text.is_empty()).then_some((path, text))
        })
        .collect();
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut extractor = Extractor::new(Language::Rust).expect("rust");
    let mut with_tree = Vec::new();
    let mut with_parse = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..500 {
        let (path, text) = &files[rng.usize(..files.len())];
        let mut cursor = rng.usize(..text.len());
        while !text.is_char_boundary(cursor) {
            cursor -= 1;
        }
        let tree = extractor.parse(text).expect("parse");
        let mut request = SelectionRequest::new(path, Some(Language::Rust), text, cursor..cursor);
        request.tree = Some(&tree);
        let started = Instant::now();
        let selection = select(&request, index);
        with_tree.push(started.elapsed());
        tokens.push(selection.n_tokens);
        request.tree = None;
        let started = Instant::now();
        let _ = select(&request, index);
        with_parse.push(started.elapsed());
    }
    with_tree.sort();
    with_parse.sort();
    tokens.sort();
    let percentile =
        |samples: &[Duration], p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
    eprintln!(
        "select on tokio, 500 cursors: tree given p50 {:.2?} p95 {:.2?} max {:.2?}; parsed here p50 {:.2?} p95 {:.2?} max {:.2?}; tokens median {}",
        percentile(&with_tree, 50),
        percentile(&with_tree, 95),
        with_tree[with_tree.len() - 1],
        percentile(&with_parse, 50),
        percentile(&with_parse, 95),
        with_parse[with_parse.len() - 1],
        tokens[tokens.len() / 2]
    );
}

struct CallSite {
    path: PathBuf,
    name: String,
    byte: usize,
    truth_path: PathBuf,
    truth_lines: LineRange,
}

#[allow(clippy::print_stderr)]
fn recall(index: &SymbolIndex, crates: &[(String, PathBuf)]) {
    // Every call whose callee is defined exactly once (as a function, method or
    // macro) in the caller's crate.
    let mut sites = Vec::new();
    let mut calls = 0;
    for path in index.paths() {
        let Some((_, root)) = crates.iter().find(|(_, root)| path.starts_with(root)) else {
            continue;
        };
        // The index keeps where names are used, not how: the calls are read
        // from the file.
        let Some(symbols) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| FileSymbols::extract(path, Language::Rust, &text))
        else {
            continue;
        };
        for reference in &symbols.references {
            if reference.kind != ReferenceKind::Call {
                continue;
            }
            calls += 1;
            let in_crate: Vec<_> = index
                .definitions(&reference.name)
                .into_iter()
                .filter(|hit| hit.path.starts_with(root))
                .collect();
            let [truth] = in_crate.as_slice() else {
                continue;
            };
            if !matches!(
                truth.definition.kind,
                SymbolKind::Function | SymbolKind::Method | SymbolKind::Macro
            ) {
                continue;
            }
            sites.push(CallSite {
                path: path.to_path_buf(),
                name: reference.name.to_string(),
                byte: reference.bytes.start,
                truth_path: truth.path.to_path_buf(),
                truth_lines: truth.definition.lines,
            });
        }
    }
    eprintln!(
        "recall: {} calls in the trees, {} with a callee defined once in their crate",
        calls,
        sites.len()
    );
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut hits = 0;
    let mut baseline_hits = 0;
    let mut same_file = 0;
    let mut tokens = 0u64;
    let mut baseline_tokens = 0u64;
    let mut misses = Vec::new();
    let samples = 200;
    for _ in 0..samples {
        let site = &sites[rng.usize(..sites.len())];
        let text = std::fs::read_to_string(&site.path).unwrap_or_default();
        let mut request = SelectionRequest::new(
            &site.path,
            Some(Language::Rust),
            &text,
            site.byte..site.byte,
        );
        request.budget_tokens = BUDGET;
        let selection = select(&request, index);
        tokens += u64::from(selection.n_tokens);
        let hit = selection
            .pieces
            .iter()
            .any(|piece| piece.path == site.truth_path && piece.lines.overlaps(site.truth_lines));
        if hit {
            hits += 1;
        } else {
            misses.push(format!("{} {}", site.path.display(), site.name));
        }
        if site.truth_path == site.path {
            same_file += 1;
        }
        let (window, window_tokens) = baseline_window(&site.path, &text, site.byte);
        baseline_tokens += u64::from(window_tokens);
        if site.truth_path == site.path && window.overlaps(site.truth_lines) {
            baseline_hits += 1;
        }
    }
    eprintln!(
        "recall over {samples} call sites ({same_file} callees in the same file): selection {:.1}% ({} tokens mean), baseline enclosing function + file {:.1}% ({} tokens mean)",
        100.0 * hits as f64 / samples as f64,
        tokens / samples as u64,
        100.0 * baseline_hits as f64 / samples as f64,
        baseline_tokens / samples as u64
    );
    for miss in misses.iter().take(15) {
        eprintln!("  missed: {miss}");
    }
}

/// The baseline: the enclosing function, then the lines around it, until the
/// budget (or the file) is used up. Its lines and tokens.
fn baseline_window(path: &Path, text: &str, byte: usize) -> (LineRange, u32) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let symbols = FileSymbols::extract(path, Language::Rust, text);
    let line = text[..byte].matches('\n').count() as u32 + 1;
    let mut window = symbols
        .as_ref()
        .and_then(|symbols| {
            let item = symbols.innermost_at(byte, |kind| {
                matches!(kind, SymbolKind::Function | SymbolKind::Method)
            })?;
            Some(symbols.definitions[item].lines)
        })
        .unwrap_or(LineRange::new(line, line));
    let tokens = |window: LineRange| {
        lines[(window.start - 1) as usize..window.end as usize]
            .iter()
            .map(|line| line.len())
            .sum::<usize>()
            .div_ceil(4) as u32
    };
    let n_lines = lines.len() as u32;
    loop {
        let mut grew = false;
        if window.end < n_lines && tokens(LineRange::new(window.start, window.end + 1)) <= BUDGET {
            window.end += 1;
            grew = true;
        }
        if window.start > 1 && tokens(LineRange::new(window.start - 1, window.end)) <= BUDGET {
            window.start -= 1;
            grew = true;
        }
        if !grew {
            let used = tokens(window).min(BUDGET).max(estimate_tokens(""));
            return (window, used);
        }
    }
}
