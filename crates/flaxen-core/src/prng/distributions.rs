//! float32/int32/bool distributions of jax.random (spec g.5), bit-for-bit in either threefry
//! layout: uniform from the top 23 bits of the 32-bit random words, normal and truncated_normal through
//! erf_inv, randint from two split keys. The free functions use the default (partitionable)
//! layout; `Layout::<dist>` picks one.

use crate::cpu;
use crate::dtype::DType;
use crate::error::Result;
use crate::par;
use crate::shape::numel;
use crate::tensor::Tensor;

use super::erf::{erf_inv, erf_scalar};
use super::layout::{Layout, Words};
use super::original::check_words;

/// jax.random.uniform float32 core: `max(minval, f * (maxval - minval) + minval)` where f is the
/// mantissa trick value in [0, 1). The multiply-add is fused, as XLA's CPU backend emits it
/// (unfused differs by an ulp whenever `f * span` is inexact, e.g. truncated_normal(-2, 2)).
#[inline(always)]
fn unit_to_range(bits: u32, minval: f32, maxval: f32) -> f32 {
    let f = f32::from_bits((bits >> 9) | 0x3F80_0000) - 1.0;
    let span = maxval - minval;
    minval.max(f.mul_add(span, minval))
}

/// What happens to each uniform value after the range mapping.
#[derive(Clone, Copy)]
enum Post {
    Uniform,
    Normal,
    /// Clip to [lo, hi] (the open interval's nextafter bounds).
    Truncated {
        lo: f32,
        hi: f32,
    },
}

#[inline(always)]
fn apply(post: Post, u: f32) -> f32 {
    match post {
        Post::Uniform => u,
        Post::Normal => std::f32::consts::SQRT_2 * erf_inv(u),
        Post::Truncated { lo, hi } => {
            let v = std::f32::consts::SQRT_2 * erf_inv(u);
            // lax.clamp(lo, v, hi): NaN propagates.
            if v.is_nan() {
                v
            } else {
                v.max(lo).min(hi)
            }
        }
    }
}

cpu::fast_fn! {
    /// One chunk of a float distribution: bits for flat indices `start..` written into `out`
    /// (same width as f32), then mapped in place.
    fn float_chunk(words: Words, start: usize, out: &mut [u32], minval: f32, maxval: f32, post: Post) {
        words.fill(start, out);
        for w in out.iter_mut() {
            *w = apply(post, unit_to_range(*w, minval, maxval)).to_bits();
        }
    }
}

/// The words of a draw of one 32-bit word per element of `shape`.
fn words_for(layout: Layout, key: [u32; 2], shape: &[usize]) -> Result<Words> {
    let count = numel(shape) as u64;
    if layout == Layout::Original {
        check_words(count)?;
    }
    Ok(Words { key, layout, count })
}

fn float_dist(words: Words, shape: &[usize], minval: f32, maxval: f32, post: Post) -> Tensor {
    Tensor::build::<f32>(shape.to_vec(), DType::F32, |o| {
        let out: &mut [u32] = bytemuck::cast_slice_mut(o);
        par::chunks(out, par::CHUNK, |s, c| {
            float_chunk(words, s, c, minval, maxval, post)
        });
    })
}

// The partitionable layout never fails (no draw-size limit), so the free functions unwrap.
const INFALLIBLE: &str = "the partitionable layout has no draw-size limit";

/// jax.random.uniform(key, shape, float32, minval, maxval).
pub fn uniform(key: [u32; 2], shape: &[usize], minval: f32, maxval: f32) -> Tensor {
    Layout::Partitionable
        .uniform(key, shape, minval, maxval)
        .expect(INFALLIBLE)
}

/// jax.random.normal(key, shape) float32: sqrt(2) * erf_inv(uniform(nextafter(-1, 0), 1)).
pub fn normal(key: [u32; 2], shape: &[usize]) -> Tensor {
    Layout::Partitionable.normal(key, shape).expect(INFALLIBLE)
}

/// jax.random.truncated_normal(key, lower, upper, shape) float32, clipped to the open interval
/// (nextafter(lower, +inf), nextafter(upper, -inf)).
pub fn truncated_normal(key: [u32; 2], lower: f32, upper: f32, shape: &[usize]) -> Tensor {
    Layout::Partitionable
        .truncated_normal(key, lower, upper, shape)
        .expect(INFALLIBLE)
}

/// jax.random.randint(key, shape, minval, maxval) int32. minval/maxval are clipped to the int32
/// range; maxval <= minval gives minval everywhere.
pub fn randint(key: [u32; 2], shape: &[usize], minval: i64, maxval: i64) -> Tensor {
    Layout::Partitionable
        .randint(key, shape, minval, maxval)
        .expect(INFALLIBLE)
}

/// jax.random.bernoulli(key, p, shape): uniform(key, shape) < p, as a bool tensor.
pub fn bernoulli(key: [u32; 2], p: f32, shape: &[usize]) -> Tensor {
    Layout::Partitionable
        .bernoulli(key, p, shape)
        .expect(INFALLIBLE)
}

/// The same distributions with the words of a chosen layout. Errors (E_ARG) only for original
/// draws beyond 2^32 words.
impl Layout {
    pub fn uniform(
        self,
        key: [u32; 2],
        shape: &[usize],
        minval: f32,
        maxval: f32,
    ) -> Result<Tensor> {
        Ok(float_dist(
            words_for(self, key, shape)?,
            shape,
            minval,
            maxval,
            Post::Uniform,
        ))
    }

    pub fn normal(self, key: [u32; 2], shape: &[usize]) -> Result<Tensor> {
        let words = words_for(self, key, shape)?;
        Ok(float_dist(
            words,
            shape,
            next_toward_zero(-1.0),
            1.0,
            Post::Normal,
        ))
    }

    pub fn truncated_normal(
        self,
        key: [u32; 2],
        lower: f32,
        upper: f32,
        shape: &[usize],
    ) -> Result<Tensor> {
        // JAX writes erf(lower / sqrt2); XLA folds the division by a constant into a multiply
        // by its rounded reciprocal, and the bounds are 0-d so its scalar erf kernel runs.
        let a = erf_scalar(lower * std::f32::consts::FRAC_1_SQRT_2);
        let b = erf_scalar(upper * std::f32::consts::FRAC_1_SQRT_2);
        let post = Post::Truncated {
            lo: next_up(lower),
            hi: next_down(upper),
        };
        Ok(float_dist(words_for(self, key, shape)?, shape, a, b, post))
    }

    pub fn randint(
        self,
        key: [u32; 2],
        shape: &[usize],
        minval: i64,
        maxval: i64,
    ) -> Result<Tensor> {
        let ks = self.split(key, 2)?;
        let ws = [
            words_for(self, ks[0], shape)?,
            words_for(self, ks[1], shape)?,
        ];
        Ok(randint_from(ws, shape, minval, maxval))
    }

    pub fn bernoulli(self, key: [u32; 2], p: f32, shape: &[usize]) -> Result<Tensor> {
        let u = self.uniform(key, shape, 0.0, 1.0)?;
        let us = u.raw::<f32>();
        Ok(Tensor::build::<u8>(shape.to_vec(), DType::Bool, |o| {
            par::chunks(o, par::CHUNK, |s, c| {
                let src = &us[s..s + c.len()];
                for (z, &v) in c.iter_mut().zip(src) {
                    *z = (v < p) as u8;
                }
            })
        }))
    }
}

/// XLA's unsigned remainder: x % 0 is x.
#[inline(always)]
fn rem(x: u32, y: u32) -> u32 {
    if y == 0 {
        x
    } else {
        x % y
    }
}

cpu::fast_fn! {
    /// One chunk of randint: higher bits from k1 in `out`, lower bits from k2 in `lower`.
    fn randint_chunk(
        ws: [Words; 2],
        start: usize,
        out: &mut [u32],
        lower: &mut [u32],
        lo: i32,
        span: u32,
        mult: u32,
    ) {
        ws[0].fill(start, out);
        ws[1].fill(start, lower);
        for (w, &l) in out.iter_mut().zip(lower.iter()) {
            let off = rem(rem(*w, span).wrapping_mul(mult).wrapping_add(rem(l, span)), span);
            *w = lo.wrapping_add(off as i32) as u32;
        }
    }
}

/// randint from the words of the two split keys (higher bits, lower bits).
fn randint_from(ws: [Words; 2], shape: &[usize], minval: i64, maxval: i64) -> Tensor {
    let maxval_out_of_range = maxval > i32::MAX as i64;
    let lo = minval.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let hi = maxval.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let mut span = hi.wrapping_sub(lo) as u32;
    if hi <= lo {
        span = 1;
    }
    if maxval_out_of_range && hi > lo {
        span = span.wrapping_add(1);
    }
    let mult = rem(1u32 << 16, span);
    let mult = rem(mult.wrapping_mul(mult), span);
    Tensor::build::<i32>(shape.to_vec(), DType::I32, |o| {
        let words: &mut [u32] = bytemuck::cast_slice_mut(o);
        par::chunks(words, par::CHUNK, |s, c| {
            let mut lower = vec![0u32; c.len()];
            randint_chunk(ws, s, c, &mut lower, lo, span, mult);
        });
    })
}

/// nextafter(x, 0) for x = ±1-like values (finite, non-zero).
fn next_toward_zero(x: f32) -> f32 {
    f32::from_bits(x.to_bits() - 1)
}

/// nextafter(x, +inf).
fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        x
    } else if x == 0.0 {
        f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(x.to_bits() + 1)
    } else {
        f32::from_bits(x.to_bits() - 1)
    }
}

/// nextafter(x, -inf).
fn next_down(x: f32) -> f32 {
    -next_up(-x)
}

/// The float16 / bfloat16 distributions of jax.random (`dtype=jnp.bfloat16` etc.), bit for bit
/// as JAX 0.10.2 computes them on CPU. JAX draws `finfo.bits` random bits per element (8 for
/// bfloat16, whose 7 mantissa bits are fewer than 8; 16 for float16), keeps the top `nmant`,
/// makes a float in [1, 2) from them and works in the half dtype from there: every step of
/// `floats * (maxval - minval) + minval`, of `sqrt(2) * erf_inv(u)` and of the bounds is rounded
/// to the half dtype (erf and erf_inv themselves in float32, as XLA upcasts them).
mod half {
    use super::*;
    use crate::halfconv::{bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16, f64_to_f16};

    /// `x` rounded to `dt` (a half dtype).
    fn r(x: f32, dt: DType) -> f32 {
        crate::ops::table::round_to(x, dt)
    }

    /// A Python number converted to `dt` inside JAX's jitted sampler (a weak float32 first).
    pub(super) fn weak(x: f64, dt: DType) -> f32 {
        r(x as f32, dt)
    }

    /// `np.array(c, dt)`: numpy's conversion of the f64 (float16 directly).
    fn np_const(c: f64, dt: DType) -> f32 {
        match dt {
            DType::F16 => f16_to_f32(f64_to_f16(c)),
            _ => r(c as f32, dt),
        }
    }

    /// nextafter in `dt` toward +inf (`up`) or -inf.
    pub(super) fn next_after(x: f32, up: bool, dt: DType) -> f32 {
        let (to, from): (fn(f32) -> u16, fn(u16) -> f32) = match dt {
            DType::BF16 => (f32_to_bf16, bf16_to_f32),
            _ => (f32_to_f16, f16_to_f32),
        };
        if x.is_nan() || (up && x == f32::INFINITY) || (!up && x == f32::NEG_INFINITY) {
            return x;
        }
        if x == 0.0 {
            return from(if up { 1 } else { 0x8001 });
        }
        let b = to(x);
        // Away from zero adds one to the magnitude bits, toward zero subtracts one.
        from(if (x > 0.0) == up { b + 1 } else { b - 1 })
    }

    /// The floats in [0, 1) of a draw: `bits >> (width - nmant) | bits(1.0)`, minus 1.
    fn unit_floats(layout: Layout, key: [u32; 2], shape: &[usize], dt: DType) -> Result<Vec<f32>> {
        Ok(match dt {
            DType::BF16 => {
                let b = layout.random_bits(key, 8, shape)?;
                b.raw::<u8>().iter().map(|&v| bf16_to_f32(((v as u16) >> 1) | 0x3f80) - 1.0).collect()
            }
            _ => {
                let b = layout.random_bits(key, 16, shape)?;
                b.raw::<u16>().iter().map(|&v| f16_to_f32((v >> 6) | 0x3c00) - 1.0).collect()
            }
        })
    }

    /// `max(minval, floats * (maxval - minval) + minval)`, every step rounded, then `post`.
    pub(super) fn draw(
        layout: Layout,
        key: [u32; 2],
        shape: &[usize],
        dt: DType,
        minval: f32,
        maxval: f32,
        post: impl Fn(f32) -> f32 + Sync,
    ) -> Result<Tensor> {
        let f = unit_floats(layout, key, shape, dt)?;
        let span = r(maxval - minval, dt);
        let y = Tensor::build::<f32>(shape.to_vec(), DType::F32, |o| {
            crate::par::chunks(o, crate::par::CHUNK, |s, c| {
                for (z, &v) in c.iter_mut().zip(&f[s..]) {
                    let u = r(r(v * span, dt) + minval, dt);
                    // lax.max: NaN propagates.
                    let u = if u.is_nan() { u } else { minval.max(u) };
                    *z = post(u);
                }
            })
        });
        Ok(y.astype(dt))
    }

    /// `sqrt(2) * erf_inv(u)` with sqrt(2) a constant of `dt`, each step rounded.
    pub(super) fn normal_of(u: f32, dt: DType) -> f32 {
        r(np_const(std::f64::consts::SQRT_2, dt) * r(erf_inv(u), dt), dt)
    }

    pub(super) fn sqrt2(dt: DType) -> f32 {
        np_const(std::f64::consts::SQRT_2, dt)
    }
}

impl Layout {
    /// jax.random.uniform(key, shape, dtype, minval, maxval) for a float dtype.
    pub fn uniform_dtype(self, key: [u32; 2], shape: &[usize], minval: f64, maxval: f64, dtype: DType) -> Result<Tensor> {
        if !dtype.is_half() {
            return self.uniform(key, shape, minval as f32, maxval as f32);
        }
        let (lo, hi) = (half::weak(minval, dtype), half::weak(maxval, dtype));
        half::draw(self, key, shape, dtype, lo, hi, |u| u)
    }

    /// jax.random.normal(key, shape, dtype) for a float dtype.
    pub fn normal_dtype(self, key: [u32; 2], shape: &[usize], dtype: DType) -> Result<Tensor> {
        if !dtype.is_half() {
            return self.normal(key, shape);
        }
        let lo = half::next_after(-1.0, true, dtype);
        half::draw(self, key, shape, dtype, lo, 1.0, |u| half::normal_of(u, dtype))
    }

    /// jax.random.truncated_normal(key, lower, upper, shape, dtype) for a float dtype.
    pub fn truncated_normal_dtype(self, key: [u32; 2], lower: f64, upper: f64, shape: &[usize], dtype: DType) -> Result<Tensor> {
        if !dtype.is_half() {
            return self.truncated_normal(key, lower as f32, upper as f32, shape);
        }
        let r = |x: f32| crate::ops::table::round_to(x, dtype);
        let (lower, upper) = (half::weak(lower, dtype), half::weak(upper, dtype));
        let sqrt2 = half::sqrt2(dtype);
        let a = r(erf_scalar(r(lower / sqrt2)));
        let b = r(erf_scalar(r(upper / sqrt2)));
        let (lo, hi) = (half::next_after(lower, true, dtype), half::next_after(upper, false, dtype));
        // XLA's CPU code runs with denormals flushed to zero: a bound that is a float32
        // subnormal (bfloat16's subnormals are) clips as ±0 (measured: truncated_normal(0, 1.5)
        // in bfloat16 gives 0 where nextafter(0, inf) would be the smallest subnormal).
        let daz = |x: f32| if x != 0.0 && x.abs() < f32::MIN_POSITIVE { 0.0f32.copysign(x) } else { x };
        let (lo, hi) = (daz(lo), daz(hi));
        half::draw(self, key, shape, dtype, a, b, move |u| {
            let v = half::normal_of(u, dtype);
            // jnp.clip = min(max(v, lo), hi): NaN propagates.
            if v.is_nan() {
                v
            } else {
                v.max(lo).min(hi)
            }
        })
    }
}
