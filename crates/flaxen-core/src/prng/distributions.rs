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
