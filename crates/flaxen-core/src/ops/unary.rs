//! Elementwise unary functions.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::par;
use crate::tensor::Tensor;

fn map<T: Copy + Send + Sync>(x: &Tensor, f: impl Fn(T) -> T + Send + Sync + Copy) -> Tensor {
    let xs = x.raw::<T>();
    Tensor::build::<T>(x.shape().to_vec(), x.dtype(), |o| {
        par::chunks(o, par::CHUNK, |s, c| {
            let src = &xs[s..s + c.len()];
            for (z, &v) in c.iter_mut().zip(src) {
                *z = f(v);
            }
        })
    })
}

/// jnp.sign: -1/0/1; float zeros keep their sign and NaN stays NaN (lax.sign); unsigned gives 0/1.
pub fn sign(x: &Tensor) -> Result<Tensor> {
    Ok(match x.dtype() {
        DType::F32 => map::<f32>(x, sign_f32),
        DType::I32 => map::<i32>(x, |v| v.signum()),
        DType::U32 => map::<u32>(x, |v| (v != 0) as u32),
        DType::U16 => map::<u16>(x, |v| (v != 0) as u16),
        DType::U8 => map::<u8>(x, |v| (v != 0) as u8),
        DType::I8 => map::<i8>(x, |v| v.signum()),
        DType::Bool => {
            return Err(Error::dtype(
                "sign: x has dtype bool; expected a numeric dtype",
            ))
        }
        dt @ (DType::F16 | DType::BF16) => return Err(crate::ops::half_in_kernel("sign", dt)),
    })
}

/// jax.nn.relu = max(x, 0); NaN propagates (as jnp.maximum).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    Ok(match x.dtype() {
        DType::F32 => map::<f32>(x, relu_f32),
        DType::I32 => map::<i32>(x, |v| v.max(0)),
        d => {
            return Err(Error::dtype(format!(
                "relu: x has dtype {d}; expected float32 or int32"
            )))
        }
    })
}

/// lax.sign of one float32 (shared with fused plans).
#[inline(always)]
pub(crate) fn sign_f32(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        v
    }
}

/// relu of one float32; NaN propagates (shared with fused plans).
#[inline(always)]
pub(crate) fn relu_f32(v: f32) -> f32 {
    if v > 0.0 || v.is_nan() {
        v
    } else {
        0.0
    }
}

/// jnp.isnan: a bool tensor; integers and bool are never NaN.
pub fn isnan(x: &Tensor) -> Tensor {
    match x.dtype() {
        DType::F32 => crate::ops::elementwise::map::<f32, u8>(x, DType::Bool, |v| v.is_nan() as u8),
        _ => Tensor::zeros(x.shape(), DType::Bool),
    }
}

/// jnp.isfinite: a bool tensor (false for ±inf and NaN); integers and bool are always finite.
pub fn isfinite(x: &Tensor) -> Tensor {
    match x.dtype() {
        DType::F32 => crate::ops::elementwise::map::<f32, u8>(x, DType::Bool, |v| v.is_finite() as u8),
        _ => crate::ops::full(x.shape(), 1.0, DType::Bool),
    }
}
