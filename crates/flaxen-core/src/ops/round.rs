//! jnp.round: round half to even (lax.round with ROUND_TO_NEAREST_EVEN), the rounding that
//! quantisation code (`round(w / scale)`) relies on to match JAX bit for bit.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::par;
use crate::tensor::Tensor;

/// `jnp.round(x, decimals)`. float32: `round_half_even(x * 10^d) / 10^d` in float32 (the factor
/// is jnp's `_lax_const(x, 10 ** decimals)`); with `decimals == 0` just `round_half_even(x)`.
/// Integers are returned unchanged (a copy) for `decimals >= 0`, as jnp does; negative decimals
/// on integers and bool inputs are rejected.
pub fn round(x: &Tensor, decimals: i32) -> Result<Tensor> {
    match x.dtype() {
        DType::F32 => {
            let xs = x.raw::<f32>();
            let factor = 10f64.powi(decimals) as f32;
            Ok(Tensor::build::<f32>(x.shape().to_vec(), DType::F32, |o| {
                par::chunks(o, par::CHUNK, |s, c| {
                    let src = &xs[s..s + c.len()];
                    if decimals == 0 {
                        for (z, &v) in c.iter_mut().zip(src) {
                            *z = v.round_ties_even();
                        }
                    } else {
                        for (z, &v) in c.iter_mut().zip(src) {
                            *z = (v * factor).round_ties_even() / factor;
                        }
                    }
                })
            }))
        }
        DType::Bool => Err(Error::dtype(
            "round: x has dtype bool; expected a numeric dtype",
        )),
        dt if decimals < 0 => Err(Error::arg(format!(
            "round: decimals is {decimals}; negative decimals are only supported for float32 (x has dtype {dt})"
        ))),
        dt => Ok(x.astype(dt)),
    }
}
