//! Single-precision matrix products on raw row-major blocks (unit column stride): the engine
//! behind `matmul` and the fused masked product.
//!
//! * `gemm_st` multiplies on the calling thread: our AVX-512 microkernel when the CPU has it
//!   (`avx512.rs`), else our AVX2+FMA one (`avx2.rs`), else matrixmultiply's sgemm (NEON or
//!   portable kernels).
//! * `gemm` splits one product into tiles run by rayon.
//! * `gemv` is the M = 1 case (batch-1 inference): bound by reading B once, so it streams rows
//!   of B rather than packing anything.
//!
//! B may hold bfloat16 or float16 weights (`BKind`): they are widened to float32 as they are
//! loaded (in the matvec's row streams, or while packing B for the microkernel), and every
//! product and sum is the float32 one, so the result equals the float32 product of the widened
//! weights bit for bit. The matvec reads 2 bytes a weight instead of 4, which is what a
//! memory-bound batch-1 product pays for.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod gemv;
#[cfg(target_arch = "x86_64")]
mod transposed;

use std::cell::RefCell;

use rayon::prelude::*;

use crate::par::SendPtr;

pub(crate) use gemv::gemv;
#[cfg(target_arch = "x86_64")]
pub(crate) use transposed::gemm_nt;

/// The element type and layout of B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BKind {
    F32,
    /// bfloat16 bits, widened by a shift.
    Bf16,
    /// float16 bits, widened exactly (`vcvtph2ps`).
    F16,
    /// float32 laid out as `pack_panels` makes it: panels of `PANEL` columns, each `ldb` rows
    /// deep and contiguous (the microkernel's own order). Column offsets are multiples of
    /// `PANEL`.
    Panels,
    /// float32 stored transposed: B[row, col] is at `col * ldb + row` (B = wᵀ of a row-major w,
    /// `matmul_t` without AVX-512). Transposed while packed by the AVX2 product, read in place
    /// by matrixmultiply's packing, whose strides take any layout; the matvec unpacks it first.
    F32T,
}

impl BKind {
    pub(crate) fn size(self) -> usize {
        match self {
            BKind::F32 | BKind::Panels | BKind::F32T => 4,
            BKind::Bf16 | BKind::F16 => 2,
        }
    }
}

/// Columns of one panel of `BKind::Panels` (the microkernel's width).
pub(crate) const PANEL: usize = 32;

/// The k×n row-major matrix `b` in `BKind::Panels` layout with depth k: panel p holds columns
/// 32p..32p+32 row after row; the last panel's missing columns are zeros.
pub(crate) fn pack_panels(b: &[f32], k: usize, n: usize, out: &mut [f32]) {
    assert!(b.len() >= k * n && out.len() >= n.next_multiple_of(PANEL) * k);
    for (p, panel) in out.chunks_exact_mut(PANEL * k).take(n.div_ceil(PANEL)).enumerate() {
        let (c0, w) = (p * PANEL, (n - p * PANEL).min(PANEL));
        for (r, dst) in panel.chunks_exact_mut(PANEL).enumerate() {
            dst[..w].copy_from_slice(&b[r * n + c0..][..w]);
            dst[w..].fill(0.0);
        }
    }
}

/// C[m×n] = A[m×k]·B[k×n], or C += A·B when `accumulate`. Row strides in elements. `b` points
/// at B's first element, of type and layout `bkind` (row-major float32 unless the weights are
/// half-precision or kept in panels; for panels `ldb` is the panels' depth).
#[derive(Clone, Copy)]
pub(crate) struct Gemm {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: *const f32,
    pub lda: usize,
    pub b: *const u8,
    pub bkind: BKind,
    pub ldb: usize,
    pub c: *mut f32,
    pub ldc: usize,
    pub accumulate: bool,
}

// SAFETY: a `Gemm` is a description of blocks; whoever runs it on another thread guarantees the
// blocks stay valid and that concurrent runs write disjoint parts of C (see `gemm`).
unsafe impl Send for Gemm {}
unsafe impl Sync for Gemm {}

impl Gemm {
    /// The sub-product C[r0..r1, c0..c1] = A[r0..r1, :]·B[:, c0..c1].
    fn tile(&self, r0: usize, r1: usize, c0: usize, c1: usize) -> Gemm {
        // SAFETY: r0 ≤ r1 ≤ m and c0 ≤ c1 ≤ n, so the offsets stay inside the operands.
        unsafe {
            Gemm {
                m: r1 - r0,
                n: c1 - c0,
                a: self.a.add(r0 * self.lda),
                b: self.b_at(0, c0),
                c: self.c.add(r0 * self.ldc + c0),
                ..*self
            }
        }
    }

    /// B[row, col] as a byte pointer, in B's layout (`col` a multiple of `PANEL` for panels).
    ///
    /// # Safety
    /// The element must be inside B.
    #[inline(always)]
    pub(crate) unsafe fn b_at(&self, row: usize, col: usize) -> *const u8 {
        let off = match self.bkind {
            BKind::Panels => {
                debug_assert_eq!(col % PANEL, 0);
                col * self.ldb + row * PANEL
            }
            BKind::F32T => col * self.ldb + row,
            _ => row * self.ldb + col,
        };
        // SAFETY: the caller keeps the element inside B.
        unsafe { self.b.add(off * self.bkind.size()) }
    }

    /// B as float32 (only for `BKind::F32`).
    #[inline(always)]
    pub(crate) fn b_f32(&self) -> *const f32 {
        debug_assert_eq!(self.bkind, BKind::F32);
        self.b as *const f32
    }

    /// Runs `f` on this product with B widened (or unpacked) to a row-major float32 copy (the
    /// portable paths, which read neither): the same float32 product.
    pub(super) fn with_f32_b(&self, f: impl FnOnce(&Gemm)) {
        let (k, n) = (self.k, self.n);
        let mut wide = vec![0f32; k * n];
        for (r, row) in wide.chunks_exact_mut(n.max(1)).enumerate().take(k) {
            // SAFETY: row r < k of a half-precision B has n elements from `b_at(r, 0)`.
            let half = |n: usize| unsafe { std::slice::from_raw_parts(self.b_at(r, 0) as *const u16, n) };
            match self.bkind {
                BKind::Bf16 => crate::halfconv::widen_bf16(half(n), row),
                BKind::F16 => crate::halfconv::widen_f16(half(n), row),
                BKind::Panels => {
                    for (c0, dst) in (0..n).step_by(PANEL).zip(row.chunks_mut(PANEL)) {
                        // SAFETY: row r of the panel at column c0 < n: `dst.len()` ≤ 32 floats.
                        let src = unsafe { std::slice::from_raw_parts(self.b_at(r, c0) as *const f32, dst.len()) };
                        dst.copy_from_slice(src);
                    }
                }
                BKind::F32T => {
                    for (j, v) in row.iter_mut().enumerate() {
                        // SAFETY: B[r, j] (r < k, j < n) is inside B.
                        *v = unsafe { *(self.b_at(r, j) as *const f32) };
                    }
                }
                BKind::F32 => unreachable!("float32 B is read in place"),
            }
        }
        f(&Gemm { b: wide.as_ptr() as *const u8, bkind: BKind::F32, ldb: n, ..*self })
    }
}

/// Per-thread packing buffers (64-byte aligned), grown on demand and kept for the next call.
pub(crate) struct PackBuf {
    mem: Vec<Aligned>,
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Aligned([f32; 16]);

impl PackBuf {
    const fn new() -> PackBuf {
        PackBuf { mem: Vec::new() }
    }

    /// A buffer of at least `len` floats (contents unspecified).
    fn get(&mut self, len: usize) -> *mut f32 {
        let blocks = len.div_ceil(16);
        if self.mem.len() < blocks {
            self.mem = vec![Aligned([0.0; 16]); blocks];
        }
        self.mem.as_mut_ptr() as *mut f32
    }
}

thread_local! {
    static PACK: RefCell<PackBuf> = const { RefCell::new(PackBuf::new()) };
}

/// Runs `g` on the calling thread.
///
/// # Safety
/// The blocks must be valid for the sizes and strides given, C must not overlap A or B, and no
/// other thread may touch the C block meanwhile.
pub(crate) unsafe fn gemm_st(g: &Gemm) {
    if g.m == 0 || g.n == 0 {
        return;
    }
    if g.k == 0 {
        if !g.accumulate {
            for i in 0..g.m {
                // SAFETY: row i of the C block (caller's guarantee).
                unsafe { std::slice::from_raw_parts_mut(g.c.add(i * g.ldc), g.n).fill(0.0) };
            }
        }
        return;
    }
    // (A transposed B's single row, a tile's last, goes to a product that packs B from where it lies.)
    if g.m == 1 && g.bkind != BKind::Panels && g.bkind != BKind::F32T {
        // SAFETY: same contract.
        return unsafe { gemv(g) };
    }
    // Our microkernels: AVX-512 (all but a transposed B), else AVX2.
    #[cfg(target_arch = "x86_64")]
    let ours: Option<unsafe fn(&Gemm, &mut PackBuf)> = if crate::cpu::has_avx512f() && g.bkind != BKind::F32T {
        Some(avx512::gemm)
    } else if has_avx2_gemm() {
        Some(avx2::gemm)
    } else {
        None
    };
    #[cfg(target_arch = "x86_64")]
    if let Some(kernel) = ours {
        // `try_with`: during thread teardown fall through to matrixmultiply (never expected).
        let done = PACK.try_with(|p| {
            // The kernels never call back into rayon or this function, so the borrow cannot be
            // re-entered on this thread.
            let mut p = p.borrow_mut();
            // SAFETY: the kernel's features were detected just above; the caller vouches for
            // the blocks.
            unsafe { kernel(g, &mut p) };
        });
        if done.is_ok() {
            return;
        }
    }
    if g.bkind != BKind::F32 && g.bkind != BKind::F32T {
        // SAFETY: same contract, with B widened into a float32 copy.
        return g.with_f32_b(|w| unsafe { gemm_st(w) });
    }
    // B's row and column strides: matrixmultiply packs either layout (the same values in the
    // same order, so the same bits).
    let (rsb, csb) = if g.bkind == BKind::F32T { (1, g.ldb as isize) } else { (g.ldb as isize, 1) };
    // SAFETY: the caller vouches for the blocks; beta = 0 never reads C.
    unsafe {
        matrixmultiply::sgemm(
            g.m,
            g.k,
            g.n,
            1.0,
            g.a,
            g.lda as isize,
            1,
            g.b as *const f32,
            rsb,
            csb,
            if g.accumulate { 1.0 } else { 0.0 },
            g.c,
            g.ldc as isize,
            1,
        )
    }
}

/// Up to this many rows of A, the AVX-512 product runs column panels outermost, one deep pass
/// over k each (batched inference); im2col makes a single tile up to this many output rows.
pub(crate) const FEW_ROWS: usize = 64;

/// Below this many multiply-adds a product runs on the calling thread.
pub(crate) const PAR_WORK: usize = 96 * 96 * 96;
/// A matrix-vector product (m = 1) reads each weight once: it is bound by memory bandwidth,
/// which a second core adds to, so it splits from a smaller size (a 1 MB weight). mnist's
/// 3136 × 256 Dense at batch 1 (3.2 MB) was 46 µs on one thread and on two.
const PAR_GEMV: usize = 1 << 18;

/// Runs `g`, split into tiles over rayon's pool when it is large enough.
///
/// # Safety
/// As `gemm_st`.
pub(crate) unsafe fn gemm(g: &Gemm) {
    let threads = rayon::current_num_threads();
    let work = g.m * g.n * g.k;
    // (A single row over panels is the microkernel's, as in `gemm_st`.)
    let matvec = g.m == 1 && g.bkind != BKind::Panels;
    if threads <= 1 || work < if matvec { PAR_GEMV } else { PAR_WORK } {
        // SAFETY: same contract.
        return unsafe { gemm_st(g) };
    }
    if matvec && !g.accumulate && g.k >= 2 * threads {
        // SAFETY: same contract.
        return unsafe { gemv_split_k(g, threads) };
    }
    let tiles = split(g, threads);
    let cp = SendPtr(g.c);
    crate::par::each(tiles.len(), |t| {
        let _ = cp;
        let (r0, r1, c0, c1) = tiles[t];
        // SAFETY: the tiles partition C, so each task writes a disjoint block.
        unsafe { gemm_st(&g.tile(r0, r1, c0, c1)) };
    });
}

/// The parallel matrix-vector product: each task reads whole rows of B (contiguous, the best
/// pattern for memory bandwidth) for its share of k into its own partial y; the partials are
/// then added into C.
///
/// # Safety
/// As `gemm_st`, with `g.m == 1` and `!g.accumulate`.
unsafe fn gemv_split_k(g: &Gemm, threads: usize) {
    let (n, k) = (g.n, g.k);
    let parts = threads;
    let mut partial = vec![0.0f32; (parts - 1) * n];
    let pp = SendPtr(partial.as_mut_ptr());
    let cp = SendPtr(g.c);
    crate::par::each(parts, |t| {
        let (k0, k1) = (k * t / parts, k * (t + 1) / parts);
        // SAFETY: part 0 writes C, part t > 0 its own n floats of `partial`; rows k0..k1 of B
        // and entries k0..k1 of x are inside the operands.
        let sub = unsafe {
            Gemm {
                k: k1 - k0,
                a: g.a.add(k0),
                b: g.b_at(k0, 0),
                c: if t == 0 { cp.get() } else { pp.get().add((t - 1) * n) },
                ..*g
            }
        };
        // SAFETY: disjoint outputs (see above).
        unsafe { gemv(&sub) };
    });
    // SAFETY: C has n floats (m = 1), written by part 0 above.
    let y = unsafe { std::slice::from_raw_parts_mut(g.c, n) };
    for part in partial.chunks_exact(n) {
        for (a, &b) in y.iter_mut().zip(part) {
            *a += b;
        }
    }
}

/// Partitions the output of `g` into `threads` tiles on microkernel boundaries: column bands
/// when B gets packed (each tile then packs only its own columns) or when there are too few
/// rows to split evenly (batch-32 inference), else row bands (operands read in place are
/// shared freely).
fn split(g: &Gemm, threads: usize) -> Vec<(usize, usize, usize, usize)> {
    const MR: usize = 12;
    const NR: usize = 32;
    let (m, n) = (g.m, g.n);
    let row_parts = m.div_ceil(MR);
    let col_parts = n.div_ceil(NR);
    // Few row panels split unevenly (M = 32 on 2 threads: 12 + 20 rows), so below 16 panels
    // per thread columns are cut instead. Measured on 2 threads, x[M×1024]·W[1024×1024]:
    // M = 32 386 → 268 µs, M = 128 961 → 875 µs, M = 256 and square sizes unchanged.
    // Column bands come several per thread, of two panels or more: a core of this VM may run
    // ~20% slow for a while (the host's load), and the hand-off's stealing then moves the
    // slow one's last bands to the other instead of waiting for it. Measured on 2 threads,
    // [32,2048]·[2048,512]: p10 185-211 → 176-178 µs; the MLP 512→2048→512 at batch 32
    // (jit, medians of alternated runs) 447-469 → 430-444 µs. The columns a tile covers do
    // not change its sums, so the bits are those of one band per thread.
    let (tm, tn) = if (packs_b(g) || row_parts < 16 * threads) && col_parts >= threads {
        (1, (threads * BANDS_PER_THREAD).min(col_parts / 2).max(threads))
    } else {
        (threads.min(row_parts), 1)
    };
    let bounds = |len: usize, unit: usize, parts: usize| -> Vec<usize> {
        let units = len.div_ceil(unit);
        (0..=parts).map(|i| (units * i / parts * unit).min(len)).collect()
    };
    let (rb, cb) = (bounds(m, MR, tm), bounds(n, NR, tn));
    let mut out = Vec::new();
    for i in 0..tm {
        for j in 0..tn {
            if rb[i] < rb[i + 1] && cb[j] < cb[j + 1] {
                out.push((rb[i], rb[i + 1], cb[j], cb[j + 1]));
            }
        }
    }
    out
}

/// Column bands per thread when a product is cut into bands (`split`, and the convolution's
/// `column_bands`), each at least two panels wide: enough for stealing to even out a slowed
/// core.
pub(crate) const BANDS_PER_THREAD: usize = 4;

/// Whether the single-threaded product packs B (see `avx512.rs`; `avx2.rs` always packs all
/// but kept panels; matrixmultiply packs its own way).
fn packs_b(g: &Gemm) -> bool {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() && g.bkind != BKind::F32T {
        return avx512::should_pack_b(g);
    } else if has_avx2_gemm() {
        return g.bkind != BKind::Panels;
    }
    false
}

/// Whether `gemm_st` may run products on the AVX2 kernels (AVX-512 runs all but a transposed
/// B itself).
#[cfg(target_arch = "x86_64")]
fn has_avx2_gemm() -> bool {
    // (The kernels are compiled with F16C, which every AVX2 CPU has; checked all the same.)
    crate::cpu::has_avx2_fma() && crate::halfconv::has_f16c()
}

/// Rows of B per step of the banded product (one pass of rank-`BAND_KB` updates over C).
const BAND_KB: usize = 64;

thread_local! {
    /// Scratch for the masked diagonal blocks of `gemm_band` (BAND_KB² floats at most).
    static BAND_SCRATCH: RefCell<PackBuf> = const { RefCell::new(PackBuf::new()) };
}

/// C = A·mask(B) (g.accumulate must be false), where mask keeps B[r, c] iff `c - r >= diag`
/// (`upper`, jnp.triu) or `c - r <= diag` (jnp.tril) and zeroes the rest, touching only the
/// kept band: per block of `BAND_KB` rows of B, the columns fully kept by every row of the block
/// are one `gemm_st` on B in place, the columns crossing the diagonal one `gemm_st` on a masked
/// copy of that small block, and columns kept by no row are skipped. The block that keeps the
/// most columns runs first and writes C; the others accumulate; columns no block keeps are
/// zeroed. `parallel`: split across the pool (column bands of equal work, or row bands).
///
/// # Safety
/// As `gemm_st`.
pub(crate) unsafe fn gemm_band(g: &Gemm, diag: i64, upper: bool, parallel: bool) {
    debug_assert!(!g.accumulate);
    assert_eq!(g.bkind, BKind::F32, "the banded product reads float32 weights");
    let threads = if parallel { rayon::current_num_threads() } else { 1 };
    // Kept elements per column, for the work estimate and the column split.
    let kept = |c: usize| -> usize {
        let c = c as i64;
        let rows = if upper { c - diag + 1 } else { g.k as i64 - (c - diag).max(0) };
        rows.clamp(0, g.k as i64) as usize
    };
    let total: usize = (0..g.n).map(kept).sum();
    if threads <= 1 || total * g.m < PAR_WORK {
        // SAFETY: same contract; the whole of C.
        return unsafe { band_st(g, diag, upper, 0, g.n) };
    }
    let cp = SendPtr(g.c);
    if g.m.div_ceil(12) >= 2 * threads && g.m >= g.n / 4 {
        // Row bands: each task owns whole rows of C (and reads the band of B).
        let rows = g.m.div_ceil(threads);
        (0..threads).into_par_iter().for_each(|t| {
            let _ = cp;
            let (r0, r1) = ((t * rows).min(g.m), ((t + 1) * rows).min(g.m));
            if r0 < r1 {
                // SAFETY: disjoint row bands of C.
                unsafe { band_st(&g.tile(r0, r1, 0, g.n), diag, upper, 0, g.n) };
            }
        });
        return;
    }
    // Column bands of about equal kept work, on 32-column boundaries.
    let parts = 2 * threads;
    let mut cuts = vec![0];
    let mut acc = 0;
    for c in 0..g.n {
        acc += kept(c);
        if cuts.len() < parts && acc * parts >= total * cuts.len() && (c + 1) % 32 == 0 {
            cuts.push(c + 1);
        }
    }
    cuts.push(g.n);
    cuts.dedup();
    cuts.windows(2).collect::<Vec<_>>().into_par_iter().for_each(|w| {
        let _ = cp;
        // SAFETY: disjoint column bands of C.
        unsafe { band_st(g, diag, upper, w[0], w[1]) };
    });
}

/// Columns c0..c1 of `gemm_band`'s C, on the calling thread.
///
/// # Safety
/// As `gemm_st`, for columns c0..c1 of C.
unsafe fn band_st(g: &Gemm, diag: i64, upper: bool, c0: usize, c1: usize) {
    let (k, kb) = (g.k, BAND_KB);
    let clamp = |c: i64| c.clamp(c0 as i64, c1 as i64) as usize;
    let blocks = k.div_ceil(kb);
    // (r0, r1, [partial columns), [full columns)) of block `i`, clipped to c0..c1.
    // Boundaries between masked and in-place columns are moved outwards to multiples of 16
    // (the masked copy grows by a few zero columns) so the in-place part starts on a 64-byte
    // column of B and C when their rows are aligned.
    let down = |c: usize| (c & !15).max(c0);
    let up = |c: usize| c.next_multiple_of(16).min(c1);
    let cols = |i: usize| {
        let (r0, r1) = (i * kb, ((i + 1) * kb).min(k));
        let (r0i, r1i) = (r0 as i64, r1 as i64);
        if upper {
            // Row r keeps c >= r + diag: some row keeps c >= r0 + diag, all keep c >= r1-1+diag.
            let (lo, full) = (clamp(r0i + diag), clamp(r1i - 1 + diag));
            let (lo, full) = if lo < full { (down(lo), up(full)) } else { (lo, full) };
            (r0, r1, (lo, full), (full, c1))
        } else {
            // Row r keeps c <= r + diag: all keep c <= r0 + diag, some keep c <= r1-1+diag.
            let (full, hi) = (clamp(r0i + diag + 1), clamp(r1i + diag));
            let (full, hi) = if full < hi { (down(full), up(hi)) } else { (full, hi) };
            (r0, r1, (full, hi), (c0, full))
        }
    };
    let order: Vec<usize> = if upper { (0..blocks).collect() } else { (0..blocks).rev().collect() };
    // The first block processed keeps a superset of every later block's columns.
    let (_, _, fp, ff) = cols(order[0]);
    let (touched_lo, touched_hi) = (fp.0.min(ff.0), fp.1.max(ff.1));
    let zero = |a: usize, b: usize| {
        for i in 0..g.m {
            // SAFETY: row i, columns a..b ⊆ c0..c1 of C (caller's block).
            unsafe { std::slice::from_raw_parts_mut(g.c.add(i * g.ldc + a), b - a).fill(0.0) };
        }
    };
    if touched_lo >= touched_hi {
        zero(c0, c1);
        return;
    }
    zero(c0, touched_lo);
    zero(touched_hi, c1);
    BAND_SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        for (step, &i) in order.iter().enumerate() {
            let (r0, r1, (p0, p1), (f0, f1)) = cols(i);
            let acc = step > 0;
            // SAFETY: rows r0..r1 < k and columns of c0..c1 ≤ n stay inside A, B and C.
            let sub = |b: *const f32, ldb: usize, j0: usize, j1: usize| unsafe {
                Gemm {
                    m: g.m,
                    n: j1 - j0,
                    k: r1 - r0,
                    a: g.a.add(r0),
                    lda: g.lda,
                    b: b as *const u8,
                    bkind: BKind::F32,
                    ldb,
                    c: g.c.add(j0),
                    ldc: g.ldc,
                    accumulate: acc,
                }
            };
            if f0 < f1 {
                // SAFETY: the fully kept block B[r0..r1, f0..f1] read in place; C columns f0..f1.
                unsafe { gemm_st(&sub(g.b_f32().add(r0 * g.ldb + f0), g.ldb, f0, f1)) };
            }
            if p0 < p1 {
                let w = p1 - p0;
                let ld = w.next_multiple_of(16);
                // SAFETY: the buffer holds at least (r1-r0)·ld floats, owned by this thread.
                let buf = unsafe { std::slice::from_raw_parts_mut(scratch.get((r1 - r0) * ld), (r1 - r0) * ld) };
                for (r, out) in (r0..r1).zip(buf.chunks_exact_mut(ld)) {
                    // SAFETY: row r < k, columns p0..p1 ≤ n of B.
                    let row = unsafe { std::slice::from_raw_parts(g.b_f32().add(r * g.ldb + p0), w) };
                    // Row r keeps one contiguous run of columns [lo, hi) of p0..p1.
                    let edge = r as i64 + diag - p0 as i64;
                    let (lo, hi) = if upper {
                        (edge.clamp(0, w as i64) as usize, w)
                    } else {
                        (0, (edge + 1).clamp(0, w as i64) as usize)
                    };
                    out[..lo].fill(0.0);
                    out[lo..hi].copy_from_slice(&row[lo..hi]);
                    out[hi..w].fill(0.0);
                }
                // SAFETY: the masked copy is (r1-r0)×w with row stride w; C columns p0..p1.
                unsafe { gemm_st(&sub(buf.as_ptr(), ld, p0, p1)) };
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product with B in panels equals the product with B read in place, bit for bit (the
    /// same depth blocks in the same order), on one thread and split into tiles, for single
    /// rows, few rows and many, widths that end inside a panel, and depths beyond one block.
    #[test]
    fn panels_equal_the_row_major_product() {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
        };
        for &(m, k, n) in &[(1usize, 9usize, 40usize), (3, 17, 33), (12, 64, 32), (49, 600, 100), (64, 513, 65), (70, 40, 96), (130, 300, 200)] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let mut panels = vec![f32::NAN; n.next_multiple_of(PANEL) * k];
            pack_panels(&b, k, n, &mut panels);
            let run = |bp: &[f32], bkind: BKind, ldb: usize, parallel: bool| {
                let mut c = vec![0f32; m * n];
                let g = Gemm { m, n, k, a: a.as_ptr(), lda: k, b: bp.as_ptr() as *const u8, bkind, ldb, c: c.as_mut_ptr(), ldc: n, accumulate: false };
                // SAFETY: A is m×k, B k×n (row-major or in panels of depth k), C m×n, all owned here.
                unsafe {
                    if parallel {
                        rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| gemm(&g))
                    } else {
                        gemm_st(&g)
                    }
                }
                c
            };
            for parallel in [false, true] {
                let got = run(&panels, BKind::Panels, k, parallel);
                if m == 1 {
                    // A single row in place is the matvec (another order of sums); over panels it
                    // is the microkernel's: equal to the float64 product within rounding.
                    for (j, &x) in got.iter().enumerate() {
                        let e: f64 = (0..k).map(|p| a[p] as f64 * b[p * n + j] as f64).sum();
                        assert!((x as f64 - e).abs() <= 1e-5, "1×{k}×{n}: column {j} is {x}, expected {e}");
                    }
                    continue;
                }
                let want = run(&b, BKind::F32, n, parallel);
                assert!(got.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{k}×{n} parallel {parallel}");
            }
            // The portable paths unpack the panels: the same product.
            let mut wide = vec![0f32; k * n];
            let g = Gemm { m, n, k, a: a.as_ptr(), lda: k, b: panels.as_ptr() as *const u8, bkind: BKind::Panels, ldb: k, c: std::ptr::null_mut(), ldc: n, accumulate: false };
            g.with_f32_b(|w| {
                // SAFETY: `w.b` is the k×n row-major copy.
                wide.copy_from_slice(unsafe { std::slice::from_raw_parts(w.b as *const f32, k * n) })
            });
            assert_eq!(wide, b, "{m}×{k}×{n} unpacked");
        }
    }

    /// `split` covers C exactly once on microkernel boundaries, and the product split into
    /// bands over two threads (several per thread) has the bits of the product on one.
    #[test]
    fn split_bands_partition_c_and_keep_the_bits() {
        for &(m, k, n) in &[(32usize, 300usize, 512usize), (5, 40, 70), (49, 129, 100), (64, 33, 1000), (200, 20, 64), (400, 20, 64)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 64.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32 - 48.0) / 32.0).collect();
            let desc = |c: &mut Vec<f32>| Gemm { m, n, k, a: a.as_ptr(), lda: k, b: b.as_ptr() as *const u8, bkind: BKind::F32, ldb: n, c: c.as_mut_ptr(), ldc: n, accumulate: false };
            for threads in [2usize, 3] {
                let mut hits = vec![0u8; m * n];
                for (r0, r1, c0, c1) in split(&desc(&mut Vec::new()), threads) {
                    assert!(r0 % 12 == 0 && c0 % PANEL == 0, "{m}×{n}: tile at ({r0}, {c0})");
                    (r0..r1).for_each(|r| (c0..c1).for_each(|c| hits[r * n + c] += 1));
                }
                assert!(hits.iter().all(|&h| h == 1), "{m}×{n} on {threads}: every element of C in one tile");
            }
            let (mut one, mut two) = (vec![0f32; m * n], vec![f32::NAN; m * n]);
            // SAFETY: A is m×k, B k×n, C m×n, all owned here.
            unsafe {
                gemm_st(&desc(&mut one));
                let g = desc(&mut two);
                rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| gemm(&g));
            }
            assert!(one.iter().zip(&two).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{k}×{n}: two threads differ from one");
        }
    }
}
