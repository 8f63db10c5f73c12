//! jax.nn.softmax, jax.nn.log_softmax and jax.nn.logsumexp over a set of axes, in jax's
//! operation order (spec e.9): subtract the max first, `exp`, sum, then divide (softmax),
//! subtract the log of the sum (log_softmax), or add the max back to the log of the sum
//! (logsumexp, whose max is replaced by 0 when it is not finite). Sums accumulate in f64.
//! Integer and bool inputs are computed in float32.
//!
//! Layout: the reduced axes, if consecutive, make the tensor `[outer, n, inner]`; otherwise it
//! is first transposed to `[kept..., reduced...]`. With `inner == 1` each row is contiguous;
//! otherwise a task walks the `n` rows of a block of up to `COLS` columns keeping per-column
//! maxima and sums, so every inner loop runs over contiguous memory.

use rayon::prelude::*;

use crate::cpu::fast_fn;
use crate::dtype::DType;
use crate::error::Result;
use crate::ops::binary::{cast_if, fmax_nan};
use crate::ops::elementwise::exp;
use crate::ops::reduce::{axes, max_f32, reduced_axes, Axes};
use crate::ops::transpose::transpose;
use crate::par::{SendPtr, CHUNK};
use crate::tensor::Tensor;

/// Columns per task in the strided layout (per-column state stays in L1).
const COLS: usize = 256;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Softmax,
    LogSoftmax,
    LogSumExp,
}

/// `exp(x - max) / sum(exp(x - max))` over `axis` (`None`: all axes).
pub fn softmax(x: &Tensor, axis: Option<&[i64]>) -> Result<Tensor> {
    normalize(x, axis, Mode::Softmax, "softmax")
}

/// `(x - max) - log(sum(exp(x - max)))` over `axis` (`None`: all axes).
pub fn log_softmax(x: &Tensor, axis: Option<&[i64]>) -> Result<Tensor> {
    normalize(x, axis, Mode::LogSoftmax, "log_softmax")
}

/// `log(sum(exp(x - m))) + m` over `axis` (`None`: all axes), `m` the max where finite else 0.
/// An empty reduction gives -inf.
pub fn logsumexp(x: &Tensor, axis: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
    let x = cast_if(x, DType::F32);
    let Axes { red, out_shape, .. } = axes(x.shape(), axis, keepdims, "logsumexp")?;
    let (src, outer, n, inner) = layout(&x, &red)?;
    let xs = src.raw::<f32>();
    Ok(Tensor::build::<f32>(out_shape, DType::F32, |o| {
        run(xs, outer, n, inner, Mode::LogSumExp, o)
    }))
}

fn normalize(x: &Tensor, axis: Option<&[i64]>, mode: Mode, what: &str) -> Result<Tensor> {
    let x = cast_if(x, DType::F32);
    let red = reduced_axes(x.shape(), axis, what)?;
    let (src, outer, n, inner) = layout(&x, &red)?;
    let xs = src.raw::<f32>();
    let y = Tensor::build::<f32>(src.shape().to_vec(), DType::F32, |o| {
        run(xs, outer, n, inner, mode, o)
    });
    if src.shape() == x.shape() {
        return Ok(y);
    }
    // Undo the transposition to [kept..., reduced...].
    let perm = permutation(&red);
    let mut inv = vec![0i64; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i as i64;
    }
    transpose(&y, Some(&inv))
}

/// Kept axes in order, then reduced axes in order.
fn permutation(red: &[bool]) -> Vec<usize> {
    let kept = (0..red.len()).filter(|&i| !red[i]);
    kept.chain((0..red.len()).filter(|&i| red[i])).collect()
}

/// The input as `[outer, n, inner]` (transposed first when the reduced axes are not adjacent).
fn layout(x: &Tensor, red: &[bool]) -> Result<(Tensor, usize, usize, usize)> {
    let shape = x.shape();
    let first = red.iter().position(|&r| r);
    let last = red.iter().rposition(|&r| r);
    let (Some(a), Some(b)) = (first, last) else {
        // Nothing reduced: every element is its own group.
        return Ok((x.clone(), x.size(), 1, 1));
    };
    if red[a..=b].iter().all(|&r| r) {
        let outer = shape[..a].iter().product();
        let n = shape[a..=b].iter().product();
        let inner = shape[b + 1..].iter().product();
        return Ok((x.clone(), outer, n, inner));
    }
    let perm: Vec<i64> = permutation(red).iter().map(|&p| p as i64).collect();
    let t = transpose(x, Some(&perm))?;
    let n = (0..red.len())
        .filter(|&i| red[i])
        .map(|i| shape[i])
        .product();
    let outer = (0..red.len())
        .filter(|&i| !red[i])
        .map(|i| shape[i])
        .product();
    Ok((t, outer, n, 1))
}

/// Writes the result for `xs` seen as `[outer, n, inner]` into `out` (`[outer, n, inner]`, or
/// `[outer, inner]` for logsumexp).
fn run(xs: &[f32], outer: usize, n: usize, inner: usize, mode: Mode, out: &mut [f32]) {
    if out.is_empty() {
        return;
    }
    if n == 0 {
        // Only logsumexp has outputs here: log(0) + 0.
        out.fill(f32::NEG_INFINITY);
        return;
    }
    let big = crate::par::parallel(outer * n * inner);
    if inner == 1 {
        let per = (CHUNK / n).max(1);
        if mode == Mode::LogSumExp {
            let job = |(z, row): (&mut f32, &[f32])| row_lse(row, z);
            if big {
                out.par_iter_mut()
                    .zip(xs.par_chunks(n))
                    .with_min_len(per)
                    .for_each(job);
            } else {
                out.iter_mut().zip(xs.chunks(n)).for_each(job);
            }
        } else {
            let log = mode == Mode::LogSoftmax;
            let job = |(dst, row): (&mut [f32], &[f32])| row_softmax(row, dst, log);
            if big {
                out.par_chunks_mut(n)
                    .zip(xs.par_chunks(n))
                    .with_min_len(per)
                    .for_each(job);
            } else {
                out.chunks_mut(n).zip(xs.chunks(n)).for_each(job);
            }
        }
        return;
    }
    let blocks = inner.div_ceil(COLS);
    let dst = SendPtr(out.as_mut_ptr());
    let task = |t: usize| {
        let (o, c0) = (t / blocks, (t % blocks) * COLS);
        let w = COLS.min(inner - c0);
        let src = &xs[o * n * inner..(o + 1) * n * inner];
        // SAFETY: task (o, c0) writes only columns c0..c0+w of outer index o (rows of the
        // [n, inner] block, or one row of [outer, inner] for logsumexp): disjoint from every
        // other task, in bounds, and `out` outlives the parallel loop.
        let row_out = |r: usize| unsafe {
            let base = if mode == Mode::LogSumExp {
                o * inner + c0
            } else {
                o * n * inner + r * inner + c0
            };
            std::slice::from_raw_parts_mut(dst.get().add(base), w)
        };
        columns(src, n, inner, c0, w, mode, row_out);
    };
    if big {
        (0..outer * blocks).into_par_iter().for_each(task);
    } else {
        (0..outer * blocks).for_each(task);
    }
}

fast_fn! {
    /// Softmax (or log-softmax) of one contiguous row.
    fn row_softmax(src: &[f32], dst: &mut [f32], log: bool) {
        let m = max_f32(src);
        let dst = &mut dst[..src.len()];
        if log {
            for (z, &v) in dst.iter_mut().zip(src) {
                *z = v - m;
            }
            let l = sum_exp(dst, 0.0).ln() as f32;
            for z in dst.iter_mut() {
                *z -= l;
            }
        } else {
            let mut lanes = [0.0f64; 8];
            let mut oc = dst.chunks_exact_mut(8);
            let mut ic = src.chunks_exact(8);
            for (o, i) in (&mut oc).zip(&mut ic) {
                for j in 0..8 {
                    let e = exp(i[j] - m);
                    o[j] = e;
                    lanes[j] += e as f64;
                }
            }
            let mut s: f64 = lanes.iter().sum();
            for (z, &v) in oc.into_remainder().iter_mut().zip(ic.remainder()) {
                let e = exp(v - m);
                *z = e;
                s += e as f64;
            }
            let s = s as f32;
            for z in dst.iter_mut() {
                *z /= s;
            }
        }
    }
}

/// `sum(exp(x - m))` in f64 over a contiguous run.
#[inline(always)]
fn sum_exp(xs: &[f32], m: f32) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            lanes[j] += exp(c[j] - m) as f64;
        }
    }
    let tail: f64 = it.remainder().iter().map(|&v| exp(v - m) as f64).sum();
    lanes.iter().sum::<f64>() + tail
}

fast_fn! {
    /// logsumexp of one contiguous row into `out`.
    fn row_lse(row: &[f32], out: &mut f32) {
        let m = max_f32(row);
        let m = if m.is_finite() { m } else { 0.0 };
        *out = (sum_exp(row, m).ln() as f32) + m;
    }
}

/// One block of `w` columns starting at `c0` of a `[n, inner]` slab; `out(r)` is the output
/// run of row r (the single output row for logsumexp).
fn columns<'a>(
    src: &[f32],
    n: usize,
    inner: usize,
    c0: usize,
    w: usize,
    mode: Mode,
    out: impl Fn(usize) -> &'a mut [f32],
) {
    let row = |r: usize| &src[r * inner + c0..r * inner + c0 + w];
    let mut m = [f32::NEG_INFINITY; COLS];
    let m = &mut m[..w];
    for r in 0..n {
        for (a, &v) in m.iter_mut().zip(row(r)) {
            *a = fmax_nan(*a, v);
        }
    }
    if mode == Mode::LogSumExp {
        for a in m.iter_mut() {
            if !a.is_finite() {
                *a = 0.0;
            }
        }
    }
    let mut s = [0.0f64; COLS];
    let s = &mut s[..w];
    match mode {
        Mode::Softmax => {
            for r in 0..n {
                exp_store_acc(out(r), row(r), m, s);
            }
            let s: Vec<f32> = s.iter().map(|&v| v as f32).collect();
            for r in 0..n {
                for (z, &d) in out(r).iter_mut().zip(&s) {
                    *z /= d;
                }
            }
        }
        Mode::LogSoftmax => {
            for r in 0..n {
                diff_store_exp_acc(out(r), row(r), m, s);
            }
            let l: Vec<f32> = s.iter().map(|&v| v.ln() as f32).collect();
            for r in 0..n {
                for (z, &d) in out(r).iter_mut().zip(&l) {
                    *z -= d;
                }
            }
        }
        Mode::LogSumExp => {
            for r in 0..n {
                exp_acc(row(r), m, s);
            }
            for ((z, &acc), &a) in out(0).iter_mut().zip(s.iter()).zip(m.iter()) {
                *z = (acc.ln() as f32) + a;
            }
        }
    }
}

// The column loops of `columns`, compiled with FMA where available (`exp` is a chain of fused
// multiply-adds, a libm call each without it).
fast_fn! {
    fn exp_store_acc(o: &mut [f32], v: &[f32], m: &[f32], s: &mut [f64]) {
        for (((z, &v), &a), acc) in o.iter_mut().zip(v).zip(m).zip(s.iter_mut()) {
            let e = exp(v - a);
            *z = e;
            *acc += e as f64;
        }
    }
}

fast_fn! {
    fn diff_store_exp_acc(o: &mut [f32], v: &[f32], m: &[f32], s: &mut [f64]) {
        for (((z, &v), &a), acc) in o.iter_mut().zip(v).zip(m).zip(s.iter_mut()) {
            let d = v - a;
            *z = d;
            *acc += exp(d) as f64;
        }
    }
}

fast_fn! {
    fn exp_acc(v: &[f32], m: &[f32], s: &mut [f64]) {
        for ((&v, &a), acc) in v.iter().zip(m).zip(s.iter_mut()) {
            *acc += exp(v - a) as f64;
        }
    }
}
