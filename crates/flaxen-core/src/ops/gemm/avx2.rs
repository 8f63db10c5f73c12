//! The AVX2+FMA single-precision GEMM, for CPUs without AVX-512 (AMD Zen 2/3, Intel before
//! Skylake-X, most laptops): a 6×16 register-blocked microkernel (12 ymm accumulators; per k
//! step two 8-lane loads of B, one broadcast of A per row, 12 FMAs) in BLIS's loop nest (see
//! `gemm`). Only compiled into `#[target_feature(enable = "avx2,fma")]` functions and only
//! called after runtime detection (`cpu::has_avx2_fma`).
//!
//! * A is packed into 6-row micro-panels per block of 144 rows and depth block (8 depths at a
//!   time through an 8×8 register transpose).
//! * B is packed into contiguous 16-column micro-panels: row-major float32, bfloat16/float16
//!   widened on the way, or a transposed float32 B (`BKind::F32T`, `x @ w.T`) transposed 8×8
//!   in registers. Weights kept in 32-column panels (`BKind::Panels`) are read where they lie.
//! * The depth blocks are the AVX-512 product's (they depend on m alone), so each output sums
//!   the same products in the same order and the two give the same bits.
//! * Edges: rows are split into balanced panels of at most 6; packed panels are zero-padded,
//!   so only the stores of the last vector are masked.

use std::arch::x86_64::*;

use super::gemv::{load8, KIND_BF16, KIND_F16, KIND_F32};
use super::{BKind, Gemm, PackBuf, FEW_ROWS, PANEL};

/// Most rows of one register block (broadcast operand A).
const MR: usize = 6;
/// Columns of one register block (two ymm vectors of B) and of a packed panel.
const NR: usize = 16;
/// Rows of B (depth) per pass over C, as in `avx512.rs` (the same sums).
const KC: usize = 256;
/// Micro-panels of A per packed block (144 rows).
const PB: usize = 24;
/// Floats of one packed block of a transposed B (256 KiB: 256 columns at KC).
const BLOCK: usize = 1 << 16;

/// One microkernel: C[R×8V] (+)= A[R×kc]·B[kc×8V], A a packed micro-panel (`pack_a`). `last`
/// (1..=8) lanes of the last vector are stored; B is always readable for whole vectors (packed
/// panels are zero-padded). `pf`: lines to prefetch, one per depth step (at most kc).
type Kernel = unsafe fn(kc: usize, a: *const f32, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, last: usize, accumulate: bool, pf: Lines);

/// # Safety
/// AVX2 and FMA must be available. `a` readable for 6·kc floats (kc groups of 6, R of each
/// used), `b` for kc rows of stride `ldb` and 8V columns, `c` writable (and readable when `accumulate`)
/// for R rows of stride `ldc` over 8(V-1) + `last` columns, and no other thread may touch that
/// C block meanwhile.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel<const R: usize, const V: usize, const PF: bool>(kc: usize, a: *const f32, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, last: usize, accumulate: bool, mut pf: Lines) {
    // SAFETY (whole body): every access is at row i < R, depth p < kc, inside the blocks the
    // caller vouches for; the masked lanes of C's last vector are never touched.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); V]; R];
        let mut ap = a;
        let mut bp = b;
        for p in 0..kc {
            if PF && p < pf.count {
                pf.next();
            }
            let mut bv = [_mm256_setzero_ps(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = _mm256_loadu_ps(bp.add(8 * v));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*ap.add(i));
                for (x, &bx) in row.iter_mut().zip(&bv) {
                    *x = _mm256_fmadd_ps(av, bx, *x);
                }
            }
            ap = ap.add(MR);
            bp = bp.add(ldb);
        }
        let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(last as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (i, row) in acc.iter().enumerate() {
            let cp = c.add(i * ldc);
            for (v, &x) in row.iter().enumerate() {
                let dst = cp.add(8 * v);
                if v + 1 < V || last == 8 {
                    let r = if accumulate { _mm256_add_ps(_mm256_loadu_ps(dst), x) } else { x };
                    _mm256_storeu_ps(dst, r);
                } else {
                    let r = if accumulate { _mm256_add_ps(_mm256_maskload_ps(dst, mask), x) } else { x };
                    _mm256_maskstore_ps(dst, mask, r);
                }
            }
        }
    }
}

/// The kernel for `rows` (1..=6) rows and `v` (1 or 2) vectors, prefetching when `pf`.
fn pick(rows: usize, v: usize, pf: bool) -> Kernel {
    macro_rules! by_rows {
        ($v:literal, $pf:literal) => {
            match rows {
                1 => kernel::<1, $v, $pf> as Kernel,
                2 => kernel::<2, $v, $pf>,
                3 => kernel::<3, $v, $pf>,
                4 => kernel::<4, $v, $pf>,
                5 => kernel::<5, $v, $pf>,
                _ => kernel::<6, $v, $pf>,
            }
        };
    }
    match (v, pf) {
        (1, false) => by_rows!(1, false),
        (1, true) => by_rows!(1, true),
        (_, false) => by_rows!(2, false),
        (_, true) => by_rows!(2, true),
    }
}

/// Packs the kc×nc block of B at `b` (element stride along a row 1, between rows `ldb`; for
/// `F32T` the other way round) into 16-column panels, each kc rows of 16 contiguous floats,
/// the last one zero-padded.
///
/// # Safety
/// AVX2, FMA and F16C; `b` readable for the block in its layout; `dst` writable
/// for `nc.div_ceil(16) * 16 * kc` floats.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pack(kind: BKind, kc: usize, nc: usize, b: *const u8, ldb: usize, dst: *mut f32) {
    for j in (0..nc).step_by(NR) {
        let w = (nc - j).min(NR);
        // SAFETY: panel j/16 of the caller's buffer; columns j..j+w of the block.
        unsafe {
            let out = dst.add(j * kc);
            match kind {
                BKind::F32 => pack_rows::<KIND_F32>(kc, w, b.add(4 * j), 4 * ldb, out),
                BKind::Bf16 => pack_rows::<KIND_BF16>(kc, w, b.add(2 * j), 2 * ldb, out),
                BKind::F16 => pack_rows::<KIND_F16>(kc, w, b.add(2 * j), 2 * ldb, out),
                BKind::F32T => pack_transposed(kc, w, (b as *const f32).add(j * ldb), ldb, out),
                BKind::Panels => unreachable!("panels are read in place"),
            }
        }
    }
}

/// One panel of a row-major B: kc rows of `w` ≤ 16 elements of kind `K` (`line` bytes apart),
/// widened into 16 floats of `out` each, zero past `w`.
///
/// # Safety
/// AVX2, FMA and F16C; `b` readable for kc rows of w elements, `out` writable for kc × 16
/// floats.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn pack_rows<const K: u8>(kc: usize, w: usize, b: *const u8, line: usize, out: *mut f32) {
    let size = if K == KIND_F32 { 4 } else { 2 };
    for p in 0..kc {
        // SAFETY: `load8` reads at most the w elements of the row (zeros past them); the stores
        // are row p of the panel.
        unsafe {
            let src = b.add(p * line);
            _mm256_storeu_ps(out.add(p * NR), load8::<K>(src, w));
            _mm256_storeu_ps(out.add(p * NR + 8), load8::<K>(src.wrapping_add(8 * size), w.saturating_sub(8)));
        }
    }
}

/// One panel of a transposed B: columns j..j+w of B are rows of W (`w` ≤ 16 of them, stride
/// `ldw`), kc deep. Whole groups of eight rows go 8×8 blocks at a time through registers; a
/// short group and the depth left over are copied one by one; missing columns are zeros.
///
/// # Safety
/// AVX2; `wp` readable for w rows of kc floats at stride `ldw`, `out` writable for kc × 16.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_transposed(kc: usize, w: usize, wp: *const f32, ldw: usize, out: *mut f32) {
    for half in 0..2 {
        let (r0, rows) = (8 * half, w.saturating_sub(8 * half).min(8));
        let mut p = 0;
        if rows == 8 {
            while p + 8 <= kc {
                // SAFETY: rows r0..r0+8 < w at depths p..p+8 < kc; stores in the panel.
                unsafe {
                    let v = transpose8(std::array::from_fn(|i| _mm256_loadu_ps(wp.add((r0 + i) * ldw + p))));
                    for (d, x) in v.into_iter().enumerate() {
                        _mm256_storeu_ps(out.add((p + d) * NR + r0), x);
                    }
                }
                p += 8;
            }
        }
        for p in p..kc {
            for i in 0..8 {
                // SAFETY: row r0 + i < w of W is read only when present; the store is in the panel.
                unsafe { *out.add(p * NR + r0 + i) = if i < rows { *wp.add((r0 + i) * ldw + p) } else { 0.0 } };
            }
        }
    }
}

/// The 8×8 transpose: vector d of the result holds element d of each input vector, in order.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
    let t: [__m256; 8] = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let s: [__m256; 8] = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xee>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xee>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xee>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xee>(t[5], t[7]),
    ];
    [
        _mm256_permute2f128_ps::<0x20>(s[0], s[4]),
        _mm256_permute2f128_ps::<0x20>(s[1], s[5]),
        _mm256_permute2f128_ps::<0x20>(s[2], s[6]),
        _mm256_permute2f128_ps::<0x20>(s[3], s[7]),
        _mm256_permute2f128_ps::<0x31>(s[0], s[4]),
        _mm256_permute2f128_ps::<0x31>(s[1], s[5]),
        _mm256_permute2f128_ps::<0x31>(s[2], s[6]),
        _mm256_permute2f128_ps::<0x31>(s[3], s[7]),
    ]
}

/// Packs `rows` (≤ 6) rows of A over kc depths into one micro-panel: kc groups of 6 floats
/// (depth-major), rows past `rows` zero. Eight depths at a time go through `transpose8`; each
/// group is stored as 8 floats whose last two the next group overwrites, so the panel needs 2
/// floats of slack after it.
///
/// # Safety
/// AVX2; those rows and depths are inside A (row stride `lda`); `dst` writable for 6·kc + 2
/// floats.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_a(rows: usize, kc: usize, a: *const f32, lda: usize, dst: *mut f32) {
    // SAFETY: the caller's contract, with R = rows.
    unsafe {
        match rows {
            1 => pack_a_rows::<1>(kc, a, lda, dst),
            2 => pack_a_rows::<2>(kc, a, lda, dst),
            3 => pack_a_rows::<3>(kc, a, lda, dst),
            4 => pack_a_rows::<4>(kc, a, lda, dst),
            5 => pack_a_rows::<5>(kc, a, lda, dst),
            _ => pack_a_rows::<6>(kc, a, lda, dst),
        }
    }
}

/// `pack_a` for R rows.
///
/// # Safety
/// As `pack_a`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn pack_a_rows<const R: usize>(kc: usize, a: *const f32, lda: usize, dst: *mut f32) {
    let mut p = 0;
    while p + 8 <= kc {
        // SAFETY: rows i < R at depths p..p+8 < kc; stores at groups p..p+8 (+2 slack).
        unsafe {
            let v = transpose8(std::array::from_fn(|i| if i < R { _mm256_loadu_ps(a.add(i * lda + p)) } else { _mm256_setzero_ps() }));
            for (d, x) in v.into_iter().enumerate() {
                _mm256_storeu_ps(dst.add((p + d) * MR), x);
            }
        }
        p += 8;
    }
    for p in p..kc {
        for i in 0..MR {
            // SAFETY: as above, one element at a time.
            unsafe { *dst.add(p * MR + i) = if i < R { *a.add(i * lda + p) } else { 0.0 } };
        }
    }
}

/// Cache lines of B to prefetch: line t at `base + t·gap`, for t in `at..at + count`. The
/// kernels walk their share of the next micro-panel's source (one line per depth row) while
/// they run.
#[derive(Clone, Copy)]
struct Lines {
    base: *const u8,
    gap: usize,
    at: usize,
    count: usize,
}

impl Lines {
    const NONE: Lines = Lines { base: std::ptr::null(), gap: 0, at: 0, count: 0 };

    /// The lines of a row-major B's (or kept panels') 16-column micro-panel at (pc, j), kc deep.
    fn of(g: &Gemm, pc: usize, kc: usize, j: usize) -> Lines {
        debug_assert_ne!(g.bkind, BKind::F32T);
        // Kept panels start at a multiple of 32 columns.
        let base = if g.bkind == BKind::Panels { j - j % PANEL } else { j };
        let row = if g.bkind == BKind::Panels { PANEL } else { g.ldb } * g.bkind.size();
        // SAFETY: B[pc, base] with base ≤ j < n is inside B.
        let start = unsafe { g.b_at(pc, base).wrapping_add((j - base) * g.bkind.size()) };
        Lines { base: start, gap: row, at: 0, count: kc }
    }

    /// Lines t0..t1 of these (clipped to `count`).
    fn part(self, t0: usize, t1: usize) -> Lines {
        let (t0, t1) = (t0.min(self.count), t1.min(self.count));
        Lines { at: self.at + t0, count: t1 - t0, ..self }
    }

    /// Prefetches the next line into L2.
    #[inline(always)]
    fn next(&mut self) {
        // SAFETY: a prefetch never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(self.base.wrapping_add(self.at * self.gap) as *const i8) };
        self.at += 1;
    }
}

/// C (+)= A·B on the calling thread.
///
/// Loop nest: per block of up to 144 rows of A (packed into 6-row micro-panels, ≤ 144 KiB at
/// KC, held in L2) and depth block, each 16-column micro-panel of B (16 KiB at KC, held in L1)
/// meets every micro-panel of the A block. Row-major B is packed one micro-panel at a time,
/// just before use, while the kernels prefetch the next one's source into L2 (each kernel its
/// share of the lines, one per depth step). A transposed B is packed a block of 256 columns at
/// a time instead (its rows of W are contiguous runs the hardware prefetchers follow).
/// Measured on one Zen 3 core, GFLOP/s (medians of alternated runs; this VM swings ±20%):
/// * against A read in place with row panels outermost and B packed per block (the AVX-512
///   order): [128,768]·[768,2304] 68 → 79-83, [1024]² 60-67 → 57-74;
/// * the prefetch, weights rotated out of the caches: [128,768]·[768,3072] 58 → 67,
///   [128,3072]·[3072,768] 61 → 71 (two threads 88 → 95, 94 → 98); for a transposed B per
///   block it measured no faster (62 → 58), so it has none;
/// * GPT-2's tied head [128,768]·[50257,768]ᵀ packed per block 51-65, per micro-panel 51-58.
///
/// Blocks of A beyond the first pack B again (large m only; each packed element then serves
/// 288 flops).
///
/// # Safety
/// AVX2, FMA and F16C must be available; the `Gemm` must describe valid
/// blocks (C writable, not overlapping A or B, not touched by any other thread meanwhile).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn gemm(g: &Gemm, buf: &mut PackBuf) {
    let (m, n, k) = (g.m, g.n, g.k);
    let panels = g.bkind == BKind::Panels;
    let by_block = g.bkind == BKind::F32T;
    // Row panels of at most 6 rows, balanced: `np` panels, the first `extra` one row taller;
    // `PB` of them to a block of A.
    let np = m.div_ceil(MR);
    let (base, extra) = (m / np, m % np);
    let rows = |ip: usize| base + (ip < extra) as usize;
    // The depth blocks of `avx512.rs`, which depend on m alone.
    let kc_max = if m <= FEW_ROWS { 2 * KC } else { KC }.min(k);
    let nc_max = if by_block { (BLOCK / kc_max).max(NR) / NR * NR } else { n };
    // One buffer: A's block (with the 2 floats of slack, rounded to 64 bytes), then B's panel
    // or block.
    let alen = (PB.min(np) * MR * kc_max + 2).next_multiple_of(16);
    let blen = if by_block { nc_max.min(n).next_multiple_of(NR) } else { NR } * kc_max;
    let abuf = buf.get(alen + blen);
    let bbuf = abuf.wrapping_add(alen);
    for p0 in (0..np).step_by(PB) {
        let p1 = (p0 + PB).min(np);
        let i0: usize = (0..p0).map(rows).sum();
        for jc in (0..n).step_by(nc_max) {
            let nc = (n - jc).min(nc_max);
            for pc in (0..k).step_by(kc_max) {
                let kc = (k - pc).min(kc_max);
                let acc = g.accumulate || pc > 0;
                let mut r = i0;
                for ip in p0..p1 {
                    // SAFETY: rows r..r+rows(ip) ≤ m of A at depths pc..pc+kc ≤ k; panel
                    // ip - p0 of the A buffer, slack included.
                    unsafe { pack_a(rows(ip), kc, g.a.add(r * g.lda + pc), g.lda, abuf.add((ip - p0) * MR * kc)) };
                    r += rows(ip);
                }
                if by_block {
                    // SAFETY: columns jc..jc+nc of B at depths pc..pc+kc; the buffer holds
                    // kc × nc rounded up to 16.
                    unsafe { pack(g.bkind, kc, nc, g.b_at(pc, jc), g.ldb, bbuf) };
                }
                for jr in (0..nc).step_by(NR) {
                    let (j, w) = (jc + jr, (nc - jr).min(NR));
                    let (bp, ldb) = if panels {
                        // Kept panels are 32 wide, `ldb` (their depth) rows each: columns j..
                        // are at offset j % 32 of panel j / 32.
                        // SAFETY: row pc < k at column j - j % 32 < n: inside the panels.
                        (unsafe { (g.b_at(pc, j - j % PANEL) as *const f32).add(j % PANEL) }, PANEL)
                    } else if by_block {
                        (bbuf.wrapping_add(jr * kc) as *const f32, NR)
                    } else {
                        // SAFETY: columns j..j+w of B at depths pc..pc+kc; the buffer holds 16·kc.
                        unsafe { pack(g.bkind, kc, w, g.b_at(pc, j), g.ldb, bbuf) };
                        (bbuf as *const f32, NR)
                    };
                    // The next micro-panel's lines, each kernel its share (none for a transposed
                    // B: per block, it measured no faster).
                    let pf = if !by_block && j + NR < n { Lines::of(g, pc, kc, j + NR) } else { Lines::NONE };
                    let share = pf.count.div_ceil(p1 - p0);
                    let mut r = i0;
                    for ip in p0..p1 {
                        let t = ip - p0;
                        let mine = pf.part(share * t, share * (t + 1));
                        // SAFETY: the kernel reads the packed panels of A (6·kc floats) and B
                        // (kc×16, zero-padded, or kept panels likewise) and writes rows(ip)×w of
                        // C from row r < m, column j < n: inside C, which this thread owns.
                        // Prefetches never fault.
                        unsafe {
                            let ap = abuf.add((ip - p0) * MR * kc);
                            let kern = pick(rows(ip), w.div_ceil(8), mine.count > 0);
                            kern(kc, ap, bp, ldb, g.c.add(r * g.ldc + j), g.ldc, w - 8 * ((w - 1) / 8), acc, mine)
                        };
                        r += rows(ip);
                    }
                }
            }
        }
    }
}
