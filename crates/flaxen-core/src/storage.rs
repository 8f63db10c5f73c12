//! `Storage`: the one heap block behind a tensor. 64-byte aligned so SIMD kernels and JS typed
//! arrays (which need element alignment) can both use it in place. A global counter of live
//! bytes lets the binding report native memory to V8 (`napi_adjust_external_memory`).
//!
//! Blocks are recycled instead of going back to the allocator on every drop:
//! * large ones (≥ `POOL_MIN`) because a fresh multi-megabyte allocation costs page faults (the
//!   OS maps and zeroes every page on first touch), several times the cost of the kernel that
//!   fills it. They go to a process-wide pool capped at `POOL_CAP` bytes;
//! * small ones because an aligned `malloc`/`free` pair (plus the heap trimming it triggers)
//!   is a large share of a tiny op. They go to a per-thread cache capped at `SMALL_CAP` bytes.
//!
//! Capacities are rounded up to size classes (four per power of two, 64 bytes at least), and a
//! block returns to its class's free list when its `Storage` drops — i.e. when the last `Arc`
//! goes, which includes the `Arc`s held by JS zero-copy views. A zeroed allocation served from
//! a free list is cleared with memset; an uninitialised one is not (its kernel writes every
//! byte, as with a fresh `malloc`).
//!
//! Blocks of 4 MiB and more are mappings of their own with transparent huge pages
//! (`hugepages.rs`): first touch of fresh memory is then ~30× faster on this class of machine.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::hugepages;

/// Alignment of every storage: one cache line, enough for AVX-512 loads.
pub const ALIGN: usize = 64;

/// Smallest block that goes to the process-wide pool (smaller ones use the thread cache).
pub const POOL_MIN: usize = 64 << 10;
/// Most bytes the process-wide pool keeps; blocks freed beyond it go back to the allocator.
pub const POOL_CAP: usize = 160 << 20;
/// Most bytes each thread's cache of small blocks keeps.
pub const SMALL_CAP: usize = 4 << 20;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

/// Largest byte cap accepted: size classes round up to 1.25× and must stay within `isize::MAX`.
pub const MAX_BYTES_LIMIT: usize = 1 << 62;

/// The byte cap; 0 until first read (then the default or `FLAXEN_MAX_BYTES`).
static MAX_BYTES: AtomicUsize = AtomicUsize::new(0);

/// The default cap: the machine's physical memory where we can read it (a single buffer larger
/// than RAM cannot be useful), else `MAX_BYTES_LIMIT` (the allocator's refusal still errors).
pub fn default_max_bytes() -> usize {
    physical_memory().unwrap_or(MAX_BYTES_LIMIT).min(MAX_BYTES_LIMIT)
}

fn physical_memory() -> Option<usize> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Parses a byte count: a positive integer, optionally with a binary suffix K, M, G or T
/// (`"512M"`). E_ARG naming `what` otherwise, or if above `MAX_BYTES_LIMIT`.
pub fn parse_bytes(text: &str, what: &str) -> Result<usize> {
    let t = text.trim();
    let (digits, shift) = match t.as_bytes().last().map(|b| b.to_ascii_uppercase()) {
        Some(b'K') => (&t[..t.len() - 1], 10),
        Some(b'M') => (&t[..t.len() - 1], 20),
        Some(b'G') => (&t[..t.len() - 1], 30),
        Some(b'T') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let bad = || {
        Error::arg(format!(
            "{what}: expected a positive number of bytes up to 2^62 (optionally with K, M, G or T), got {text:?}"
        ))
    };
    let n: usize = digits.parse().map_err(|_| bad())?;
    let n = n.checked_mul(1usize << shift).ok_or_else(bad)?;
    if n == 0 || n > MAX_BYTES_LIMIT {
        return Err(bad());
    }
    Ok(n)
}

/// The cap from `FLAXEN_MAX_BYTES`, if set (E_ARG if it is not a byte count).
pub fn max_bytes_from_env() -> Result<Option<usize>> {
    match std::env::var("FLAXEN_MAX_BYTES") {
        Ok(v) => parse_bytes(&v, "FLAXEN_MAX_BYTES").map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::arg("FLAXEN_MAX_BYTES: expected a byte count, got non-UTF-8 text")),
    }
}

/// Largest single storage the core will allocate, in bytes. Reads `FLAXEN_MAX_BYTES` on first
/// use (an unparsable value is ignored here; the binding reports it when it loads).
pub fn max_bytes() -> usize {
    let cap = MAX_BYTES.load(Ordering::Relaxed);
    if cap != 0 {
        return cap;
    }
    let cap = max_bytes_from_env().ok().flatten().unwrap_or_else(default_max_bytes);
    // Another thread may have set it meanwhile: keep theirs.
    match MAX_BYTES.compare_exchange(0, cap, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => cap,
        Err(current) => current,
    }
}

/// Sets the byte cap (E_ARG unless 1 ..= `MAX_BYTES_LIMIT`).
pub fn set_max_bytes(bytes: usize) -> Result<()> {
    if bytes == 0 || bytes > MAX_BYTES_LIMIT {
        return Err(Error::arg(format!("maxBytes: expected 1 ..= 2^62 bytes, got {bytes}")));
    }
    MAX_BYTES.store(bytes, Ordering::Relaxed);
    Ok(())
}

/// E_ALLOC unless `count` elements of `elem_size` bytes fit the byte cap (checked arithmetic:
/// an overflowing product is refused too). `what` names the request in the message.
pub fn check_alloc(count: usize, elem_size: usize, what: &str) -> Result<()> {
    let cap = max_bytes();
    match count.checked_mul(elem_size) {
        Some(n) if n <= cap => Ok(()),
        Some(n) => Err(over_cap(n, cap, what)),
        None => Err(Error::alloc(format!(
            "{what}: {count} elements of {elem_size} bytes overflow the address space (byte cap {cap})"
        ))),
    }
}

fn over_cap(bytes: usize, cap: usize, what: &str) -> Error {
    Error::alloc(format!(
        "{what}: needs {bytes} bytes, more than the byte cap of {cap} bytes (set it with \
         FLAXEN_MAX_BYTES or setMaxBytes)"
    ))
}

/// Panic payload of an infallible allocation that failed (see the module docs): the binding
/// catches it and throws the error it carries.
#[derive(Debug)]
pub struct AllocFailure(pub Error);

/// Bytes currently held by all live `Storage`s (allocation adds, drop subtracts). Free blocks
/// kept for reuse are not live.
pub fn live_bytes() -> i64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Free blocks by size class (addresses; every block of class i has capacity `class_cap(i)`).
#[derive(Default)]
struct FreeLists {
    free: Vec<Vec<usize>>,
    bytes: usize,
}

impl FreeLists {
    fn pop(&mut self, idx: usize) -> Option<usize> {
        let block = self.free.get_mut(idx).and_then(|l| l.pop());
        if block.is_some() {
            self.bytes -= class_cap(idx);
        }
        block
    }

    /// Keeps the block, within `cap` bytes; false if not kept. When full, blocks of other
    /// classes are given back to the allocator to make room (largest share first): the block
    /// just freed is the size the program uses now, while a pool left full of another size
    /// (say, by an earlier phase's garbage) would otherwise send every large block of the new
    /// phase back to the OS and fault its pages in again on the next allocation.
    fn push(&mut self, idx: usize, addr: usize, cap: usize) -> bool {
        let size = class_cap(idx);
        let same = self.free.get(idx).map_or(0, |l| l.len() * size);
        if same + size > cap {
            return false; // even without every other class it would not fit
        }
        while self.bytes + size > cap {
            let Some(victim) = self.fullest_other(idx) else { return false };
            let old = self.free[victim].pop().expect("fullest_other picks a non-empty class");
            self.bytes -= class_cap(victim);
            // SAFETY: listed blocks were allocated by `block_alloc` with their class capacity,
            // and are owned by the list alone (just removed).
            unsafe { block_free(old, class_cap(victim)) };
        }
        if self.free.len() <= idx {
            self.free.resize_with(idx + 1, Vec::new);
        }
        self.free[idx].push(addr);
        self.bytes += size;
        true
    }

    /// The class other than `idx` whose free blocks hold the most bytes (None if all empty).
    fn fullest_other(&self, idx: usize) -> Option<usize> {
        (0..self.free.len())
            .filter(|&i| i != idx && !self.free[i].is_empty())
            .max_by_key(|&i| self.free[i].len() * class_cap(i))
    }

    /// Gives every block back to the allocator.
    fn release(&mut self) {
        for (i, list) in self.free.iter_mut().enumerate() {
            for addr in list.drain(..) {
                // SAFETY: listed blocks were allocated by `block_alloc` with their class
                // capacity, and are owned by the list alone (just removed).
                unsafe { block_free(addr, class_cap(i)) };
            }
        }
        self.bytes = 0;
    }
}

static POOL: Mutex<FreeLists> = Mutex::new(FreeLists { free: Vec::new(), bytes: 0 });

fn pool() -> std::sync::MutexGuard<'static, FreeLists> {
    // The lists stay consistent even if a holder panicked (no code between a list update and
    // the byte count can panic), so a poisoned lock is still usable.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// This thread's cache of small blocks; gives them back to the allocator when the thread ends.
struct SmallCache(FreeLists);

impl Drop for SmallCache {
    fn drop(&mut self) {
        self.0.release();
    }
}

thread_local! {
    static SMALL: RefCell<SmallCache> = RefCell::new(SmallCache(FreeLists::default()));
}

/// A plan's own free blocks (its static memory plan): while a plan runs on a thread with its
/// arena installed (`Arena::install`), storages it allocates come from the arena first and
/// storages dropped on that thread (its intermediates, freed after their last use) go back to
/// it. The next run of the plan then finds every intermediate block it needs: in steady state
/// only its outputs, which leave with the caller, are allocated anew.
#[derive(Default)]
pub struct Arena {
    lists: FreeLists,
    /// Allocations of the last installed run that the arena could not serve.
    misses: usize,
}

/// Most bytes one arena keeps.
pub const ARENA_CAP: usize = 512 << 20;

thread_local! {
    static ARENA: RefCell<Option<Arena>> = const { RefCell::new(None) };
}

impl Arena {
    /// Runs `f` with this arena serving and taking this thread's storages.
    pub fn install<R>(&mut self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a mut Arena, Option<Arena>);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                // Put the arena back and the outer one (if any) in place, even on a panic.
                if let Ok(Some(a)) = ARENA.try_with(|c| c.replace(self.1.take())) {
                    *self.0 = a;
                }
            }
        }
        let mut me = std::mem::take(self);
        me.misses = 0;
        let outer = ARENA.with(|c| c.replace(Some(me)));
        let _restore = Restore(self, outer);
        f()
    }

    /// Allocations the last run made outside the arena (its outputs, in steady state).
    pub fn misses(&self) -> usize {
        self.misses
    }

    /// Bytes of free blocks the arena holds.
    pub fn bytes(&self) -> usize {
        self.lists.bytes
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        self.lists.release();
    }
}

/// Takes a block of class `idx` from this thread's installed arena (counting a miss if none).
fn arena_pop(idx: usize) -> Option<Option<usize>> {
    ARENA
        .try_with(|c| {
            let mut c = c.borrow_mut();
            let a = c.as_mut()?;
            let got = a.lists.pop(idx);
            if got.is_none() {
                a.misses += 1;
            }
            Some(got)
        })
        .ok()
        .flatten()
}

/// Gives a block to this thread's installed arena; false if there is none or it is full.
fn arena_push(idx: usize, addr: usize) -> bool {
    ARENA
        .try_with(|c| c.borrow_mut().as_mut().is_some_and(|a| a.lists.push(idx, addr, ARENA_CAP)))
        .unwrap_or(false)
}

/// Bytes held by the process-wide pool's free blocks.
pub fn pool_bytes() -> usize {
    pool().bytes
}

/// Returns every block of the process-wide pool and of this thread's cache to the allocator.
pub fn trim_pool() {
    pool().release();
    let _ = SMALL.try_with(|c| c.borrow_mut().0.release());
}

/// Size class of a request: (class index, capacity ≥ len). Classes are 64 bytes, then
/// 2^e·(1 + q/4) for e ≥ 6, q < 4.
fn class_of(len: usize) -> (usize, usize) {
    if len <= ALIGN {
        return (0, ALIGN);
    }
    let e = (usize::BITS - 1 - len.leading_zeros()) as usize;
    let step = 1usize << (e - 2);
    let q = (len - (1 << e)).div_ceil(step);
    let idx = (e - 6) * 4 + q;
    (idx, class_cap(idx))
}

fn class_cap(idx: usize) -> usize {
    let e = idx / 4 + 6;
    (1 << e) + (idx % 4) * (1 << (e - 2))
}

/// A fresh block of `cap` bytes (a size-class capacity), 64-byte aligned; zeroed if asked (large
/// blocks are fresh mappings, zero already). None if the system refused it.
fn block_alloc(cap: usize, zeroed: bool) -> Option<NonNull<u8>> {
    if cap >= hugepages::MIN {
        return hugepages::alloc(cap);
    }
    let layout = Storage::layout(cap);
    // SAFETY: layout has non-zero size (cap ≥ ALIGN).
    NonNull::new(unsafe { if zeroed { alloc::alloc_zeroed(layout) } else { alloc::alloc(layout) } })
}

/// Gives a block back to the system.
///
/// # Safety
/// `addr` must be a block from `block_alloc(cap, _)` that nothing uses any more.
unsafe fn block_free(addr: usize, cap: usize) {
    let ptr = NonNull::new(addr as *mut u8).expect("blocks are non-null");
    // SAFETY: the caller's contract; each branch matches the one `block_alloc` took for `cap`.
    unsafe {
        if cap >= hugepages::MIN {
            hugepages::free(ptr, cap)
        } else {
            alloc::dealloc(ptr.as_ptr(), Storage::layout(cap))
        }
    }
}

pub struct Storage {
    ptr: NonNull<u8>,
    len: usize,
    /// Allocated bytes (the size-class capacity; 0 for an empty storage).
    cap: usize,
    /// Set once JS may write the bytes through a zero-copy view (see `mark_exposed`).
    exposed: AtomicBool,
    /// For bytes the storage borrows rather than owns (a private file mapping): what keeps them
    /// alive. Such a storage has `cap` 0, so it is never pooled, freed or counted as live bytes.
    keeper: Option<Arc<dyn Send + Sync>>,
}

// SAFETY: the block is plain bytes with no interior pointers or thread affinity. Concurrent
// writes only happen inside a kernel that owns the (fresh, not yet shared) output exclusively;
// once shared through `Arc` the core only reads it. JS may write through a zero-copy view, but
// only on the JS thread and never while a kernel runs (calls into the core are synchronous).
unsafe impl Send for Storage {}
unsafe impl Sync for Storage {}

impl Storage {
    fn layout(len: usize) -> Layout {
        Layout::from_size_align(len, ALIGN).expect("storage size overflows isize")
    }

    /// An infallible allocation: a refusal unwinds with `AllocFailure` (see the module docs).
    fn alloc(len: usize, zeroed: bool) -> Storage {
        Self::try_alloc(len, zeroed).unwrap_or_else(|e| std::panic::panic_any(AllocFailure(e)))
    }

    fn try_alloc(len: usize, zeroed: bool) -> Result<Storage> {
        let exposed = AtomicBool::new(false);
        if len == 0 {
            // No allocation: an aligned dangling pointer is valid for zero-length slices.
            let ptr = NonNull::new(std::ptr::without_provenance_mut::<u8>(ALIGN)).unwrap();
            return Ok(Storage { ptr, len, cap: 0, exposed, keeper: None });
        }
        let limit = max_bytes();
        if len > limit {
            return Err(over_cap(len, limit, "allocation"));
        }
        let (idx, cap) = class_of(len);
        let from_arena = arena_pop(idx);
        let reused = if let Some(Some(addr)) = from_arena {
            Some(addr)
        } else if cap >= POOL_MIN {
            pool().pop(idx)
        } else {
            SMALL.try_with(|c| c.borrow_mut().0.pop(idx)).ok().flatten()
        };
        LIVE_BYTES.fetch_add(len as i64, Ordering::Relaxed);
        if let Some(addr) = reused {
            let ptr = NonNull::new(addr as *mut u8).expect("free-listed blocks are non-null");
            if zeroed {
                // SAFETY: the block has cap ≥ len writable bytes and is owned by us alone.
                unsafe { std::ptr::write_bytes(ptr.as_ptr(), 0, len) };
            }
            return Ok(Storage { ptr, len, cap, exposed, keeper: None });
        }
        let Some(ptr) = block_alloc(cap, zeroed) else {
            // Refused by the allocator (not by the cap): an error, not `handle_alloc_error`,
            // which aborts the process.
            LIVE_BYTES.fetch_sub(len as i64, Ordering::Relaxed);
            return Err(Error::alloc(format!("allocation: the system allocator could not provide {len} bytes")));
        };
        Ok(Storage { ptr, len, cap, exposed, keeper: None })
    }

    /// `bytes` zero bytes.
    pub fn zeroed(bytes: usize) -> Storage {
        Self::alloc(bytes, true)
    }

    /// `bytes` zero bytes, or E_ALLOC (over the byte cap, or refused by the allocator).
    pub fn try_zeroed(bytes: usize) -> Result<Storage> {
        Self::try_alloc(bytes, true)
    }

    /// `bytes` uninitialised bytes (see `uninit`), or E_ALLOC.
    pub fn try_uninit(bytes: usize) -> Result<Storage> {
        Self::try_alloc(bytes, false)
    }

    /// `bytes` uninitialised bytes: only for outputs that a kernel writes completely before
    /// anyone reads them (skips a memset pass over the output).
    pub fn uninit(bytes: usize) -> Storage {
        Self::alloc(bytes, false)
    }

    /// A storage over `len` bytes at `ptr` that `keeper` owns (a private copy-on-write file
    /// mapping): no copy, no allocation, not counted in `live_bytes`, never pooled.
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes for as long as `keeper` lives,
    /// and nothing but this storage (and views of it) may access those bytes.
    pub unsafe fn borrowed(keeper: Arc<dyn Send + Sync>, ptr: NonNull<u8>, len: usize) -> Storage {
        Storage { ptr, len, cap: 0, exposed: AtomicBool::new(false), keeper: Some(keeper) }
    }

    /// Whether the bytes are borrowed (see `borrowed`) rather than allocated here.
    pub fn is_borrowed(&self) -> bool {
        self.keeper.is_some()
    }

    /// Faults in a large storage's pages in parallel before one sequential writer fills it
    /// (see `hugepages::populate`); nothing for small storages. Contents are unchanged.
    pub fn populate(&self) {
        if self.len >= hugepages::MIN {
            hugepages::populate(self.ptr, self.len);
        }
    }

    /// A copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Storage {
        let s = Self::uninit(bytes.len());
        // SAFETY: s has exactly bytes.len() writable bytes and does not overlap `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), s.as_mut_ptr(), bytes.len()) };
        s
    }

    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Raw write pointer. Writing through it is only sound while nobody else reads the bytes
    /// (see the `Send`/`Sync` comment).
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records that something outside the core (a JS zero-copy view) may now write these bytes
    /// at any time between calls. Lazy results that read this storage later (the binding's
    /// deferred triu/tril) must not be created once it is set.
    pub fn mark_exposed(&self) {
        self.exposed.store(true, Ordering::Relaxed);
    }

    /// Whether `mark_exposed` was called.
    pub fn is_exposed(&self) -> bool {
        self.exposed.load(Ordering::Relaxed)
    }

    /// The bytes (read-only view).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: ptr is valid for len bytes (or dangling+aligned with len 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if self.cap == 0 {
            return;
        }
        LIVE_BYTES.fetch_sub(self.len as i64, Ordering::Relaxed);
        let (idx, cap) = class_of(self.cap);
        debug_assert_eq!(cap, self.cap);
        let addr = self.ptr.as_ptr() as usize;
        let kept = if arena_push(idx, addr) {
            true
        } else if cap >= POOL_MIN {
            pool().push(idx, addr, POOL_CAP)
        } else {
            SMALL.try_with(|c| c.borrow_mut().0.push(idx, addr, SMALL_CAP)).unwrap_or(false)
        };
        if !kept {
            // SAFETY: allocated by `block_alloc` with this capacity, and not kept by any list.
            unsafe { block_free(addr, self.cap) };
        }
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_storage_keeps_its_owner_alive_and_is_not_counted() {
        struct Owner(Vec<u8>, Arc<AtomicBool>);
        impl Drop for Owner {
            fn drop(&mut self) {
                self.1.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let mut owner = Owner(vec![7u8; 64], dropped.clone());
        let ptr = NonNull::new(owner.0.as_mut_ptr()).unwrap();
        let before = live_bytes();
        // SAFETY: the Vec's heap block does not move when the Owner moves into the Arc.
        let s = unsafe { Storage::borrowed(Arc::new(owner), ptr, 64) };
        assert!(s.is_borrowed());
        assert_eq!(s.as_bytes(), &[7u8; 64][..]);
        assert_eq!(live_bytes(), before);
        let shared = Arc::new(s);
        let view = shared.clone();
        drop(shared);
        assert!(!dropped.load(Ordering::SeqCst));
        drop(view);
        assert!(dropped.load(Ordering::SeqCst));
    }

    #[test]
    fn requests_over_the_cap_are_errors_not_aborts() {
        // Over any cap (the default is at most MAX_BYTES_LIMIT): refused before the allocator.
        let e = Storage::try_zeroed(MAX_BYTES_LIMIT + 1).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::Alloc);
        assert!(e.message.contains("byte cap"), "{}", e.message);
        // The infallible form unwinds with the error as payload (the binding catches it).
        let p = std::panic::catch_unwind(|| Storage::uninit(usize::MAX / 2)).unwrap_err();
        let f = p.downcast_ref::<AllocFailure>().expect("AllocFailure payload");
        assert_eq!(f.0.code, crate::ErrorCode::Alloc);
        // Element counts whose byte size overflows are refused, not wrapped.
        let e = check_alloc(usize::MAX / 2 + 1, 4, "zeros").unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::Alloc);
        assert!(e.message.starts_with("zeros: "), "{}", e.message);
        assert!(check_alloc(1000, 4, "zeros").is_ok());
    }

    #[test]
    fn byte_counts_parse_with_binary_suffixes() {
        assert_eq!(parse_bytes("4096", "x").unwrap(), 4096);
        assert_eq!(parse_bytes("512M", "x").unwrap(), 512 << 20);
        assert_eq!(parse_bytes(" 2g ", "x").unwrap(), 2 << 30);
        for bad in ["", "0", "-1", "1.5G", "abc", "99999999999999999999", "5000000T"] {
            let e = parse_bytes(bad, "FLAXEN_MAX_BYTES").unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::Arg, "{bad}");
            assert!(e.message.starts_with("FLAXEN_MAX_BYTES: "), "{}", e.message);
        }
    }

    /// A fresh block of class `idx`, as `Storage::alloc` makes them.
    fn block(idx: usize) -> usize {
        block_alloc(class_cap(idx), false).expect("a test-sized block").as_ptr() as usize
    }

    #[test]
    fn a_full_pool_makes_room_for_the_size_in_use_now() {
        let (small, big) = (class_of(4 << 20).0, class_of(16 << 20).0);
        let cap = 20 << 20;
        let mut lists = FreeLists::default();
        for _ in 0..5 {
            assert!(lists.push(small, block(small), cap));
        }
        assert_eq!(lists.bytes, 20 << 20);
        // Full of small blocks: a big one evicts four of them (largest share first).
        assert!(lists.push(big, block(big), cap));
        assert_eq!(lists.bytes, (16 << 20) + (4 << 20));
        assert_eq!(lists.free[small].len(), 1);
        // No room for two big ones: refused, and the small block stays.
        let extra = block(big);
        assert!(!lists.push(big, extra, cap));
        assert_eq!(lists.free[small].len(), 1);
        assert_eq!(lists.bytes, 20 << 20);
        // SAFETY: `extra` was not kept, so it is still ours.
        unsafe { block_free(extra, class_cap(big)) };
        // Bigger than the whole pool: never kept, nothing evicted.
        let huge = class_of(32 << 20).0;
        let h = block(huge);
        assert!(!lists.push(huge, h, cap));
        assert_eq!(lists.bytes, 20 << 20);
        // SAFETY: not kept.
        unsafe { block_free(h, class_cap(huge)) };
        lists.release();
        assert_eq!(lists.bytes, 0);
    }
}
