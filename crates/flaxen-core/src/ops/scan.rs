//! Cumulative reductions: jnp.cumsum and jnp.cumprod.
//!
//! JAX lowers them to a reduce-window over everything up to each element, which XLA's
//! `ReduceWindowRewriter` turns into a two-level scan over blocks of 16: a running sum inside
//! each block (from the block's start), the same scan (recursively) over the block totals, and
//! each block's values combined with the total of all blocks before it (the identity for the
//! first block). The kernel follows that order, so float32 results are JAX's bits (checked on
//! lengths 3 to 5000 against JAX 0.10.2; a plain running sum already differs from length 17).
//! dtypes as jnp's: float32 stays, signed integers and bool accumulate in int32, unsigned in
//! uint32 (wrapping, where order does not matter).

use crate::dtype::DType;
use crate::error::Result;
use crate::shape::normalize_axis;
use crate::tensor::Tensor;

/// Which running reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cumulative {
    Sum,
    Prod,
}

/// The accumulation dtype for an input of `dt` (jnp.cumsum / jnp.cumprod without `dtype`).
pub fn cumulative_dtype(dt: DType) -> DType {
    match dt {
        DType::F32 => DType::F32,
        DType::U32 | DType::U16 | DType::U8 => DType::U32,
        _ => DType::I32,
    }
}

/// The output shape and normalised axis; `None` flattens first (as jnp).
pub fn cumulative_shape(shape: &[usize], axis: Option<i64>, what: &str) -> Result<(Vec<usize>, usize)> {
    match axis {
        None => Ok((vec![shape.iter().product()], 0)),
        Some(a) => Ok((shape.to_vec(), normalize_axis(a, shape.len(), &format!("{what}: axis"))?)),
    }
}

/// Running sum or product of `x` along `axis` (of the flattened `x` when `None`).
pub fn cumulative(op: Cumulative, x: &Tensor, axis: Option<i64>) -> Result<Tensor> {
    let what = match op {
        Cumulative::Sum => "cumsum",
        Cumulative::Prod => "cumprod",
    };
    let (shape, ax) = cumulative_shape(x.shape(), axis, what)?;
    if x.dtype().is_half() {
        return Err(crate::ops::half_in_kernel(what, x.dtype()));
    }
    let dt = cumulative_dtype(x.dtype());
    let x = x.astype(dt);
    let n = shape[ax];
    let inner: usize = shape[ax + 1..].iter().product();
    fn go<T: Copy + Send + Sync>(x: &Tensor, shape: Vec<usize>, n: usize, inner: usize, id: T, f: impl Fn(T, T) -> T + Sync + Send + Copy) -> Tensor {
        let xs = x.raw::<T>();
        let dt = x.dtype();
        Tensor::build::<T>(shape, dt, |o| {
            let block = n * inner;
            if block == 0 {
                return;
            }
            crate::par::chunks(o, block * (crate::par::CHUNK / block).max(1), |s, c| {
                for (b, out) in c.chunks_mut(block).enumerate() {
                    blocked_scan(&xs[s + b * block..s + (b + 1) * block], out, inner, id, f);
                }
            })
        })
    }
    Ok(match (op, dt) {
        (Cumulative::Sum, DType::F32) => go::<f32>(&x, shape, n, inner, 0.0, |a, b| a + b),
        (Cumulative::Prod, DType::F32) => go::<f32>(&x, shape, n, inner, 1.0, |a, b| a * b),
        (Cumulative::Sum, DType::I32) => go::<i32>(&x, shape, n, inner, 0, |a, b| a.wrapping_add(b)),
        (Cumulative::Prod, DType::I32) => go::<i32>(&x, shape, n, inner, 1, |a, b| a.wrapping_mul(b)),
        (Cumulative::Sum, _) => go::<u32>(&x, shape, n, inner, 0, |a, b| a.wrapping_add(b)),
        (Cumulative::Prod, _) => go::<u32>(&x, shape, n, inner, 1, |a, b| a.wrapping_mul(b)),
    })
}

/// The float32 running sum or product of the float32 `x` in the same blocked order, with every
/// combination rounded by `r` (a half dtype's rounding: XLA's scan of float16/bfloat16 values
/// rounds after each addition or multiplication).
pub(crate) fn cumulative_rounded(op: Cumulative, x: &Tensor, axis: Option<i64>, r: impl Fn(f32) -> f32 + Copy + Send + Sync) -> Result<Tensor> {
    let what = match op {
        Cumulative::Sum => "cumsum",
        Cumulative::Prod => "cumprod",
    };
    let (shape, ax) = cumulative_shape(x.shape(), axis, what)?;
    let xs = x.raw::<f32>();
    let n = shape[ax];
    let inner: usize = shape[ax + 1..].iter().product();
    let (id, f): (f32, fn(f32, f32) -> f32) = match op {
        Cumulative::Sum => (0.0, |a, b| a + b),
        Cumulative::Prod => (1.0, |a, b| a * b),
    };
    Ok(Tensor::build::<f32>(shape, DType::F32, |o| {
        let block = n * inner;
        if block == 0 {
            return;
        }
        crate::par::chunks(o, block * (crate::par::CHUNK / block).max(1), |s, c| {
            for (b, out) in c.chunks_mut(block).enumerate() {
                blocked_scan(&xs[s + b * block..s + (b + 1) * block], out, inner, id, move |a, v| r(f(a, v)));
            }
        })
    }))
}

/// XLA's block length for rewritten cumulative reductions.
const BASE: usize = 16;

/// Running `f` over the rows of `src` (rows of `w` elements; row i of `out` combines rows
/// 0..=i), in XLA's blocked order (see the module doc). Each step is a slice loop across `w`.
fn blocked_scan<T: Copy>(src: &[T], out: &mut [T], w: usize, id: T, f: impl Fn(T, T) -> T + Copy) {
    let n = src.len() / w;
    // Running combination inside each block of BASE rows.
    for (sb, ob) in src.chunks(BASE * w).zip(out.chunks_mut(BASE * w)) {
        ob[..w].copy_from_slice(&sb[..w]);
        for i in 1..sb.len() / w {
            let (done, rest) = ob.split_at_mut(i * w);
            let prev = &done[(i - 1) * w..];
            for ((z, &p), &v) in rest[..w].iter_mut().zip(prev).zip(&sb[i * w..(i + 1) * w]) {
                *z = f(p, v);
            }
        }
    }
    if n <= BASE {
        return;
    }
    // Block totals (the last row of each block; a short last block's padding is the identity,
    // which leaves its total unchanged), scanned the same way, then added block by block.
    let nb = n.div_ceil(BASE);
    let mut totals = Vec::with_capacity(nb * w);
    for b in 0..nb {
        let last = ((b + 1) * BASE).min(n) - 1;
        totals.extend_from_slice(&out[last * w..(last + 1) * w]);
    }
    let mut scanned = totals.clone();
    blocked_scan(&totals, &mut scanned, w, id, f);
    for (b, ob) in out.chunks_mut(BASE * w).enumerate() {
        for row in ob.chunks_mut(w) {
            if b == 0 {
                row.iter_mut().for_each(|z| *z = f(*z, id));
            } else {
                let carry = &scanned[(b - 1) * w..b * w];
                row.iter_mut().zip(carry).for_each(|(z, &c)| *z = f(*z, c));
            }
        }
    }
}
