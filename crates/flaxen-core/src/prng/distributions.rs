//! float32/int32/bool distributions of jax.random (spec g.5), bit-for-bit in the partitionable
//! layout: uniform from the top 23 bits of the 32-bit random words, normal and truncated_normal through
//! erf_inv, randint from two split keys.

use crate::cpu;
use crate::dtype::DType;
use crate::par;
use crate::tensor::Tensor;

use super::erf::{erf, erf_inv};
use super::threefry::{bits_chunk, split};

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
    fn float_chunk(key: [u32; 2], start: usize, out: &mut [u32], minval: f32, maxval: f32, post: Post) {
        bits_chunk(key, start, out);
        for w in out.iter_mut() {
            *w = apply(post, unit_to_range(*w, minval, maxval)).to_bits();
        }
    }
}

fn float_dist(key: [u32; 2], shape: &[usize], minval: f32, maxval: f32, post: Post) -> Tensor {
    Tensor::build::<f32>(shape.to_vec(), DType::F32, |o| {
        let words: &mut [u32] = bytemuck::cast_slice_mut(o);
        par::chunks(words, par::CHUNK, |s, c| {
            float_chunk(key, s, c, minval, maxval, post)
        });
    })
}

/// jax.random.uniform(key, shape, float32, minval, maxval).
pub fn uniform(key: [u32; 2], shape: &[usize], minval: f32, maxval: f32) -> Tensor {
    float_dist(key, shape, minval, maxval, Post::Uniform)
}

/// jax.random.normal(key, shape) float32: sqrt(2) * erf_inv(uniform(nextafter(-1, 0), 1)).
pub fn normal(key: [u32; 2], shape: &[usize]) -> Tensor {
    float_dist(key, shape, next_toward_zero(-1.0), 1.0, Post::Normal)
}

/// jax.random.truncated_normal(key, lower, upper, shape) float32, clipped to the open interval
/// (nextafter(lower, +inf), nextafter(upper, -inf)).
pub fn truncated_normal(key: [u32; 2], lower: f32, upper: f32, shape: &[usize]) -> Tensor {
    let sqrt2 = std::f32::consts::SQRT_2;
    let a = erf(lower / sqrt2);
    let b = erf(upper / sqrt2);
    let post = Post::Truncated {
        lo: next_up(lower),
        hi: next_down(upper),
    };
    float_dist(key, shape, a, b, post)
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
        ks: [[u32; 2]; 2],
        start: usize,
        out: &mut [u32],
        lower: &mut [u32],
        lo: i32,
        span: u32,
        mult: u32,
    ) {
        bits_chunk(ks[0], start, out);
        bits_chunk(ks[1], start, lower);
        for (w, &l) in out.iter_mut().zip(lower.iter()) {
            let off = rem(rem(*w, span).wrapping_mul(mult).wrapping_add(rem(l, span)), span);
            *w = lo.wrapping_add(off as i32) as u32;
        }
    }
}

/// jax.random.randint(key, shape, minval, maxval) int32. minval/maxval are clipped to the int32
/// range; maxval <= minval gives minval everywhere.
pub fn randint(key: [u32; 2], shape: &[usize], minval: i64, maxval: i64) -> Tensor {
    let ks = split(key, 2);
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
    let ks = [ks[0], ks[1]];
    Tensor::build::<i32>(shape.to_vec(), DType::I32, |o| {
        let words: &mut [u32] = bytemuck::cast_slice_mut(o);
        par::chunks(words, par::CHUNK, |s, c| {
            let mut lower = vec![0u32; c.len()];
            randint_chunk(ks, s, c, &mut lower, lo, span, mult);
        });
    })
}

/// jax.random.bernoulli(key, p, shape): uniform(key, shape) < p, as a bool tensor.
pub fn bernoulli(key: [u32; 2], p: f32, shape: &[usize]) -> Tensor {
    let u = uniform(key, shape, 0.0, 1.0);
    let us = u.raw::<f32>();
    Tensor::build::<u8>(shape.to_vec(), DType::Bool, |o| {
        par::chunks(o, par::CHUNK, |s, c| {
            let src = &us[s..s + c.len()];
            for (z, &v) in c.iter_mut().zip(src) {
                *z = (v < p) as u8;
            }
        })
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
