//! Cumulative reductions: jnp.cumsum and jnp.cumprod.
//!
//! JAX lowers them (on CPU) to a reduce-window whose window ends at each output element, which
//! XLA evaluates as a running sum from the start: `out[i] = ((x[0] + x[1]) + ...) + x[i]`. The
//! kernels here accumulate in that order, so float32 results are the same bits. dtypes as
//! jnp's: float32 stays, signed integers and bool accumulate in int32, unsigned in uint32
//! (wrapping).

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
    let dt = cumulative_dtype(x.dtype());
    let x = x.astype(dt);
    let n = shape[ax];
    let inner: usize = shape[ax + 1..].iter().product();
    fn go<T: Copy + Send + Sync>(x: &Tensor, shape: Vec<usize>, n: usize, inner: usize, f: impl Fn(T, T) -> T + Sync + Send + Copy) -> Tensor {
        let xs = x.raw::<T>();
        let dt = x.dtype();
        Tensor::build::<T>(shape, dt, |o| {
            let block = n * inner;
            if block == 0 {
                return;
            }
            // One outer block is `n` rows of `inner` elements; each row adds the previous
            // output row (a vectorisable slice loop across `inner`).
            crate::par::chunks(o, block * (crate::par::CHUNK / block).max(1), |s, c| {
                for (b, out) in c.chunks_mut(block).enumerate() {
                    let src = &xs[s + b * block..s + (b + 1) * block];
                    out[..inner].copy_from_slice(&src[..inner]);
                    for i in 1..n {
                        let (done, rest) = out.split_at_mut(i * inner);
                        let prev = &done[(i - 1) * inner..];
                        let row = &src[i * inner..(i + 1) * inner];
                        for ((z, &p), &v) in rest[..inner].iter_mut().zip(prev).zip(row) {
                            *z = f(p, v);
                        }
                    }
                }
            })
        })
    }
    Ok(match (op, dt) {
        (Cumulative::Sum, DType::F32) => go::<f32>(&x, shape, n, inner, |a, b| a + b),
        (Cumulative::Prod, DType::F32) => go::<f32>(&x, shape, n, inner, |a, b| a * b),
        (Cumulative::Sum, DType::I32) => go::<i32>(&x, shape, n, inner, |a, b| a.wrapping_add(b)),
        (Cumulative::Prod, DType::I32) => go::<i32>(&x, shape, n, inner, |a, b| a.wrapping_mul(b)),
        (Cumulative::Sum, _) => go::<u32>(&x, shape, n, inner, |a, b| a.wrapping_add(b)),
        (Cumulative::Prod, _) => go::<u32>(&x, shape, n, inner, |a, b| a.wrapping_mul(b)),
    })
}
