//! Single-precision matrix products on raw row-major blocks (unit column stride): the engine
//! behind `matmul` and the fused masked product.
//!
//! * `gemm_st` multiplies on the calling thread: our AVX-512 microkernel when the CPU has it
//!   (`avx512.rs`), else matrixmultiply's sgemm (AVX2/FMA, NEON or portable kernels).
//! * `gemm` splits one product into tiles run by rayon.
//! * `gemv` is the M = 1 case (batch-1 inference): bound by reading B once, so it streams rows
//!   of B rather than packing anything.

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
mod gemv;

use std::cell::RefCell;

use rayon::prelude::*;

use crate::par::SendPtr;

pub(crate) use gemv::gemv;

/// C[m×n] = A[m×k]·B[k×n], or C += A·B when `accumulate`. Row strides in elements.
#[derive(Clone, Copy)]
pub(crate) struct Gemm {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: *const f32,
    pub lda: usize,
    pub b: *const f32,
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
                b: self.b.add(c0),
                c: self.c.add(r0 * self.ldc + c0),
                ..*self
            }
        }
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

    /// Two disjoint buffers of at least `a` and `b` floats.
    #[allow(dead_code)]
    fn get(&mut self, a: usize, b: usize) -> (*mut f32, *mut f32) {
        let (ua, ub) = (a.div_ceil(16), b.div_ceil(16));
        if self.mem.len() < ua + ub {
            self.mem = vec![Aligned([0.0; 16]); ua + ub];
        }
        let base = self.mem.as_mut_ptr() as *mut f32;
        // SAFETY: the allocation holds ua + ub blocks of 16 floats.
        (base, unsafe { base.add(16 * ua) })
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
    if g.m == 1 {
        // SAFETY: same contract.
        return unsafe { gemv(g) };
    }
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() {
        // `try_with`: during thread teardown fall through to matrixmultiply (never expected).
        let done = PACK.try_with(|p| {
            // The kernel never calls back into rayon or this function, so the borrow cannot be
            // re-entered on this thread.
            let mut p = p.borrow_mut();
            // SAFETY: AVX-512F was detected; the caller vouches for the blocks.
            unsafe { avx512::gemm(g, &mut p) };
        });
        if done.is_ok() {
            return;
        }
    }
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
            g.b,
            g.ldb as isize,
            1,
            if g.accumulate { 1.0 } else { 0.0 },
            g.c,
            g.ldc as isize,
            1,
        )
    }
}

/// Below this many multiply-adds a product runs on the calling thread.
pub(crate) const PAR_WORK: usize = 96 * 96 * 96;

/// Runs `g`, split into tiles over rayon's pool when it is large enough.
///
/// # Safety
/// As `gemm_st`.
pub(crate) unsafe fn gemm(g: &Gemm) {
    let threads = rayon::current_num_threads();
    let work = g.m * g.n * g.k;
    if threads <= 1 || work < PAR_WORK {
        // SAFETY: same contract.
        return unsafe { gemm_st(g) };
    }
    let tiles = split(g, threads);
    let cp = SendPtr(g.c);
    tiles.into_par_iter().for_each(|(r0, r1, c0, c1)| {
        let _ = cp;
        // SAFETY: the tiles partition C, so each task writes a disjoint block.
        unsafe { gemm_st(&g.tile(r0, r1, c0, c1)) };
    });
}

/// Partitions the output of `g` into `threads` tiles on microkernel boundaries: column bands
/// when B gets packed (each tile then packs only its own columns) or when there are too few
/// rows, else row bands (operands read in place are shared freely).
fn split(g: &Gemm, threads: usize) -> Vec<(usize, usize, usize, usize)> {
    const MR: usize = 12;
    const NR: usize = 32;
    let (m, n) = (g.m, g.n);
    let row_parts = m.div_ceil(MR);
    let col_parts = n.div_ceil(NR);
    let (tm, tn) = if (packs_b(g) || row_parts < threads) && col_parts >= threads {
        (1, threads)
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

/// Whether the single-threaded product packs B (see `avx512.rs`; never without AVX-512).
fn packs_b(g: &Gemm) -> bool {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() {
        return avx512::should_pack_b(g);
    }
    false
}
