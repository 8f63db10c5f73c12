//! Tensor constructors with numpy semantics.

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::par;
use crate::shape::MAX_ELEMENTS;
use crate::tensor::{dispatch, Tensor};

/// `value` cast to the storage type of `dtype`: integral values wrap to integer dtypes (so -1
/// fills a uint32 with 0xFFFFFFFF, like numpy's C casts); fractional values truncate toward
/// zero (saturating); bool is `value != 0`.
pub(crate) fn cast_f64<T: Element>(value: f64, dtype: DType) -> T {
    if dtype == DType::Bool {
        T::from_i64((value != 0.0) as i64)
    } else if dtype.is_int() && value.fract() == 0.0 && value.abs() < 9.2e18 {
        T::from_i64(value as i64)
    } else {
        T::from_f64(value)
    }
}

/// A tensor of `shape` filled with `value` cast to `dtype`.
pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
    dispatch!(dtype, T => {
        let v: T = cast_f64(value, dtype);
        Tensor::build::<T>(shape.to_vec(), dtype, |o| par::chunks(o, par::CHUNK, |_, c| c.fill(v)))
    })
}

/// numpy.arange: `ceil((stop - start) / step)` values `start + i*step` (computed in f64, then
/// cast). E_ARG for a zero or non-finite step or non-finite bounds.
pub fn arange(start: f64, stop: f64, step: f64, dtype: DType) -> Result<Tensor> {
    if step == 0.0 || !step.is_finite() {
        return Err(Error::arg(format!(
            "arange: step is {step}; it must be a finite non-zero number"
        )));
    }
    if !start.is_finite() || !stop.is_finite() {
        return Err(Error::arg(format!(
            "arange: start ({start}) and stop ({stop}) must be finite"
        )));
    }
    let len = ((stop - start) / step).ceil().max(0.0);
    if len > MAX_ELEMENTS as f64 {
        return Err(Error::shape(format!(
            "arange: {len} elements from start={start}, stop={stop}, step={step} exceeds 2^40"
        )));
    }
    let n = len as usize;
    Ok(
        dispatch!(dtype, T => Tensor::build::<T>(vec![n], dtype, |o| {
            par::chunks(o, par::CHUNK, |s, c| {
                for (i, x) in c.iter_mut().enumerate() {
                    *x = cast_f64(start + (s + i) as f64 * step, dtype);
                }
            })
        })),
    )
}

/// numpy.linspace with endpoint=True, computed in f64 and cast to float32.
pub fn linspace(start: f64, stop: f64, num: usize) -> Tensor {
    let div = num.saturating_sub(1);
    let delta = stop - start;
    let step = if div > 0 {
        delta / div as f64
    } else {
        f64::NAN
    };
    Tensor::build::<f32>(vec![num], DType::F32, |o| {
        for (i, x) in o.iter_mut().enumerate() {
            let y = if div == 0 {
                i as f64 * delta
            } else if step == 0.0 {
                (i as f64 / div as f64) * delta
            } else {
                i as f64 * step
            };
            *x = (y + start) as f32;
        }
        if num > 1 {
            o[num - 1] = stop as f32;
        }
    })
}

/// An `n` x `m` matrix with ones on the main diagonal.
pub fn eye(n: usize, m: usize, dtype: DType) -> Tensor {
    dispatch!(dtype, T => {
        let zero: T = cast_f64(0.0, dtype);
        let one: T = cast_f64(1.0, dtype);
        Tensor::build::<T>(vec![n, m], dtype, |o| {
            for (i, row) in o.chunks_mut(m.max(1)).enumerate().take(n) {
                row.fill(zero);
                if i < m {
                    row[i] = one;
                }
            }
        })
    })
}
