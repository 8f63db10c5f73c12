//! Shape ops: concatenate, stack, expand_dims, squeeze, broadcast_to, swapaxes, moveaxis.
//! expand_dims and squeeze only relabel the shape (they share storage, like `reshape`);
//! swapaxes and moveaxis are transposes; the others copy contiguous runs.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ops::bcast::Plan;
use crate::ops::binary::{cast_if, promote_named};
use crate::ops::transpose::transpose;
use crate::shape::{broadcast_shapes, check_shape, normalize_axis};
use crate::tensor::{dispatch, Tensor};

fn as_i64(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&d| d as i64).collect()
}

/// Normalised, duplicate-free axes (E_ARG naming `what` otherwise).
fn unique_axes(axes: &[i64], ndim: usize, what: &str) -> Result<Vec<usize>> {
    let mut seen = vec![false; ndim];
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let i = normalize_axis(a, ndim, what)?;
        if seen[i] {
            return Err(Error::arg(format!("{what}: {axes:?} repeats axis {i}")));
        }
        seen[i] = true;
        out.push(i);
    }
    Ok(out)
}

/// jnp.concatenate: joins tensors of equal rank along `axis`; every other dimension must
/// match. dtypes are promoted as in arithmetic (equal, or float32 with integers/bool).
pub fn concatenate(xs: &[Tensor], axis: i64) -> Result<Tensor> {
    let Some(first) = xs.first() else {
        return Err(Error::arg(
            "concatenate: xs is empty; need at least one array to concatenate",
        ));
    };
    let nd = first.ndim();
    for (i, t) in xs.iter().enumerate() {
        if t.ndim() == 0 {
            return Err(Error::shape(format!(
                "concatenate: xs[{i}] has shape [] (a scalar); zero-dimensional arrays cannot be concatenated"
            )));
        }
        if t.ndim() != nd {
            return Err(Error::shape(format!(
                "concatenate: xs[0] has shape {:?} and xs[{i}] has shape {:?}; all inputs must have the same number of dimensions",
                first.shape(),
                t.shape()
            )));
        }
    }
    let ax = normalize_axis(axis, nd, "concatenate: axis")?;
    let mut dt = first.dtype();
    for (i, t) in xs.iter().enumerate().skip(1) {
        for d in 0..nd {
            if d != ax && t.shape()[d] != first.shape()[d] {
                return Err(Error::shape(format!(
                    "concatenate: xs[0] has shape {:?} and xs[{i}] has shape {:?}; they must match except along axis {ax} (they differ at axis {d})",
                    first.shape(),
                    t.shape()
                )));
            }
        }
        dt = promote_named(
            dt,
            t.dtype(),
            "concatenate",
            "the inputs before it",
            &format!("xs[{i}]"),
        )?;
    }
    let mut out_shape = first.shape().to_vec();
    out_shape[ax] = xs.iter().map(|t| t.shape()[ax]).sum();
    check_shape(&out_shape, "concatenate: result")?;
    let parts: Vec<Tensor> = xs.iter().map(|t| cast_if(t, dt)).collect();
    let outer: usize = out_shape[..ax].iter().product();
    let inner: usize = out_shape[ax + 1..].iter().product();
    // Per outer index, the output row is each part's block of `shape[ax] * inner` in turn.
    let blocks: Vec<usize> = parts.iter().map(|t| t.shape()[ax] * inner).collect();
    let row_len: usize = blocks.iter().sum();
    Ok(dispatch!(dt, T => {
        let srcs: Vec<&[T]> = parts.iter().map(|t| t.raw::<T>()).collect();
        Tensor::build::<T>(out_shape, dt, |o| {
            if o.is_empty() {
                return;
            }
            let row = |(r, dst): (usize, &mut [T])| {
                let mut at = 0;
                for (s, &b) in srcs.iter().zip(&blocks) {
                    dst[at..at + b].copy_from_slice(&s[r * b..(r + 1) * b]);
                    at += b;
                }
            };
            if crate::par::parallel(o.len()) && outer > 1 {
                o.par_chunks_mut(row_len).enumerate().for_each(row);
            } else {
                o.chunks_mut(row_len).enumerate().for_each(row);
            }
        })
    }))
}

/// jnp.stack: joins tensors of equal shape along a new axis `axis` (in `-(ndim+1)..=ndim`).
pub fn stack(xs: &[Tensor], axis: i64) -> Result<Tensor> {
    let Some(first) = xs.first() else {
        return Err(Error::arg(
            "stack: xs is empty; need at least one array to stack",
        ));
    };
    for (i, t) in xs.iter().enumerate().skip(1) {
        if t.shape() != first.shape() {
            return Err(Error::shape(format!(
                "stack: xs[0] has shape {:?} and xs[{i}] has shape {:?}; all inputs must have the same shape",
                first.shape(),
                t.shape()
            )));
        }
    }
    let ax = normalize_axis(axis, first.ndim() + 1, "stack: axis")?;
    let expanded = xs
        .iter()
        .map(|t| expand_dims(t, &[ax as i64]))
        .collect::<Result<Vec<_>>>()?;
    concatenate(&expanded, ax as i64)
}

/// jnp.expand_dims: inserts size-1 axes at `axes` (positions in the result). Shares storage.
pub fn expand_dims(x: &Tensor, axes: &[i64]) -> Result<Tensor> {
    let nd = x.ndim() + axes.len();
    let ins = unique_axes(axes, nd, "expand_dims: axis")?;
    let mut src = x.shape().iter();
    let shape: Vec<i64> = (0..nd)
        .map(|i| {
            if ins.contains(&i) {
                1
            } else {
                *src.next().expect("one source axis per remaining slot") as i64
            }
        })
        .collect();
    x.reshape(&shape)
}

/// jnp.squeeze: removes the size-1 axes `axes` (`None`: every size-1 axis). Shares storage.
pub fn squeeze(x: &Tensor, axes: Option<&[i64]>) -> Result<Tensor> {
    let shape = x.shape();
    let drop: Vec<usize> = match axes {
        None => (0..x.ndim()).filter(|&i| shape[i] == 1).collect(),
        Some(ax) => {
            let v = unique_axes(ax, x.ndim(), "squeeze: axis")?;
            if let Some(&i) = v.iter().find(|&&i| shape[i] != 1) {
                return Err(Error::arg(format!(
                    "squeeze: axis {i} of shape {shape:?} has size {}; only axes of size 1 can be squeezed",
                    shape[i]
                )));
            }
            v
        }
    };
    let kept: Vec<i64> = (0..x.ndim())
        .filter(|i| !drop.contains(i))
        .map(|i| shape[i] as i64)
        .collect();
    x.reshape(&kept)
}

/// jnp.broadcast_to: a copy of `x` repeated along broadcast axes to exactly `shape`.
pub fn broadcast_to(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let fits =
        shape.len() >= x.ndim() && broadcast_shapes(x.shape(), shape).is_ok_and(|s| s == shape);
    if !fits {
        return Err(Error::shape(format!(
            "broadcast_to: cannot broadcast x of shape {:?} to shape {shape:?} (each dimension of x must equal the target's trailing dimension or be 1)",
            x.shape()
        )));
    }
    check_shape(shape, "broadcast_to: shape")?;
    let dt = x.dtype();
    if shape.iter().product::<usize>() == 0 {
        return Ok(Tensor::zeros(shape, dt));
    }
    let plan = Plan::new(shape, [x.shape()]);
    Ok(dispatch!(dt, T => {
        let xs = x.raw::<T>();
        Tensor::build::<T>(shape.to_vec(), dt, |o| {
            plan.runs(o, |r, off, inc| {
                if inc[0] == 1 {
                    r.copy_from_slice(&xs[off[0]..off[0] + r.len()]);
                } else {
                    r.fill(xs[off[0]]);
                }
            })
        })
    }))
}

/// jnp.swapaxes: exchanges two axes (a transposed copy).
pub fn swapaxes(x: &Tensor, axis1: i64, axis2: i64) -> Result<Tensor> {
    let a = normalize_axis(axis1, x.ndim(), "swapaxes: axis1")?;
    let b = normalize_axis(axis2, x.ndim(), "swapaxes: axis2")?;
    let mut perm: Vec<i64> = (0..x.ndim() as i64).collect();
    perm.swap(a, b);
    transpose(x, Some(&perm))
}

/// jnp.moveaxis: moves axes `source` to positions `destination` keeping the others in order.
pub fn moveaxis(x: &Tensor, source: &[i64], destination: &[i64]) -> Result<Tensor> {
    let order = moveaxis_order(x.ndim(), source, destination)?;
    transpose(x, Some(&as_i64(&order)))
}

/// The axis order `moveaxis` produces for `nd` axes (the op table infers shapes with it).
pub(crate) fn moveaxis_order(nd: usize, source: &[i64], destination: &[i64]) -> Result<Vec<usize>> {
    if source.len() != destination.len() {
        return Err(Error::arg(format!(
            "moveaxis: source {source:?} and destination {destination:?} must have the same number of axes"
        )));
    }
    let src = unique_axes(source, nd, "moveaxis: source")?;
    let dst = unique_axes(destination, nd, "moveaxis: destination")?;
    let mut order: Vec<usize> = (0..nd).filter(|i| !src.contains(i)).collect();
    let mut pairs: Vec<(usize, usize)> = dst.into_iter().zip(src).collect();
    pairs.sort_unstable();
    for (d, s) in pairs {
        order.insert(d, s);
    }
    Ok(order)
}

/// jnp.flip: `x` with the order of elements along `axis` reversed (every axis when `None`).
/// A copy, row by row of the last axis (a reversed or straight contiguous copy).
pub fn flip(x: &Tensor, axis: Option<&[i64]>) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let nd = shape.len();
    let mut flipped = vec![axis.is_none(); nd];
    if let Some(ax) = axis {
        for i in unique_axes(ax, nd, "flip: axis")? {
            flipped[i] = true;
        }
    }
    let dt = x.dtype();
    if nd == 0 || x.size() == 0 {
        return Ok(x.astype(dt));
    }
    let row = shape[nd - 1];
    let mut strides = vec![1usize; nd];
    for d in (0..nd - 1).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let rev_last = flipped[nd - 1];
    Ok(dispatch!(dt, T => {
        let xs = x.raw::<T>();
        Tensor::build::<T>(shape.clone(), dt, |o| {
            let copy = |(q, dst): (usize, &mut [T])| {
                // Source row of output row q: flipped outer axes count from the end.
                let (mut r, mut from) = (q, 0usize);
                for d in (0..nd - 1).rev() {
                    let i = r % shape[d];
                    r /= shape[d];
                    from += strides[d] * if flipped[d] { shape[d] - 1 - i } else { i };
                }
                let src = &xs[from..from + row];
                if rev_last {
                    dst.iter_mut().zip(src.iter().rev()).for_each(|(z, &v)| *z = v);
                } else {
                    dst.copy_from_slice(src);
                }
            };
            if crate::par::parallel(o.len()) {
                o.par_chunks_mut(row).enumerate().for_each(copy);
            } else {
                o.chunks_mut(row).enumerate().for_each(copy);
            }
        })
    }))
}
