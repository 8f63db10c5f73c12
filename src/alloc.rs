//! The addon's allocator for Rust-side allocations: small blocks come from 64 KiB slabs owned
//! by the allocating thread, everything else goes to the system allocator.
//!
//! Why: every tensor handed to JS costs a few small Rust allocations (the handle, the storage's
//! `Arc`, a 16-element output's data), and the GC frees them in bursts of thousands. Served by
//! glibc one by one, they sat between Node's own per-external objects (two C++ allocations per
//! handle) in glibc's heap. After each scavenge V8 frees a large vector, glibc consolidates its
//! fast bins, and Node's freed objects, pinned apart by our live blocks, stayed a litter of
//! small chunks that every following `malloc` of Node's had to sort and split: measured on a
//! 16-element add freed by GC, `unlink_chunk` and `_int_malloc` took about half of the op's
//! time. Blocks carved from slabs keep our memory out of glibc's small-chunk bins.
//!
//! A slab holds blocks of one size class and belongs to the thread that made it: that thread
//! allocates and frees its blocks without atomics (a LIFO list per slab, then a bump pointer
//! over never-used blocks). A block freed on another thread (an `f.async` result dropped on
//! the JS thread) is pushed onto the slab's `remote` stack, which the owner takes back when its
//! current slab runs dry. A slab whose blocks are all free is kept by its thread for the next
//! burst (up to 16 MiB), then by a spare list all threads share (up to 64 MiB), then goes back
//! to the system. When a thread exits, its slabs with blocks still in
//! use are abandoned: the stack head is marked, later frees count down instead of pushing, and
//! the free that brings the count to zero returns the slab.
//!
//! Only this library's Rust code uses it (`#[global_allocator]` of the cdylib); Node and V8 keep
//! their own.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Largest size served from slabs; larger or over-aligned requests go to the system.
const MAX_SMALL: usize = 256;
/// Size classes: multiples of 16 up to 128 bytes, of 32 up to 256.
const CLASSES: usize = 12;
/// Bytes of a slab, which is also its alignment: a block's slab is its address rounded down.
const SLAB: usize = 64 << 10;
/// Blocks start this far into a slab, past the header (one largest block, a multiple of
/// `MAX_SMALL_ALIGN`: see `small_class`).
const HEADER: usize = MAX_SMALL;
/// Wholly free slabs a thread keeps for reuse before returning them to the system (16 MiB):
/// one scavenge frees the blocks of some 100k tensors at once, and the next refills them, so
/// slabs given back at each GC would be asked for again at once (each a large glibc request,
/// which consolidates its bins: the churn this allocator is here to avoid).
const KEEP_EMPTY: usize = 256;
/// The `remote` head's low bit once the owner thread has exited (blocks are 16-aligned).
const ABANDONED: usize = 1;
/// Start of `abandoned_out` while the owner is abandoning the slab (see `Heap::drop`).
const BIAS: u32 = 1 << 31;

/// "A block was freed remotely into a slab of this heap and class": a heap looks through its
/// full slabs only then, rather than each time it needs a slab (a thread holding 10⁶ blocks
/// would read a thousand headers per new slab). Pairs sharing a slot may clear each other's
/// hint, which only delays reuse until the next remote free.
const HINTS: usize = 1024;
static REMOTE_HINT: [AtomicBool; HINTS] = [const { AtomicBool::new(false) }; HINTS];

fn hint(heap: usize, class: usize) -> usize {
    (heap * CLASSES + class) % HINTS
}

fn class_of(size: usize) -> usize {
    if size <= 128 {
        size.max(1).div_ceil(16) - 1
    } else {
        8 + (size - 129) / 32
    }
}

fn class_size(idx: usize) -> usize {
    if idx < 8 {
        (idx + 1) * 16
    } else {
        128 + (idx - 7) * 32
    }
}

/// Most alignment served from slabs: a tensor's data asks for 64.
const MAX_SMALL_ALIGN: usize = 64;

const fn is_small(layout: &Layout) -> bool {
    layout.size() <= MAX_SMALL && layout.align() <= MAX_SMALL_ALIGN
}

/// The class of a small layout. A size rounded up to its alignment is a class size itself, and
/// blocks sit at `HEADER + k * size` from a SLAB-aligned start, so they keep that alignment.
fn small_class(layout: &Layout) -> usize {
    class_of(layout.size().next_multiple_of(layout.align()))
}

fn slab_layout() -> Layout {
    // SAFETY: SLAB is a non-zero power of two, its own size, far below isize::MAX.
    unsafe { Layout::from_size_align_unchecked(SLAB, SLAB) }
}

/// Where a slab sits in its owner's bookkeeping.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Current,
    Partial,
    Full,
}

/// A slab's header, at its start. The `Cell`s belong to the owner thread (or to the orphan
/// heap's lock holder); other threads touch only `remote` and `abandoned_out`, and read the
/// fields fixed at `init`.
#[repr(C)]
struct Slab {
    owner: usize,
    class: usize,
    size: usize,
    /// Blocks handed out and not yet freed on the owner's side (remote frees count once taken).
    used: Cell<u32>,
    /// Owner-side free blocks, each holding the next one's address in its first bytes.
    free: Cell<*mut u8>,
    /// Offset of the first never-used block.
    bump: Cell<usize>,
    place: Cell<Place>,
    prev: Cell<*mut Slab>,
    next: Cell<*mut Slab>,
    /// Blocks freed on other threads, a stack pushed by CAS; `ABANDONED` in the low bit.
    remote: AtomicPtr<u8>,
    /// After abandonment: blocks still out, plus what is left of `BIAS`.
    abandoned_out: AtomicU32,
}

const _: () = assert!(std::mem::size_of::<Slab>() <= HEADER);

impl Slab {
    /// Makes a header for `class` at the start of the slab memory `at`.
    ///
    /// # Safety
    /// `at` is SLAB bytes, SLAB-aligned, unused by anything else.
    unsafe fn init(at: *mut u8, owner: usize, class: usize) -> *mut Slab {
        let size = class_size(class);
        let slab = at as *mut Slab;
        // SAFETY: the caller's memory, aligned for Slab (SLAB-aligned) and large enough (assert above).
        unsafe {
            slab.write(Slab {
                owner,
                class,
                size,
                used: Cell::new(0),
                free: Cell::new(ptr::null_mut()),
                bump: Cell::new(HEADER),
                place: Cell::new(Place::Current),
                prev: Cell::new(ptr::null_mut()),
                next: Cell::new(ptr::null_mut()),
                remote: AtomicPtr::new(ptr::null_mut()),
                abandoned_out: AtomicU32::new(BIAS),
            })
        };
        slab
    }

    /// The slab holding small block `p`.
    fn of(p: *mut u8) -> *mut Slab {
        (p as usize & !(SLAB - 1)) as *mut Slab
    }

    /// A free block, or null when the slab has none on the owner's side.
    fn take(&self) -> *mut u8 {
        let p = self.free.get();
        if !p.is_null() {
            // SAFETY: a listed free block stores the next pointer in its first bytes.
            self.free.set(unsafe { *(p as *mut *mut u8) });
        } else if self.bump.get() + self.size <= SLAB {
            let at = self.bump.get();
            self.bump.set(at + self.size);
            // SAFETY: `at + size <= SLAB`, inside this slab's memory.
            return self.fill(unsafe { (self as *const Slab as *mut u8).add(at) });
        } else {
            return p;
        }
        self.fill(p)
    }

    fn fill(&self, p: *mut u8) -> *mut u8 {
        self.used.set(self.used.get() + 1);
        p
    }

    /// Returns block `p` on the owner's side.
    fn put(&self, p: *mut u8) {
        // SAFETY: `p` is a free block of this slab, at least 16 bytes, now ours.
        unsafe { *(p as *mut *mut u8) = self.free.get() };
        self.free.set(p);
        self.used.set(self.used.get() - 1);
    }

    /// Moves the blocks other threads freed to the owner's side; whether there were any.
    fn reclaim(&self) -> bool {
        let mut p = self.remote.swap(ptr::null_mut(), Ordering::Acquire);
        let found = !p.is_null();
        while !p.is_null() {
            // SAFETY: the pushers wrote each block's next pointer before their Release CAS.
            let next = unsafe { *(p as *mut *mut u8) };
            self.put(p);
            p = next;
        }
        found
    }

    /// Frees block `p` from a thread that does not own the slab (or no longer can).
    ///
    /// # Safety
    /// `p` is an allocated block of slab `s`, freed once.
    unsafe fn free_remote(s: *mut Slab, p: *mut u8) {
        // SAFETY: the slab lives while it has a block out, and `p` is one.
        let slab = unsafe { &*s };
        // Read before the push: once the block is on the stack the owner may take it back,
        // find the slab empty and return it, and the header is gone.
        let hint = &REMOTE_HINT[hint(slab.owner, slab.class)];
        let mut head = slab.remote.load(Ordering::Relaxed);
        loop {
            if head as usize & ABANDONED != 0 {
                // The owner is gone: count down; the last block out returns the slab.
                if slab.abandoned_out.fetch_sub(1, Ordering::AcqRel) == 1 {
                    // SAFETY: nothing is out and nobody owns the slab any more.
                    unsafe { give_back(s) };
                }
                return;
            }
            // SAFETY: `p` is ours until the CAS publishes it.
            unsafe { *(p as *mut *mut u8) = head };
            match slab.remote.compare_exchange_weak(head, p, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => {
                    hint.store(true, Ordering::Release);
                    return;
                }
                Err(h) => head = h,
            }
        }
    }
}

/// One size class's slabs in a heap: the one allocated from, and the others in two lists.
struct Class {
    current: Cell<*mut Slab>,
    partial: Cell<*mut Slab>,
    full: Cell<*mut Slab>,
}

impl Class {
    fn list(&self, place: Place) -> &Cell<*mut Slab> {
        match place {
            Place::Partial => &self.partial,
            Place::Full => &self.full,
            Place::Current => &self.current,
        }
    }

    fn push(&self, s: &Slab, place: Place) {
        let head = self.list(place);
        s.place.set(place);
        s.prev.set(ptr::null_mut());
        s.next.set(head.get());
        if !head.get().is_null() {
            // SAFETY: listed slabs are live and owned by this heap.
            unsafe { (*head.get()).prev.set(s as *const Slab as *mut Slab) };
        }
        head.set(s as *const Slab as *mut Slab);
    }

    fn unlink(&self, s: &Slab) {
        let (prev, next) = (s.prev.get(), s.next.get());
        // SAFETY: neighbours in a list are live slabs of this heap.
        unsafe {
            if prev.is_null() {
                self.list(s.place.get()).set(next);
            } else {
                (*prev).next.set(next);
            }
            if !next.is_null() {
                (*next).prev.set(prev);
            }
        }
    }
}

/// A thread's slabs (or the orphan heap's, behind its lock).
struct Heap {
    id: Cell<usize>,
    classes: [Class; CLASSES],
    empty: Cell<*mut Slab>,
    n_empty: Cell<usize>,
    /// Slabs taken from the system so far (for tests).
    made: Cell<usize>,
}

/// Heap ids; never reused, so a dead thread's slabs never look like a new thread's.
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

impl Heap {
    const fn new(id: usize) -> Heap {
        Heap {
            id: Cell::new(id),
            classes: [const { Class { current: Cell::new(ptr::null_mut()), partial: Cell::new(ptr::null_mut()), full: Cell::new(ptr::null_mut()) } }; CLASSES],
            empty: Cell::new(ptr::null_mut()),
            n_empty: Cell::new(0),
            made: Cell::new(0),
        }
    }

    fn id(&self) -> usize {
        if self.id.get() == 0 {
            self.id.set(NEXT_ID.fetch_add(1, Ordering::Relaxed));
        }
        self.id.get()
    }

    fn alloc(&self, idx: usize) -> *mut u8 {
        let class = &self.classes[idx];
        let cur = class.current.get();
        if !cur.is_null() {
            // SAFETY: the current slab is live and owned by this heap.
            let p = unsafe { &*cur }.take();
            if !p.is_null() {
                return p;
            }
        }
        self.refill(idx)
    }

    /// The current slab ran dry: take back remote frees, else another slab with room, else a
    /// new one.
    #[cold]
    fn refill(&self, idx: usize) -> *mut u8 {
        let class = &self.classes[idx];
        let cur = class.current.get();
        if !cur.is_null() {
            // SAFETY: as in `alloc`.
            let s = unsafe { &*cur };
            if s.reclaim() {
                return s.take();
            }
            class.push(s, Place::Full);
            // Until another slab is current: if none can be had, the next call starts here again.
            class.current.set(ptr::null_mut());
        }
        let mut next = class.partial.get();
        if next.is_null() && REMOTE_HINT[hint(self.id(), idx)].swap(false, Ordering::Acquire) {
            // Full slabs may have had blocks freed remotely since: look once through them.
            let mut s = class.full.get();
            while !s.is_null() {
                // SAFETY: listed slabs are live and owned by this heap.
                let slab = unsafe { &*s };
                let after = slab.next.get();
                if slab.reclaim() {
                    class.unlink(slab);
                    if slab.used.get() == 0 {
                        self.release(slab);
                    } else {
                        class.push(slab, Place::Partial);
                    }
                }
                s = after;
            }
            next = class.partial.get();
        }
        let s = if next.is_null() {
            match self.new_slab(idx) {
                Some(s) => s,
                None => return ptr::null_mut(),
            }
        } else {
            // SAFETY: as above.
            let s = unsafe { &*next };
            class.unlink(s);
            s
        };
        s.place.set(Place::Current);
        class.current.set(s as *const Slab as *mut Slab);
        s.take()
    }

    fn new_slab(&self, idx: usize) -> Option<&Slab> {
        let mem = match self.empty.get() {
            e if !e.is_null() => {
                // SAFETY: kept empty slabs are live, owned by this heap, linked through `next`.
                self.empty.set(unsafe { (*e).next.get() });
                self.n_empty.set(self.n_empty.get() - 1);
                e as *mut u8
            }
            _ => match SPARE.lock().ok().and_then(|mut g| g.pop()) {
                Some(p) => p as *mut u8,
                None => {
                    self.made.set(self.made.get() + 1);
                    // SAFETY: a non-zero size.
                    unsafe { System.alloc(slab_layout()) }
                }
            },
        };
        if mem.is_null() {
            return None;
        }
        // SAFETY: SLAB bytes, SLAB-aligned, no longer used by anything.
        Some(unsafe { &*Slab::init(mem, self.id(), idx) })
    }

    /// A wholly free slab (already unlinked) is kept for reuse or returned to the system.
    fn release(&self, s: &Slab) {
        let p = s as *const Slab as *mut Slab;
        if self.n_empty.get() < KEEP_EMPTY {
            s.next.set(self.empty.get());
            self.empty.set(p);
            self.n_empty.set(self.n_empty.get() + 1);
        } else {
            // SAFETY: no block of it is out, and it is unlinked.
            unsafe { give_back(p) };
        }
    }

    /// Frees block `p` of slab `s`, which this heap owns.
    fn free_local(&self, s: &Slab, p: *mut u8) {
        s.put(p);
        let class = &self.classes[s.class];
        match s.place.get() {
            Place::Current => {}
            Place::Partial if s.used.get() == 0 => {
                class.unlink(s);
                self.release(s);
            }
            Place::Partial => {}
            Place::Full => {
                class.unlink(s);
                if s.used.get() == 0 {
                    self.release(s);
                } else {
                    class.push(s, Place::Partial);
                }
            }
        }
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        // The thread is ending. Empty slabs go back now; the others are abandoned: the mark in
        // `remote` turns later frees into a count-down of `abandoned_out` (started at BIAS so
        // the frees racing with this count can only lower it), and once the blocks still out
        // are added back in, whoever reaches zero returns the slab.
        let mut e = self.empty.replace(ptr::null_mut());
        while !e.is_null() {
            // SAFETY: kept empty slabs, unused.
            unsafe {
                let next = (*e).next.get();
                give_back(e);
                e = next;
            }
        }
        for class in &self.classes {
            for head in [&class.current, &class.partial, &class.full] {
                let mut s = head.replace(ptr::null_mut());
                while !s.is_null() {
                    // SAFETY: listed slabs are live and owned by this heap.
                    let slab = unsafe { &*s };
                    let next = if ptr::eq(head, &class.current) { ptr::null_mut() } else { slab.next.get() };
                    abandon(slab);
                    s = next;
                }
            }
        }
    }
}

fn abandon(slab: &Slab) {
    let mut p = slab.remote.swap(ABANDONED as *mut u8, Ordering::AcqRel);
    let mut out = slab.used.get();
    while !p.is_null() {
        // SAFETY: as in `reclaim`.
        p = unsafe { *(p as *mut *mut u8) };
        out -= 1;
    }
    // Frees since the swap subtracted 1 each from BIAS; remove the rest of BIAS, keep `out`.
    if slab.abandoned_out.fetch_sub(BIAS - out, Ordering::AcqRel) == BIAS - out {
        // SAFETY: no block is out and nobody owns the slab any more.
        unsafe { give_back(slab as *const Slab as *mut Slab) };
    }
}

/// Wholly free slabs shared by all threads, linked through their headers' `next` (64 MiB at
/// most): a slab returned by one thread (a Node worker that exited, a burst past its own
/// `KEEP_EMPTY`) is the next slab of another. Given back to glibc instead, 64 KiB-aligned
/// blocks could never be reused as slabs (glibc serves an aligned request from a chunk of
/// twice the size), so each worker started and stopped left its slabs' memory behind
/// (measured: RSS grew 5.6 MB per worker against 2.8 MB with glibc-served blocks).
static SPARE: Mutex<Spare> = Mutex::new(Spare { head: ptr::null_mut(), len: 0 });
const KEEP_SPARE: usize = 1024;

struct Spare {
    head: *mut Slab,
    len: usize,
}

// SAFETY: the list holds free slab memory that no thread uses; it is only touched under the lock.
unsafe impl Send for Spare {}

impl Spare {
    fn pop(&mut self) -> Option<*mut Slab> {
        let p = self.head;
        if p.is_null() {
            return None;
        }
        // SAFETY: listed slabs are free memory whose header's `next` links the list.
        self.head = unsafe { (*p).next.get() };
        self.len -= 1;
        Some(p)
    }
}

/// Returns a slab to the shared spares, or to the system when they are full.
///
/// # Safety
/// `s` came from `Heap::new_slab`, no block of it is out, and nothing will read it again.
unsafe fn give_back(s: *mut Slab) {
    #[cfg(test)]
    tests::note_released(s as usize);
    if let Ok(mut spare) = SPARE.lock() {
        if spare.len < KEEP_SPARE {
            // SAFETY: the slab is free; its header's `next` now links the spare list.
            unsafe { (*s).next.set(spare.head) };
            spare.head = s;
            spare.len += 1;
            return;
        }
    }
    // SAFETY: slabs are `System` memory with the slab layout (`new_slab`).
    unsafe { System.dealloc(s as *mut u8, slab_layout()) };
}

thread_local! {
    static HEAP: Heap = const { Heap::new(0) };
}

/// For allocations while a thread's own heap is being torn down (other thread-local
/// destructors still run): a heap shared under a lock, never abandoned.
static ORPHAN: Mutex<OrphanHeap> = Mutex::new(OrphanHeap(Heap::new(0)));

struct OrphanHeap(Heap);

// SAFETY: the orphan heap's cells are only touched under the mutex, and its slabs are reached
// by other threads only through the atomic remote path.
unsafe impl Send for OrphanHeap {}

pub struct CachingAlloc;

// SAFETY: every block handed out is either from `System` with the caller's layout (large or
// over-aligned requests, returned to `System` with that same layout) or a block of a slab of
// the request's size class (at least as large and as aligned as asked), handed out once until
// freed. Slabs are `System` memory with the slab layout, returned once, when no block is out.
unsafe impl GlobalAlloc for CachingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_small(&layout) {
            // SAFETY: the caller's contract (non-zero size).
            return unsafe { System.alloc(layout) };
        }
        let idx = small_class(&layout);
        HEAP.try_with(|h| h.alloc(idx)).unwrap_or_else(|_| match ORPHAN.lock() {
            Ok(h) => h.0.alloc(idx),
            Err(_) => ptr::null_mut(),
        })
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if !is_small(&layout) {
            // SAFETY: allocated by `System` with this layout (see `alloc`).
            return unsafe { System.dealloc(p, layout) };
        }
        let s = Slab::of(p);
        // SAFETY: `p` is an allocated small block, so its slab is live; `owner` is fixed.
        let owner = unsafe { (*s).owner };
        let local = HEAP.try_with(|h| {
            if h.id.get() != owner {
                return false;
            }
            // SAFETY: this heap owns the slab.
            h.free_local(unsafe { &*s }, p);
            true
        });
        if local != Ok(true) {
            // SAFETY: `p` is an allocated block of slab `s`, freed once.
            unsafe { Slab::free_remote(s, p) };
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract; `new_size` with the old alignment is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_small(&layout) && !is_small(&new_layout) {
            // SAFETY: `p` came from `System` with `layout` (see `alloc`).
            return unsafe { System.realloc(p, layout, new_size) };
        }
        if is_small(&layout) && is_small(&new_layout) && small_class(&layout) == small_class(&new_layout) {
            return p; // same block size: nothing to do
        }
        // SAFETY: a fresh block for the new layout, the old one's bytes copied, then freed.
        unsafe {
            let q = self.alloc(new_layout);
            if !q.is_null() {
                ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                self.dealloc(p, layout);
            }
            q
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::mpsc;

    /// The last slabs returned to the system, for tests to look for theirs (a ring: other
    /// tests' threads release slabs too).
    static RELEASED: [AtomicUsize; 4096] = [const { AtomicUsize::new(0) }; 4096];
    static N_RELEASED: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn note_released(slab: usize) {
        RELEASED[N_RELEASED.fetch_add(1, Ordering::Relaxed) % RELEASED.len()].store(slab, Ordering::Relaxed);
    }

    fn released() -> HashSet<usize> {
        RELEASED.iter().map(|a| a.load(Ordering::Relaxed)).collect()
    }

    /// `n` blocks of `layout`, each filled with its index's low byte.
    fn blocks(n: usize, layout: Layout) -> Vec<usize> {
        (0..n)
            .map(|i| {
                // SAFETY: a small non-zero layout; the block is written within its size.
                let p = unsafe { CachingAlloc.alloc(layout) };
                assert!(!p.is_null());
                unsafe { ptr::write_bytes(p, i as u8, layout.size()) };
                p as usize
            })
            .collect()
    }

    /// Frees `blocks(_, layout)` after checking that each still holds its byte.
    fn free_all(ps: &[usize], layout: Layout) {
        for (i, &p) in ps.iter().enumerate() {
            // SAFETY: each block came from `blocks` with `layout` and is freed once.
            unsafe {
                assert_eq!(*(p as *const u8).add(layout.size() - 1), i as u8, "block {i} was overwritten");
                CachingAlloc.dealloc(p as *mut u8, layout);
            }
        }
    }

    fn slabs(ps: &[usize]) -> HashSet<usize> {
        ps.iter().map(|&p| Slab::of(p as *mut u8) as usize).collect()
    }

    #[test]
    fn small_blocks_keep_every_alignment_up_to_64() {
        for align in [1, 2, 4, 8, 16, 32, 64] {
            for size in 1..=MAX_SMALL {
                let l = Layout::from_size_align(size, align).unwrap();
                let ps = blocks(3, l);
                for &p in &ps {
                    assert_eq!(p % align, 0, "size {size} align {align}");
                    assert!(p % SLAB >= HEADER && p % SLAB + size <= SLAB, "size {size} inside its slab");
                }
                free_all(&ps, l);
            }
        }
    }

    #[test]
    fn blocks_freed_on_another_thread_are_reused_by_their_owner() {
        let l = Layout::from_size_align(48, 8).unwrap();
        let n = 3 * (SLAB - HEADER) / 48; // three slabs' worth
        let (to_owner, owner_rx) = mpsc::channel::<()>();
        let (to_main, main_rx) = mpsc::channel::<Vec<usize>>();
        let owner = std::thread::spawn(move || {
            let first = blocks(n, l);
            to_main.send(first.clone()).unwrap();
            owner_rx.recv().unwrap(); // all freed on the main thread
            let made = HEAP.with(|h| h.made.get());
            // A few blocks less than were freed: the thread's own bookkeeping (the channel's
            // wake-up) may have taken a block of this class meanwhile.
            let again = blocks(n - 64, l);
            let fresh = HEAP.with(|h| h.made.get()) - made;
            free_all(&again, l);
            fresh
        });
        let first = main_rx.recv().unwrap();
        free_all(&first, l);
        to_owner.send(()).unwrap();
        let fresh = owner.join().unwrap();
        assert_eq!(fresh, 0, "the owner took new slabs from the system instead of its freed blocks");
    }

    #[test]
    fn an_exited_threads_slabs_go_back_with_their_last_block() {
        let l = Layout::from_size_align(200, 64).unwrap();
        let n = 2 * (SLAB - HEADER) / 256 + 5;
        let ps = std::thread::spawn(move || blocks(n, l)).join().unwrap();
        let held = slabs(&ps);
        assert_eq!(held.len(), 3);
        let (last, rest) = ps.split_last().unwrap();
        free_all(rest, l);
        // SAFETY: the last block, from `blocks` with `l`.
        unsafe { CachingAlloc.dealloc(*last as *mut u8, l) };
        let gone = released();
        assert!(held.iter().all(|s| gone.contains(s)), "abandoned slabs were not returned");
    }

    #[test]
    fn threads_trading_blocks_never_share_one() {
        // Four threads allocate blocks of every small size and alignment, fill them with their
        // own pattern, and free about half of what they make through a shared pile, so frees
        // land on every thread; each block's pattern is checked when it is freed.
        let pile = std::sync::Arc::new(Mutex::new(Vec::<(usize, Layout, u8)>::new()));
        let workers: Vec<_> = (0..4u64)
            .map(|t| {
                let pile = pile.clone();
                std::thread::spawn(move || {
                    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (t + 1);
                    let mut mine = Vec::new();
                    for i in 0..40_000u32 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let size = 1 + (x % MAX_SMALL as u64) as usize;
                        let l = Layout::from_size_align(size, 1 << (x >> 60) % 7).unwrap();
                        // SAFETY: small non-zero layouts; blocks written within their size.
                        let p = unsafe { CachingAlloc.alloc(l) };
                        assert!(!p.is_null() && p as usize % l.align() == 0);
                        let tag = (i as u8) ^ (t as u8);
                        unsafe { ptr::write_bytes(p, tag, size) };
                        if x & 1 == 0 { pile.lock().unwrap().push((p as usize, l, tag)) } else { mine.push((p as usize, l, tag)) }
                        if i % 7 == 0 {
                            let taken = pile.lock().unwrap().pop();
                            for (q, l, tag) in taken.into_iter().chain(if i % 3 == 0 { mine.pop() } else { None }) {
                                // SAFETY: a live block from this allocator with `l`, freed once.
                                unsafe {
                                    let b = std::slice::from_raw_parts(q as *const u8, l.size());
                                    assert!(b.iter().all(|&v| v == tag), "a block was written by someone else");
                                    CachingAlloc.dealloc(q as *mut u8, l);
                                }
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        let mut left: Vec<_> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        left.extend(pile.lock().unwrap().drain(..));
        for (q, l, tag) in left {
            // SAFETY: as above; the owners have exited, so these are frees into abandoned slabs.
            unsafe {
                let b = std::slice::from_raw_parts(q as *const u8, l.size());
                assert!(b.iter().all(|&v| v == tag), "a block was written by someone else");
                CachingAlloc.dealloc(q as *mut u8, l);
            }
        }
    }

    #[test]
    fn classes_cover_every_small_size_exactly_once() {
        for size in 1..=MAX_SMALL {
            let idx = class_of(size);
            assert!(idx < CLASSES, "size {size}");
            assert!(class_size(idx) >= size, "size {size} in class {idx}");
            assert!(idx == 0 || class_size(idx - 1) < size, "size {size} could use class {}", idx - 1);
        }
    }

    #[test]
    fn blocks_are_reused_lifo_and_keep_their_contents_apart() {
        let a = CachingAlloc;
        let l = Layout::from_size_align(40, 8).unwrap();
        // SAFETY: matched alloc/dealloc pairs with one layout; blocks written within 40 bytes.
        unsafe {
            let p = a.alloc(l);
            let q = a.alloc(l);
            assert_ne!(p, q);
            ptr::write_bytes(p, 1, 40);
            ptr::write_bytes(q, 2, 40);
            a.dealloc(p, l);
            let r = a.alloc(l);
            assert_eq!(r, p, "the block just freed comes back first");
            assert_eq!(*q.add(39), 2);
            // Growing across classes keeps the bytes.
            ptr::write_bytes(r, 7, 40);
            let g = a.realloc(r, l, 300);
            assert_eq!(*g.add(39), 7);
            a.dealloc(g, Layout::from_size_align(300, 8).unwrap());
            a.dealloc(q, l);
        }
    }
}
