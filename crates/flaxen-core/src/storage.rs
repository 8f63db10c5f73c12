//! `Storage`: the one heap block behind a tensor. 64-byte aligned so SIMD kernels and JS typed
//! arrays (which need element alignment) can both use it in place. A global counter of live
//! bytes lets the binding report native memory to V8 (`napi_adjust_external_memory`).
//!
//! Large blocks are recycled: a fresh multi-megabyte allocation costs page faults (the kernel
//! maps and zeroes every page on first touch), which is several times the cost of the kernel
//! that fills it. Blocks of at least `POOL_MIN` bytes therefore have size-class capacities
//! (four classes per power of two) and, when their `Storage` drops — i.e. when the last `Arc`
//! goes, which includes the `Arc`s held by JS zero-copy views — they go to a free list of their
//! class instead of back to the allocator, as long as the pool stays under `POOL_CAP` bytes.
//! A zeroed allocation served from the pool is cleared with memset; an uninitialised one is
//! not (its kernel writes every byte, as with a fresh `malloc`).

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// Alignment of every storage: one cache line, enough for AVX-512 loads.
pub const ALIGN: usize = 64;

/// Smallest block that is pooled (smaller ones come from malloc's own caches cheaply).
pub const POOL_MIN: usize = 64 << 10;
/// Most bytes the pool keeps; blocks freed beyond it go back to the allocator.
pub const POOL_CAP: usize = 160 << 20;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

/// Bytes currently held by all live `Storage`s (allocation adds, drop subtracts). Pooled free
/// blocks are not live.
pub fn live_bytes() -> i64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Free blocks by size class (addresses; every block of class i has capacity `class_cap(i)`).
struct Pool {
    free: Vec<Vec<usize>>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool { free: Vec::new(), bytes: 0 });

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // The pool's state stays consistent even if a holder panicked (pushes and pops are atomic
    // with respect to panics), so a poisoned lock is still usable.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bytes held by the pool's free blocks.
pub fn pool_bytes() -> usize {
    pool().bytes
}

/// Returns every pooled block to the allocator.
pub fn trim_pool() {
    let blocks: Vec<(usize, usize)> = {
        let mut p = pool();
        p.bytes = 0;
        let mut out = Vec::new();
        for (i, list) in p.free.iter_mut().enumerate() {
            out.extend(list.drain(..).map(|a| (a, class_cap(i))));
        }
        out
    };
    for (addr, cap) in blocks {
        // SAFETY: pooled blocks were allocated by `Storage::alloc` with this capacity and
        // alignment, and are owned by the pool alone (just removed from it).
        unsafe { alloc::dealloc(addr as *mut u8, Storage::layout(cap)) };
    }
}

/// Size class of a pooled request: (class index, capacity ≥ len). Classes are 2^e·(1 + q/4).
fn class_of(len: usize) -> (usize, usize) {
    debug_assert!(len >= POOL_MIN);
    let e = (usize::BITS - 1 - len.leading_zeros()) as usize;
    let step = 1usize << (e - 2);
    let q = (len - (1 << e)).div_ceil(step);
    let idx = (e - POOL_MIN.trailing_zeros() as usize) * 4 + q;
    (idx, class_cap(idx))
}

fn class_cap(idx: usize) -> usize {
    let e = idx / 4 + POOL_MIN.trailing_zeros() as usize;
    (1 << e) + (idx % 4) * (1 << (e - 2))
}

pub struct Storage {
    ptr: NonNull<u8>,
    len: usize,
    /// Allocated bytes: `len`, or the size-class capacity for pooled sizes.
    cap: usize,
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

    fn alloc(len: usize, zeroed: bool) -> Storage {
        if len == 0 {
            // No allocation: an aligned dangling pointer is valid for zero-length slices.
            let ptr = NonNull::new(std::ptr::without_provenance_mut::<u8>(ALIGN)).unwrap();
            return Storage { ptr, len, cap: 0 };
        }
        let cap = if len >= POOL_MIN {
            let (idx, cap) = class_of(len);
            let reused = {
                let mut p = pool();
                let block = p.free.get_mut(idx).and_then(|l| l.pop());
                if block.is_some() {
                    p.bytes -= cap;
                }
                block
            };
            if let Some(addr) = reused {
                let ptr = NonNull::new(addr as *mut u8).expect("pooled blocks are non-null");
                if zeroed {
                    // SAFETY: the block has cap ≥ len writable bytes and is owned by us alone.
                    unsafe { std::ptr::write_bytes(ptr.as_ptr(), 0, len) };
                }
                LIVE_BYTES.fetch_add(len as i64, Ordering::Relaxed);
                return Storage { ptr, len, cap };
            }
            cap
        } else {
            len
        };
        let layout = Self::layout(cap);
        // SAFETY: layout has non-zero size.
        let raw = unsafe {
            if zeroed {
                alloc::alloc_zeroed(layout)
            } else {
                alloc::alloc(layout)
            }
        };
        let ptr = NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        LIVE_BYTES.fetch_add(len as i64, Ordering::Relaxed);
        Storage { ptr, len, cap }
    }

    /// `bytes` zero bytes.
    pub fn zeroed(bytes: usize) -> Storage {
        Self::alloc(bytes, true)
    }

    /// `bytes` uninitialised bytes: only for outputs that a kernel writes completely before
    /// anyone reads them (skips a memset pass over the output).
    pub fn uninit(bytes: usize) -> Storage {
        Self::alloc(bytes, false)
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
        if self.cap >= POOL_MIN {
            let (idx, cap) = class_of(self.cap);
            debug_assert_eq!(cap, self.cap);
            let mut p = pool();
            if p.bytes + cap <= POOL_CAP {
                if p.free.len() <= idx {
                    p.free.resize_with(idx + 1, Vec::new);
                }
                p.free[idx].push(self.ptr.as_ptr() as usize);
                p.bytes += cap;
                return;
            }
        }
        // SAFETY: allocated in `alloc` with this exact layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.cap)) };
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({} bytes)", self.len)
    }
}
