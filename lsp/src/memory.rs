//! Giving freed memory back to the system. glibc's malloc keeps what is freed
//! for reuse: a syntax tree dropped by the tree budget (`document/budget.rs`) or
//! with a closed document stays resident, in the arena of the thread that
//! parsed it (the blocking pool's threads and the reparse thread each get one).
//! So the server caps the arenas at start, and a background task returns free
//! pages with `malloc_trim` after trees went, at most once per `TRIM_EVERY`,
//! and the free pages of the long-lived pool (`agentls_core::long_lived`).
//! Elsewhere than glibc, the arena cap and `malloc_trim` are no-ops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often, at most, freed memory is handed back: a trim walks every arena,
/// which costs a few milliseconds with a thousand files open, so not after each
/// eviction.
const TRIM_EVERY: Duration = Duration::from_secs(2);

/// Malloc arenas: one per core of this 2-core target is plenty for a server
/// whose threads mostly wait, and fewer arenas hold fewer freed pages.
const MAX_ARENAS: i32 = 2;

/// Blocks from this size up are mapped on their own and unmapped when freed;
/// the free top of an arena past it is handed back at once. glibc's default
/// is the same 128 KiB, but it raises both as large blocks are freed (up to
/// 32 MiB), and `malloc_trim` does not shrink the top of the arenas other
/// threads use: after the index read a thousand files on the blocking
/// threads, their free tops stayed resident. Setting them keeps them fixed.
const MAP_ALONE_BYTES: i32 = 128 * 1024;

static FREED: AtomicBool = AtomicBool::new(false);

/// The glibc tunable that turns off its per-thread caches of freed blocks.
/// Each thread keeps up to 7 freed blocks of each of 64 sizes for itself;
/// the blocks count as in use, so they are never merged with their free
/// neighbours nor trimmed, and after the churn of a thousand documents,
/// the caches of a dozen threads pinned several MiB of otherwise free
/// pages (docs/benchmarks.md). They cost a keystroke about 8 % (didChange
/// on a 100,000-line file: 4.2 µs against 3.9 µs, medians), and the
/// codeAction round trip nothing measurable.
const NO_THREAD_CACHES: &str = "glibc.malloc.tcache_count=0";

/// Set by the server for the copy of itself it re-executes: what
/// `GLIBC_TUNABLES` was before (`=value`), or empty when it was not set.
const TUNABLES_BEFORE: &str = "AGENTLS_GLIBC_TUNABLES_BEFORE";

/// Runs the server with glibc's per-thread caches off. glibc reads its
/// tunables from the environment when the process starts, so the first time
/// round this executes the server again (`std::env::current_exe`, the same
/// arguments, the same process) with `NO_THREAD_CACHES` added to
/// `GLIBC_TUNABLES`; the second time round it puts `GLIBC_TUNABLES` back as
/// the user had it, so the commands and servers agentls starts get the
/// environment it was given. Nothing happens when the user's own
/// `GLIBC_TUNABLES` sets the caches' count, or when the executable cannot be
/// executed again (the server then runs with the caches). Call first thing
/// in `main`, while the process has one thread: it changes the environment.
pub fn without_thread_caches() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt as _;
        if let Some(before) = std::env::var_os(TUNABLES_BEFORE) {
            // SAFETY (edition 2021: safe functions, but the same rule holds):
            // the process has one thread, so nothing reads the environment
            // while it changes.
            std::env::remove_var(TUNABLES_BEFORE);
            match before.to_str().and_then(|before| before.strip_prefix('=')) {
                Some(value) => std::env::set_var("GLIBC_TUNABLES", value),
                None => std::env::remove_var("GLIBC_TUNABLES"),
            }
            return;
        }
        let user = std::env::var("GLIBC_TUNABLES").ok();
        if user
            .as_deref()
            .is_some_and(|tunables| tunables.contains("glibc.malloc.tcache_count"))
        {
            return;
        }
        let tunables = match &user {
            Some(tunables) if !tunables.is_empty() => format!("{tunables}:{NO_THREAD_CACHES}"),
            _ => NO_THREAD_CACHES.to_string(),
        };
        let mut arguments = std::env::args_os();
        let Some(name) = arguments.next() else {
            return;
        };
        // The executable's path, not `/proc/self/exe` itself: under valgrind
        // or an emulator, that link names the tool, which the path read from
        // it does not.
        let Ok(executable) = std::env::current_exe() else {
            return;
        };
        // Returns only when the exec failed: run on as we are.
        let _ = std::process::Command::new(executable)
            .arg0(name)
            .args(arguments)
            .env("GLIBC_TUNABLES", tunables)
            .env(
                TUNABLES_BEFORE,
                user.map(|user| format!("={user}")).unwrap_or_default(),
            )
            .exec();
    }
}

/// Caps malloc's arenas and fixes its thresholds. Call before the runtime
/// starts its threads.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and changes a malloc tunable; it is
    // called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MAX_ARENAS);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MAP_ALONE_BYTES);
        libc::mallopt(libc::M_TRIM_THRESHOLD, MAP_ALONE_BYTES);
    }
}

/// Something large (a tree, a document) was freed: trim at the next round.
pub(crate) fn note_freed() {
    FREED.store(true, Ordering::Relaxed);
}

/// Trims after frees, every `TRIM_EVERY` at most, for as long as the server runs.
pub(crate) async fn trim_after_frees() {
    let mut every = tokio::time::interval(TRIM_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if FREED.swap(false, Ordering::Relaxed) {
            // A trim takes milliseconds: off the async threads.
            let _ = tokio::task::spawn_blocking(trim).await;
        }
    }
}

fn trim() {
    let pool = agentls_core::long_lived::release_free_pages();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory malloc holds, and
    // mallinfo2 only reads its counters; both take the arenas' locks themselves.
    unsafe {
        libc::malloc_trim(0);
        if tracing::enabled!(tracing::Level::DEBUG) {
            let info = libc::mallinfo2();
            tracing::debug!(
                in_use_kib = (info.uordblks + info.hblkhd) / 1024,
                free_held_kib = info.fordblks / 1024,
                long_lived_in_use_kib = pool.in_use / 1024,
                long_lived_span_kib = pool.span / 1024,
                long_lived_released_kib = pool.released / 1024,
                "malloc after a trim"
            );
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    tracing::debug!(
        long_lived_in_use_kib = pool.in_use / 1024,
        long_lived_released_kib = pool.released / 1024,
        "long-lived pool after a trim"
    );
}
