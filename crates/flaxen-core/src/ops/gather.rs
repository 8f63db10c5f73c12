//! Index-driven ops: jnp.take and jax.nn.one_hot.
//!
//! take (jnp's default `mode="fill"`, spec e.3): negative indices wrap once (`-1` is the last
//! entry); indices still out of range give the fill value: NaN for float32, the most negative
//! value for int32, the largest value for unsigned dtypes, true for bool. `Clip` clamps to the
//! valid range and `Wrap` takes indices modulo the axis size, as jnp's other modes.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::create::cast_f64;
use crate::ops::layout::moveaxis;
use crate::shape::{check_shape, normalize_axis};
use crate::tensor::{dispatch, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TakeMode {
    Fill,
    Clip,
    Wrap,
}

impl TakeMode {
    pub fn from_name(name: &str) -> Result<TakeMode> {
        match name {
            "fill" => Ok(TakeMode::Fill),
            "clip" => Ok(TakeMode::Clip),
            "wrap" => Ok(TakeMode::Wrap),
            _ => Err(Error::arg(format!(
                "take: mode {name:?} is not supported; expected \"fill\", \"clip\" or \"wrap\""
            ))),
        }
    }
}

/// The value jnp's fill mode writes for an out-of-range index.
fn fill_value(dt: DType) -> f64 {
    match dt {
        DType::F32 => f64::NAN,
        DType::I32 => i32::MIN as f64,
        DType::U32 => u32::MAX as f64,
        DType::U16 => u16::MAX as f64,
        DType::U8 => u8::MAX as f64,
        DType::I8 => i8::MIN as f64,
        DType::Bool => 1.0,
        // NaN, as float32 (the half dtypes' conversion gives their quiet NaN).
        DType::F16 | DType::BF16 => f64::NAN,
    }
}

/// The indices as i64 (E_DTYPE unless an integer dtype).
fn index_values(indices: &Tensor, what: &str) -> Result<Vec<i64>> {
    let dt = indices.dtype();
    if !dt.is_int() {
        return Err(Error::dtype(format!(
            "{what}: indices has dtype {dt}; expected an integer dtype (int32, uint32, uint16, uint8)"
        )));
    }
    Ok(
        dispatch!(dt, T => indices.raw::<T>().iter().map(|&v| crate::dtype::Element::to_i64(v)).collect()),
    )
}

/// jnp.take(x, indices, axis): entries of `x` along `axis` (`None`: of the flattened `x`)
/// selected by an integer tensor `indices`; the result has shape
/// `x.shape[:axis] + indices.shape + x.shape[axis+1:]`.
pub fn take(x: &Tensor, indices: &Tensor, axis: Option<i64>, mode: TakeMode) -> Result<Tensor> {
    let idx = index_values(indices, "take")?;
    let (x, ax) = match axis {
        None => (x.reshape(&[-1])?, 0),
        Some(a) => (x.clone(), normalize_axis(a, x.ndim(), "take: axis")?),
    };
    let shape = x.shape();
    let n = shape[ax];
    let outer: usize = shape[..ax].iter().product();
    let inner: usize = shape[ax + 1..].iter().product();
    let mut out_shape = shape[..ax].to_vec();
    out_shape.extend_from_slice(indices.shape());
    out_shape.extend_from_slice(&shape[ax + 1..]);
    check_shape(&out_shape, "take: result")?;
    if n == 0 && mode != TakeMode::Fill && !idx.is_empty() && outer * inner > 0 {
        return Err(Error::arg(format!(
            "take: x has shape {shape:?}: cannot take from an empty axis {ax} with mode {mode:?}"
        )));
    }
    // Source row per index; `n` (one past the end) marks a fill.
    let ni = n as i64;
    let src: Vec<usize> = idx
        .iter()
        .map(|&i| match mode {
            TakeMode::Fill => {
                let j = if i < 0 { i + ni } else { i };
                if (0..ni).contains(&j) {
                    j as usize
                } else {
                    n
                }
            }
            TakeMode::Clip => i.clamp(0, (ni - 1).max(0)) as usize,
            TakeMode::Wrap => i.rem_euclid(ni.max(1)) as usize,
        })
        .collect();
    let m = src.len();
    let dt = x.dtype();
    Ok(dispatch!(dt, T => {
        let fill: T = cast_f64(fill_value(dt), dt);
        let xs = x.raw::<T>();
        Tensor::build::<T>(out_shape, dt, |o| {
            if o.is_empty() {
                return;
            }
            let big = crate::par::parallel(o.len());
            if inner == 1 {
                // Element gather: output (r, j) is x (r, src[j]).
                let xv = ArrayView2::from_shape((outer, n), xs).expect("x holds outer*n");
                let ov = ArrayViewMut2::from_shape((outer, m), o).expect("sized by out_shape");
                let f = |(r, j), z: &mut T| {
                    let s = src[j];
                    *z = if s < n { xv[[r, s]] } else { fill };
                };
                let z = Zip::indexed(ov);
                if big {
                    z.par_for_each(f);
                } else {
                    z.for_each(f);
                }
                return;
            }
            // Row copies of `inner` elements: contiguous slices, which beat ndarray lanes here.
            let row = |(q, dst): (usize, &mut [T])| {
                let (r, j) = (q / m, q % m);
                let s = src[j];
                if s < n {
                    let from = (r * n + s) * inner;
                    dst.copy_from_slice(&xs[from..from + inner]);
                } else {
                    dst.fill(fill);
                }
            };
            if big {
                o.par_chunks_mut(inner).enumerate().for_each(row);
            } else {
                o.chunks_mut(inner).enumerate().for_each(row);
            }
        })
    }))
}

/// jax.nn.one_hot(x, num_classes, dtype, axis): `x[..., None] == arange(num_classes)` cast to
/// `dtype`, the class axis inserted at `axis` (default last). Integer or float `x`; entries
/// that are not an integer in `0..num_classes` (negative, too large, fractional, NaN) give an
/// all-zero row.
pub fn one_hot(x: &Tensor, num_classes: usize, dtype: DType, axis: i64) -> Result<Tensor> {
    let mut out_shape = x.shape().to_vec();
    out_shape.push(num_classes);
    let ax = normalize_axis(axis, out_shape.len(), "one_hot: axis")?;
    check_shape(&out_shape, "one_hot: result")?;
    let c = num_classes;
    let cls: Vec<usize> = match x.dtype() {
        // Class per entry; `c` marks "no class".
        DType::F32 => x
            .raw::<f32>()
            .iter()
            .map(|&v| {
                if v >= 0.0 && v < c as f32 && v.fract() == 0.0 {
                    v as usize
                } else {
                    c
                }
            })
            .collect(),
        DType::Bool => x
            .raw::<u8>()
            .iter()
            .map(|&v| ((v != 0) as usize).min(c))
            .collect(),
        dt => dispatch!(dt, T => x.raw::<T>().iter().map(|&v| {
            let i = crate::dtype::Element::to_i64(v);
            if (0..c as i64).contains(&i) { i as usize } else { c }
        }).collect()),
    };
    let y = dispatch!(dtype, T => {
        let (zero, one): (T, T) = (cast_f64(0.0, dtype), cast_f64(1.0, dtype));
        Tensor::build::<T>(out_shape, dtype, |o| {
            if c == 0 {
                return;
            }
            let row = |(i, r): (usize, &mut [T])| {
                r.fill(zero);
                if cls[i] < c {
                    r[cls[i]] = one;
                }
            };
            if crate::par::parallel(o.len()) {
                o.par_chunks_mut(c).enumerate().for_each(row);
            } else {
                o.chunks_mut(c).enumerate().for_each(row);
            }
        })
    });
    if ax + 1 == y.ndim() {
        Ok(y)
    } else {
        moveaxis(&y, &[-1], &[ax as i64])
    }
}

/// Output shape of `take_along_axis` and the normalised axis: the ranks match, the axis
/// comes from `indices`, every other dimension broadcasts (numpy rules).
pub fn take_along_axis_shape(x: &[usize], indices: &[usize], axis: Option<i64>) -> Result<(Vec<usize>, usize)> {
    const WHAT: &str = "take_along_axis";
    let (x, ax): (Vec<usize>, usize) = match axis {
        None => {
            if indices.len() != 1 {
                return Err(Error::shape(format!(
                    "{WHAT}: with axis null, indices must be 1-D (x is flattened); got indices of shape {indices:?}"
                )));
            }
            (vec![x.iter().product()], 0)
        }
        Some(a) => (x.to_vec(), normalize_axis(a, x.len(), "take_along_axis: axis")?),
    };
    if x.len() != indices.len() {
        return Err(Error::shape(format!(
            "{WHAT}: x has shape {x:?} and indices has shape {indices:?}; they must have the same number of dimensions"
        )));
    }
    let mut out = Vec::with_capacity(x.len());
    for d in 0..x.len() {
        out.push(match (x[d], indices[d]) {
            _ if d == ax => indices[d],
            (a, b) if a == b || b == 1 => a,
            (1, b) => b,
            (a, b) => {
                return Err(Error::shape(format!(
                    "{WHAT}: x has shape {x:?} and indices has shape {indices:?}; dimension {d} ({a} vs {b}) does not broadcast"
                )))
            }
        });
    }
    Ok((check_shape(&out, "take_along_axis: result")?, ax))
}

/// jnp.take_along_axis(x, indices, axis, mode): `out[..., j, ...] = x[..., indices[..., j,
/// ...], ...]` along `axis` (of the flattened `x` when `None`), the other axes broadcast.
/// Modes as `take` (default fill), except that negative indices wrap once before clipping too,
/// as jnp.take_along_axis does.
pub fn take_along_axis(x: &Tensor, indices: &Tensor, axis: Option<i64>, mode: TakeMode) -> Result<Tensor> {
    let idx = index_values(indices, "take_along_axis")?;
    let (out_shape, ax) = take_along_axis_shape(x.shape(), indices.shape(), axis)?;
    let xshape: Vec<usize> = if axis.is_none() { vec![x.size()] } else { x.shape().to_vec() };
    let n = xshape[ax] as i64;
    if n == 0 && mode != TakeMode::Fill && crate::shape::numel(&out_shape) > 0 {
        return Err(Error::arg(format!(
            "take_along_axis: x has shape {:?}: cannot take from an empty axis {ax} with mode {mode:?}",
            x.shape()
        )));
    }
    // Row-major strides of x and indices, 0 along broadcast axes.
    let strides = |shape: &[usize]| {
        let mut s = vec![0usize; shape.len()];
        let mut acc = 1;
        for d in (0..shape.len()).rev() {
            s[d] = if shape[d] == 1 { 0 } else { acc };
            acc *= shape[d];
        }
        s
    };
    let (sx, si) = (strides(&xshape), strides(indices.shape()));
    let axis_stride = xshape[ax + 1..].iter().product::<usize>();
    let dt = x.dtype();
    let nd = out_shape.len();
    Ok(dispatch!(dt, T => {
        let fill: T = cast_f64(fill_value(dt), dt);
        let xs = x.raw::<T>();
        Tensor::build::<T>(out_shape.clone(), dt, |o| {
            let body = |start: usize, c: &mut [T]| {
                for (k, z) in c.iter_mut().enumerate() {
                    // Offsets in x (without the axis) and in indices from the multi-index.
                    let (mut r, mut ox, mut oi) = (start + k, 0usize, 0usize);
                    for d in (0..nd).rev() {
                        let i = r % out_shape[d];
                        r /= out_shape[d];
                        oi += i * si[d];
                        if d != ax {
                            ox += i * sx[d];
                        }
                    }
                    let i = idx[oi];
                    // jnp wraps negative indices once in every mode, then fills or clips.
                    let j = match mode {
                        TakeMode::Fill => if i < 0 { i + n } else { i },
                        TakeMode::Clip => (if i < 0 { i + n } else { i }).clamp(0, (n - 1).max(0)),
                        TakeMode::Wrap => i.rem_euclid(n.max(1)),
                    };
                    *z = if (0..n).contains(&j) { xs[ox + j as usize * axis_stride] } else { fill };
                }
            };
            crate::par::chunks(o, crate::par::CHUNK, body);
        })
    }))
}
