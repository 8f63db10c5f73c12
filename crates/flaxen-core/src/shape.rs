//! Shape validation and numpy shape rules. Shapes coming from JS are numbers (f64) and must be
//! checked before anything allocates; a limit on the element count turns absurd requests into
//! errors instead of allocation aborts.

use crate::error::{Error, Result};

/// Largest element count of a tensor (2^40): far above any real use, far below overflow.
pub const MAX_ELEMENTS: u64 = 1 << 40;

/// A dimension as it arrives from a caller (JS numbers are f64, Rust callers use integers).
pub trait Dim: Copy + std::fmt::Debug {
    /// The dimension as a non-negative integer, or a description of what is wrong with it.
    fn to_dim(self) -> std::result::Result<u64, &'static str>;
}

impl Dim for f64 {
    fn to_dim(self) -> std::result::Result<u64, &'static str> {
        if self.is_nan() {
            Err("NaN")
        } else if self < 0.0 {
            Err("negative")
        } else if self.fract() != 0.0 || self.is_infinite() {
            Err("not an integer")
        } else {
            Ok(self as u64)
        }
    }
}

impl Dim for i64 {
    fn to_dim(self) -> std::result::Result<u64, &'static str> {
        if self < 0 {
            Err("negative")
        } else {
            Ok(self as u64)
        }
    }
}

impl Dim for usize {
    fn to_dim(self) -> std::result::Result<u64, &'static str> {
        Ok(self as u64)
    }
}

/// Validates a shape given by a caller: every dimension a non-negative integer (E_ARG) and the
/// element count at most `MAX_ELEMENTS` (E_SHAPE). `what` names the argument in messages.
pub fn check_shape<D: Dim>(dims: &[D], what: &str) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(dims.len());
    let mut total: u64 = 1;
    for (i, &d) in dims.iter().enumerate() {
        let v = d.to_dim().map_err(|why| {
            Error::arg(format!(
                "{what}: dimension {i} is {d:?} ({why}); dimensions must be non-negative integers"
            ))
        })?;
        total = total.saturating_mul(v);
        out.push(v.min(usize::MAX as u64) as usize);
        // A huge dimension is rejected even next to a 0 (it would overflow stride arithmetic).
        if v > MAX_ELEMENTS {
            return Err(Error::shape(format!(
                "{what}: dimension {i} is {v}, more than 2^40 = {MAX_ELEMENTS} elements"
            )));
        }
    }
    if total > MAX_ELEMENTS {
        return Err(Error::shape(format!(
            "{what}: shape {out:?} has too many elements (at most 2^40 = {MAX_ELEMENTS} allowed)"
        )));
    }
    Ok(out)
}

/// Number of elements (1 for a scalar).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// numpy broadcasting of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    broadcast_shapes_named(a, b, "broadcast", "a", "b")
}

/// `broadcast_shapes` with the operation and argument names used in the error message.
pub fn broadcast_shapes_named(
    a: &[usize],
    b: &[usize],
    what: &str,
    an: &str,
    bn: &str,
) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0usize; n];
    for i in 0..n {
        // i counts from the right.
        let da = if i < a.len() { a[a.len() - 1 - i] } else { 1 };
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 1 };
        out[n - 1 - i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::shape(format!(
                "{what}: {an} has shape {a:?} and {bn} has shape {b:?}, which do not broadcast: \
                 axis -{} is {da} in {an} and {db} in {bn} (sizes must be equal or 1)",
                i + 1
            )));
        };
    }
    Ok(out)
}

/// A possibly negative axis turned into an index in `0..ndim`.
pub fn normalize_axis(axis: i64, ndim: usize, what: &str) -> Result<usize> {
    let n = ndim as i64;
    if axis < -n || axis >= n {
        let msg = if ndim == 0 {
            format!("{what}: axis {axis} is out of bounds for a scalar (rank 0 has no axes)")
        } else {
            format!(
                "{what}: axis {axis} is out of bounds for rank {ndim} (expected {} ..= {})",
                -n,
                n - 1
            )
        };
        return Err(Error::arg(msg));
    }
    Ok(if axis < 0 {
        (axis + n) as usize
    } else {
        axis as usize
    })
}

/// The strides (in elements) an operand of shape `s` has when broadcast to `out` (0 on broadcast
/// axes). `s` must broadcast to `out`.
pub(crate) fn broadcast_strides(s: &[usize], out: &[usize]) -> Vec<usize> {
    let st = strides(s);
    let off = out.len() - s.len();
    (0..out.len())
        .map(|i| {
            if i < off || s[i - off] == 1 {
                0
            } else {
                st[i - off]
            }
        })
        .collect()
}

/// The shape `reshape(shape)` gives a tensor of shape `from` (one -1 is inferred); E_ARG for a
/// bad request, E_SHAPE when the element counts differ.
pub fn resolve_reshape(from: &[usize], shape: &[i64]) -> Result<Vec<usize>> {
    let mut infer = None;
    let mut known: usize = 1;
    for (i, &d) in shape.iter().enumerate() {
        if d == -1 {
            if infer.is_some() {
                return Err(Error::arg(format!("reshape: shape {shape:?} has more than one -1")));
            }
            infer = Some(i);
        } else if d < 0 {
            return Err(Error::arg(format!(
                "reshape: shape {shape:?} has negative dimension {d} at axis {i} (only -1 is allowed)"
            )));
        } else {
            known = known.saturating_mul(d as usize);
        }
    }
    let size = numel(from);
    let mismatch = || {
        Error::shape(format!("reshape: cannot reshape shape {from:?} ({size} elements) into shape {shape:?}"))
    };
    let mut out: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = infer {
        if known == 0 || !size.is_multiple_of(known) {
            return Err(mismatch());
        }
        out[i] = size / known;
    } else if known != size {
        return Err(mismatch());
    }
    Ok(out)
}
