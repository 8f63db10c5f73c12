//! The addon's allocator for Rust-side allocations: small blocks are recycled through per-thread
//! free lists, everything else goes to the system allocator.
//!
//! Why: every tensor handed to JS costs a few small Rust allocations (the handle, the storage's
//! `Arc`), and the GC frees them in bursts of thousands inside its finalizer pass. glibc serves
//! that pattern badly: the bursts overflow its per-thread cache, a large free in the same GC
//! consolidates the fast bins, and the next allocations search and split chunks. Measured on a
//! 16-element add (new output, freed by GC): half the time was in glibc `malloc`/`free`
//! (`malloc_consolidate`, `unlink_chunk`). A LIFO list per size class makes both a few loads
//! and stores. Measured: glibc calls per op 5 → 2 (Node's own), a call ~10–15% faster. Lists
//! are capped at 64 Ki blocks per class (`MAX_PER_CLASS`, sized to one scavenge's burst; 32 Ki
//! left 3.2 glibc calls per op): a thread keeps at most ~9 MiB for the two classes a tensor
//! uses, and only after a GC pass freed that many at once.
//!
//! Only this library's Rust code uses it (`#[global_allocator]` of the cdylib); Node and V8 keep
//! their own. A block freed on another thread joins that thread's list: blocks of one class are
//! interchangeable (all come from the system allocator with the class's size and alignment).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;

/// Largest size served from the lists; larger or over-aligned requests go to the system.
const MAX_SMALL: usize = 256;
/// Alignment of every listed block (`max_align_t`, what malloc gives).
const BLOCK_ALIGN: usize = 16;
/// Size classes: multiples of 16 up to 128 bytes, of 32 up to 256.
const CLASSES: usize = 12;
/// Most free blocks a thread keeps per class.
const MAX_PER_CLASS: u32 = 65536;

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

fn class_layout(idx: usize) -> Layout {
    // SAFETY: class sizes are non-zero multiples of 16, far below isize::MAX; 16 is a power of 2.
    unsafe { Layout::from_size_align_unchecked(class_size(idx), BLOCK_ALIGN) }
}

const fn is_small(layout: &Layout) -> bool {
    layout.size() <= MAX_SMALL && layout.align() <= BLOCK_ALIGN
}

/// One thread's free lists: a singly linked list per class, the next pointer stored in the
/// first 8 bytes of each free block.
struct Lists {
    head: [Cell<*mut u8>; CLASSES],
    len: [Cell<u32>; CLASSES],
}

impl Drop for Lists {
    fn drop(&mut self) {
        // The thread is ending: give every block back.
        for idx in 0..CLASSES {
            let mut p = self.head[idx].replace(ptr::null_mut());
            while !p.is_null() {
                // SAFETY: listed blocks are free blocks of class `idx` from `System`, each
                // holding the next pointer in its first bytes.
                unsafe {
                    let next = *(p as *mut *mut u8);
                    System.dealloc(p, class_layout(idx));
                    p = next;
                }
            }
        }
    }
}

thread_local! {
    static LISTS: Lists = const {
        Lists {
            head: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            len: [const { Cell::new(0) }; CLASSES],
        }
    };
}

pub struct CachingAlloc;

// SAFETY: every block handed out is either from `System` with the caller's layout (large or
// over-aligned requests, returned to `System` with that same layout) or a block of the
// request's size class (at least as large and as aligned as asked), which is only ever listed
// again or returned to `System` with its class layout. A listed block is owned by one list.
unsafe impl GlobalAlloc for CachingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_small(&layout) {
            // SAFETY: the caller's contract (non-zero size).
            return unsafe { System.alloc(layout) };
        }
        let idx = class_of(layout.size());
        let reused = LISTS
            .try_with(|l| {
                let p = l.head[idx].get();
                if !p.is_null() {
                    // SAFETY: a listed free block stores the next pointer in its first bytes.
                    l.head[idx].set(unsafe { *(p as *mut *mut u8) });
                    l.len[idx].set(l.len[idx].get() - 1);
                }
                p
            })
            .unwrap_or(ptr::null_mut());
        if !reused.is_null() {
            return reused;
        }
        // SAFETY: class layouts have non-zero size.
        unsafe { System.alloc(class_layout(idx)) }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if !is_small(&layout) {
            // SAFETY: allocated by `System` with this layout (see `alloc`).
            return unsafe { System.dealloc(p, layout) };
        }
        let idx = class_of(layout.size());
        let kept = LISTS
            .try_with(|l| {
                if l.len[idx].get() >= MAX_PER_CLASS {
                    return false;
                }
                // SAFETY: `p` is a free block of at least 16 bytes, 16-aligned, now ours.
                unsafe { *(p as *mut *mut u8) = l.head[idx].get() };
                l.head[idx].set(p);
                l.len[idx].set(l.len[idx].get() + 1);
                true
            })
            .unwrap_or(false);
        if !kept {
            // SAFETY: a block of class `idx`, from `System` with the class layout.
            unsafe { System.dealloc(p, class_layout(idx)) };
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract; `new_size` with the old alignment is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_small(&layout) && !is_small(&new_layout) {
            // SAFETY: `p` came from `System` with `layout` (see `alloc`).
            return unsafe { System.realloc(p, layout, new_size) };
        }
        if is_small(&layout) && is_small(&new_layout) && class_of(layout.size()) == class_of(new_size) {
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
