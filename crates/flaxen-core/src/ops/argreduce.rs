//! jnp.argmax / jnp.argmin over one axis (or the flattened tensor): the index of the first
//! largest / smallest element as int32. NaN counts as the extreme (numpy: the first NaN wins).
//!
//! Layout: the tensor is seen as `[outer, n, inner]` with the axis in the middle. For
//! `inner == 1` each output scans one contiguous row in eight lanes; otherwise each output row
//! keeps `inner` running bests and walks the `n` rows, so the inner loop runs over contiguous
//! columns. Both are branch-free selects. Rayon splits the outer axis of large inputs.

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::normalize_axis;
use crate::tensor::Tensor;

/// Index of the first maximum along `axis` (`None`: of the flattened tensor), int32.
pub fn argmax(x: &Tensor, axis: Option<i64>, keepdims: bool) -> Result<Tensor> {
    arg(x, axis, keepdims, true)
}

/// Index of the first minimum along `axis` (`None`: of the flattened tensor), int32.
pub fn argmin(x: &Tensor, axis: Option<i64>, keepdims: bool) -> Result<Tensor> {
    arg(x, axis, keepdims, false)
}

/// An element that can be ranked: `better(v, best)` is true when `v` should replace the running
/// best (strictly better, or the first NaN).
trait Rank: Copy + Send + Sync {
    fn better(v: Self, best: Self, max: bool) -> bool;
}

impl Rank for f32 {
    #[inline(always)]
    fn better(v: f32, best: f32, max: bool) -> bool {
        let strictly = if max { v > best } else { v < best };
        strictly | (v.is_nan() & !best.is_nan())
    }
}

macro_rules! rank_int {
    ($($t:ty),*) => {$(
        impl Rank for $t {
            #[inline(always)]
            fn better(v: $t, best: $t, max: bool) -> bool {
                if max { v > best } else { v < best }
            }
        }
    )*};
}
rank_int!(i32, u32, u16, u8, i8);

fn arg(x: &Tensor, axis: Option<i64>, keepdims: bool, max: bool) -> Result<Tensor> {
    let what = if max { "argmax" } else { "argmin" };
    let shape = x.shape();
    let (outer, n, inner, out_shape) = match axis {
        None => {
            let out = if keepdims { vec![1; x.ndim()] } else { vec![] };
            (1, x.size(), 1, out)
        }
        Some(a) => {
            let ax = normalize_axis(a, x.ndim(), what)?;
            let mut out = shape.to_vec();
            if keepdims {
                out[ax] = 1;
            } else {
                out.remove(ax);
            }
            let outer: usize = shape[..ax].iter().product();
            let inner: usize = shape[ax + 1..].iter().product();
            (outer, shape[ax], inner, out)
        }
    };
    let out_n = outer * inner;
    if n == 0 && out_n > 0 {
        return Err(Error::shape(format!(
            "{what}: x has shape {shape:?} and the reduced axis is empty; {what} of an empty \
             sequence is undefined"
        )));
    }
    if n > i32::MAX as usize {
        return Err(Error::shape(format!(
            "{what}: the reduced axis has {n} elements; indices must fit int32"
        )));
    }
    Ok(match x.dtype() {
        DType::F32 => run::<f32>(x.raw(), outer, n, inner, out_shape, max),
        DType::I32 => run::<i32>(x.raw(), outer, n, inner, out_shape, max),
        DType::U32 => run::<u32>(x.raw(), outer, n, inner, out_shape, max),
        DType::U16 => run::<u16>(x.raw(), outer, n, inner, out_shape, max),
        DType::U8 => run::<u8>(x.raw(), outer, n, inner, out_shape, max),
        DType::I8 => run::<i8>(x.raw(), outer, n, inner, out_shape, max),
        DType::Bool => {
            let b = x.astype(DType::Bool); // bytes normalised to 0/1
            run::<u8>(b.raw(), outer, n, inner, out_shape, max)
        }
        dt @ (DType::F16 | DType::BF16) => return Err(crate::ops::half_in_kernel(what, dt)),
    })
}

fn run<T: Rank>(
    xs: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    out_shape: Vec<usize>,
    max: bool,
) -> Tensor {
    Tensor::build::<i32>(out_shape, DType::I32, |o| {
        if o.is_empty() {
            return;
        }
        // One output row = the `inner` results of one outer index.
        let job = |(i, dst): (usize, &mut [i32])| {
            let block = &xs[i * n * inner..(i + 1) * n * inner];
            if inner == 1 {
                dst[0] = scan(block, max) as i32;
            } else {
                columns(block, n, dst, max);
            }
        };
        if crate::par::parallel(outer * n * inner) && outer > 1 {
            o.par_chunks_mut(inner).enumerate().for_each(job);
        } else {
            o.chunks_mut(inner).enumerate().for_each(job);
        }
    })
}

/// Index of the first best element of a contiguous run (n >= 1): eight lanes of running bests,
/// then the best lane (ties go to the smaller index).
fn scan<T: Rank>(xs: &[T], max: bool) -> usize {
    const L: usize = 8;
    if xs.len() < 2 * L {
        let mut bi = 0;
        for (i, &v) in xs.iter().enumerate().skip(1) {
            if T::better(v, xs[bi], max) {
                bi = i;
            }
        }
        return bi;
    }
    let mut best: [T; L] = std::array::from_fn(|j| xs[j]);
    let mut idx: [usize; L] = std::array::from_fn(|j| j);
    let mut it = xs[L..].chunks_exact(L);
    let mut base = L;
    for c in &mut it {
        for j in 0..L {
            let b = T::better(c[j], best[j], max);
            best[j] = if b { c[j] } else { best[j] };
            idx[j] = if b { base + j } else { idx[j] };
        }
        base += L;
    }
    for (k, &v) in it.remainder().iter().enumerate() {
        let j = k % L;
        if T::better(v, best[j], max) {
            best[j] = v;
            idx[j] = base + k;
        }
    }
    let mut bj = 0;
    for j in 1..L {
        let b = T::better(best[j], best[bj], max);
        let tie = !T::better(best[bj], best[j], max) && idx[j] < idx[bj];
        if b || tie {
            bj = j;
        }
    }
    idx[bj]
}

/// Per column of a `[n, inner]` block, the row of its first best element.
fn columns<T: Rank>(block: &[T], n: usize, dst: &mut [i32], max: bool) {
    let inner = dst.len();
    let mut best: Vec<T> = block[..inner].to_vec();
    dst.fill(0);
    for r in 1..n {
        let row = &block[r * inner..(r + 1) * inner];
        for ((b, d), &v) in best.iter_mut().zip(dst.iter_mut()).zip(row) {
            let better = T::better(v, *b, max);
            *b = if better { v } else { *b };
            *d = if better { r as i32 } else { *d };
        }
    }
}
