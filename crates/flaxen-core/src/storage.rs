//! `Storage`: the one heap block behind a tensor. 64-byte aligned so SIMD kernels and JS typed
//! arrays (which need element alignment) can both use it in place. A global counter of live
//! bytes lets the binding report native memory to V8 (`napi_adjust_external_memory`).

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64, Ordering};

/// Alignment of every storage: one cache line, enough for AVX-512 loads.
pub const ALIGN: usize = 64;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

/// Bytes currently held by all live `Storage`s (allocation adds, drop subtracts).
pub fn live_bytes() -> i64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

pub struct Storage {
    ptr: NonNull<u8>,
    len: usize,
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
            return Storage { ptr, len };
        }
        let layout = Self::layout(len);
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
        Storage { ptr, len }
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
        if self.len != 0 {
            // SAFETY: allocated in `alloc` with this exact layout.
            unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.len)) };
            LIVE_BYTES.fetch_sub(self.len as i64, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({} bytes)", self.len)
    }
}
