//! jnp.matmul for float32. Batched and broadcast leading axes are handled here; each matrix
//! product runs on `gemm` (our AVX-512 or AVX2 microkernel, or matrixmultiply's sgemm),
//! split across the pool when large. Batches of small products run one task per group of
//! entries.
//!
//! float16 / bfloat16 operands: b (the weights) is read as it is, widened to float32 inside the
//! kernels (`gemm::BKind`), so a product with half-precision weights equals the float32 product
//! of the widened weights bit for bit and reads half the bytes; a half-precision a is widened
//! first. Sums are float32 either way (XLA's CPU dot of half operands accumulates in float32);
//! the result has JAX's dtype: the half dtype when both operands have it (rounded once), else
//! float32 (float16 with bfloat16 promotes to float32).
//!
//! `matmul_masked(a, b, k, upper)` is `matmul(a, triu(b, k))` (or `tril`) without making the
//! masked copy of b and without the multiply-adds by its zero triangle (`gemm::gemm_band`).

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::gemm::{self, pack_panels, BKind, Gemm, FEW_ROWS, PANEL};
use crate::ops::kept::{kept, Form, Make};
use crate::par::SendPtr;
use crate::shape::{broadcast_strides, numel, strides};
use crate::tensor::Tensor;

/// Weights of at least this many floats (256 KiB) are kept in panels (see `Plan::run`).
const KEPT_FROM: usize = 1 << 16;

/// A validated product: output shape, matrix sizes and each batch entry's element offsets.
struct Plan {
    out_shape: Vec<usize>,
    m: usize,
    n: usize,
    k: usize,
    nb: usize,
    /// Offsets of each batch entry's matrix in a and b (empty when there is one entry).
    oa: Vec<usize>,
    ob: Vec<usize>,
}

/// The output shape of `matmul` for operands of these shapes and dtypes, with its checks (E_DTYPE
/// unless both are float dtypes, E_SHAPE for scalars, mismatched inner sizes or batch axes).
pub fn out_shape(sa: &[usize], da: DType, sb: &[usize], db: DType) -> Result<Vec<usize>> {
    Ok(Shapes::new(sa, da, sb, db)?.out)
}

/// The dtype of `matmul(a, b)` for float operands: the half dtype when both have it, else
/// float32 (JAX's promotion).
pub fn out_dtype(da: DType, db: DType) -> DType {
    if da == db {
        da
    } else {
        DType::F32
    }
}

/// The sizes of a validated product.
struct Shapes {
    out: Vec<usize>,
    batch: Vec<usize>,
    m: usize,
    n: usize,
    k: usize,
    ba: Vec<usize>,
    bb: Vec<usize>,
}

impl Shapes {
    fn new(sa: &[usize], da: DType, sb: &[usize], db: DType) -> Result<Shapes> {
        for (shape, dt, n) in [(sa, da, "a"), (sb, db, "b")] {
            if !dt.is_float() {
                return Err(Error::dtype(format!(
                    "matmul: {n} has dtype {}; only float32, float16 and bfloat16 are supported (cast integers with astype)",
                    dt
                )));
            }
            if shape.is_empty() {
                return Err(Error::shape(format!(
                    "matmul: {n} is a scalar (shape []); it needs at least 1 dimension"
                )));
            }
        }
        // numpy: a 1-D a is a row [1, K] and a 1-D b a column [K, 1]; that axis is removed afterwards.
        let a2: Vec<usize> = if sa.len() == 1 {
            vec![1, sa[0]]
        } else {
            sa.to_vec()
        };
        let b2: Vec<usize> = if sb.len() == 1 {
            vec![sb[0], 1]
        } else {
            sb.to_vec()
        };
        let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
        let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
        if k != kb {
            let baxis = if sb.len() == 1 {
                "only axis"
            } else {
                "second-to-last axis"
            };
            let aaxis = if sa.len() == 1 {
                "only axis"
            } else {
                "last axis"
            };
            return Err(Error::shape(format!(
                "matmul: a has shape {sa:?} and b has shape {sb:?}: a's {aaxis} ({k}) must equal b's {baxis} ({kb})"
            )));
        }
        let (ba, bb) = (a2[..a2.len() - 2].to_vec(), b2[..b2.len() - 2].to_vec());
        let batch = crate::shape::broadcast_shapes(&ba, &bb).map_err(|_| {
            Error::shape(format!(
                "matmul: a has shape {sa:?} and b has shape {sb:?}: batch axes {ba:?} and {bb:?} do not broadcast"
            ))
        })?;
        let mut out_shape = batch.clone();
        if sa.len() > 1 {
            out_shape.push(m);
        }
        if sb.len() > 1 {
            out_shape.push(n);
        }
        Ok(Shapes { out: out_shape, batch, m, n, k, ba, bb })
    }
}

impl Plan {
    fn new(a: &Tensor, b: &Tensor) -> Result<Plan> {
        let Shapes { out: out_shape, batch, m, n, k, ba, bb } = Shapes::new(a.shape(), a.dtype(), b.shape(), b.dtype())?;
        let nb = numel(&batch);
        // Element offsets of each batch entry's matrix in a and b (0 stride on broadcast axes).
        let offsets = |bs: &[usize], mat: usize| -> Vec<usize> {
            if nb <= 1 {
                return Vec::new();
            }
            let st = broadcast_strides(bs, &batch);
            let ost = strides(&batch);
            (0..nb)
                .map(|i| {
                    st.iter()
                        .zip(&ost)
                        .zip(&batch)
                        .map(|((&s, &o), &d)| (i / o) % d * s)
                        .sum::<usize>()
                        * mat
                })
                .collect()
        };
        let (oa, ob) = (offsets(&ba, m * k), offsets(&bb, k * n));
        Ok(Plan { out_shape, m, n, k, nb, oa, ob })
    }

    fn is_empty(&self) -> bool {
        self.nb * self.m * self.n == 0 || self.k == 0
    }

    /// Runs `f` on the product of every batch entry: one at a time (each split across the pool
    /// when large), or, for many small products, one task per group of entries. `panels`: `f`
    /// takes B in panels (`BKind::Panels`) as well as in B's own layout.
    fn run(&self, a: &Tensor, b: &Tensor, panels: bool, f: impl Fn(&Gemm, bool) + Sync) -> Tensor {
        let (m, n, k, nb) = (self.m, self.n, self.k, self.nb);
        let av = a.raw::<f32>();
        let bkind = match b.dtype() {
            DType::BF16 => BKind::Bf16,
            DType::F16 => BKind::F16,
            _ => BKind::F32,
        };
        // Few rows of A read each row of B once per row panel, column panel by column panel:
        // weights passed again (a served Dense layer) are kept in panels, each one contiguous
        // run instead of a strip at B's row stride, which the hardware prefetchers do not
        // follow and which maps onto few cache sets when n is a power of two. The sums run in
        // the same order either way (the depth blocks depend on m alone), so the first call,
        // in place, gives the bits the later ones give. (Not for single rows: in place those
        // are the matvec, whose sums run in another order. Nor for weights the caches hold
        // anyway, which would pay the lookup for nothing.)
        let panels = (panels && bkind == BKind::F32 && nb == 1 && (2..=FEW_ROWS).contains(&m) && k * n >= KEPT_FROM && crate::cpu::has_avx512f())
            .then(|| kept(b.storage(), Form::Panels { k, n }, n.next_multiple_of(PANEL) * k, Make::OnReuse, |out| pack_panels(b.raw::<f32>(), k, n, out)))
            .flatten();
        let (bkind, ldb) = if panels.is_some() { (BKind::Panels, k) } else { (bkind, n) };
        // B's bytes (any of its element kinds), shared read-only by the tasks.
        let bbytes = match &panels {
            Some(p) => bytemuck::cast_slice::<f32, u8>(p),
            None => b.as_bytes(),
        };
        Tensor::build::<f32>(self.out_shape.clone(), DType::F32, |c| {
            let cp = SendPtr(c.as_mut_ptr());
            let entry = |bi: usize| Gemm {
                m,
                n,
                k,
                // SAFETY: oa/ob address whole m×k / k×n matrices inside av/bv (offset 0 for a
                // single entry); entry bi of C is the bi-th m×n block of the output.
                a: unsafe { av.as_ptr().add(self.oa.get(bi).copied().unwrap_or(0)) },
                lda: k,
                b: unsafe { bbytes.as_ptr().add(self.ob.get(bi).copied().unwrap_or(0) * bkind.size()) },
                bkind,
                ldb,
                c: unsafe { cp.get().add(bi * m * n) },
                ldc: n,
                accumulate: false,
            };
            let work = m * n * k;
            if nb == 1 || work >= gemm::PAR_WORK || rayon::current_num_threads() == 1 {
                (0..nb).for_each(|bi| f(&entry(bi), true));
            } else {
                let per = (gemm::PAR_WORK / work.max(1)).max(1);
                (0..nb)
                    .into_par_iter()
                    .with_min_len(per)
                    .for_each(|bi| f(&entry(bi), false));
            }
        })
    }
}

pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let plan = Plan::new(a, b)?;
    let dt = out_dtype(a.dtype(), b.dtype());
    if plan.is_empty() {
        return Ok(Tensor::zeros(&plan.out_shape, dt));
    }
    // A is read by broadcasts in float32: a half-precision a is widened first (b is not).
    let wide;
    let a = if a.dtype() == DType::F32 {
        a
    } else {
        wide = a.astype(DType::F32);
        &wide
    };
    let c = plan.run(a, b, true, |g, parallel| {
        // SAFETY: `run` hands each call its own block of C; A and B are inputs (not C).
        unsafe {
            if parallel {
                gemm::gemm(g)
            } else {
                gemm::gemm_st(g)
            }
        }
    });
    Ok(if dt == DType::F32 { c } else { c.astype(dt) })
}

/// `matmul(a, transpose(w))` for a 2-D w of shape (n, k): the same values and errors, without
/// the transposed copy of w when both are float32 and a has two rows or more per batch entry.
/// With AVX-512, `gemm::gemm_nt` sums every output as the product with the copy does; without,
/// w is read in place as a transposed B (`BKind::F32T`) that the AVX2 product (or
/// matrixmultiply) transposes while packing it, the same values in the same order: the same
/// bits either way. One row takes the copy: the matrix-vector
/// product streams it fastest. Plans rewrite `x @ w.T` over rows into it (`plan/compile.rs`).
pub fn matmul_t(a: &Tensor, w: &Tensor) -> Result<Tensor> {
    t_shape(w.shape())?;
    let rows = if a.ndim() < 2 { 1 } else { a.shape()[a.ndim() - 2] };
    let direct = w.ndim() == 2 && rows >= 2 && a.dtype() == DType::F32 && w.dtype() == DType::F32 && a.shape().last() == Some(&w.shape()[1]);
    if !direct {
        return matmul(a, &crate::ops::transpose(w, None)?);
    }
    let (n, k) = (w.shape()[0], w.shape()[1]);
    let mut shape = a.shape()[..a.ndim() - 1].to_vec();
    shape.push(n);
    // Entry by entry as `matmul` runs a batched a (and so with its bits): `rows` rows each.
    let nb = numel(&a.shape()[..a.ndim().saturating_sub(2)]);
    if nb * rows * n == 0 || k == 0 {
        return Ok(Tensor::zeros(&shape, DType::F32));
    }
    let (av, wv) = (a.raw::<f32>(), w.raw::<f32>());
    #[cfg(target_arch = "x86_64")]
    let wide = crate::cpu::has_avx512f();
    Ok(Tensor::build::<f32>(shape, DType::F32, |c| {
        let cp = SendPtr(c.as_mut_ptr());
        let entry = |bi: usize, parallel: bool| {
            // SAFETY (both arms): entry bi is rows×k floats of a and rows×n of c (c is new), w
            // is n×k; the AVX-512 arm runs only when AVX-512F was detected.
            #[cfg(target_arch = "x86_64")]
            if wide {
                return unsafe { gemm::gemm_nt(rows, n, k, av.as_ptr().add(bi * rows * k), wv.as_ptr(), cp.get().add(bi * rows * n), parallel) };
            }
            let g = unsafe {
                Gemm { m: rows, n, k, a: av.as_ptr().add(bi * rows * k), lda: k, b: wv.as_ptr() as *const u8, bkind: BKind::F32T, ldb: k, c: cp.get().add(bi * rows * n), ldc: n, accumulate: false }
            };
            // SAFETY: as above; C's block is this entry's own.
            unsafe {
                if parallel {
                    gemm::gemm(&g)
                } else {
                    gemm::gemm_st(&g)
                }
            }
        };
        let work = rows * n * k;
        if nb == 1 || work >= gemm::PAR_WORK || rayon::current_num_threads() == 1 {
            (0..nb).for_each(|bi| entry(bi, true));
        } else {
            let per = (gemm::PAR_WORK / work).max(1);
            (0..nb).into_par_iter().with_min_len(per).for_each(|bi| entry(bi, false));
        }
    }))
}

/// The shape (k, n) of wᵀ for matmul_t's w of shape (n, k); E_SHAPE unless w is 2-D.
pub fn t_shape(w: &[usize]) -> Result<[usize; 2]> {
    match *w {
        [n, k] => Ok([k, n]),
        _ => Err(Error::shape(format!("matmul_t: w has shape {w:?}; it must be 2-D (n, k)"))),
    }
}

/// `matmul(a, triu(b, k))` when `upper`, else `matmul(a, tril(b, k))`, with the same results up
/// to float summation order and the same errors. The zero triangle of the mask is skipped, about
/// halving the work for a square b. If `a` holds an infinity or NaN the masked copy is made and
/// multiplied instead (skipping `inf · 0 = NaN` terms would change the result).
pub fn matmul_masked(a: &Tensor, b: &Tensor, k: i64, upper: bool) -> Result<Tensor> {
    let masked = || if upper { crate::ops::triu(b, k) } else { crate::ops::tril(b, k) };
    if b.ndim() < 2 || a.dtype() != DType::F32 || b.dtype() != DType::F32 {
        // Let the eager ops report their own errors, in the same order as jnp would.
        return matmul(a, &masked()?);
    }
    let plan = Plan::new(a, b)?;
    if plan.is_empty() {
        return Ok(Tensor::zeros(&plan.out_shape, DType::F32));
    }
    if !all_finite(a.raw::<f32>()) {
        return matmul(a, &masked()?);
    }
    Ok(plan.run(a, b, false, |g, parallel| {
        // SAFETY: as in `matmul`.
        unsafe { gemm::gemm_band(g, k, upper, parallel) }
    }))
}

/// No element is an infinity or NaN (exponent bits all ones). Branch-free so it vectorises.
fn all_finite(x: &[f32]) -> bool {
    x.iter().fold(0u32, |acc, v| acc | ((v.to_bits() & 0x7f80_0000) == 0x7f80_0000) as u32) == 0
}
