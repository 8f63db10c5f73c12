//! The AVX-512 single-precision GEMM: a 12×32 register-blocked microkernel (24 zmm accumulators,
//! two 16-lane vectors of B and one broadcast of A per row per k step) inside Goto/BLIS-style
//! cache blocking. Only compiled into functions with `#[target_feature(enable = "avx512f")]`
//! and only called after runtime detection (`cpu::has_avx512f`).
//!
//! Edges need no scalar code: the last row panel uses a kernel instantiated for exactly its
//! row count (1..=12), and the last column panel masks its final vector's loads and stores.
//! Small operands are read in place; large ones are packed (A into row panels, B into 32-column
//! panels) so the kernel streams contiguous memory without cache-set conflicts.

use std::arch::x86_64::*;

use super::{Gemm, PackBuf};

/// Rows of the register block (broadcast operand A).
pub(super) const MR: usize = 12;
/// Columns of the register block (two zmm vectors of B).
pub(super) const NR: usize = 32;
/// Depth of one packed block (rows of B / columns of A per pass).
pub(super) const KC: usize = 256;
/// Rows of A packed per block.
pub(super) const MC: usize = 12 * 24;
/// Columns of B packed per block: KC×NC floats = 1 MiB, half of an L2 cache.
pub(super) const NC: usize = 1024;

/// One microkernel: C[R×16V] (+)= A[R×kc] · B[kc×16V]. `R` and `V` are exact; `mask` selects the
/// valid lanes of the last vector (loads of B beyond it read zeros, stores skip those lanes).
/// `PA`: A is packed (element (i, p) at `a[p*R + i]`) rather than row-major with stride `lda`.
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
);

/// # Safety
/// AVX-512F must be available. `a` must be readable for the R×kc block it describes, `b` for
/// kc rows of `ldb` stride covering the masked lanes, `c` writable (and readable when
/// `accumulate`) for R rows of stride `ldc` covering the masked lanes, and no other thread may
/// touch that C block meanwhile.
#[target_feature(enable = "avx512f")]
unsafe fn kernel<const R: usize, const V: usize, const PA: bool>(
    kc: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    mask: u16,
    accumulate: bool,
) {
    // SAFETY (whole body): every pointer offset stays inside the blocks the caller vouches for
    // (p < kc, i < R, lanes limited by `mask` on the last vector); the intrinsics only need
    // AVX-512F, enabled on this function.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        let pf = PF.load(std::sync::atomic::Ordering::Relaxed);
        if pf == 1 {
        for i in 0..R {
            for v in 0..V {
                _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + 16 * v) as *const i8);
            }
        }
        } else if pf == 2 {
        for i in 0..R {
            for v in 0..V {
                _mm_prefetch::<_MM_HINT_T1>(c.add(i * ldc + 16 * v) as *const i8);
            }
        }
        }
        let mut ap = a;
        let mut bp = b;
        let pfd = PFD.load(std::sync::atomic::Ordering::Relaxed) * ldb;
        let pfb = ldb != NR && pfd != 0;
        for _ in 0..kc {
            if pfb {
                for v in 0..V {
                    _mm_prefetch::<_MM_HINT_T0>(bp.wrapping_add(pfd + 16 * v) as *const i8);
                }
            }
            let mut bv = [_mm512_setzero_ps(); V];
            for v in 0..V {
                bv[v] = if v + 1 == V && mask != 0xffff {
                    _mm512_maskz_loadu_ps(mask, bp.add(16 * v))
                } else {
                    _mm512_loadu_ps(bp.add(16 * v))
                };
            }
            for i in 0..R {
                let x = if PA { *ap.add(i) } else { *ap.add(i * lda) };
                let av = _mm512_set1_ps(x);
                for v in 0..V {
                    acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
                }
            }
            ap = ap.add(if PA { R } else { 1 });
            bp = bp.add(ldb);
        }
        for i in 0..R {
            let cp = c.add(i * ldc);
            for v in 0..V {
                let m = if v + 1 == V { mask } else { 0xffff };
                let mut r = acc[i][v];
                if accumulate {
                    r = _mm512_add_ps(_mm512_maskz_loadu_ps(m, cp.add(16 * v)), r);
                }
                _mm512_mask_storeu_ps(cp.add(16 * v), m, r);
            }
        }
    }
}

/// The kernel for `rows` (1..=12) rows, `v` (1 or 2) vectors, packed or in-place A.
fn pick(rows: usize, v: usize, packed_a: bool) -> Kernel {
    macro_rules! by_rows {
        ($v:literal, $pa:literal) => {
            match rows {
                1 => kernel::<1, $v, $pa> as Kernel,
                2 => kernel::<2, $v, $pa>,
                3 => kernel::<3, $v, $pa>,
                4 => kernel::<4, $v, $pa>,
                5 => kernel::<5, $v, $pa>,
                6 => kernel::<6, $v, $pa>,
                7 => kernel::<7, $v, $pa>,
                8 => kernel::<8, $v, $pa>,
                9 => kernel::<9, $v, $pa>,
                10 => kernel::<10, $v, $pa>,
                11 => kernel::<11, $v, $pa>,
                _ => kernel::<12, $v, $pa>,
            }
        };
    }
    match (v, packed_a) {
        (1, false) => by_rows!(1, false),
        (1, true) => by_rows!(1, true),
        (_, false) => by_rows!(2, false),
        (_, true) => by_rows!(2, true),
    }
}

/// Packs the kc×nc block of B at `b` (row stride `ldb`) into 32-column panels, each kc rows of
/// 32 contiguous floats; the last panel is zero-padded.
///
/// # Safety
/// AVX-512F; `b` readable for the block; `dst` writable for `nc.div_ceil(32) * 32 * kc` floats.
#[target_feature(enable = "avx512f")]
unsafe fn pack_b(kc: usize, nc: usize, b: *const f32, ldb: usize, dst: *mut f32) {
    // SAFETY: loads stay within the kc×nc block (the masks cut the last panel at nc), stores
    // within the panels the caller sized.
    unsafe {
        let mut out = dst;
        for j in (0..nc).step_by(NR) {
            let w = (nc - j).min(NR);
            let m0 = lane_mask(w);
            let m1 = lane_mask(w.saturating_sub(16));
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

/// Packs the mc×kc block of A at `a` (row stride `lda`) into 12-row panels: panel r holds
/// element (i, p) at `p*rows + i`, where `rows` is 12 except for the last panel (its remainder).
/// Full panels are transposed 16 columns at a time in registers.
///
/// # Safety
/// AVX-512F; `a` readable for the block; `dst` writable for mc×kc floats.
#[target_feature(enable = "avx512f")]
unsafe fn pack_a(mc: usize, kc: usize, a: *const f32, lda: usize, dst: *mut f32) {
    // SAFETY: loads read 16 columns p0..p0+16 ≤ kc of rows i < rows of the block; stores write
    // 12 lanes at (p0+c)*12 < kc*12 inside the panel; the scalar paths index inside both.
    unsafe {
        let mut out = dst;
        for i0 in (0..mc).step_by(MR) {
            let rows = (mc - i0).min(MR);
            let src = a.add(i0 * lda);
            let mut p0 = 0;
            if rows == MR {
                while p0 + 16 <= kc {
                    let mut r = [_mm512_setzero_ps(); 16];
                    for (i, ri) in r.iter_mut().enumerate().take(MR) {
                        *ri = _mm512_loadu_ps(src.add(i * lda + p0));
                    }
                    let cols = transpose16(&r);
                    for (c, v) in cols.iter().enumerate() {
                        _mm512_mask_storeu_ps(out.add((p0 + c) * MR), 0x0fff, *v);
                    }
                    p0 += 16;
                }
            }
            for p in p0..kc {
                for i in 0..rows {
                    *out.add(p * rows + i) = *src.add(i * lda + p);
                }
            }
            out = out.add(rows * kc);
        }
    }
}

/// Transposes 16 rows of 16 floats: column c of the input becomes vector c.
#[inline(always)]
unsafe fn transpose16(r: &[__m512; 16]) -> [__m512; 16] {
    // SAFETY: register shuffles only; called from AVX-512F functions.
    unsafe {
        let mut t = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // u[4g + j], lane L: rows 4g..4g+4 of column 4L + j.
        let mut u = [_mm512_setzero_ps(); 16];
        for g in 0..4 {
            u[4 * g] = _mm512_shuffle_ps::<0x44>(t[4 * g], t[4 * g + 2]);
            u[4 * g + 1] = _mm512_shuffle_ps::<0xEE>(t[4 * g], t[4 * g + 2]);
            u[4 * g + 2] = _mm512_shuffle_ps::<0x44>(t[4 * g + 1], t[4 * g + 3]);
            u[4 * g + 3] = _mm512_shuffle_ps::<0xEE>(t[4 * g + 1], t[4 * g + 3]);
        }
        let mut out = [_mm512_setzero_ps(); 16];
        for j in 0..4 {
            let x0 = _mm512_shuffle_f32x4::<0x88>(u[j], u[4 + j]);
            let x1 = _mm512_shuffle_f32x4::<0xDD>(u[j], u[4 + j]);
            let x2 = _mm512_shuffle_f32x4::<0x88>(u[8 + j], u[12 + j]);
            let x3 = _mm512_shuffle_f32x4::<0xDD>(u[8 + j], u[12 + j]);
            out[j] = _mm512_shuffle_f32x4::<0x88>(x0, x2);
            out[8 + j] = _mm512_shuffle_f32x4::<0xDD>(x0, x2);
            out[4 + j] = _mm512_shuffle_f32x4::<0x88>(x1, x3);
            out[12 + j] = _mm512_shuffle_f32x4::<0xDD>(x1, x3);
        }
        out
    }
}

/// Lanes `0..w` (w clamped to 16) set.
#[inline(always)]
fn lane_mask(w: usize) -> u16 {
    if w >= 16 {
        0xffff
    } else {
        ((1u32 << w) - 1) as u16
    }
}

/// Whether to pack A: the kernel re-reads each row panel of A once per 32 columns, so packing
/// pays for large n, and it is needed when rows of A alias in the L1 cache (row strides of a
/// multiple of 2 KiB put all 12 rows of a panel in one or two cache sets).
fn should_pack_a(g: &Gemm) -> bool {
    match knob("PA", 2) { 0 => false, 1 => true, _ =>
    g.n > 512 || (g.lda * 4) % 2048 == 0 && g.n > 64 }
}
pub(crate) fn knob(name: &str, def: usize) -> usize {
    std::env::var(format!("FLX_{name}")).ok().and_then(|v| v.parse().ok()).unwrap_or(def)
}

/// Whether to pack B: each 32-column panel is read once per 12 rows of A; packing makes it
/// contiguous (no TLB walks or cache-set conflicts across rows of B).
pub(super) fn should_pack_b(g: &Gemm) -> bool {
    match knob("PB", 2) { 0 => false, 1 => true, _ =>
    g.m > 4 * MR && g.ldb >= 2048 }
}

/// C (+)= A·B on the calling thread.
///
/// # Safety
/// AVX-512F must be available; the `Gemm` pointers must describe valid, non-overlapping
/// matrices (C writable, not read by any other thread meanwhile).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm(g: &Gemm, buf: &mut PackBuf) {
    let (m, n, k) = (g.m, g.n, g.k);
    let pa = should_pack_a(g);
    let pb = should_pack_b(g);
    PF.store(knob("PF", 1), std::sync::atomic::Ordering::Relaxed);
    PFD.store(knob("PFD", 8), std::sync::atomic::Ordering::Relaxed);
    let (kcb, mcb, ncb) = (knob("KC", KC), knob("MC", MC), knob("NC", NC));
    let (abuf, bbuf) = buf.get(
        if pa { mcb.min(m) * kcb.min(k) } else { 0 },
        if pb { kcb.min(k) * n.min(ncb).next_multiple_of(NR) } else { 0 },
    );
    for jc in (0..n).step_by(ncb) {
        let nc = (n - jc).min(ncb);
        for pc in (0..k).step_by(kcb) {
            let kc = (k - pc).min(kcb);
            let acc = g.accumulate || pc > 0;
            // SAFETY: the block offsets stay inside A (m×k), B (k×n) and C (m×n).
            let bsrc = unsafe { g.b.add(pc * g.ldb + jc) };
            if pb {
                // SAFETY: bbuf holds KC×(NC rounded up to 32) floats ≥ kc × nc rounded up.
                unsafe { pack_b(kc, nc, bsrc, g.ldb, bbuf) };
            }
            for ic in (0..m).step_by(mcb) {
                let mc = (m - ic).min(mcb);
                // SAFETY: as above.
                let asrc = unsafe { g.a.add(ic * g.lda + pc) };
                if pa {
                    // SAFETY: abuf holds MC×KC ≥ mc×kc floats.
                    unsafe { pack_a(mc, kc, asrc, g.lda, abuf) };
                }
                let ablk = if pa { (abuf as *const f32, 0) } else { (asrc, g.lda) };
                let bblk = if pb { (bbuf as *const f32, NR) } else { (bsrc, g.ldb) };
                // SAFETY: row ic of C, column jc; the block is mc×nc inside C.
                let cblk = unsafe { g.c.add(ic * g.ldc + jc) };
                // SAFETY: the blocks are mc×kc of A, kc×nc of B and mc×nc of C, inside the
                // operands; this thread owns that C block.
                unsafe { macro_tile(mc, nc, kc, ablk, pa, bblk, pb, cblk, g.ldc, acc) };
            }
        }
    }
}

/// C[mc×nc] (+)= A[mc×kc]·B[kc×nc] over microkernel tiles. `a`/`b` are (pointer, row stride):
/// packed blocks when `pa`/`pb` (stride ignored / 32), else in place.
///
/// # Safety
/// AVX-512F; the blocks must be inside their operands and the C block owned by this thread.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn macro_tile(
    mc: usize,
    nc: usize,
    kc: usize,
    a: (*const f32, usize),
    pa: bool,
    b: (*const f32, usize),
    pb: bool,
    c: *mut f32,
    ldc: usize,
    acc: bool,
) {
    // SAFETY (whole body): panel offsets stay inside the blocks: packed A panel ir starts at
    // ir*kc (every panel before it has 12 rows), packed B panel jr/32 at jr*kc; in place they are
    // rows ir / columns jr. The kernel then reads rows×kc of A, kc×w of B (masked) and writes
    // rows×w of C.
    unsafe {
        let apanel = |ir: usize| if pa { a.0.add(ir * kc) } else { a.0.add(ir * a.1) };
        let bpanel = |jr: usize| if pb { b.0.add(jr * kc) } else { b.0.add(jr) };
        let order = knob("ORDER", 0);
        if order == 0 {
            for ir in (0..mc).step_by(MR) {
                let rows = (mc - ir).min(MR);
                let full = pick(rows, 2, pa);
                let ap = apanel(ir);
                for jr in (0..nc).step_by(NR) {
                    let w = (nc - jr).min(NR);
                    let kern = if w == NR { full } else { pick(rows, w.div_ceil(16), pa) };
                    let mask = lane_mask(if w > 16 { w - 16 } else { w });
                    kern(kc, ap, a.1, bpanel(jr), b.1, c.add(ir * ldc + jr), ldc, mask, acc);
                }
            }
        } else {
            for jr in (0..nc).step_by(NR) {
                let w = (nc - jr).min(NR);
                let mask = lane_mask(if w > 16 { w - 16 } else { w });
                let bp = bpanel(jr);
                for ir in (0..mc).step_by(MR) {
                    let rows = (mc - ir).min(MR);
                    let kern = pick(rows, w.div_ceil(16), pa);
                    kern(kc, apanel(ir), a.1, bp, b.1, c.add(ir * ldc + jr), ldc, mask, acc);
                }
            }
        }
    }
}

static PF: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
static PFD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(8);
