//! Externals made and collected in bulk (tensor handles): their finalizer only queues the
//! value, and queued values are dropped in batches, prefetching a few items ahead.
//!
//! Why: a scavenge finalizes tens of thousands of externals made long before, so each value's
//! memory is cold, and dropping one after another waits on its cache misses in turn (measured
//! on a 16-element add freed by GC: the weak-callback phase took 0.5 µs per tensor against
//! 0.12 µs for an external holding nothing). In a batch the misses overlap.
//!
//! A queued value is dropped when the batch fills, when [`drain`] is called (the addon does so
//! before making a new value, so memory returns at the latest at the next call), or when the
//! thread exits. Values are dropped on the thread that made them, as `Rc` contents require.

use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::external::Tagged;
use crate::sys;

/// A value that may be dropped after its external was finalized, on the same thread.
pub trait BulkValue: 'static {
    /// Pulls into cache the memory dropping `self` reads beyond `self` (a pointer or two); the
    /// default does nothing.
    fn prefetch(&self) {}
}

/// Items queued before a batch is dropped.
const BATCH: usize = 256;
/// How far ahead the batch loop prefetches the boxes, and what they point to.
const AHEAD_BOX: usize = 8;
const AHEAD_INNER: usize = 4;

struct Item {
    data: *mut c_void,
    prefetch: unsafe fn(*mut c_void),
    drop: unsafe fn(*mut c_void),
}

/// The queued items, and the buffer the next batch is queued into while one is being dropped.
struct Queue {
    items: Vec<Item>,
    spare: Vec<Item>,
}

impl Drop for Queue {
    fn drop(&mut self) {
        drop_all(&mut std::mem::take(&mut self.items));
    }
}

thread_local! {
    static QUEUE: RefCell<Queue> = const { RefCell::new(Queue { items: Vec::new(), spare: Vec::new() }) };
}

unsafe fn prefetch_value<T: BulkValue>(data: *mut c_void) {
    // SAFETY (caller): `data` is a queued, live `Tagged<T>` box.
    let tagged = unsafe { &*(data as *const Tagged<T>) };
    tagged.value.prefetch();
}

unsafe fn drop_value<T: BulkValue>(data: *mut c_void) {
    // SAFETY (caller): `data` is a queued `Tagged<T>` box, dropped once.
    let boxed = unsafe { Box::from_raw(data as *mut Tagged<T>) };
    // A panicking Drop must not unwind further; leaking its remains is the lesser evil.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
}

/// Prefetches `addr`'s cache line (also for [`BulkValue::prefetch`]).
pub fn prefetch<T>(addr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// Drops every item and empties `items`.
fn drop_all(items: &mut Vec<Item>) {
    for i in 0..items.len() {
        if let Some(ahead) = items.get(i + AHEAD_BOX) {
            prefetch(ahead.data);
        }
        if let Some(ahead) = items.get(i + AHEAD_INNER) {
            // SAFETY: queued items are live boxes until dropped below, in order.
            unsafe { (ahead.prefetch)(ahead.data) };
        }
        // SAFETY: each item is dropped exactly once, here.
        unsafe { (items[i].drop)(items[i].data) };
    }
    items.clear();
}

/// Drops every queued value of this thread. Cheap when none is queued.
///
/// The two buffers are swapped, never reallocated: a fresh batch buffer (6 KiB) per drain was
/// a "large" glibc request, and each one consolidated the fast bins that the GC's burst of
/// frees had just filled, so the next small allocations (Node's, per external) had to split
/// chunks again (measured: a sixth of a 16-element add's time in `unlink_chunk`).
pub fn drain() {
    let items = QUEUE.try_with(|q| {
        let mut q = q.borrow_mut();
        if q.items.is_empty() {
            return None;
        }
        // A nested drain (a value's drop queued a full batch) finds no spare and starts empty.
        let spare = std::mem::take(&mut q.spare);
        Some(std::mem::replace(&mut q.items, spare))
    });
    // Dropped outside the borrow: a value's drop may finalize (and queue) another.
    if let Ok(Some(mut items)) = items {
        drop_all(&mut items);
        let _ = QUEUE.try_with(|q| {
            let mut q = q.borrow_mut();
            if q.spare.capacity() < items.capacity() {
                q.spare = items;
            }
        });
    }
}

/// Finalizer of bulk externals (`Env::create_bulk_external`): queues the box.
///
/// Runs inside GC: pure Rust only (see the crate docs).
pub(crate) unsafe extern "C" fn queue_box<T: BulkValue>(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let item = Item { data, prefetch: prefetch_value::<T>, drop: drop_value::<T> };
    let full = QUEUE.try_with(|q| {
        let mut q = q.borrow_mut();
        q.items.push(item);
        q.items.len() >= BATCH
    });
    match full {
        Ok(true) => drain(),
        Ok(false) => {}
        // The thread is exiting and its queue is gone: drop at once.
        // SAFETY: `data` is the `Tagged<T>` box Node finalizes once.
        Err(_) => unsafe { drop_value::<T>(data) },
    }
}
