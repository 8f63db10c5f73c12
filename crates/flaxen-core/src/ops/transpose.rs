//! jnp.transpose: a permuted copy (tensors have no strides, so a transpose materialises).
//! Elements are moved as same-width integers, so one kernel per element size serves all dtypes.

use crate::error::{Error, Result};
use crate::ops::nd;
use crate::shape::normalize_axis;
use crate::tensor::Tensor;

/// Permutes axes; `None` reverses them. `axes` must be a permutation of 0..ndim (negative
/// axes count from the end).
pub fn transpose(x: &Tensor, axes: Option<&[i64]>) -> Result<Tensor> {
    let nd = x.ndim();
    let perm: Vec<usize> = match axes {
        None => (0..nd).rev().collect(),
        Some(ax) => {
            if ax.len() != nd {
                return Err(Error::arg(format!(
                    "transpose: axes {ax:?} has {} entries but x has shape {:?} ({nd} axes); axes must be a permutation of 0..{nd}",
                    ax.len(),
                    x.shape()
                )));
            }
            let mut seen = vec![false; nd];
            let mut p = Vec::with_capacity(nd);
            for &a in ax {
                let i = normalize_axis(a, nd, "transpose: axes")?;
                if seen[i] {
                    return Err(Error::arg(format!(
                        "transpose: axes {ax:?} repeats axis {i}; axes must be a permutation of 0..{nd}"
                    )));
                }
                seen[i] = true;
                p.push(i);
            }
            p
        }
    };
    let out_shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    // Swapping the last two axes (matrix transpose, possibly batched) gets a cache-blocked kernel.
    let swap_last = nd >= 2
        && perm[..nd - 2].iter().enumerate().all(|(i, &p)| p == i)
        && perm[nd - 2] == nd - 1;
    if swap_last {
        return Ok(match x.dtype().size() {
            4 => swap_last_two::<u32>(x, out_shape),
            2 => swap_last_two::<u16>(x, out_shape),
            _ => swap_last_two::<u8>(x, out_shape),
        });
    }
    match x.dtype().size() {
        4 => Ok(permute::<u32>(x, &perm, out_shape)),
        2 => Ok(permute::<u16>(x, &perm, out_shape)),
        _ => Ok(permute::<u8>(x, &perm, out_shape)),
    }
}

/// The general permutation: the output, in order, copied from a strided view of the input with
/// its axes permuted.
fn permute<T: Copy + Send + Sync>(x: &Tensor, perm: &[usize], out_shape: Vec<usize>) -> Tensor {
    let src = nd::view::<T>(x).permuted_axes(perm);
    let dims = out_shape.clone();
    Tensor::build::<T>(out_shape, x.dtype(), |o| {
        nd::assign(nd::view_mut(o, &dims), src)
    })
}

/// Tile edge of the blocked matrix transpose: a 32x32 tile of 4-byte elements is 4 KiB of
/// source and 4 KiB of destination, comfortably in L1.
const TILE: usize = 32;

/// `[..., r, c]` → `[..., c, r]`, tile by tile so both reads and writes stay in cache.
fn swap_last_two<T: Copy + Send + Sync>(x: &Tensor, out_shape: Vec<usize>) -> Tensor {
    let xs = x.raw::<T>();
    let nd = x.ndim();
    let (r, c) = (x.shape()[nd - 2], x.shape()[nd - 1]);
    Tensor::build::<T>(out_shape, x.dtype(), |o| {
        if o.is_empty() {
            return;
        }
        // Work item: TILE output rows (source columns) of one batch entry.
        let block = TILE * r;
        let per_batch = c.div_ceil(TILE);
        let job = |(i, dst): (usize, &mut [T])| {
            let (b, jb) = (i / per_batch, (i % per_batch) * TILE);
            let src = &xs[b * r * c..(b + 1) * r * c];
            let rows = dst.len() / r; // output rows in this block (<= TILE)
            for i0 in (0..r).step_by(TILE) {
                let i1 = (i0 + TILE).min(r);
                for j in 0..rows {
                    let d = &mut dst[j * r + i0..j * r + i1];
                    for (k, z) in d.iter_mut().enumerate() {
                        *z = src[(i0 + k) * c + jb + j];
                    }
                }
            }
        };
        // Blocks never straddle batch entries: split each batch's output separately.
        let big = crate::par::parallel(o.len());
        let chunks = o.chunks_mut(r * c).flat_map(|m| m.chunks_mut(block));
        if big {
            use rayon::prelude::*;
            let v: Vec<&mut [T]> = chunks.collect();
            v.into_par_iter().enumerate().for_each(job);
        } else {
            chunks.enumerate().for_each(job);
        }
    })
}
