//! Memory for what lives long, kept apart from what comes and goes.
//!
//! glibc's malloc places each small allocation best-fit in whatever hole it
//! finds. The server's long-lived data (the index's entries and name lists,
//! the packed texts, each document's record) is made in the middle of churn:
//! an edit or a sweep allocates it among the ropes, trees and scratch buffers
//! it frees a moment later. Each long-lived allocation then pins a page that
//! is otherwise free, and `malloc_trim` can return only whole free pages.
//! Measured on the memory bench's mixed set a minute after every file was
//! edited once: 9.2 MiB live in 31,328 allocations held 29.9 MiB of pages
//! (docs/benchmarks.md, "long-lived data in a pool of its own").
//!
//! So code that makes long-lived data runs it inside [`scope`], and the
//! server's global [`Allocator`] places what the scope allocates in a pool of
//! its own: one address range reserved at the first such allocation (pages
//! are touched only as they are used), managed by a two-level segregated fit
//! allocator (`rlsf`, O(1) and low fragmentation). Everything else goes to
//! the system allocator as before. A pointer is freed by whichever allocator
//! its address belongs to, so a scope's data may be dropped anywhere, and a
//! `Vec` made in a scope grows in the pool wherever it grows. When the pool
//! cannot serve (its range is full, or reserving it failed), the scope's
//! allocations go to the system allocator: nothing fails for want of it.
//!
//! [`release_free_pages`] hands the pool's free pages back to the system, as
//! `malloc_trim` does for malloc's (`lsp/src/memory.rs` calls both).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// Block sizes up to 8 GiB (`32 << 28`), with 32 size classes between
/// powers of two: a block is at most about 3 % larger than it needs to be.
type Tlsf = rlsf::Tlsf<'static, u32, u32, 28, 32>;

/// The address range reserved for the pool. Reserving costs no memory, only
/// address space: a page is backed when first written. Long-lived data past
/// this size goes to the system allocator.
const RESERVE_BYTES: usize = 1 << 30;

const PAGE: usize = 4096;

/// The bytes at the start of a free block that the pool's bookkeeping uses
/// (rlsf's free block header: size, previous block, two list links).
const FREE_HEADER_BYTES: usize = 32;

thread_local! {
    static IN_SCOPE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the allocations it makes on this thread placed in the
/// long-lived pool (when the server's [`Allocator`] is the global allocator;
/// otherwise it only runs `f`). For data that outlives the churn around it:
/// keep temporaries out of the scope where that is easy, since the pool
/// holds them until they are freed like anything else.
pub fn scope<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = IN_SCOPE.try_with(|flag| flag.set(self.0));
        }
    }
    let before = IN_SCOPE
        .try_with(|flag| flag.replace(true))
        .unwrap_or(false);
    let _restore = Restore(before);
    f()
}

fn in_scope() -> bool {
    IN_SCOPE.try_with(Cell::get).unwrap_or(false)
}

/// The server's global allocator: the system's, with [`scope`]'s
/// allocations in the long-lived pool.
pub struct Allocator;

/// The pool: its range (0..0 until reserved) and its allocator.
struct Pool {
    tlsf: Tlsf,
    /// The payload bytes handed out and not yet freed.
    in_use: usize,
    /// The start of the reserved range.
    start: usize,
    /// The end of the highest block ever handed out: pages above it were
    /// never touched.
    high: usize,
    state: Reservation,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reservation {
    NotYet,
    Reserved,
    Failed,
}

static POOL: Mutex<Pool> = Mutex::new(Pool::new());

/// The pool's range, readable without the lock: frees test every pointer
/// against it.
static START: AtomicUsize = AtomicUsize::new(0);
static END: AtomicUsize = AtomicUsize::new(0);

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An allocation from the global pool, which publishes its range for
/// [`owns`] once reserved.
fn allocate_long_lived(layout: Layout) -> Option<NonNull<u8>> {
    let mut pool = pool();
    let reserved = pool.state == Reservation::Reserved;
    let ptr = pool.allocate(layout);
    if !reserved && pool.state == Reservation::Reserved {
        // START before END: `owns` reads END first, and a reader that sees
        // the new END then sees the new START too. The other order would let
        // a reader pair START 0 with the new END and claim a system block.
        START.store(pool.start, Ordering::Release);
        END.store(pool.start + RESERVE_BYTES, Ordering::Release);
    }
    ptr
}

fn owns(ptr: *mut u8) -> bool {
    let address = ptr as usize;
    // END first (see `allocate_long_lived`): 0 until the range is published.
    let end = END.load(Ordering::Acquire);
    address < end && address >= START.load(Ordering::Acquire)
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            tlsf: Tlsf::new(),
            in_use: 0,
            start: 0,
            high: 0,
            state: Reservation::NotYet,
        }
    }

    /// Reserves the range on first use. False when the pool cannot serve.
    fn ready(&mut self) -> bool {
        match self.state {
            Reservation::Reserved => true,
            Reservation::Failed => false,
            Reservation::NotYet => {
                self.state = match reserve(RESERVE_BYTES) {
                    Some(range) => {
                        // SAFETY: the range was just mapped for the pool alone
                        // and is never unmapped, so it outlives `tlsf`.
                        unsafe { self.tlsf.insert_free_block_ptr(range) };
                        self.start = range.as_ptr() as *mut u8 as usize;
                        self.high = self.start;
                        Reservation::Reserved
                    }
                    None => Reservation::Failed,
                };
                self.state == Reservation::Reserved
            }
        }
    }

    fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        if !self.ready() {
            return None;
        }
        let ptr = self.tlsf.allocate(layout)?;
        self.in_use += layout.size();
        self.high = self.high.max(ptr.as_ptr() as usize + layout.size());
        Some(ptr)
    }

    /// # Safety
    /// `ptr` was allocated by this pool with `layout` and not freed.
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        self.in_use -= layout.size();
        // SAFETY: upheld by the caller.
        unsafe { self.tlsf.deallocate(ptr, layout.align()) };
    }

    /// # Safety
    /// `ptr` was allocated by this pool with `layout` and not freed.
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Option<NonNull<u8>> {
        let new_layout = Layout::from_size_align(new_size, layout.align()).ok()?;
        // SAFETY: upheld by the caller; the alignment is the same.
        let moved = unsafe { self.tlsf.reallocate(ptr, new_layout) }?;
        self.in_use = self.in_use - layout.size() + new_size;
        self.high = self.high.max(moved.as_ptr() as usize + new_size);
        Some(moved)
    }
}

/// Maps `len` bytes of address space, read-write, without reserving swap for
/// them: a page costs memory only once it is written.
fn reserve(len: usize) -> Option<NonNull<[u8]>> {
    #[cfg(unix)]
    {
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing; no existing memory is touched.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return None;
        }
        NonNull::new(std::ptr::slice_from_raw_parts_mut(address as *mut u8, len))
    }
    #[cfg(not(unix))]
    {
        let _ = len;
        None
    }
}

// SAFETY: every pointer is freed or resized by the allocator that made it
// (the pool owns exactly the addresses in its reserved range), and the pool's
// allocator is only used under its lock.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if in_scope() {
            if let Some(ptr) = allocate_long_lived(layout) {
                return ptr.as_ptr();
            }
        }
        // SAFETY: the caller's layout has a non-zero size.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if in_scope() {
            if let Some(ptr) = allocate_long_lived(layout) {
                // SAFETY: the block holds `layout.size()` bytes; a reused
                // block is not zeroed by the pool.
                unsafe { ptr.as_ptr().write_bytes(0, layout.size()) };
                return ptr.as_ptr();
            }
        }
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match NonNull::new(ptr) {
            // SAFETY: the pool made every pointer in its range.
            Some(block) if owns(ptr) => unsafe { pool().deallocate(block, layout) },
            // SAFETY: the system allocator made every other pointer.
            _ => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(block) = NonNull::new(ptr).filter(|_| owns(ptr)) else {
            // SAFETY: the system allocator made it.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        let mut pool = pool();
        // SAFETY: the pool made it, with `layout`.
        if let Some(moved) = unsafe { pool.reallocate(block, layout, new_size) } {
            return moved.as_ptr();
        }
        // The pool is full: the block moves to the system allocator.
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: a non-zero size, as `realloc`'s caller guarantees.
        let moved = unsafe { System.alloc(new_layout) };
        if !moved.is_null() {
            // SAFETY: both blocks hold at least the bytes copied, and are
            // distinct; then the old block, made by the pool, is freed.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                pool.deallocate(block, layout);
            }
        }
        moved
    }
}

/// What the pool holds, for the memory log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolUse {
    /// Bytes allocated in the pool and not freed.
    pub in_use: usize,
    /// Bytes of the pool's range up to the highest block ever handed out:
    /// what it could have touched.
    pub span: usize,
    /// Bytes of whole free pages handed back by this call (see
    /// [`release_free_pages`]); pages handed back before and still free
    /// count again.
    pub released: usize,
}

/// Hands the pool's free pages back to the system: every whole page inside a
/// free block, past the block's header. They read as zeros when used again.
/// Costs a walk of the pool's blocks, under its lock.
pub fn release_free_pages() -> PoolUse {
    pool().release_free_pages()
}

impl Pool {
    fn release_free_pages(&mut self) -> PoolUse {
        let mut released = 0;
        if self.state == Reservation::Reserved {
            let range = NonNull::new(std::ptr::slice_from_raw_parts_mut(
                self.start as *mut u8,
                RESERVE_BYTES,
            ))
            .expect("a reserved range is not null");
            let touched_end = self.high.next_multiple_of(PAGE);
            // SAFETY: `range` is the one block handed to the pool, and
            // `&mut self` keeps the blocks still while they are walked.
            let blocks = unsafe { self.tlsf.iter_blocks(range) };
            for block in blocks.filter(|block| !block.is_occupied()) {
                let from = block.as_ptr().as_ptr() as *mut u8 as usize;
                let to = (from + block.size()).min(touched_end);
                let first = (from + FREE_HEADER_BYTES).next_multiple_of(PAGE);
                let last = to / PAGE * PAGE;
                if last > first {
                    // SAFETY: the pages lie inside a free block of the pool,
                    // past its header: nothing reads them until the pool
                    // hands them out again, and then they read as zeros.
                    unsafe {
                        libc::madvise(
                            first as *mut libc::c_void,
                            last - first,
                            libc::MADV_DONTNEED,
                        );
                    }
                    released += last - first;
                }
            }
        }
        PoolUse {
            in_use: self.in_use,
            span: self.high - self.start,
            released,
        }
    }
}

/// Whether `ptr` is in the long-lived pool.
pub fn holds(ptr: *const u8) -> bool {
    owns(ptr as *mut u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The core crate's tests run with the server's allocator, so every test
    // of the index exercises the pool too.
    #[global_allocator]
    static ALLOCATOR: Allocator = Allocator;

    fn resident_pages(from: usize, len: usize) -> usize {
        let pages = len / PAGE;
        let mut flags = vec![0u8; pages];
        // SAFETY: `from..from + len` is inside the pool's mapping, page aligned.
        let status = unsafe { libc::mincore(from as *mut libc::c_void, len, flags.as_mut_ptr()) };
        assert_eq!(status, 0, "mincore on the pool's range");
        flags.iter().filter(|flag| **flag & 1 == 1).count()
    }

    #[test]
    fn a_scope_places_its_allocations_in_the_pool_and_nothing_else() {
        let outside: Vec<u8> = std::iter::repeat_n(7, 100).collect();
        let inside = scope(|| vec![9u8; 100]);
        let nested = scope(|| scope(|| Box::new(5u64)));
        let after: Vec<u8> = std::iter::repeat_n(1, 100).collect();
        assert!(holds(inside.as_ptr()));
        assert!(holds(&*nested as *const u64 as *const u8));
        assert!(!holds(outside.as_ptr()));
        assert!(!holds(after.as_ptr()), "the scope ended");
        assert_eq!(inside, vec![9u8; 100]);
    }

    #[test]
    fn a_vec_made_in_a_scope_grows_in_the_pool_and_keeps_its_contents() {
        let mut grown = scope(|| Vec::with_capacity(4));
        for value in 0..100_000u32 {
            grown.push(value);
        }
        assert!(holds(grown.as_ptr() as *const u8));
        assert!(grown.iter().copied().eq(0..100_000u32));
        grown.shrink_to_fit();
        assert!(grown.iter().copied().eq(0..100_000u32));
        let zeroed: Vec<u64> = scope(|| vec![0; 10_000]);
        assert!(holds(zeroed.as_ptr() as *const u8));
        assert!(zeroed.iter().all(|value| *value == 0));
    }

    #[test]
    fn freed_pages_go_back_to_the_system_and_live_data_stays() {
        // A pool of the test's own, so no other test allocates in it.
        let mut pool = Pool::new();
        let layout = Layout::from_size_align(64 * 1024, 8).unwrap();
        // 64 blocks of 64 KiB written, then every other one freed: each freed
        // block spans whole pages that nothing else uses.
        let blocks: Vec<NonNull<u8>> = (0..64u8)
            .map(|index| {
                let block = pool.allocate(layout).expect("the pool has room");
                // SAFETY: the block holds 64 KiB.
                unsafe { block.as_ptr().write_bytes(index, layout.size()) };
                block
            })
            .collect();
        assert_eq!(pool.in_use, 64 * layout.size());
        let first = pool.start;
        let span = pool.high.next_multiple_of(PAGE) - first;
        let before = resident_pages(first, span);
        assert!(before >= 64 * 16, "{before} pages resident");
        for block in blocks.iter().step_by(2) {
            // SAFETY: made by this pool with `layout`, freed once.
            unsafe { pool.deallocate(*block, layout) };
        }
        let used = pool.release_free_pages();
        assert_eq!(used.in_use, 32 * layout.size());
        assert!(
            used.released >= 32 * 60 * 1024,
            "released {} bytes",
            used.released
        );
        let after = resident_pages(first, span);
        assert!(
            after + 32 * 15 <= before,
            "resident pages before {before}, after {after}"
        );
        for (index, block) in blocks.iter().enumerate().skip(1).step_by(2) {
            // SAFETY: still allocated, 64 KiB long.
            let bytes = unsafe { std::slice::from_raw_parts(block.as_ptr(), layout.size()) };
            assert!(
                bytes.iter().all(|byte| *byte == index as u8),
                "block {index} kept"
            );
        }
        // Released pages serve again.
        for _ in 0..32 {
            let block = pool.allocate(layout).expect("the pool has room");
            // SAFETY: the block holds 64 KiB.
            let bytes = unsafe { std::slice::from_raw_parts_mut(block.as_ptr(), layout.size()) };
            bytes.fill(3);
            assert!(bytes.iter().all(|byte| *byte == 3));
        }
    }
}
