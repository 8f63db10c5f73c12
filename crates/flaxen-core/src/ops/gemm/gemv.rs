//! y[1×n] (+)= x[1×k]·W[k×n]: the matrix-vector product. Every element of W is used once, so
//! the speed is the speed of reading W: rows are streamed eight at a time (eight sequential
//! streams, prefetched 1 KiB ahead), each pass adding into a slice of y that stays in cache.
//! bfloat16 / float16 rows are widened to float32 in registers as they are loaded (the same
//! sums follow), so half-precision weights are read at 2 bytes each, never copied.

use super::{BKind, Gemm};

/// Columns of y updated per pass over the rows (32 KiB of y, resident in L1/L2): whole rows
/// of W for n up to this, so each row is one sequential stream.
const JB: usize = 8192;
/// Floats ahead of the current position that each row stream prefetches (1 KiB; half-precision
/// rows prefetch the same 1 KiB ahead).
const PREFETCH_AHEAD: usize = 256;

/// Where a row's prefetch points, in bytes from the row's start, when byte `pos` of it is being
/// read: `PREFETCH_AHEAD` floats on, and past the row's end (`row_bytes`) into the row that the
/// next group of rows reads in this row's place (`next` bytes on). Each of the group's streams
/// thus runs on into the next group, whose rows no longer start cold: GPT-2's per-layer
/// matrices (2.4–9.4 MB, rows of 3–12 KiB) each begin 96 or more groups.
#[inline(always)]
fn prefetch_at(pos: usize, row_bytes: usize, next: usize) -> usize {
    let at = pos + PREFETCH_AHEAD * 4;
    if at < row_bytes { at } else { at - row_bytes + next }
}

/// Runs the M = 1 product `g` (g.m must be 1) on the calling thread.
///
/// # Safety
/// As `gemm_st`.
pub(crate) unsafe fn gemv(g: &Gemm) {
    debug_assert_eq!(g.m, 1);
    if g.bkind == BKind::Panels || g.bkind == BKind::F32T {
        // (gemm_st sends a single row of A over panels to the microkernel instead; matmul_t
        // sends a single row over the transposed copy.)
        // SAFETY: same contract, with B unpacked into a row-major copy.
        return g.with_f32_b(|w| unsafe { gemv(w) });
    }
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() {
        // SAFETY: AVX-512F was detected; the caller vouches for the blocks.
        return unsafe {
            match g.bkind {
                BKind::F32 => gemv_avx512::<KIND_F32>(g),
                BKind::Bf16 => gemv_avx512::<KIND_BF16>(g),
                BKind::F16 => gemv_avx512::<KIND_F16>(g),
                BKind::Panels | BKind::F32T => unreachable!("unpacked above"),
            }
        };
    }
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx2_fma() && crate::halfconv::has_f16c() {
        // SAFETY: AVX2, FMA and F16C (the kernels are compiled with all three) were detected; the caller vouches for the blocks.
        return unsafe {
            match g.bkind {
                BKind::F32 => gemv_avx2::<KIND_F32>(g),
                BKind::Bf16 => gemv_avx2::<KIND_BF16>(g),
                BKind::F16 => gemv_avx2::<KIND_F16>(g),
                BKind::Panels | BKind::F32T => unreachable!("unpacked above"),
            }
        };
    }
    if g.bkind != BKind::F32 {
        // SAFETY: same contract, with B widened into a float32 copy (portable path only).
        return g.with_f32_b(|w| unsafe { gemv(w) });
    }
    // SAFETY: the caller vouches for x (k floats), W (k rows of stride ldb, n columns) and y.
    let (x, y) = unsafe {
        (
            std::slice::from_raw_parts(g.a, g.k),
            std::slice::from_raw_parts_mut(g.c, g.n),
        )
    };
    let row = |p: usize, j0: usize, j1: usize| -> &[f32] {
        // SAFETY: row p < k of W, columns j0..j1 ≤ n.
        unsafe { std::slice::from_raw_parts(g.b_f32().add(p * g.ldb + j0), j1 - j0) }
    };
    for j0 in (0..g.n).step_by(JB) {
        let j1 = (j0 + JB).min(g.n);
        let y = &mut y[j0..j1];
        if !g.accumulate {
            y.fill(0.0);
        }
        let mut p = 0;
        while p + 4 <= g.k {
            let (w0, w1, w2, w3) = (row(p, j0, j1), row(p + 1, j0, j1), row(p + 2, j0, j1), row(p + 3, j0, j1));
            let (x0, x1, x2, x3) = (x[p], x[p + 1], x[p + 2], x[p + 3]);
            for j in 0..y.len() {
                y[j] += x0 * w0[j] + x1 * w1[j] + x2 * w2[j] + x3 * w3[j];
            }
            p += 4;
        }
        while p < g.k {
            let (w, xp) = (row(p, j0, j1), x[p]);
            for j in 0..y.len() {
                y[j] += xp * w[j];
            }
            p += 1;
        }
    }
}

/// B's element kinds as const parameters of the AVX-512 loop (`BKind` as a number).
pub(super) const KIND_F32: u8 = 0;
pub(super) const KIND_BF16: u8 = 1;
pub(super) const KIND_F16: u8 = 2;

/// A pass over rows p..p+R of W for columns j0..j0+len (`first`: y is overwritten), one of
/// `rows_avx512` / `rows_avx2`.
#[cfg(target_arch = "x86_64")]
type Rows = unsafe fn(&Gemm, usize, usize, usize, bool);

/// The SIMD matvecs' passes, given their `rows` for groups of 8, 4 and 1 rows: per block of
/// `JB` columns, the rows of W eight at a time, then four, then one.
///
/// # Safety
/// As `gemv`, and the CPU must have what `rows` needs.
#[cfg(target_arch = "x86_64")]
unsafe fn passes(g: &Gemm, [rows8, rows4, rows1]: [Rows; 3]) {
    let (k, n) = (g.k, g.n);
    for j0 in (0..n).step_by(JB) {
        let len = (n - j0).min(JB);
        let mut first = !g.accumulate;
        let mut p = 0;
        for (step, rows) in [(8, rows8), (4, rows4), (1, rows1)] {
            while p + step <= k {
                // SAFETY: rows p..p+step < k and columns j0..j0+len ≤ n are inside W; y has n floats.
                unsafe { rows(g, p, j0, len, first) };
                first = false;
                p += step;
            }
        }
    }
}

/// # Safety
/// AVX-512F must be available; as `gemv`. `K` must be `g.bkind`'s number.
#[cfg(target_arch = "x86_64")]
unsafe fn gemv_avx512<const K: u8>(g: &Gemm) {
    // SAFETY: the caller's contract.
    unsafe { passes(g, [rows_avx512::<8, K>, rows_avx512::<4, K>, rows_avx512::<1, K>]) }
}

/// Sixteen elements of a row of W from `w` (a byte pointer to element j) as float32 lanes:
/// float32 loaded as is, bfloat16 shifted into the top half of each lane, float16 converted
/// (exact). Lanes past `n` (< 16 at a row's end) are zero and never read from memory.
///
/// # Safety
/// AVX-512F; `w` readable for `min(n, 16)` elements of kind `K`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load16<const K: u8>(w: *const u8, n: usize) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    // SAFETY: as the function's contract (the tail is copied element by element).
    unsafe {
        if K == KIND_F32 {
            let m = crate::ops::simd::lanes(n);
            return _mm512_maskz_loadu_ps(m, w as *const f32);
        }
        let h = if n >= 16 {
            _mm256_loadu_si256(w as *const __m256i)
        } else {
            let mut tail = [0u16; 16];
            std::ptr::copy_nonoverlapping(w as *const u16, tail.as_mut_ptr(), n);
            _mm256_loadu_si256(tail.as_ptr() as *const __m256i)
        };
        if K == KIND_BF16 {
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h)))
        } else {
            _mm512_cvtph_ps(h)
        }
    }
}

/// y[j0..j0+len] (+)= Σ_{r<R} x[p+r]·W[p+r, j0..j0+len]; `first`: y is not read (overwritten).
/// W's elements are of kind `K`; every kind sums the same products in the same order (a chain
/// over the R rows per column), so half-precision weights give the float32 result bit for bit.
///
/// # Safety
/// AVX-512F; rows p..p+R of W and columns j0..j0+len inside the operands of `g`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn rows_avx512<const R: usize, const K: u8>(g: &Gemm, p: usize, j0: usize, len: usize, first: bool) {
    use std::arch::x86_64::*;
    // Bytes per element of W, a constant of this instantiation.
    let size = if K == KIND_F32 { 4 } else { 2 };
    debug_assert_eq!(size, g.bkind.size());
    // SAFETY (whole body): x[p+r], W[p+r, j0+j] and y[j0+j] for r < R, j < len (the mask cuts
    // the last vector at len) are inside the operands by the caller's guarantee.
    unsafe {
        let y = g.c.add(j0);
        let mut xs = [_mm512_setzero_ps(); R];
        let mut ws = [g.b; R];
        for r in 0..R {
            xs[r] = _mm512_set1_ps(*g.a.add(p + r));
            ws[r] = g.b_at(p + r, j0);
        }
        let (row_bytes, next) = (len * size, R * g.ldb * size);
        let mut j = 0;
        if K == KIND_BF16 {
            // 32 bfloat16 per 64-byte load, split into even and odd lanes by a shift and a
            // mask (no cross-lane widening per load); two such loads per step give four
            // independent FMA chains, and the sums are interleaved back once per step.
            while len - j >= 64 {
                bf16_step::<R, 2>(&xs, &ws, y, j, first, (row_bytes, next));
                j += 64;
            }
            if len - j >= 32 {
                bf16_step::<R, 1>(&xs, &ws, y, j, first, (row_bytes, next));
                j += 32;
            }
        }
        while j < len {
            let m = crate::ops::simd::lanes(len - j);
            // The same distance in bytes for every element kind (what hides the latency).
            let at = prefetch_at(j * size, row_bytes, next);
            for w in &ws {
                _mm_prefetch::<_MM_HINT_T0>(w.wrapping_add(at) as *const i8);
            }
            let mut s = _mm512_mul_ps(xs[0], load16::<K>(ws[0].add(j * size), len - j));
            for r in 1..R {
                s = _mm512_fmadd_ps(xs[r], load16::<K>(ws[r].add(j * size), len - j), s);
            }
            if !first {
                s = _mm512_add_ps(_mm512_maskz_loadu_ps(m, y.add(j)), s);
            }
            _mm512_mask_storeu_ps(y.add(j), m, s);
            j += 16;
        }
    }
}

/// One step of `rows_avx512` over 32·V bfloat16 columns from column j of each row: V 64-byte
/// loads per row, each one chain for its even and one for its odd columns.
///
/// # Safety
/// AVX-512F; columns j..j+32·V of each row `ws[r]` (bfloat16) and of `y` are inside the operands.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn bf16_step<const R: usize, const V: usize>(
    xs: &[std::arch::x86_64::__m512; R],
    ws: &[*const u8; R],
    y: *mut f32,
    j: usize,
    first: bool,
    (row_bytes, next): (usize, usize),
) {
    use std::arch::x86_64::*;
    // SAFETY: as the function's contract; prefetches never fault.
    unsafe {
        let hi = _mm512_set1_epi32(0xffff_0000u32 as i32);
        let mut even = [_mm512_setzero_ps(); V];
        let mut odd = [_mm512_setzero_ps(); V];
        for r in 0..R {
            let row = ws[r].add(j * 2);
            for v in 0..V {
                _mm_prefetch::<_MM_HINT_T0>(ws[r].wrapping_add(prefetch_at(j * 2 + v * 64, row_bytes, next)) as *const i8);
                let h = _mm512_loadu_si512(row.add(v * 64) as *const _);
                let e = _mm512_castsi512_ps(_mm512_slli_epi32::<16>(h));
                let o = _mm512_castsi512_ps(_mm512_and_si512(h, hi));
                if r == 0 {
                    even[v] = _mm512_mul_ps(xs[0], e);
                    odd[v] = _mm512_mul_ps(xs[0], o);
                } else {
                    even[v] = _mm512_fmadd_ps(xs[r], e, even[v]);
                    odd[v] = _mm512_fmadd_ps(xs[r], o, odd[v]);
                }
            }
        }
        // Lane i of `even` is column 2i, of `odd` column 2i+1: interleave back.
        let lo_idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        let hi_idx = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
        for v in 0..V {
            let at = y.add(j + v * 32);
            let mut a = _mm512_permutex2var_ps(even[v], lo_idx, odd[v]);
            let mut b = _mm512_permutex2var_ps(even[v], hi_idx, odd[v]);
            if !first {
                a = _mm512_add_ps(_mm512_loadu_ps(at), a);
                b = _mm512_add_ps(_mm512_loadu_ps(at.add(16)), b);
            }
            _mm512_storeu_ps(at, a);
            _mm512_storeu_ps(at.add(16), b);
        }
    }
}

/// `gemv_avx512` for CPUs with AVX2 and FMA but no AVX-512: the same passes, eight columns
/// per vector. Each column sums the same products in the same order as the AVX-512 loop (a
/// chain over the group's rows, then added to y), so both give the same bits.
///
/// # Safety
/// AVX2, FMA and F16C must be available; as `gemv`.
#[cfg(target_arch = "x86_64")]
unsafe fn gemv_avx2<const K: u8>(g: &Gemm) {
    // SAFETY: the caller's contract.
    unsafe { passes(g, [rows_avx2::<8, K>, rows_avx2::<4, K>, rows_avx2::<1, K>]) }
}

/// Eight elements of a row of W from `w` (a byte pointer to element j) as float32 lanes, as
/// `load16` does for sixteen: lanes past `n` (< 8 at a row's end) are zero and never read.
///
/// # Safety
/// AVX2, FMA and F16C; `w` readable for `min(n, 8)` elements of kind `K`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) unsafe fn load8<const K: u8>(w: *const u8, n: usize) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // SAFETY: as the function's contract (a partial vector is copied element by element).
    unsafe {
        if K == KIND_F32 {
            if n >= 8 {
                return _mm256_loadu_ps(w as *const f32);
            }
            let mut tail = [0f32; 8];
            std::ptr::copy_nonoverlapping(w as *const f32, tail.as_mut_ptr(), n);
            return _mm256_loadu_ps(tail.as_ptr());
        }
        let h = if n >= 8 {
            _mm_loadu_si128(w as *const __m128i)
        } else {
            let mut tail = [0u16; 8];
            std::ptr::copy_nonoverlapping(w as *const u16, tail.as_mut_ptr(), n);
            _mm_loadu_si128(tail.as_ptr() as *const __m128i)
        };
        if K == KIND_BF16 {
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h)))
        } else {
            _mm256_cvtph_ps(h)
        }
    }
}

/// `rows_avx512` with eight-lane vectors: y[j0..j0+len] (+)= Σ_{r<R} x[p+r]·W[p+r, j0..j0+len].
/// Two vectors per step, so each row stream is prefetched once per 64 bytes of float32.
///
/// # Safety
/// AVX2, FMA and F16C; rows p..p+R of W and columns j0..j0+len inside the operands of `g`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_avx2<const R: usize, const K: u8>(g: &Gemm, p: usize, j0: usize, len: usize, first: bool) {
    use std::arch::x86_64::*;
    let size = if K == KIND_F32 { 4 } else { 2 };
    debug_assert_eq!(size, g.bkind.size());
    // SAFETY (whole body): x[p+r], W[p+r, j0+j] and y[j0+j] for r < R, j < len are inside the
    // operands by the caller's guarantee; a partial vector goes through a copy.
    unsafe {
        let y = g.c.add(j0);
        let mut xs = [_mm256_setzero_ps(); R];
        let mut ws = [g.b; R];
        for r in 0..R {
            xs[r] = _mm256_set1_ps(*g.a.add(p + r));
            ws[r] = g.b_at(p + r, j0);
        }
        let (row_bytes, next) = (len * size, R * g.ldb * size);
        let mut j = 0;
        while len - j >= 16 {
            let at = prefetch_at(j * size, row_bytes, next);
            for w in &ws {
                _mm_prefetch::<_MM_HINT_T0>(w.wrapping_add(at) as *const i8);
            }
            let (w0, w1) = (ws[0].add(j * size), ws[0].add((j + 8) * size));
            let mut s0 = _mm256_mul_ps(xs[0], load8::<K>(w0, 8));
            let mut s1 = _mm256_mul_ps(xs[0], load8::<K>(w1, 8));
            for r in 1..R {
                s0 = _mm256_fmadd_ps(xs[r], load8::<K>(ws[r].add(j * size), 8), s0);
                s1 = _mm256_fmadd_ps(xs[r], load8::<K>(ws[r].add((j + 8) * size), 8), s1);
            }
            if !first {
                s0 = _mm256_add_ps(_mm256_loadu_ps(y.add(j)), s0);
                s1 = _mm256_add_ps(_mm256_loadu_ps(y.add(j + 8)), s1);
            }
            _mm256_storeu_ps(y.add(j), s0);
            _mm256_storeu_ps(y.add(j + 8), s1);
            j += 16;
        }
        while j < len {
            let m = (len - j).min(8);
            let mut s = _mm256_mul_ps(xs[0], load8::<K>(ws[0].add(j * size), m));
            for r in 1..R {
                s = _mm256_fmadd_ps(xs[r], load8::<K>(ws[r].add(j * size), m), s);
            }
            let mut out = [0f32; 8];
            _mm256_storeu_ps(out.as_mut_ptr(), s);
            for (i, v) in out.iter().take(m).enumerate() {
                let dst = y.add(j + i);
                *dst = if first { *v } else { *dst + v };
            }
            j += 8;
        }
    }
}
