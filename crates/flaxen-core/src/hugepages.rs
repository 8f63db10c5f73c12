//! Large blocks in their own anonymous mappings with transparent huge pages.
//!
//! A fresh block is paid for on first touch: the kernel faults in and zeroes every page. With
//! 4 KiB pages that is one fault per page, and on this class of virtual machine a fault costs
//! ~10 µs, so first touch runs at ~0.4 GB/s: reading a 512 MiB checkpoint into fresh memory
//! took 1.4 s of faults. Systems that enable THP only on request (`madvise`, a common default)
//! never give malloc's mappings huge pages. Asking for them (`MADV_HUGEPAGE`) on a 2 MiB-aligned
//! mapping makes first touch one fault per 2 MiB: ~11 GB/s measured here.
//!
//! Only whole 2 MiB pages inside the block are advised, so a block never commits more memory
//! than its length rounded up to a 4 KiB page. Fresh mappings read as zero.

use std::ptr::NonNull;

/// Blocks at least this long get their own mapping.
pub const MIN: usize = 4 << 20;
const HUGE: usize = 2 << 20;
const PAGE: usize = 4096;

/// A zeroed, 2 MiB-aligned block of `len` (≥ `MIN`) bytes, or None if the system refused it.
#[cfg(target_os = "linux")]
pub fn alloc(len: usize) -> Option<NonNull<u8>> {
    let mapped = len.checked_next_multiple_of(PAGE)?;
    let over = mapped.checked_add(HUGE)?;
    // SAFETY: an anonymous private mapping at an address of the kernel's choice touches no
    // existing memory; the result is checked before use.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            over,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return None;
    }
    let base = raw as usize;
    let start = base.next_multiple_of(HUGE);
    // SAFETY: both ranges lie inside the mapping just made (start - base < HUGE and
    // start + mapped ≤ base + over), page-aligned, and nothing points into them.
    unsafe {
        if start > base {
            libc::munmap(raw, start - base);
        }
        let tail = base + over - (start + mapped);
        if tail > 0 {
            libc::munmap((start + mapped) as *mut libc::c_void, tail);
        }
        // Advice only; a kernel without THP ignores or refuses it and the block still works.
        libc::madvise(
            start as *mut libc::c_void,
            len / HUGE * HUGE,
            libc::MADV_HUGEPAGE,
        );
    }
    NonNull::new(start as *mut u8)
}

/// Unmaps a block from `alloc`.
///
/// # Safety
/// `ptr` and `len` must be those of a block from `alloc` that nothing uses any more.
#[cfg(target_os = "linux")]
pub unsafe fn free(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller's contract: this is exactly a mapping `alloc` made.
    unsafe {
        libc::munmap(
            ptr.as_ptr() as *mut libc::c_void,
            len.next_multiple_of(PAGE),
        )
    };
}

/// Faults in the pages of `len` bytes at `ptr` from every thread of the pool at once, without
/// writing them. On a virtual machine a first touch of fresh memory also faults in the host,
/// and those faults run in parallel: measured here, 512 MiB took 0.5–0.9 s from one thread and
/// 0.15 s from two. For a block about to be filled by one sequential writer (a file read, a
/// serialiser). Best effort: on a kernel without `MADV_POPULATE_WRITE` (before 5.14) nothing
/// happens and the writer faults the pages in itself.
#[cfg(target_os = "linux")]
pub fn populate(ptr: NonNull<u8>, len: usize) {
    use rayon::prelude::*;
    let (start, end) = (ptr.as_ptr() as usize, ptr.as_ptr() as usize + len);
    // Whole pages inside the block, in 2 MiB pieces shared out to the pool.
    let first = start.next_multiple_of(PAGE);
    let last = end / PAGE * PAGE;
    if last <= first {
        return;
    }
    (0..(last - first).div_ceil(HUGE)).into_par_iter().for_each(|i| {
        let at = first + i * HUGE;
        let n = HUGE.min(last - at);
        // SAFETY: [at, at + n) lies inside the caller's block (pages of it); populating only
        // allocates the pages, it never changes their contents.
        unsafe { libc::madvise(at as *mut libc::c_void, n, libc::MADV_POPULATE_WRITE) };
    });
}

#[cfg(not(target_os = "linux"))]
pub fn populate(_ptr: NonNull<u8>, _len: usize) {}

/// Elsewhere the system allocator serves large blocks too.
#[cfg(not(target_os = "linux"))]
pub fn alloc(len: usize) -> Option<NonNull<u8>> {
    let layout = std::alloc::Layout::from_size_align(len, HUGE).ok()?;
    // SAFETY: non-zero size (len ≥ MIN).
    NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })
}

/// # Safety
/// As the Linux `free`.
#[cfg(not(target_os = "linux"))]
pub unsafe fn free(ptr: NonNull<u8>, len: usize) {
    // SAFETY: allocated by `alloc` with this layout.
    unsafe {
        std::alloc::dealloc(
            ptr.as_ptr(),
            std::alloc::Layout::from_size_align_unchecked(len, HUGE),
        )
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocks_are_aligned_zeroed_and_writable_to_their_last_byte() {
        for len in [super::MIN, super::MIN + 12_345, 9 << 20] {
            let p = super::alloc(len).expect("a few MiB");
            assert_eq!(p.as_ptr() as usize % super::HUGE, 0);
            // SAFETY: `len` bytes from `alloc`, ours alone until freed below.
            let s = unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), len) };
            assert!(s.iter().step_by(4093).all(|&b| b == 0) && s[len - 1] == 0);
            s.fill(7);
            super::populate(p, len); // faults in nothing new and changes nothing
            assert!(s.iter().step_by(4093).all(|&b| b == 7) && s[len - 1] == 7);
            // SAFETY: from `alloc` with this length; the slice is not used again.
            unsafe { super::free(p, len) };
        }
    }
}
