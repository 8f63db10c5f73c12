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

/// `relu_f32` over a slice in place, every element stored: written as a loop of selects, the
/// vectoriser keeps the positive values by storing only the zeros, with masked stores, which
/// are several times slower on AMD cores (they were a fused Conv + relu's largest cost).
pub(crate) fn relu_in_place(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() {
        // SAFETY: AVX-512F was detected at run time.
        return unsafe { relu_in_place_avx512(v) };
    }
    v.iter_mut().for_each(|x| *x = relu_f32(*x));
}

/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn relu_in_place_avx512(v: &mut [f32]) {
    use std::arch::x86_64::*;
    let mut chunks = v.chunks_exact_mut(16);
    for c in &mut chunks {
        // SAFETY: c is 16 floats.
        unsafe {
            let x = _mm512_loadu_ps(c.as_ptr());
            // Kept where not (x <= 0): x > 0 or NaN, as relu_f32.
            let keep = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(x, _mm512_setzero_ps());
            _mm512_storeu_ps(c.as_mut_ptr(), _mm512_maskz_mov_ps(keep, x));
        }
    }
    chunks.into_remainder().iter_mut().for_each(|x| *x = relu_f32(*x));
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
