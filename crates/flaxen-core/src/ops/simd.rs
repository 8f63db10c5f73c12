//! Small AVX-512 helpers the kernels share.

use std::arch::x86_64::*;

/// The first `n` of a vector's 16 lanes (all of them when n ≥ 16): the mask of a row's last,
/// partial vector.
#[inline(always)]
pub(crate) fn lanes(n: usize) -> __mmask16 {
    if n >= 16 { 0xffff } else { ((1u32 << n) - 1) as u16 }
}

/// Stores the lanes of `v` that `mask` selects at `dst`: a plain store when every lane is
/// selected, since masked stores are several times slower on AMD cores even with a full mask.
///
/// # Safety
/// AVX-512F; the selected lanes' addresses are writable.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn store(dst: *mut f32, mask: __mmask16, v: __m512) {
    // SAFETY: the caller's contract (a full mask writes all 16 lanes).
    unsafe {
        if mask == 0xffff {
            _mm512_storeu_ps(dst, v)
        } else {
            _mm512_mask_storeu_ps(dst, mask, v)
        }
    }
}
