//! jnp.triu / jnp.tril on the last two axes. Per row the kept span is one contiguous copy and
//! the rest one fill, so there is no per-element branch.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::par::PAR_MIN;
use crate::tensor::{dispatch, Tensor};

/// Zeroes elements below diagonal `k` (keeps column j of row i when j >= i + k).
pub fn triu(x: &Tensor, k: i64) -> Result<Tensor> {
    band(x, k, true, "triu")
}

/// Zeroes elements above diagonal `k` (keeps column j of row i when j <= i + k).
pub fn tril(x: &Tensor, k: i64) -> Result<Tensor> {
    band(x, k, false, "tril")
}

fn band(x: &Tensor, k: i64, upper: bool, what: &str) -> Result<Tensor> {
    if x.ndim() < 2 {
        return Err(Error::shape(format!(
            "{what}: x has shape {:?}; expected at least 2 dimensions (the last two form the matrix)",
            x.shape()
        )));
    }
    let rows = x.shape()[x.ndim() - 2] as i64;
    let cols = x.shape()[x.ndim() - 1];
    if x.size() == 0 {
        return Ok(Tensor::zeros(x.shape(), x.dtype()));
    }
    let dt = x.dtype();
    Ok(dispatch!(dt, T => {
        let xs = x.raw::<T>();
        let zero: T = bytemuck::Zeroable::zeroed();
        Tensor::build::<T>(x.shape().to_vec(), dt, |o| {
            let row = |(r, out): (usize, &mut [T])| {
                let i = (r as i64) % rows;
                // Columns [lo, hi) are kept.
                let (lo, hi) = if upper {
                    ((i + k).clamp(0, cols as i64) as usize, cols)
                } else {
                    (0, (i + k + 1).clamp(0, cols as i64) as usize)
                };
                let src = &xs[r * cols..(r + 1) * cols];
                out[..lo].fill(zero);
                out[lo..hi.max(lo)].copy_from_slice(&src[lo..hi.max(lo)]);
                out[hi.max(lo)..].fill(zero);
            };
            if o.len() >= PAR_MIN {
                o.par_chunks_mut(cols).enumerate().for_each(row);
            } else {
                o.chunks_mut(cols).enumerate().for_each(row);
            }
        })
    }))
}
