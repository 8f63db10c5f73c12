//! jnp.matmul for float32 on matrixmultiply's sgemm. Batched and broadcast leading axes are
//! handled here; large products are split into independent tiles (batch entry x row or column
//! block) run by rayon, each tile one single-threaded sgemm writing a disjoint part of C.

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::par::SendPtr;
use crate::shape::{broadcast_strides, numel, strides};
use crate::tensor::Tensor;

/// Below this many multiply-adds a product runs on the calling thread.
const PAR_WORK: usize = 64 * 64 * 64;
/// Smallest row/column block worth its own task (each task re-packs its panel of A or B).
const MIN_BLOCK: usize = 32;

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
        // Tile = (batch entry, rows r0..r1, cols c0..c1).
        let tile = |(bi, r0, r1, c0, c1): (usize, usize, usize, usize, usize)| {
            // SAFETY: a/b offsets address m*k / k*n blocks inside av/bv; the tile writes rows
            // r0..r1 x cols c0..c1 of batch entry bi, disjoint from every other tile. beta = 0,
            // so sgemm never reads the (uninitialised) C.
            unsafe {
                matrixmultiply::sgemm(
                    r1 - r0,
                    k,
                    c1 - c0,
                    1.0,
                    av.as_ptr().add(oa[bi] + r0 * k),
                    k as isize,
                    1,
                    bv.as_ptr().add(ob[bi] + c0),
                    n as isize,
                    1,
                    0.0,
                    cp.get().add(bi * m * n + r0 * n + c0),
                    n as isize,
                    1,
                );
            }
        };
        let work = nb * m * n * k;
        if work < PAR_WORK {
            (0..nb).for_each(|bi| tile((bi, 0, m, 0, n)));
            return;
        }
        let want = 4 * rayon::current_num_threads();
        let per = want.div_ceil(nb); // blocks per batch entry
        let mut tiles = Vec::new();
        for bi in 0..nb {
            if per <= 1 {
                tiles.push((bi, 0, m, 0, n));
            } else if m >= n {
                let rb = m.div_ceil(per).max(MIN_BLOCK);
                tiles.extend(
                    (0..m)
                        .step_by(rb)
                        .map(|r0| (bi, r0, (r0 + rb).min(m), 0, n)),
                );
            } else {
                let cb = n.div_ceil(per).max(MIN_BLOCK);
                tiles.extend(
                    (0..n)
                        .step_by(cb)
                        .map(|c0| (bi, 0, m, c0, (c0 + cb).min(n))),
                );
            }
        }
        tiles.into_par_iter().for_each(tile);
    }))
}
