//! Memory on what users open. Two parts, both printed (not a timing benchmark):
//!
//! 1. Resident memory of the release `agentls` binary (`VmRSS` from
//!    /proc/<pid>/status, Linux only), driven over stdio like an editor: after
//!    `initialize` with no documents; with 1,000 real source files open (Rust
//!    from the cargo registry's sources of the crates Cargo.lock names, so
//!    that every machine that ran `cargo fetch` opens the same files; Python
//!    from the system's standard library; the TypeScript of editors/vscode);
//!    after every one of them was
//!    edited once and `agent/context` (the context a task sends the model; no
//!    model is called) ran on 10 of them; and again `AGENTLS_BENCH_LATER_SECS`
//!    (default 60) seconds later. The same files opened as `plaintext` (no tree,
//!    no symbols) give the baseline row. Then the same rows for 1,000 Rust
//!    files of 600 to 1,400 lines (the size the issue measured) in a second
//!    server.
//! 2. Where the memory goes: the same files through the document store and the
//!    symbol index in this process, with a counting allocator (live heap bytes as malloc holds them
//!    after each step).
//!
//! `cargo bench -p agentls --bench memory`; the figures go in docs/benchmarks.md.
//! `AGENTLS_BENCH_TREE_BUDGET_MIB` and `AGENTLS_BENCH_TEXT_BUDGET_MIB` set
//! `[documents] tree_budget_mib` and `text_budget_mib` for the server runs.
//! `AGENTLS_BENCH_SERVER_LOG=PATH` appends the servers' logs there, with
//! malloc's in-use and held-free figures after each trim (`agentls::memory`
//! at debug). `AGENTLS_BENCH_SERVER=PATH` runs another
//! build of the server (an earlier commit, say) for an A/B in the same session.
//! `AGENTLS_BENCH_SMAPS=DIR` keeps the server's smaps at each reading there.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use agentls::document::DocumentStore;
use agentls_core::context::SharedIndex;
use lsp_types::{Position, Range, TextDocumentContentChangeEvent, Uri};
use serde_json::{json, Value};

mod stdio;
use stdio::Client;

/// Counts the bytes the process has live on the heap as malloc holds them:
/// each allocation's usable size plus glibc's 8-byte chunk header, so a
/// 5-byte string counts the 32 bytes it takes, not 5.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn calloc(count: usize, size: usize) -> *mut c_void;
    fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
    fn malloc_usable_size(ptr: *mut c_void) -> usize;
}

/// What `ptr` takes in malloc's heap (0 for null).
fn held(ptr: *mut c_void) -> isize {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: `ptr` is live and came from malloc (directly, or through
    // `System`, which is malloc, posix_memalign or realloc on Linux).
    unsafe { malloc_usable_size(ptr) as isize + 8 }
}

// SAFETY: every call is forwarded to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let ptr = unsafe { System.alloc(layout) };
        LIVE.fetch_add(held(ptr.cast()), Ordering::Relaxed);
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(held(ptr.cast()), Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let before = held(ptr.cast());
        // SAFETY: the caller's contract is `System`'s.
        let grown = unsafe { System.realloc(ptr, layout, new_size) };
        if !grown.is_null() {
            LIVE.fetch_add(held(grown.cast()) - before, Ordering::Relaxed);
        }
        grown
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What tree-sitter's C code has live (its trees, parsers, query cursors), which
/// does not go through Rust's allocator: counted the same way.
static C_LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe extern "C" fn counted_malloc(size: usize) -> *mut c_void {
    // SAFETY: a plain libc call.
    let ptr = unsafe { malloc(size) };
    C_LIVE.fetch_add(held(ptr), Ordering::Relaxed);
    ptr
}

unsafe extern "C" fn counted_calloc(count: usize, size: usize) -> *mut c_void {
    // SAFETY: as above.
    let ptr = unsafe { calloc(count, size) };
    C_LIVE.fetch_add(held(ptr), Ordering::Relaxed);
    ptr
}

unsafe extern "C" fn counted_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    let before = held(ptr);
    // SAFETY: `ptr` comes from the functions above (tree-sitter's contract).
    let grown = unsafe { realloc(ptr, size) };
    if !grown.is_null() || size == 0 {
        C_LIVE.fetch_add(held(grown) - before, Ordering::Relaxed);
    }
    grown
}

unsafe extern "C" fn counted_free(ptr: *mut c_void) {
    C_LIVE.fetch_sub(held(ptr), Ordering::Relaxed);
    // SAFETY: as above.
    unsafe { free(ptr) };
}

fn live() -> isize {
    LIVE.load(Ordering::Relaxed) + C_LIVE.load(Ordering::Relaxed)
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

fn resident_kib(pid: u32) -> u64 {
    proc_kib(pid, "status", "VmRSS:")
}

/// Of the resident memory, what is anonymous (heap, stacks): the rest is
/// mapped from files (the executable's code, libc), shared and clean.
fn anonymous_kib(pid: u32) -> u64 {
    proc_kib(pid, "smaps_rollup", "Anonymous:")
}

/// Drops the executable's pages from the page cache, so that every server
/// starts from the disk as after a reboot, whatever earlier runs left. How a
/// page fault maps a program's code depends on how its file sits in the
/// cache (a fault maps a whole cached folio): a binary just copied measured
/// 5.8 MiB idle, the same file read back from the disk 5.5 MiB.
fn uncache(executable: &Path) {
    use std::os::fd::AsRawFd as _;
    if let Ok(file) = std::fs::File::open(executable) {
        // SAFETY: an advice on a file descriptor this function owns.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
}

/// With `AGENTLS_BENCH_SMAPS=DIR`, keeps the server's `/proc/<pid>/smaps` at a
/// reading as `DIR/<label>.smaps`: what each mapping (the executable's
/// segments, the heaps, the long-lived pool) holds resident.
fn keep_smaps(pid: u32, label: &str) {
    let Some(dir) = std::env::var_os("AGENTLS_BENCH_SMAPS") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let kept = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::copy(
            format!("/proc/{pid}/smaps"),
            dir.join(format!("{label}.smaps")),
        )
    });
    let resident = kept.and_then(|_| resident_pages(pid));
    let kept = resident.and_then(|pages| std::fs::write(dir.join(format!("{label}.pages")), pages));
    if let Err(error) = kept {
        panic!("AGENTLS_BENCH_SMAPS: {}: {error}", dir.display());
    }
}

/// The pages of the server's executable that are resident, one line per
/// mapping: its start address, its offset in the file, and the offsets
/// (from the mapping's start, in pages) of the pages present
/// (`/proc/<pid>/pagemap`, bit 63), to lay against the executable's symbols.
fn resident_pages(pid: u32) -> std::io::Result<String> {
    use std::fmt::Write as _;
    use std::os::unix::fs::FileExt as _;
    let executable = std::fs::read_link(format!("/proc/{pid}/exe"))?;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let pagemap = std::fs::File::open(format!("/proc/{pid}/pagemap"))?;
    let mut out = String::new();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || Path::new(fields[5]) != executable {
            continue;
        }
        let Some((start, end)) = fields[0].split_once('-') else {
            continue;
        };
        let parse = |hex: &str| u64::from_str_radix(hex, 16).unwrap_or(0);
        let (start, end, offset) = (parse(start), parse(end), parse(fields[2]));
        let pages = ((end - start) / 4096) as usize;
        let mut entries = vec![0u8; pages * 8];
        pagemap.read_exact_at(&mut entries, start / 4096 * 8)?;
        let _ = write!(out, "{start:x} {offset:x} {}", fields[1]);
        for (page, entry) in entries.chunks_exact(8).enumerate() {
            let entry = u64::from_le_bytes(entry.try_into().unwrap_or([0; 8]));
            if entry >> 63 == 1 {
                let _ = write!(out, " {page}");
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// The `field` line (in kB) of `/proc/<pid>/<file>`.
fn proc_kib(pid: u32, file: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).expect("proc file");
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/{file}"))
}

/// Samples a settled reading spans: 3 s at 250 ms, longer than the server's
/// 2 s between trims (`lsp/src/memory.rs`), so that a pause of the index
/// before the trim that follows it is not taken for the settled state.
const SETTLED_SAMPLES: usize = 12;

/// Resident memory once the server has gone quiet (the index is refreshed on a
/// debounce, in the background, and freed memory is trimmed every 2 s):
/// sampled every 250 ms until `SETTLED_SAMPLES` in a row are within 1 % of
/// each other, at most 60 s.
fn settled_kib(pid: u32) -> u64 {
    let started = Instant::now();
    let mut samples = vec![resident_kib(pid)];
    while started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(250));
        samples.push(resident_kib(pid));
        let last = &samples[samples.len().saturating_sub(SETTLED_SAMPLES)..];
        let (low, high) = (
            *last.iter().min().unwrap_or(&0),
            *last.iter().max().unwrap_or(&0),
        );
        if last.len() == SETTLED_SAMPLES && (high - low) * 100 <= high {
            break;
        }
    }
    *samples.last().unwrap_or(&0)
}

/// A source file to open: where it came from, its language id, its text.
struct Source {
    path: PathBuf,
    language_id: &'static str,
    text: String,
}

fn cargo_registry() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
    let mut registries: Vec<PathBuf> = std::fs::read_dir(cargo_home.join("registry").join("src"))
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    registries.sort();
    registries.into_iter().next()
}

/// The `name-version` of every package in the workspace's Cargo.lock: the
/// crates `cargo fetch` brings, whatever else the registry holds.
fn locked_crates() -> Vec<String> {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let text = std::fs::read_to_string(&lock)
        .unwrap_or_else(|error| panic!("{}: {error}", lock.display()));
    let quoted = |line: &str, key: &str| {
        line.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(" = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .map(str::to_string)
    };
    let mut crates = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(found) = quoted(line, "name") {
            name = Some(found);
        } else if let (Some(version), Some(name)) = (quoted(line, "version"), name.take()) {
            crates.push(format!("{name}-{version}"));
        }
    }
    crates
}

/// The Rust files of the registry's crates that Cargo.lock names, the crates
/// in name order and each crate's files in path order. Crates the registry
/// holds for other reasons (another checkout's build) are left out, so the
/// set is the same on every machine that ran `cargo fetch`.
fn registry_rust_files() -> Option<Vec<PathBuf>> {
    let registry = cargo_registry()?;
    let mut crates = locked_crates();
    crates.sort();
    let mut rust = Vec::new();
    for name in crates {
        files_under(&registry.join(name), "rs", &mut rust);
    }
    Some(rust)
}

/// Files under `dir` with extension `extension`, in path order, recursively.
fn files_under(dir: &Path, extension: &str, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, extension, found);
        } else if path.extension().is_some_and(|found| found == extension) {
            found.push(path);
        }
    }
}

/// Takes files from `paths` in order, 1 to 256 KiB of UTF-8 (what a person
/// opens, not generated tables), up to `count`.
fn take(paths: Vec<PathBuf>, language_id: &'static str, count: usize) -> Vec<Source> {
    paths
        .into_iter()
        .filter_map(|path| {
            let size = std::fs::metadata(&path).ok()?.len();
            if !(1024..=256 * 1024).contains(&size) {
                return None;
            }
            let text = std::fs::read_to_string(&path).ok()?;
            Some(Source {
                path,
                language_id,
                text,
            })
        })
        .take(count)
        .collect()
}

/// 1,000 real files: every TypeScript file of editors/vscode/src, 150 Python
/// files of the standard library, the rest Rust from the cargo registry
/// (`registry_rust_files`).
fn sources() -> Option<Vec<Source>> {
    let rust = registry_rust_files()?;
    let mut typescript = Vec::new();
    files_under(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode/src"),
        "ts",
        &mut typescript,
    );
    let mut sources = take(typescript, "typescript", 50);
    let mut python = Vec::new();
    for dir in ["/usr/lib/python3.11", "/usr/lib/python3"] {
        files_under(Path::new(dir), "py", &mut python);
        if !python.is_empty() {
            break;
        }
    }
    sources.extend(take(python, "python", 150));
    let wanted = 1000 - sources.len();
    sources.extend(take(rust, "rust", wanted));
    (sources.len() == 1000).then_some(sources)
}

/// 1,000 Rust files of 600 to 1,400 lines from the registry, in path order:
/// the shape of issue 13's own case (1,000 documents of 1,000 lines, 39 MB),
/// on which the process's fixed part weighs less than on the mixed set.
fn thousand_line_sources() -> Option<Vec<Source>> {
    let sources: Vec<Source> = registry_rust_files()?
        .into_iter()
        .filter_map(|path| {
            let size = std::fs::metadata(&path).ok()?.len();
            if size > 256 * 1024 {
                return None;
            }
            let text = std::fs::read_to_string(&path).ok()?;
            (600..=1400)
                .contains(&text.lines().count())
                .then_some(Source {
                    path,
                    language_id: "rust",
                    text,
                })
        })
        .take(1000)
        .collect();
    (sources.len() == 1000).then_some(sources)
}

fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The document budgets set for the server runs, in MiB; the defaults where
/// `None`.
struct Budgets {
    tree: Option<u64>,
    text: Option<u64>,
}

impl Budgets {
    fn from_env() -> Budgets {
        let mib = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|mib| mib.parse::<u64>().expect("a number of MiB"))
        };
        Budgets {
            tree: mib("AGENTLS_BENCH_TREE_BUDGET_MIB"),
            text: mib("AGENTLS_BENCH_TEXT_BUDGET_MIB"),
        }
    }

    /// `initializationOptions` setting them.
    fn options(&self) -> serde_json::Value {
        let mut documents = serde_json::Map::new();
        if let Some(mib) = self.tree {
            documents.insert("tree_budget_mib".into(), mib.into());
        }
        if let Some(mib) = self.text {
            documents.insert("text_budget_mib".into(), mib.into());
        }
        json!({ "documents": documents })
    }

    fn describe(&self) -> String {
        let one = |name: &str, mib: Option<u64>| match mib {
            Some(mib) => format!("{name} budget {mib} MiB"),
            None => format!("default {name} budget"),
        };
        format!("{}, {}", one("tree", self.tree), one("text", self.text))
    }
}

struct Server {
    child: std::process::Child,
    client: Client,
}

impl Server {
    fn start(budgets: &Budgets) -> Server {
        let server: PathBuf = std::env::var_os("AGENTLS_BENCH_SERVER")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_agentls").into())
            .into();
        uncache(&server);
        let mut command = Command::new(server);
        command
            .env("AGENTLS_LOG", "warn")
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .stderr(Stdio::null());
        // The server's log, to see malloc's own figures after each trim:
        // AGENTLS_BENCH_SERVER_LOG=/tmp/server.log (appended, at debug level).
        if let Some(log) = std::env::var_os("AGENTLS_BENCH_SERVER_LOG") {
            command
                .env("AGENTLS_LOG", "warn,agentls::memory=debug")
                .arg("--log-file")
                .arg(log);
        }
        let (child, client) = Client::start(command, budgets.options());
        Server { child, client }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn open_all(&mut self, sources: &[Source], plain: bool) {
        for source in sources {
            let language_id = if plain {
                "plaintext"
            } else {
                source.language_id
            };
            let uri = if plain {
                format!("{}.txt", uri_of(&source.path))
            } else {
                uri_of(&source.path)
            };
            self.client.send(&json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
                "textDocument": {"uri": uri, "languageId": language_id, "version": 1, "text": source.text}
            }}));
        }
        // Answered only once every notification before it is applied.
        self.client.request("agentls/barrier", json!({}));
    }

    fn stop(mut self) {
        self.client.request("shutdown", Value::Null);
        self.client.notify("exit", Value::Null);
        let _ = self.child.wait();
    }
}

/// Resident memory, all of it and the anonymous part, in KiB.
struct Reading {
    kib: u64,
    anonymous: u64,
}

impl Reading {
    fn settled(pid: u32) -> Reading {
        Reading {
            kib: settled_kib(pid),
            anonymous: anonymous_kib(pid),
        }
    }

    fn now(pid: u32) -> Reading {
        Reading {
            kib: resident_kib(pid),
            anonymous: anonymous_kib(pid),
        }
    }
}

/// The rows of one set of files in one server: opened; every file edited
/// once and `agent/context` on 10 of them; `later` seconds after that.
struct Rows {
    opened: Reading,
    edited: Reading,
    later: Reading,
}

impl Rows {
    /// `smaps` prefixes the names of the smaps kept (`AGENTLS_BENCH_SMAPS`).
    fn measure(server: &mut Server, sources: &[Source], later: u64, smaps: &str) -> Rows {
        server.open_all(sources, false);
        let opened = Reading::settled(server.pid());
        keep_smaps(server.pid(), &format!("{smaps}opened"));
        for (index, source) in sources.iter().enumerate() {
            let line = source.text.lines().count() as u32 / 2;
            server.client.send(&json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri_of(&source.path), "version": 2},
                "contentChanges": [{"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": format!("// edited {index}\n")}]
            }}));
        }
        for source in sources.iter().step_by(100) {
            let line = source.text.lines().count() as u32 / 3;
            let answer = server.client.request(
                "agent/context",
                json!({"uri": uri_of(&source.path), "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}}),
            );
            assert!(answer.get("result").is_some(), "agent/context: {answer}");
        }
        let edited = Reading::settled(server.pid());
        keep_smaps(server.pid(), &format!("{smaps}edited"));
        std::thread::sleep(Duration::from_secs(later));
        let after = Reading::now(server.pid());
        keep_smaps(server.pid(), &format!("{smaps}later"));
        Rows {
            opened,
            edited,
            later: after,
        }
    }

    #[allow(clippy::print_stdout)]
    fn print(&self, files: &str, text_bytes: usize, later: u64) {
        let row = |what: &str, reading: &Reading| {
            println!(
                "  {what}: {} = {:.2}x the text (anonymous {})",
                mib(reading.kib as f64 * 1024.0),
                reading.kib as f64 * 1024.0 / text_bytes as f64,
                mib(reading.anonymous as f64 * 1024.0)
            );
        };
        row(&format!("{files} open as source"), &self.opened);
        row(
            "  after every file edited once and agent/context on 10",
            &self.edited,
        );
        row(&format!("  {later} s later"), &self.later);
    }
}

#[allow(clippy::print_stdout)] // a benchmark's report goes to stdout
fn main() {
    let Some(sources) = sources() else {
        println!(
            "memory bench: fewer than 1,000 source files found (cargo registry sources under \
             $CARGO_HOME/registry/src, run `cargo fetch`); nothing measured"
        );
        return;
    };
    let text_bytes: usize = sources.iter().map(|source| source.text.len()).sum();
    let lines: usize = sources
        .iter()
        .map(|source| source.text.lines().count())
        .sum();
    let count = |id: &str| {
        sources
            .iter()
            .filter(|source| source.language_id == id)
            .count()
    };
    println!(
        "1,000 files: {} Rust, {} Python, {} TypeScript; {lines} lines, {} of text",
        count("rust"),
        count("python"),
        count("typescript"),
        mib(text_bytes as f64)
    );
    let budgets = Budgets::from_env();
    let later = std::env::var("AGENTLS_BENCH_LATER_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(60u64);
    let ratio = |kib: u64| kib as f64 * 1024.0 / text_bytes as f64;

    // The baseline: the same bytes as plain text.
    let mut plain = Server::start(&budgets);
    plain.open_all(&sources, true);
    let plain_kib = settled_kib(plain.pid());
    plain.stop();

    let mut server = Server::start(&budgets);
    let idle = Reading::settled(server.pid());
    keep_smaps(server.pid(), "idle");
    let mixed = Rows::measure(&mut server, &sources, later, "");
    server.stop();

    println!("server ({}), resident:", budgets.describe());
    println!(
        "  after initialize, no documents: {} (anonymous {})",
        mib(idle.kib as f64 * 1024.0),
        mib(idle.anonymous as f64 * 1024.0)
    );
    println!(
        "  the 1,000 files open as plaintext: {} = {:.2}x the text",
        mib(plain_kib as f64 * 1024.0),
        ratio(plain_kib)
    );
    mixed.print("the 1,000 files", text_bytes, later);

    match thousand_line_sources() {
        Some(long) => {
            let long_bytes: usize = long.iter().map(|source| source.text.len()).sum();
            let mut server = Server::start(&budgets);
            let rows = Rows::measure(&mut server, &long, later, "rust-");
            server.stop();
            rows.print(
                &format!(
                    "1,000 Rust files of 600 to 1,400 lines ({} of text)",
                    mib(long_bytes as f64)
                ),
                long_bytes,
                later,
            );
        }
        None => println!("  (fewer than 1,000 Rust files of 600 to 1,400 lines in the registry)"),
    }

    breakdown(&sources, text_bytes);
}

/// The live heap after each step of keeping the files open, in this process.
#[allow(clippy::print_stdout)]
fn breakdown(sources: &[Source], text_bytes: usize) {
    // SAFETY: set before this process's first tree-sitter call (the server
    // runs above were other processes); the functions are libc's, counted.
    unsafe {
        tree_sitter::set_allocator(
            Some(counted_malloc),
            Some(counted_calloc),
            Some(counted_realloc),
            Some(counted_free),
        );
    }
    let store = DocumentStore::with_background_reparse(None);
    let index = SharedIndex::new();
    let uris: Vec<Uri> = sources
        .iter()
        .map(|source| Uri::from_str(&uri_of(&source.path)).expect("uri"))
        .collect();
    let mut step = live();
    let mut report = |what: &str| {
        let now = live();
        println!(
            "  {what}: {} ({:.2}x the text)",
            mib((now - step) as f64),
            (now - step) as f64 / text_bytes as f64
        );
        step = now;
    };
    println!("in-process heap ({} of text):", mib(text_bytes as f64));
    for (source, uri) in sources.iter().zip(&uris) {
        store
            .open(uri.clone(), source.language_id, 1, source.text.clone())
            .expect("open");
    }
    let (packed, unpacked) = store.packed_bytes();
    report(&format!(
        "the store, texts as opened (zstd: {} hold {} of text; the rest ropes)",
        mib(packed as f64),
        mib(unpacked as f64)
    ));
    // Background reads from here on, as the server's index makes them, so
    // the texts stay packed; the edits below unpack them.
    let index_one = |uri: &Uri, source: &Source| {
        let snapshot = store.snapshot_unkept(uri).expect("open");
        let language = snapshot.language().expect("a known language");
        let text = snapshot.text().to_string();
        match snapshot.tree() {
            Some(tree) => index.update_from_tree(&source.path, language, &text, &tree),
            None => index.update_file(&source.path, language, &text),
        }
    };
    for uri in &uris {
        store.snapshot_unkept(uri).expect("open").tree();
    }
    report("trees of every document, parsed");
    for (source, uri) in sources.iter().zip(&uris) {
        index_one(uri, source);
    }
    report("the symbol index fed from every buffer");
    index_composition(&index);
    for (source, uri) in sources.iter().zip(&uris) {
        let line = source.text.lines().count() as u32 / 2;
        let at = Position::new(line, 0);
        store
            .change(
                uri,
                2,
                vec![TextDocumentContentChangeEvent {
                    range: Some(Range::new(at, at)),
                    range_length: None,
                    text: "// edited\n".to_string(),
                }],
            )
            .expect("change");
        store.snapshot(uri).expect("open").tree();
        index_one(uri, source);
    }
    report("every document edited once (its text a rope again), reparsed, re-indexed");
    drop(index);
    report("the index dropped");
    drop(store);
    report("the store dropped");
}

/// What the index holds, counted: how many of each symbol and the bytes of
/// the strings they carry (each its own heap allocation).
#[allow(clippy::print_stdout)]
fn index_composition(index: &SharedIndex) {
    let index = index.read();
    let (mut definitions, mut imports) = (0usize, 0usize);
    let (mut summaries, mut signatures, mut definition_names) = (0usize, 0usize, 0usize);
    let (mut words, mut word_bytes) = (0usize, 0usize);
    let (references, names_per_file) = index.n_references();
    let names = index.n_names();
    for path in index.paths() {
        let Some(symbols) = index.file(path) else {
            continue;
        };
        definitions += symbols.definitions.len();
        imports += symbols.imports.len();
        for definition in &symbols.definitions {
            summaries += definition.summary.as_deref().map_or(0, str::len);
            signatures += definition.signature.len();
            definition_names += definition.name.len();
        }
        for import in &symbols.imports {
            words += import.words.len();
            word_bytes += import.words.iter().map(|word| word.len()).sum::<usize>();
        }
    }
    println!(
        "    {names} distinct names; {definitions} definitions (names {}, signatures {}, summaries {}); \
         {references} references kept as uses ({names_per_file} distinct names per file, summed); \
         {imports} imports ({words} words, {})",
        mib(definition_names as f64),
        mib(signatures as f64),
        mib(summaries as f64),
        mib(word_bytes as f64),
    );
}
