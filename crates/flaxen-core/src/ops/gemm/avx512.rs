//! The AVX-512 single-precision GEMM: a 12×32 register-blocked microkernel (24 zmm accumulators;
//! per k step two 16-lane loads of B, one broadcast of A per row, 24 FMAs) in a Goto-style
//! loop nest. Only compiled into `#[target_feature(enable = "avx512f")]` functions and only
//! called after runtime detection (`cpu::has_avx512f`).
//!
//! * A is read in place (the broadcasts walk 12 rows of A; measured as fast as packing it, from
//!   64² to 2048², so the packing pass is saved).
//! * B is read in place too, with software prefetches (its rows are one row stride apart, which
//!   the hardware prefetchers do not follow): 8 rows ahead, or with few rows of A the next
//!   panel into L2 while this one is used, except for wide matrices (row stride
//!   ≥ 2048 floats) with enough rows of A to amortise it: those are packed per KC×NC block into
//!   contiguous 32-column panels (TLB and cache-set friendly).
//! * bfloat16 / float16 weights (`BKind`) are always packed, widened to float32 on the way;
//!   the microkernel then runs exactly as for float32 weights.
//! * B already in panels (`BKind::Panels`, weights kept packed across calls) is read as the
//!   packed blocks are, with no packing pass: each 32-column panel is one contiguous run,
//!   which the hardware prefetchers follow and which never conflicts with itself in the
//!   caches (a row stride of a power of two maps a panel read in place onto few cache sets).
//! * Edges need no scalar code: rows are split into panels of 10–12 (balanced, never a thin
//!   last panel) with a kernel instantiated per row count, and the last column panel masks its
//!   final vector's loads and stores.

use std::arch::x86_64::*;

use super::{BKind, Gemm, PackBuf, FEW_ROWS};
use crate::ops::simd::lanes;

/// Most rows of one register block (broadcast operand A).
const MR: usize = 12;
/// Columns of one register block (two zmm vectors of B).
const NR: usize = 32;
/// Rows of B (depth) per pass over C.
const KC: usize = 256;
/// Columns of B per packed block: KC×NC floats = 1 MiB, half an L2 cache.
const NC: usize = 1024;
/// Rows of B ahead of the kernel that are prefetched when B is read in place.
const PREFETCH_ROWS: usize = 8;
/// Prefetch modes of the microkernel.
const NONE: u8 = 0;
const AHEAD: u8 = 1;
const NEXT: u8 = 2;

/// One microkernel: C[R×16V] (+)= A[R×kc]·B[kc×16V]. `R` and `V` are exact; `mask` selects the
/// valid lanes of the last vector (loads of B beyond it read zeros, stores skip those lanes).
/// `PF` (B read in place): `AHEAD` prefetches this panel `PREFETCH_ROWS` rows ahead into L1,
/// `NEXT` the panel at `pfb` (the next one this thread reads) into L2, a row per k step.
type Kernel = unsafe fn(
    kc: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    mask: u16,
    accumulate: bool,
    pfb: *const f32,
);

/// # Safety
/// AVX-512F must be available. `a` must be readable for R rows of stride `lda` and kc columns,
/// `b` for kc rows of stride `ldb` over the lanes the mask keeps, `c` writable (and readable
/// when `accumulate`) for R rows of stride `ldc` over those lanes, and no other thread may touch
/// that C block meanwhile.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel<const R: usize, const V: usize, const PF: u8>(
    kc: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    mask: u16,
    accumulate: bool,
    pfb: *const f32,
) {
    // SAFETY (whole body): every access is at row i < R, depth p < kc and a lane the mask keeps,
    // inside the blocks the caller vouches for; prefetches use wrapping arithmetic and never
    // fault. The intrinsics need only AVX-512F, enabled on this function.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        let full = mask == 0xffff;
        let mut ap = a;
        let mut bp = b;
        let mut pp = if PF == AHEAD { b.wrapping_add(PREFETCH_ROWS * ldb) } else { pfb };
        for _ in 0..kc {
            for v in 0..V {
                match PF {
                    AHEAD => _mm_prefetch::<_MM_HINT_T0>(pp.wrapping_add(16 * v) as *const i8),
                    NEXT => _mm_prefetch::<_MM_HINT_T1>(pp.wrapping_add(16 * v) as *const i8),
                    _ => {}
                }
            }
            pp = pp.wrapping_add(ldb);
            let mut bv = [_mm512_setzero_ps(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = if v + 1 == V && !full {
                    _mm512_maskz_loadu_ps(mask, bp.add(16 * v))
                } else {
                    _mm512_loadu_ps(bp.add(16 * v))
                };
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*ap.add(i * lda));
                for (x, &bx) in row.iter_mut().zip(&bv) {
                    *x = _mm512_fmadd_ps(av, bx, *x);
                }
            }
            ap = ap.add(1);
            bp = bp.add(ldb);
        }
        for (i, row) in acc.iter().enumerate() {
            let cp = c.add(i * ldc);
            for (v, &x) in row.iter().enumerate() {
                let m = if v + 1 == V { mask } else { 0xffff };
                let r = if accumulate {
                    _mm512_add_ps(_mm512_maskz_loadu_ps(m, cp.add(16 * v)), x)
                } else {
                    x
                };
                crate::ops::simd::store(cp.add(16 * v), m, r);
            }
        }
    }
}

/// The kernel for `rows` (1..=12) rows, `v` (1 or 2) vectors, prefetch mode `pf`.
fn pick(rows: usize, v: usize, pf: u8) -> Kernel {
    macro_rules! by_rows {
        ($v:literal, $pf:literal) => {
            match rows {
                1 => kernel::<1, $v, $pf> as Kernel,
                2 => kernel::<2, $v, $pf>,
                3 => kernel::<3, $v, $pf>,
                4 => kernel::<4, $v, $pf>,
                5 => kernel::<5, $v, $pf>,
                6 => kernel::<6, $v, $pf>,
                7 => kernel::<7, $v, $pf>,
                8 => kernel::<8, $v, $pf>,
                9 => kernel::<9, $v, $pf>,
                10 => kernel::<10, $v, $pf>,
                11 => kernel::<11, $v, $pf>,
                _ => kernel::<12, $v, $pf>,
            }
        };
    }
    match (v, pf) {
        (1, AHEAD) => by_rows!(1, 1),
        (1, NEXT) => by_rows!(1, 2),
        (1, _) => by_rows!(1, 0),
        (_, AHEAD) => by_rows!(2, 1),
        (_, NEXT) => by_rows!(2, 2),
        (_, _) => by_rows!(2, 0),
    }
}

/// Packs the kc×nc block of B at `b` (row stride `ldb`) into 32-column panels, each kc rows of
/// 32 contiguous floats; the last panel is zero-padded.
///
/// # Safety
/// AVX-512F; `b` readable for the block; `dst` 64-byte aligned and writable for
/// `nc.div_ceil(32) * 32 * kc` floats.
#[target_feature(enable = "avx512f")]
unsafe fn pack_b(kc: usize, nc: usize, b: *const f32, ldb: usize, dst: *mut f32) {
    // SAFETY: loads stay within the kc×nc block (the masks cut the last panel at nc), aligned
    // stores within the panels the caller sized.
    unsafe {
        let mut out = dst;
        for j in (0..nc).step_by(NR) {
            let w = (nc - j).min(NR);
            let (m0, m1) = (lanes(w), lanes(w.saturating_sub(16)));
            let mut src = b.add(j);
            for _ in 0..kc {
                _mm512_store_ps(out, _mm512_maskz_loadu_ps(m0, src));
                _mm512_store_ps(out.add(16), _mm512_maskz_loadu_ps(m1, src.add(16)));
                out = out.add(NR);
                src = src.add(ldb);
            }
        }
    }
}

/// `pack_b` for half-precision B (`BF16`: bfloat16, else float16): the same panels, each
/// element widened to float32 (exactly).
///
/// # Safety
/// AVX-512F; `b` readable for the kc×nc block of 2-byte elements with row stride `ldb`
/// (elements); `dst` as `pack_b`.
#[target_feature(enable = "avx512f")]
unsafe fn pack_b_half<const BF16: bool>(kc: usize, nc: usize, b: *const u16, ldb: usize, dst: *mut f32) {
    // SAFETY: loads stay within the block (a short last panel is copied through a zero-padded
    // buffer), aligned stores within the panels the caller sized.
    unsafe {
        let widen = |h: __m256i| -> __m512 {
            if BF16 {
                _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h)))
            } else {
                _mm512_cvtph_ps(h)
            }
        };
        let mut out = dst;
        for j in (0..nc).step_by(NR) {
            let w = (nc - j).min(NR);
            let mut src = b.add(j);
            let mut tail = [0u16; NR];
            for _ in 0..kc {
                let row = if w == NR {
                    src
                } else {
                    std::ptr::copy_nonoverlapping(src, tail.as_mut_ptr(), w);
                    tail.as_ptr()
                };
                _mm512_store_ps(out, widen(_mm256_loadu_si256(row as *const __m256i)));
                _mm512_store_ps(out.add(16), widen(_mm256_loadu_si256(row.add(16) as *const __m256i)));
                out = out.add(NR);
                src = src.add(ldb);
            }
        }
    }
}

/// Whether B is packed: wide rows (each row of a 32-column panel on its own pages) and enough
/// rows of A to reuse each packed panel.
pub(super) fn should_pack_b(g: &Gemm) -> bool {
    match g.bkind {
        BKind::Panels | BKind::F32T => false,
        BKind::F32 => g.m > 4 * MR && g.ldb >= 2048,
        BKind::Bf16 | BKind::F16 => true,
    }
}

/// C (+)= A·B on the calling thread.
///
/// # Safety
/// AVX-512F must be available; the `Gemm` must describe valid blocks (C writable, not
/// overlapping A or B, not touched by any other thread meanwhile).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm(g: &Gemm, buf: &mut PackBuf) {
    let (m, n, k) = (g.m, g.n, g.k);
    let pb = should_pack_b(g);
    let panels = g.bkind == BKind::Panels;
    // Prefetching pays once B outgrows the L1/L2 caches (into L1 when B is read in place with
    // its row stride; panels are contiguous runs that the hardware prefetchers follow).
    let pf = !pb && k * n > 1 << 16;
    // Row panels of 10–12 rows: `np` panels, the first `extra` one row taller.
    let np = m.div_ceil(MR);
    let (base, extra) = (m / np, m % np);
    // Few rows of A (batched inference): the column panels are the outer loop, so each kc×32
    // panel of B serves every row panel while it is still in L1/L2, in one deeper pass over k.
    // Measured on one thread against the row-panel-outer order with 256-column blocks:
    // [32,512]·[512,2048] 357 → 335 µs, [48,768]·[768,3072] 1399 → 1310 µs; on two,
    // [32,2048]·[2048,512] 208 → 188 µs; up to 64 rows (ResNet's last stage at batch 1: 49).
    // The depth depends on m alone, never on packing, so
    // half-precision weights (always packed) sum in the same order as their float32 widening.
    let few = m <= FEW_ROWS;
    let kc_max = if few { 2 * KC } else { KC };
    // Packed blocks stay KC×NC floats; B read in place needs no column blocking here.
    let nc_max = if !few { NC } else if pb { KC * NC / kc_max } else { n };
    let bbuf = if pb { buf.get(kc_max.min(k) * n.min(nc_max).next_multiple_of(NR)) } else { std::ptr::null_mut() };
    for jc in (0..n).step_by(nc_max) {
        let nc = (n - jc).min(nc_max);
        for pc in (0..k).step_by(kc_max) {
            let kc = (k - pc).min(kc_max);
            let acc = g.accumulate || pc > 0;
            // SAFETY: pc < k and jc < n: inside B.
            let bsrc = unsafe { g.b_at(pc, jc) };
            let (bblk, ldb) = if panels {
                (bsrc as *const f32, NR)
            } else if pb {
                // SAFETY: bbuf holds kc_max × (nc_max rounded up to 32) ≥ kc × (nc rounded up)
                // floats.
                unsafe {
                    match g.bkind {
                        BKind::F32 => pack_b(kc, nc, bsrc as *const f32, g.ldb, bbuf),
                        BKind::Bf16 => pack_b_half::<true>(kc, nc, bsrc as *const u16, g.ldb, bbuf),
                        BKind::F16 => pack_b_half::<false>(kc, nc, bsrc as *const u16, g.ldb, bbuf),
                        BKind::Panels | BKind::F32T => unreachable!("panels are never packed again; gemm_st runs F32T on matrixmultiply"),
                    }
                };
                (bbuf as *const f32, NR)
            } else {
                (bsrc as *const f32, g.ldb)
            };
            // One microkernel: row panel `ip` (from row i0) × the 32 columns from jr, prefetching
            // B ahead when `pf`.
            let tile = |ip: usize, i0: usize, jr: usize, pf: u8, pfb: *const f32| {
                let rows = base + (ip < extra) as usize;
                let w = (nc - jr).min(NR);
                let kern = pick(rows, w.div_ceil(16), pf);
                let mask = lanes(if w > 16 { w - 16 } else { w });
                // Packed panel jr/32 starts at jr*kc (jr*depth in kept panels); in place it is
                // column jr.
                let bp = bblk.wrapping_add(if panels { jr * g.ldb } else if pb { jr * kc } else { jr });
                // SAFETY: row i0 < m, column pc < k of A; row i0, column jc + jr of C. The
                // kernel reads rows×kc of A, kc×w of B (masked) and writes rows×w of C, all
                // inside the operands; this thread owns that C block.
                unsafe {
                    let (ap, crow) = (g.a.add(i0 * g.lda + pc), g.c.add(i0 * g.ldc + jc + jr));
                    kern(kc, ap, g.lda, bp, ldb, crow, g.ldc, mask, acc, pfb)
                };
                rows
            };
            if few {
                for jr in (0..nc).step_by(NR) {
                    let mut i0 = 0;
                    // B read in place from memory (weights too large for the caches): the first
                    // row panel brings the next B panel into L2 (this block's next, else the next
                    // depth block's first), a whole panel's work ahead of its use. The hardware
                    // prefetchers do not follow B's row stride, and 8 rows ahead hides no DRAM
                    // latency: ResNet's 7×7×512 convolution ([49,4608]·[4608,512]) with its
                    // weights out of cache went from 1.71 to 1.31 ms on one thread (1.17 in cache).
                    let next = if !pf {
                        std::ptr::null()
                    } else if jr + NR < nc {
                        bblk.wrapping_add(if panels { (jr + NR) * g.ldb } else { jr + NR })
                    } else if pc + kc < k {
                        // SAFETY: row pc + kc < k, column jc < n: inside B.
                        unsafe { g.b_at(pc + kc, jc) as *const f32 }
                    } else {
                        std::ptr::null()
                    };
                    for ip in 0..np {
                        let mode = if ip == 0 && !next.is_null() { NEXT } else { NONE };
                        i0 += tile(ip, i0, jr, mode, next);
                    }
                }
            } else {
                let mut i0 = 0;
                for ip in 0..np {
                    let mut rows = 0;
                    for jr in (0..nc).step_by(NR) {
                        rows = tile(ip, i0, jr, if pf { AHEAD } else { NONE }, std::ptr::null());
                    }
                    i0 += rows;
                }
            }
        }
    }
}
