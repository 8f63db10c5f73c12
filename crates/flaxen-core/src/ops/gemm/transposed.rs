//! C[m×n] = A[m×k]·Wᵀ for a float32 W stored n×k row-major: `x @ w.T` for kernels kept as
//! (out, in), the layout of PyTorch's Linear, Hugging Face's Conv1D and a tied embedding's
//! `attend`. W is read where it lies, never transposed into a copy: weights mapped from a
//! safetensors file stay shared between the processes that map them, and a model compiled for
//! several shapes does not hold one transposed copy per plan.
//!
//! W is cut into bands of 128 of its rows (128 columns of C); each band is transposed into the
//! microkernel's panel layout in a per-thread buffer and multiplied as `BKind::Panels`. The
//! microkernel's depth blocks depend on m alone, so every output sums in the order
//! `matmul(a, transpose(w))` sums it: the same bits. Two rows of A or more: a single row sums
//! as the matrix-vector product does, and reading W in place in that order measured ~4x
//! slower than `gemv` on the copy, so one-row products keep the copy (`ops::matmul_t`).

use std::cell::RefCell;

use super::{gemm_st, BKind, Gemm, PackBuf, PANEL, PAR_WORK};
use crate::par::SendPtr;

/// Rows of W (columns of C) per band of the many-rows product.
const BAND: usize = 4 * PANEL;

thread_local! {
    /// The band being multiplied, in panels (k × BAND floats).
    static BAND_BUF: RefCell<PackBuf> = const { RefCell::new(PackBuf::new()) };
}

/// Runs the product, split across the pool when `parallel` and it is large enough.
///
/// # Safety
/// AVX-512F must be available; m ≥ 2. `a` holds m×k floats (row stride k), `w` n×k (row stride k), `c`
/// m×n writable floats (row stride n) overlapping neither, and no other thread touches `c`.
pub(crate) unsafe fn gemm_nt(m: usize, n: usize, k: usize, a: *const f32, w: *const f32, c: *mut f32, parallel: bool) {
    if m == 0 || n == 0 {
        return;
    }
    debug_assert!(m >= 2, "one-row products take the transposed copy");
    let threads = if parallel { rayon::current_num_threads() } else { 1 };
    let (ap, wp, cp) = (SendPtr(a as *mut f32), SendPtr(w as *mut f32), SendPtr(c));
    let bands = n.div_ceil(BAND);
    let band = |b: usize| {
        let (j0, j1) = (b * BAND, ((b + 1) * BAND).min(n));
        BAND_BUF.with(|buf| {
            // gemm_st uses its own buffer, never this one: no re-entrant borrow.
            let mut buf = buf.borrow_mut();
            let panels = buf.get((j1 - j0).next_multiple_of(PANEL) * k);
            // SAFETY: rows j0..j1 of W are inside it; the buffer holds the band's panels.
            unsafe { pack_rows(k, wp.get().add(j0 * k), j1 - j0, panels) };
            let g = Gemm { m, n: j1 - j0, k, a: ap.get(), lda: k, b: panels as *const u8, bkind: BKind::Panels, ldb: k, c: cp.get().wrapping_add(j0), ldc: n, accumulate: false };
            // SAFETY: columns j0..j1 of C are this band's alone.
            unsafe { gemm_st(&g) };
        });
    };
    if threads > 1 && bands > 1 && m * n * k >= PAR_WORK {
        crate::par::each(bands, band);
    } else {
        (0..bands).for_each(band);
    }
}

/// `rows` rows of W (row stride k) as `BKind::Panels` with depth k: panel p holds rows
/// 32p..32p+32 of W as its columns, depth row by depth row; missing columns are zeros.
///
/// # Safety
/// AVX-512F; `w` readable for rows × k floats, `out` writable for rows rounded up to 32, × k.
#[target_feature(enable = "avx512f")]
unsafe fn pack_rows(k: usize, w: *const f32, rows: usize, out: *mut f32) {
    use std::arch::x86_64::*;
    let step = i32::try_from(k).expect("a weight row of fewer than 2^31 / 16 floats");
    let idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(step));
    let block = Block::new();
    for p in 0..rows.div_ceil(PANEL) {
        for half in 0..2 {
            let r0 = p * PANEL + 16 * half;
            let mask = crate::ops::simd::lanes(rows.saturating_sub(r0));
            // SAFETY: the masked lanes read rows r0 + i < rows of W at depth d < k; the store
            // is inside panel p's k × 32 floats.
            unsafe {
                let dst = out.add(p * PANEL * k + 16 * half);
                if mask == 0 {
                    for d in 0..k {
                        _mm512_storeu_ps(dst.add(d * PANEL), _mm512_setzero_ps());
                    }
                    continue;
                }
                let src = w.wrapping_add(r0 * k);
                let mut d = 0;
                if mask == 0xffff {
                    while d + 8 <= k {
                        for (i, v) in block.read(src, k, d).into_iter().enumerate() {
                            _mm512_storeu_ps(dst.add((d + i) * PANEL), v);
                        }
                        d += 8;
                    }
                }
                for d in d..k {
                    let v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, idx, src.add(d));
                    _mm512_storeu_ps(dst.add(d * PANEL), v);
                }
            }
        }
    }
}

/// Reads 16 rows of W × 8 depths as 8 vectors, vector d holding depth p + d of the 16 rows in
/// order: a 16×8 transpose in registers. Eight loads of two 8-float rows [i | i + 8], then
/// three butterfly stages: pairs (i, i + s) of vectors exchange blocks of s lanes
/// (`_mm512_permutex2var_ps` indices, 16+ = the second vector), for s = 4, 2, 1.
#[derive(Clone, Copy)]
struct Block {
    lo: [std::arch::x86_64::__m512i; 3],
    hi: [std::arch::x86_64::__m512i; 3],
}

impl Block {
    const LO: [[i32; 16]; 3] = [
        [0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27],
        [0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29],
        [0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30],
    ];
    const HI: [[i32; 16]; 3] = [
        [4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31],
        [2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31],
        [1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31],
    ];

    #[target_feature(enable = "avx512f")]
    fn new() -> Block {
        use std::arch::x86_64::_mm512_loadu_si512;
        // SAFETY: loads of 16 i32 from arrays of 16.
        let load = |a: &[i32; 16]| unsafe { _mm512_loadu_si512(a.as_ptr().cast()) };
        Block { lo: Block::LO.each_ref().map(load), hi: Block::HI.each_ref().map(load) }
    }

    /// Depths p..p+8 of rows w, w + ldw, …, w + 15·ldw.
    ///
    /// # Safety
    /// AVX-512F; those 16 × 8 floats are readable.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn read(&self, w: *const f32, ldw: usize, p: usize) -> [std::arch::x86_64::__m512; 8] {
        use std::arch::x86_64::*;
        // SAFETY: rows i and i + 8 < 16 at depths p..p+8, by the caller's guarantee.
        let row2 = |i: usize| unsafe { _mm512_insertf32x8::<1>(_mm512_castps256_ps512(_mm256_loadu_ps(w.add(i * ldw + p))), _mm256_loadu_ps(w.add((i + 8) * ldw + p))) };
        let mut v = [row2(0), row2(1), row2(2), row2(3), row2(4), row2(5), row2(6), row2(7)];
        // Written out with constant indices, so the eight vectors stay in registers.
        macro_rules! stage {
            ($st:literal: $(($a:literal, $b:literal)),*) => {$(
                let (x, y) = (v[$a], v[$b]);
                v[$a] = _mm512_permutex2var_ps(x, self.lo[$st], y);
                v[$b] = _mm512_permutex2var_ps(x, self.hi[$st], y);
            )*};
        }
        stage!(0: (0, 4), (1, 5), (2, 6), (3, 7));
        stage!(1: (0, 2), (1, 3), (4, 6), (5, 7));
        stage!(2: (0, 1), (2, 3), (4, 5), (6, 7));
        v
    }
}
