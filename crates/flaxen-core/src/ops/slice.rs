//! Boxes of a tensor: lax.slice (static, strided), lax.dynamic_slice and
//! lax.dynamic_update_slice (start indices from a tensor, clamped as XLA clamps them) and
//! jnp.pad (constant, edge, reflect, symmetric, wrap). Shapes are computed and checked by the
//! `*_shape` functions, which the op table's `infer` calls before anything is allocated.

use ndarray::Slice;
use rayon::prelude::*;

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::ops::nd::{assign, view, view_mut};
use crate::tensor::{dispatch, Tensor};

/// The shape of `lax.slice(x, start, limit, strides)`: E_ARG unless each list has one entry
/// per axis, 0 ≤ start ≤ limit ≤ dim and every stride ≥ 1.
pub fn slice_shape(shape: &[usize], start: &[i64], limit: &[i64], strides: Option<&[i64]>) -> Result<Vec<usize>> {
    let nd = shape.len();
    let lists = [("start_indices", start), ("limit_indices", limit), ("strides", strides.unwrap_or(start))];
    for (name, l) in lists {
        if l.len() != nd {
            return Err(Error::arg(format!(
                "slice: {name} has {} entries for an operand of shape {shape:?}; expected one per axis ({nd})",
                l.len()
            )));
        }
    }
    (0..nd)
        .map(|d| {
            let (s, l, dim) = (start[d], limit[d], shape[d] as i64);
            let st = strides.map_or(1, |v| v[d]);
            if s < 0 || s > l || l > dim {
                return Err(Error::arg(format!(
                    "slice: axis {d} of shape {shape:?}: start {s} and limit {l} must satisfy 0 <= start <= limit <= {dim}"
                )));
            }
            if st < 1 {
                return Err(Error::arg(format!("slice: strides[{d}] is {st}; strides must be positive")));
            }
            Ok(((l - s) as usize).div_ceil(st as usize))
        })
        .collect()
}

/// lax.slice: the elements `start[d] + i·strides[d]` below `limit[d]` of every axis.
pub fn slice(x: &Tensor, start: &[i64], limit: &[i64], strides: Option<&[i64]>) -> Result<Tensor> {
    let shape = slice_shape(x.shape(), start, limit, strides)?;
    let steps: Vec<isize> = (0..shape.len()).map(|d| strides.map_or(1, |v| v[d]) as isize).collect();
    let boxed = |d: usize| Slice::new(start[d] as isize, Some(limit[d] as isize), steps[d]);
    Ok(copy_box(x, shape, boxed))
}

/// A fresh tensor of `shape` holding the box of `x` that `slice_of(axis)` selects.
fn copy_box(x: &Tensor, shape: Vec<usize>, slice_of: impl Fn(usize) -> Slice) -> Tensor {
    let dt = x.dtype();
    dispatch!(dt, T => {
        let src = view::<T>(x);
        let src = src.slice_each_axis(|ax| slice_of(ax.axis.index()));
        Tensor::build::<T>(shape.clone(), dt, |o| {
            if !o.is_empty() {
                assign(view_mut(o, &shape), src)
            }
        })
    })
}

/// Start indices from a 1-D integer tensor with one entry per axis of `shape`: a negative index
/// counts from the end (JAX adds the axis length once), then each is clamped to
/// `0..=shape[d] - sizes[d]` (XLA's rule: a box never leaves the operand).
fn clamped_starts(starts: &Tensor, shape: &[usize], sizes: &[usize]) -> Vec<usize> {
    let s = starts.to_f64_vec();
    (0..shape.len())
        .map(|d| {
            let i = if s[d] < 0.0 { s[d] + shape[d] as f64 } else { s[d] };
            (i.max(0.0) as usize).min(shape[d] - sizes[d])
        })
        .collect()
}

fn check_starts(starts: &[usize], starts_dtype: DType, nd: usize, what: &str) -> Result<()> {
    if !starts_dtype.is_int() {
        return Err(Error::dtype(format!(
            "{what}: start_indices has dtype {starts_dtype}; expected an integer dtype"
        )));
    }
    if starts != [nd] {
        return Err(Error::shape(format!(
            "{what}: start_indices has shape {starts:?}; expected one index per axis of the operand, shape [{nd}]"
        )));
    }
    Ok(())
}

/// The shape of `lax.dynamic_slice(x, starts, sizes)` (`sizes` itself), after its checks.
pub fn dynamic_slice_shape(shape: &[usize], starts: &[usize], starts_dtype: DType, sizes: &[usize]) -> Result<Vec<usize>> {
    check_starts(starts, starts_dtype, shape.len(), "dynamic_slice")?;
    if sizes.len() != shape.len() || sizes.iter().zip(shape).any(|(s, d)| s > d) {
        return Err(Error::shape(format!(
            "dynamic_slice: slice_sizes {sizes:?} must have one size per axis of the operand's shape {shape:?}, each at most that axis"
        )));
    }
    Ok(sizes.to_vec())
}

/// lax.dynamic_slice: the `sizes` box of `x` at `starts` (clamped into `x`).
pub fn dynamic_slice(x: &Tensor, starts: &Tensor, sizes: &[usize]) -> Result<Tensor> {
    let shape = dynamic_slice_shape(x.shape(), starts.shape(), starts.dtype(), sizes)?;
    let s = clamped_starts(starts, x.shape(), sizes);
    Ok(copy_box(x, shape, |d| Slice::from(s[d]..s[d] + sizes[d])))
}

/// Checks of `lax.dynamic_update_slice(x, update, starts)`; the result has `x`'s shape.
pub fn dynamic_update_slice_check(x: &[usize], xdt: DType, u: &[usize], udt: DType, starts: &[usize], sdt: DType) -> Result<()> {
    let what = "dynamic_update_slice";
    check_starts(starts, sdt, x.len(), what)?;
    if xdt != udt {
        return Err(Error::dtype(format!(
            "{what}: update has dtype {udt} and operand has dtype {xdt}; they must match"
        )));
    }
    if u.len() != x.len() || u.iter().zip(x).any(|(a, b)| a > b) {
        return Err(Error::shape(format!(
            "{what}: update has shape {u:?} and operand has shape {x:?}; update must have the operand's rank and fit inside it"
        )));
    }
    Ok(())
}

/// lax.dynamic_update_slice: `x` with the box at `starts` (clamped) replaced by `update`. Writes
/// into `x`'s storage when `x` is its only owner (`Tensor::raw_mut`: a donated buffer under jit),
/// else into a copy.
pub fn dynamic_update_slice(x: Tensor, update: &Tensor, starts: &Tensor) -> Result<Tensor> {
    dynamic_update_slice_check(x.shape(), x.dtype(), update.shape(), update.dtype(), starts.shape(), starts.dtype())?;
    let s = clamped_starts(starts, x.shape(), update.shape());
    let dt = x.dtype();
    let shape = x.shape().to_vec();
    let mut out = x;
    dispatch!(dt, T => {
        if out.raw_mut::<T>().is_none() {
            let src = out;
            out = Tensor::build::<T>(shape.clone(), dt, |o| o.copy_from_slice(src.raw::<T>()));
        }
        let o = out.raw_mut::<T>().expect("a fresh copy has one owner");
        if update.size() > 0 {
            let mut dst = view_mut(o, &shape);
            let dst = dst.slice_each_axis_mut(|ax| {
                let d = ax.axis.index();
                Slice::from(s[d]..s[d] + update.shape()[d])
            });
            assign(dst, view::<T>(update));
        }
    });
    Ok(out)
}

/// jnp.pad's modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    Constant,
    Edge,
    Reflect,
    Symmetric,
    Wrap,
}

impl PadMode {
    pub const NAMES: &'static [&'static str] = &["constant", "edge", "reflect", "symmetric", "wrap"];
    pub fn from_index(i: usize) -> PadMode {
        [PadMode::Constant, PadMode::Edge, PadMode::Reflect, PadMode::Symmetric, PadMode::Wrap][i]
    }
}

/// The shape of `jnp.pad(x, widths)`: `widths` holds a (before, after) pair per axis, flat.
pub fn pad_shape(shape: &[usize], widths: &[i64], mode: PadMode) -> Result<Vec<usize>> {
    let nd = shape.len();
    if widths.len() != 2 * nd {
        return Err(Error::arg(format!(
            "pad: pad_width has {} entries for an operand of shape {shape:?}; expected a (before, after) pair per axis ({} entries)",
            widths.len(),
            2 * nd
        )));
    }
    (0..nd)
        .map(|d| {
            let (lo, hi) = (widths[2 * d], widths[2 * d + 1]);
            if lo < 0 || hi < 0 {
                return Err(Error::arg(format!("pad: pad_width for axis {d} is ({lo}, {hi}); widths must be non-negative")));
            }
            if shape[d] == 0 && mode != PadMode::Constant && lo + hi > 0 {
                return Err(Error::shape(format!(
                    "pad: axis {d} of shape {shape:?} is empty; mode {:?} cannot extend an empty axis (use mode 'constant')",
                    PadMode::NAMES[mode as usize]
                )));
            }
            Ok(shape[d] + lo as usize + hi as usize)
        })
        .collect()
}

/// Source index along an axis of length `n` for padded position `j` (relative to the first
/// original element), or None for the constant.
fn source(j: i64, n: i64, mode: PadMode) -> Option<usize> {
    if (0..n).contains(&j) {
        return Some(j as usize);
    }
    let i = match mode {
        PadMode::Constant => return None,
        PadMode::Edge => j.clamp(0, n - 1),
        PadMode::Wrap => j.rem_euclid(n),
        // Reflection about the end elements (not repeating them): period 2(n-1).
        PadMode::Reflect if n == 1 => 0,
        PadMode::Reflect => {
            let m = j.rem_euclid(2 * (n - 1));
            if m < n { m } else { 2 * (n - 1) - m }
        }
        // Reflection repeating the end elements: period 2n.
        PadMode::Symmetric => {
            let m = j.rem_euclid(2 * n);
            if m < n { m } else { 2 * n - 1 - m }
        }
    };
    Some(i as usize)
}

/// jnp.pad: `x` grown by `widths` (before/after pairs per axis), new elements from `mode`
/// (`value`, cast to x's dtype, for 'constant').
pub fn pad(x: &Tensor, widths: &[i64], mode: PadMode, value: f64) -> Result<Tensor> {
    let shape = pad_shape(x.shape(), widths, mode)?;
    let nd = shape.len();
    let dt = x.dtype();
    // The index maps below are scratch from the global allocator: the output's size is checked
    // against the byte cap first (and an empty output needs no maps, however long its axes).
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
    crate::storage::check_alloc(n, dt.size(), &format!("pad: output of shape {shape:?} ({})", dt.name()))?;
    if nd == 0 {
        return Ok(x.astype(dt));
    }
    if n == 0 {
        return Ok(Tensor::zeros(&shape, dt));
    }
    // Per axis, the source index of each output position.
    let maps: Vec<Vec<Option<usize>>> = (0..nd)
        .map(|d| (0..shape[d] as i64).map(|i| source(i - widths[2 * d], x.shape()[d] as i64, mode)).collect())
        .collect();
    let in_strides = crate::shape::strides(x.shape());
    let row = shape[nd - 1];
    Ok(dispatch!(dt, T => {
        let fill = <T as Element>::from_f64(value);
        let xs = x.raw::<T>();
        Tensor::build::<T>(shape.clone(), dt, |o| {
            let copy = |(q, dst): (usize, &mut [T])| {
                // Offset of the source row, or None when an outer axis lands in the constant.
                let (mut r, mut from) = (q, Some(0usize));
                for d in (0..nd - 1).rev() {
                    let i = r % shape[d];
                    r /= shape[d];
                    from = from.zip(maps[d][i]).map(|(f, s)| f + s * in_strides[d]);
                }
                match from {
                    None => dst.fill(fill),
                    Some(f) => dst.iter_mut().zip(&maps[nd - 1]).for_each(|(z, s)| *z = s.map_or(fill, |s| xs[f + s])),
                }
            };
            if row == 0 {
                return;
            }
            if crate::par::parallel(o.len()) {
                o.par_chunks_mut(row).enumerate().for_each(copy);
            } else {
                o.chunks_mut(row).enumerate().for_each(copy);
            }
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iota(shape: &[usize]) -> Tensor {
        let n = crate::shape::numel(shape);
        Tensor::from_vec((0..n as i32).collect::<Vec<_>>(), shape).unwrap()
    }

    #[test]
    fn strided_slice() {
        let x = iota(&[4, 5]);
        let y = slice(&x, &[1, 0], &[4, 5], Some(&[2, 2])).unwrap();
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.to_vec::<i32>().unwrap(), vec![5, 7, 9, 15, 17, 19]);
        assert!(slice(&x, &[0, 0], &[5, 5], None).is_err());
    }

    #[test]
    fn dynamic_slice_clamps() {
        let x = iota(&[6]);
        let s = Tensor::from_vec(vec![5i32], &[1]).unwrap();
        assert_eq!(dynamic_slice(&x, &s, &[3]).unwrap().to_vec::<i32>().unwrap(), vec![3, 4, 5]);
        let s = Tensor::from_vec(vec![-2i32], &[1]).unwrap();
        assert_eq!(dynamic_slice(&x, &s, &[2]).unwrap().to_vec::<i32>().unwrap(), vec![4, 5], "from the end");
        let s = Tensor::from_vec(vec![-9i32], &[1]).unwrap();
        assert_eq!(dynamic_slice(&x, &s, &[2]).unwrap().to_vec::<i32>().unwrap(), vec![0, 1], "clamped");
    }

    #[test]
    fn update_in_place_when_sole_owner() {
        let x = iota(&[3, 2]);
        let ptr = x.storage().as_ptr();
        let u = Tensor::from_vec(vec![-1i32, -2], &[1, 2]).unwrap();
        let s = Tensor::from_vec(vec![9i32, 0], &[2]).unwrap();
        let y = dynamic_update_slice(x, &u, &s).unwrap();
        assert_eq!(y.storage().as_ptr(), ptr, "written in place");
        assert_eq!(y.to_vec::<i32>().unwrap(), vec![0, 1, 2, 3, -1, -2]);
        let keep = y.clone();
        let z = dynamic_update_slice(y, &u, &Tensor::from_vec(vec![0i32, 0], &[2]).unwrap()).unwrap();
        assert_ne!(z.storage().as_ptr(), keep.storage().as_ptr(), "a shared operand is copied");
        assert_eq!(keep.to_vec::<i32>().unwrap(), vec![0, 1, 2, 3, -1, -2]);
        assert_eq!(z.to_vec::<i32>().unwrap(), vec![-1, -2, 2, 3, -1, -2]);
    }

    #[test]
    fn pad_modes() {
        let x = iota(&[3]);
        let p = |m| pad(&x, &[4, 4], m, 9.0).unwrap().to_vec::<i32>().unwrap();
        assert_eq!(p(PadMode::Constant), vec![9, 9, 9, 9, 0, 1, 2, 9, 9, 9, 9]);
        assert_eq!(p(PadMode::Edge), vec![0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 2]);
        assert_eq!(p(PadMode::Reflect), vec![0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2]);
        assert_eq!(p(PadMode::Symmetric), vec![2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0]);
        assert_eq!(p(PadMode::Wrap), vec![2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
        let m = pad(&iota(&[2, 2]), &[1, 0, 0, 1], PadMode::Constant, 7.0).unwrap();
        assert_eq!(m.to_vec::<i32>().unwrap(), vec![7, 7, 7, 0, 1, 7, 2, 3, 7]);
    }
}
