//! Fused layer / RMS normalisation over the last axis: flax.linen.LayerNorm and RMSNorm when
//! `reduction_axes` and `feature_axes` are both the last axis (spec e.4). float32 only.
//!
//! Per row of length F, statistics as Flax's `_compute_stats`, each mean rounded to float32
//! (Flax keeps them in float32):
//! * mean-centred, fast variance: `mu = mean(x)`, `var = max(0, mean(x²) − mu²)`;
//! * mean-centred, two-pass: `var = mean((x − mu)²)`;
//! * RMS: `mu = 0`, `var = mean(x²)`.
//!
//! then Flax's `_normalize` per element, in its operation order (each step rounded to float32,
//! never fused into an FMA, so the result equals the composed jnp ops):
//! `y = x − mu; mul = rsqrt(var + eps); mul = mul · scale[j]; y = y · mul; y = y + bias[j]`.
//!
//! Accumulation: every row sum runs in f64 over eight independent lanes (so it vectorises), as
//! `jnp.mean` does in `reduce.rs`; the squares are formed in float32 first, as `lax.square`
//! does. XLA sums in float32, so results agree with Flax to ~1 ulp, not bit for bit.

use rayon::prelude::*;

use crate::cpu::fast_fn;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::reduce::sum_f32;
use crate::par::CHUNK;
use crate::tensor::Tensor;

/// Which statistics normalise a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormStats {
    /// LayerNorm: centre on the mean; `fast_variance` picks `E[x²] − E[x]²` over `E[(x − E[x])²]`.
    Mean { fast_variance: bool },
    /// RMSNorm: no centring, `var = E[x²]`.
    Rms,
}

/// Normalises `x` over its last axis (see the module header); `scale` and `bias`, when given,
/// have shape `[F]` with F the size of that axis. E_DTYPE unless all are float32, E_SHAPE for
/// a scalar `x` or a `scale`/`bias` of another shape.
pub fn layer_norm(
    x: &Tensor,
    scale: Option<&Tensor>,
    bias: Option<&Tensor>,
    epsilon: f64,
    stats: NormStats,
) -> Result<Tensor> {
    let Some(&f) = x.shape().last() else {
        return Err(Error::shape(
            "layer_norm: x is a scalar (shape []); it needs at least 1 axis to normalise over",
        ));
    };
    check_f32(x, "x")?;
    for (t, name) in [(scale, "scale"), (bias, "bias")] {
        let Some(t) = t else { continue };
        check_f32(t, name)?;
        if t.shape() != [f] {
            return Err(Error::shape(format!(
                "layer_norm: {name} has shape {:?} but x has shape {:?}; expected [{f}] (the size of x's last axis)",
                t.shape(),
                x.shape()
            )));
        }
    }
    let xs = x.raw::<f32>();
    let p = Params {
        scale: scale.map(|t| t.raw::<f32>()),
        bias: bias.map(|t| t.raw::<f32>()),
        // Flax adds a Python float to a float32 variance: a weakly typed scalar, so float32.
        eps: epsilon as f32,
        stats,
    };
    Ok(Tensor::build::<f32>(
        x.shape().to_vec(),
        DType::F32,
        |out| {
            if f == 0 || out.is_empty() {
                return;
            }
            let job = |(o, r): (&mut [f32], &[f32])| row(r, o, &p);
            if crate::par::parallel(out.len()) {
                // Whole rows per task, at least CHUNK elements each, to amortise scheduling.
                out.par_chunks_mut(f)
                    .zip(xs.par_chunks(f))
                    .with_min_len((CHUNK / f).max(1))
                    .for_each(job);
            } else {
                out.chunks_mut(f).zip(xs.chunks(f)).for_each(job);
            }
        },
    ))
}

fn check_f32(t: &Tensor, name: &str) -> Result<()> {
    if t.dtype() != DType::F32 {
        return Err(Error::dtype(format!(
            "layer_norm: {name} has dtype {}; expected float32 (cast with astype)",
            t.dtype().name()
        )));
    }
    Ok(())
}

/// Everything a row needs besides its data.
struct Params<'a> {
    scale: Option<&'a [f32]>,
    bias: Option<&'a [f32]>,
    eps: f32,
    stats: NormStats,
}

fast_fn! {
    /// One row: statistics, then the elementwise pass into `out`.
    fn row(x: &[f32], out: &mut [f32], p: &Params) {
        let n = x.len() as f64;
        let (mean, var) = match p.stats {
            NormStats::Rms => (0.0f32, (sum_sq(x, 0.0) / n) as f32),
            NormStats::Mean { fast_variance: true } => {
                let (s, s2) = sum_and_sum_sq(x);
                let (mu, mu2) = ((s / n) as f32, (s2 / n) as f32);
                let d = mu2 - mu * mu;
                // jnp.maximum(0, d): NaN stays NaN (`NaN < 0` is false).
                (mu, if d < 0.0 { 0.0 } else { d })
            }
            NormStats::Mean { fast_variance: false } => {
                let mu = (sum_f32(x) / n) as f32;
                (mu, (sum_sq(x, mu) / n) as f32)
            }
        };
        let mul = 1.0 / (var + p.eps).sqrt(); // lax.rsqrt as jnp.rsqrt computes it
        let out = &mut out[..x.len()];
        // One branch-free loop per (scale, bias) combination; `x - 0.0 == x` for RMS.
        match (p.scale, p.bias) {
            (Some(s), Some(b)) => {
                for (((o, &v), &s), &b) in out.iter_mut().zip(x).zip(s).zip(b) {
                    *o = (v - mean) * (mul * s) + b;
                }
            }
            (Some(s), None) => {
                for ((o, &v), &s) in out.iter_mut().zip(x).zip(s) {
                    *o = (v - mean) * (mul * s);
                }
            }
            (None, Some(b)) => {
                for ((o, &v), &b) in out.iter_mut().zip(x).zip(b) {
                    *o = (v - mean) * mul + b;
                }
            }
            (None, None) => {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = (v - mean) * mul;
                }
            }
        }
    }
}

/// Σ((x − shift)²) in f64, eight lanes; difference and square rounded to float32 first.
#[inline(always)]
fn sum_sq(xs: &[f32], shift: f32) -> f64 {
    let sq = |v: f32| {
        let d = v - shift;
        (d * d) as f64
    };
    let mut lanes = [0.0f64; 8];
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            lanes[j] += sq(c[j]);
        }
    }
    let tail: f64 = it.remainder().iter().map(|&v| sq(v)).sum();
    lanes.iter().sum::<f64>() + tail
}

/// (Σx, Σx²) in one pass (the "fast" variance reads the row once), eight lanes each.
#[inline(always)]
fn sum_and_sum_sq(xs: &[f32]) -> (f64, f64) {
    let (mut s, mut s2) = ([0.0f64; 8], [0.0f64; 8]);
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            s[j] += c[j] as f64;
            s2[j] += (c[j] * c[j]) as f64;
        }
    }
    let (mut t, mut t2) = (0.0f64, 0.0f64);
    for &v in it.remainder() {
        t += v as f64;
        t2 += (v * v) as f64;
    }
    (s.iter().sum::<f64>() + t, s2.iter().sum::<f64>() + t2)
}
