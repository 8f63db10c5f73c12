//! jnp.matmul for float32. Batched and broadcast leading axes are handled here; each matrix
//! product runs on `gemm` (AVX-512 microkernel, or matrixmultiply's sgemm without AVX-512),
//! split across the pool when large. Batches of small products run one task per group of
//! entries.

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::gemm::{self, Gemm};
use crate::par::SendPtr;
use crate::shape::{broadcast_strides, numel, strides};
use crate::tensor::Tensor;


pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    for (t, n) in [(a, "a"), (b, "b")] {
        if t.dtype() != DType::F32 {
            return Err(Error::dtype(format!(
                "matmul: {n} has dtype {}; only float32 is supported",
                t.dtype()
            )));
        }
        if t.ndim() == 0 {
            return Err(Error::shape(format!(
                "matmul: {n} is a scalar (shape []); it needs at least 1 dimension"
            )));
        }
    }
    let (sa, sb) = (a.shape(), b.shape());
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
    let (ba, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let batch = crate::shape::broadcast_shapes(ba, bb).map_err(|_| {
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
    let nb = numel(&batch);
    if nb * m * n == 0 || k == 0 {
        return Ok(Tensor::zeros(&out_shape, DType::F32));
    }
    // Element offsets of each batch entry's matrix in a and b (0 stride on broadcast axes).
    let offsets = |bs: &[usize], mat: usize| -> Vec<usize> {
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
    let (oa, ob) = (offsets(ba, m * k), offsets(bb, k * n));
    let (av, bv) = (a.raw::<f32>(), b.raw::<f32>());
    Ok(Tensor::build::<f32>(out_shape, DType::F32, |c| {
        let cp = SendPtr(c.as_mut_ptr());
        let entry = |bi: usize| Gemm {
            m,
            n,
            k,
            // SAFETY: oa/ob address whole m×k / k×n matrices inside av/bv; entry bi of C is
            // the bi-th m×n block of the output.
            a: unsafe { av.as_ptr().add(oa[bi]) },
            lda: k,
            b: unsafe { bv.as_ptr().add(ob[bi]) },
            ldb: n,
            c: unsafe { cp.get().add(bi * m * n) },
            ldc: n,
            accumulate: false,
        };
        let work = m * n * k;
        if nb == 1 || work >= gemm::PAR_WORK {
            // One product at a time, each split across the pool if large enough.
            // SAFETY: each entry writes its own block of C; A and B are inputs (not C).
            (0..nb).for_each(|bi| unsafe { gemm::gemm(&entry(bi)) });
        } else {
            // Many small products: one task per group of batch entries.
            let per = (gemm::PAR_WORK / work.max(1)).max(1);
            (0..nb).into_par_iter().with_min_len(per).for_each(|bi| {
                // SAFETY: as above; entries are disjoint blocks of C.
                unsafe { gemm::gemm_st(&entry(bi)) }
            });
        }
    }))
}
